package main

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/fixtures"
)

// runCLI runs hpcalc with args and returns its exit status, stdout and stderr.
func runCLI(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestReplayPublishedFigures is the acceptance test of the shipped fixtures: replaying
// them prints the five figures the county published, exact to the fen.
func TestReplayPublishedFigures(t *testing.T) {
	code, out, errOut := runCLI(t, "replay")
	if code != 0 {
		t.Fatalf("replay exited %d: %s", code, errOut)
	}
	// The published figures, typed in from the seed report: they are the target.
	want := map[string]string{
		"total cost":   "2,663,300.00",
		"2 critical":   "374,100.00",
		"3 commercial": "194,600.00",
		"4 aid":        "133,300.00",
		"5 backstop":   "523,200.00",
	}
	for label, amount := range want {
		re := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(label) + `\s+` + regexp.QuoteMeta(amount) + `\s+\S+\s+` + regexp.QuoteMeta(amount) + `\s+yes\b`)
		if !re.MatchString(out) {
			t.Errorf("replay output has no matching row %q = %s:\n%s", label, amount, out)
		}
	}
	for _, label := range []string{"1 basic", "out-of-pocket"} {
		if !regexp.MustCompile(`(?m)^` + label + `\s+[0-9,]+\.\d\d\s+[0-9,]+\.\d\d\s`).MatchString(out) {
			t.Errorf("replay output lacks the derived %s row:\n%s", label, out)
		}
	}
	if !strings.Contains(out, "266.33") || !strings.Contains(out, "All 5 published figures match to the fen.") {
		t.Errorf("replay output lacks 万元 figures or the verdict:\n%s", out)
	}
}

func TestReplayOut(t *testing.T) {
	path := filepath.Join(t.TempDir(), "settlements.csv")
	code, _, errOut := runCLI(t, "replay", "--out", path)
	if code != 0 {
		t.Fatalf("replay exited %d: %s", code, errOut)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(rows[0], ","), "claim_id,basic,critical,commercial,aid,backstop,out_of_pocket"; got != want {
		t.Fatalf("header %q, want %q", got, want)
	}
	data, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(rows)-1, len(data.Claims.Claims); got != want {
		t.Fatalf("%d rows, want one per claim (%d)", got, want)
	}
	money := regexp.MustCompile(`^\d+\.\d\d$`)
	for _, row := range rows[1:] {
		for _, cell := range row[1:] {
			if !money.MatchString(cell) {
				t.Fatalf("row %v: %q is not yuan with two decimals", row, cell)
			}
		}
	}
}

func TestReplayHelp(t *testing.T) {
	for _, args := range [][]string{{"replay", "--help"}, {"help", "replay"}, {"replay", "-h"}} {
		code, out, _ := runCLI(t, args...)
		if code != 0 || !strings.Contains(out, "Usage: hpcalc replay") || !strings.Contains(out, "-policy") {
			t.Errorf("%v: exit %d, output:\n%s", args, code, out)
		}
	}
	code, out, _ := runCLI(t, "--help")
	if code != 0 || !strings.Contains(out, "replay") {
		t.Errorf("--help: exit %d, output:\n%s", code, out)
	}
	if code, _, errOut := runCLI(t, "frobnicate"); code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: exit %d, stderr %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "replay", "--no-such-flag"); code != 2 {
		t.Errorf("unknown flag: exit %d, want 2", code)
	}
}

// shippedClaimsWith returns the shipped claims file with its first data row replaced.
func shippedClaimsWith(t *testing.T, mutate func(row []string) []string) string {
	t.Helper()
	raw, err := fixtures.FS.ReadFile(fixtures.ClaimsFile)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	rows[1] = mutate(append([]string(nil), rows[1]...))
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(rows); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "claims.csv")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReplayRefusesBadInput(t *testing.T) {
	// Columns: claim_id,person_id,provider_id,level,kind,admitted_on,discharged_on,total,in_policy
	set := func(col int, v string) func([]string) []string {
		return func(r []string) []string { r[col] = v; return r }
	}
	tests := []struct {
		name   string
		mutate func([]string) []string
		column int
		rule   string
		line   int // 0 means line 2, the changed row
	}{
		{"InPolicyOverTotal", func(r []string) []string { r[7], r[8] = "100.00", "100.01"; return r }, 9, "exceeds total", 0},
		{"NegativeMoney", set(7, "-5.00"), 8, "negative", 0},
		{"NonNumericMoney", set(7, "lots"), 8, "not an amount", 0},
		{"MoreThanTwoDecimals", set(8, "1.001"), 9, "more than two decimals", 0},
		{"UnknownPerson", set(1, "P99999"), 2, "unknown person", 0},
		{"UnknownLevel", set(3, "village"), 4, "unknown level", 0},
		{"UnknownKind", set(4, "dental"), 5, "unknown kind", 0},
		{"DischargeBeforeAdmission", func(r []string) []string { r[5], r[6] = "2018-03-10", "2018-03-09"; return r }, 7, "before admission", 0},
		{"DischargeOutsidePolicy", func(r []string) []string { r[5], r[6] = "2019-01-02", "2019-01-05"; return r }, 7, "no policy is in force", 0},
		// The next row, the claim's second appearance, is the duplicate.
		{"DuplicateClaimID", set(0, "C201800002"), 1, "duplicate claim C201800002 (first on line 2)", 3},
		{"AmountTooLarge", func(r []string) []string { r[7], r[8] = "100000000.01", "1.00"; return r }, 8, "over the limit", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := shippedClaimsWith(t, tt.mutate)
			outPath := filepath.Join(t.TempDir(), "out.csv")
			code, out, errOut := runCLI(t, "replay", "--claims", path, "--out", outPath)
			if code == 0 {
				t.Fatalf("exit 0 for bad input; stdout:\n%s", out)
			}
			if out != "" {
				t.Errorf("stdout is not empty on error:\n%s", out)
			}
			if _, err := os.Stat(outPath); !os.IsNotExist(err) {
				t.Errorf("--out file written on error (stat: %v)", err)
			}
			line := cmp.Or(tt.line, 2)
			where := fmt.Sprintf("%s:%d:%d: ", path, line, tt.column) // file:line:column
			if !strings.Contains(errOut, where) || !strings.Contains(errOut, tt.rule) {
				t.Errorf("stderr does not name %s line %d column %d and rule %q:\n%s", path, line, tt.column, tt.rule, errOut)
			}
		})
	}
}

func TestReplayRefusesBadPolicy(t *testing.T) {
	raw, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, bytes.Replace(raw, []byte("county: 0.85"), []byte("county: 1.85"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "replay", "--policy", bad)
	if code == 0 || out != "" || !strings.Contains(errOut, bad+":") || !strings.Contains(errOut, "basic.inpatient.rate.county") {
		t.Errorf("bad policy: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	// Two versions whose periods overlap.
	second := filepath.Join(dir, "second.yaml")
	if err := os.WriteFile(second, bytes.Replace(raw, []byte("version: pingxiang-2018"), []byte("version: pingxiang-2018b"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	first := filepath.Join(dir, "first.yaml")
	if err := os.WriteFile(first, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "replay", "--policy", first, "--policy", second)
	if code == 0 || out != "" || !strings.Contains(errOut, "overlap") {
		t.Errorf("overlapping policies: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestReplaySeveralPolicyVersions(t *testing.T) {
	raw, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	h1 := bytes.Replace(raw, []byte("to: 2018-12-31"), []byte("to: 2018-06-30"), 1)
	h2 := bytes.Replace(bytes.Replace(raw, []byte("from: 2018-01-01"), []byte("from: 2018-07-01"), 1),
		[]byte("version: pingxiang-2018"), []byte("version: pingxiang-2018h2"), 1)
	// The second half-year raises the commercial in-policy rate: the replay must use it.
	h2 = bytes.Replace(h2, []byte("in_policy_rate: 0.30"), []byte("in_policy_rate: 0.50"), 1)
	p1, p2 := filepath.Join(dir, "h1.yaml"), filepath.Join(dir, "h2.yaml")
	for path, data := range map[string][]byte{p1: h1, p2: h2} {
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI(t, "replay", "--policy", p1, "--policy", p2)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "under pingxiang-2018, pingxiang-2018h2") {
		t.Errorf("output does not name both versions:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^3 commercial .* NO `).MatchString(out) || !regexp.MustCompile(`(?m)^total cost .* yes `).MatchString(out) {
		t.Errorf("a raised commercial rate for half the year should change commercial and keep the total:\n%s", out)
	}
}
