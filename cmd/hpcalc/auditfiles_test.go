package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/xuri/excelize/v2"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// shippedPaid writes the paid file replay --out gives for the shipped claims and returns
// its path and rows, header first.
func shippedPaid(t *testing.T) (string, [][]string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "paid.csv")
	if code, _, errOut := runCLI(t, "replay", "--out", path); code != 0 {
		t.Fatalf("replay --out: exit %d: %s", code, errOut)
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
	return path, rows
}

func writeRows(t *testing.T, path string, rows [][]string) {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	_ = w.WriteAll(rows)
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func shippedFile(t *testing.T, name string) string {
	t.Helper()
	b, err := fixtures.FS.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestAuditFilesRoundTrip: what replay --out writes, audit --paid finds paid exactly as the
// rules give, in the paid file's order or any other.
func TestAuditFilesRoundTrip(t *testing.T) {
	claims := shippedFile(t, fixtures.ClaimsFile)
	paid, rows := shippedPaid(t)
	code, out, errOut := runCLI(t, "audit", "--claims", claims, "--paid", paid)
	if code != 0 || !strings.Contains(out, "559 claims in both files, 0 differ; 0 claims not in the paid file, 0 paid claims not in the claims file") ||
		!strings.Contains(out, "Every claim in both files was paid as the rules give.") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	// Reversed, so that every claim is looked up by id.
	for i, j := 1, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	writeRows(t, paid, rows)
	if code, out, errOut := runCLI(t, "audit", "--claims", claims, "--paid", paid, "--format", "csv"); code != 0 || out != strings.Join(csvHeader(), ",")+"\n" {
		t.Fatalf("reversed paid file: exit %d\n%s%s", code, out, errOut)
	}
}

func csvHeader() []string {
	h := []string{"claim_id", "person_id", "year", "root", "kind"}
	for _, l := range calc.Lines() {
		h = append(h, l.String()+"_paid", l.String()+"_rules")
	}
	return append(h, "out_of_pocket_paid", "out_of_pocket_rules", "follows", "causes")
}

// faultyPaid is the shipped paid file with faults made by hand: a yuan moved from the
// backstop to critical on one claim (no rule does that), one claim left out, one claim
// paid that was never claimed, and one county claim, the first of its person's year,
// settled with the township deductible (computed here through calc.Settle).
func faultyPaid(t *testing.T) string {
	t.Helper()
	paid, rows := shippedPaid(t)
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]int{}
	for i, r := range rows {
		byID[r[0]] = i
	}
	// The first claim of a person-year at county level, inpatient, whose in-policy cost is
	// above the county deductible.
	first := map[string]bool{}
	ordered := append([]calc.Claim(nil), d.Claims.Claims...)
	sortClaims(ordered)
	var fault *calc.Claim
	for i := range ordered {
		c := &ordered[i]
		key := c.PersonID + c.DischargedOn.String()[:4]
		if !first[key] {
			first[key] = true
			if fault == nil && c.Level == calc.County && c.Kind == calc.Inpatient && c.InPolicy > 50000 {
				fault = c
			}
		}
	}
	p := d.Policies.At(fault.DischargedOn).Clone()
	p.Basic.Deductible[calc.Inpatient][calc.County] = p.Basic.Deductible[calc.Inpatient][calc.Township]
	s, _, err := calc.Settle(p, d.Persons[fault.PersonID], calc.Ledger{}, *fault)
	if err != nil {
		t.Fatal(err)
	}
	row := rows[byID[fault.ID]]
	for l := range calc.NumLines {
		row[1+int(l)] = s.Lines[l].Amount.String()
	}
	row[6] = s.OutOfPocket.String()

	moved := rows[len(rows)-1]
	critical, _ := calc.ParseMoney(moved[2])
	backstop, _ := calc.ParseMoney(moved[5])
	if backstop < 100 {
		t.Fatalf("claim %s: backstop %s, too little to move a yuan", moved[0], backstop)
	}
	moved[2], moved[5] = (critical + 100).String(), (backstop - 100).String()

	never := append([]string{"C209900001"}, rows[1][1:]...)
	rows = append(append(rows[:2:2], rows[3:]...), never) // rows[2] is not paid
	writeRows(t, paid, rows)
	return paid
}

func sortClaims(cs []calc.Claim) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && (cs[j].PersonID < cs[j-1].PersonID || cs[j].PersonID == cs[j-1].PersonID && calc.CompareClaims(&cs[j], &cs[j-1]) < 0); j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// TestAuditFilesGolden audits the faulty paid file in every text format against golden
// files (go test -update rewrites them), and as a workbook.
func TestAuditFilesGolden(t *testing.T) {
	claims := shippedFile(t, fixtures.ClaimsFile)
	paid := faultyPaid(t)
	for _, format := range []string{"table", "json", "csv"} {
		t.Run(format, func(t *testing.T) {
			code, out, errOut := runCLI(t, "audit", "--claims", claims, "--paid", paid, "--format", format)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			golden := filepath.Join("testdata", "audit-files."+format+".golden")
			if *update {
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if out != string(want) {
				t.Errorf("differs from %s (go test -update rewrites it):\n%s", golden, out)
			}
		})
	}
	code, out, errOut := runCLI(t, "audit", "--claims", claims, "--paid", paid, "--format", "json")
	if code != 0 {
		t.Fatal(errOut)
	}
	var doc struct {
		Claims      int            `json:"claims"`
		ByKind      map[string]int `json:"by_kind"`
		NotPaid     []string       `json:"not_paid"`
		NotClaimed  []string       `json:"not_claimed"`
		Differences []struct {
			ClaimID string   `json:"claim_id"`
			Root    string   `json:"root"`
			Kind    string   `json:"kind"`
			Follows []string `json:"follows"`
		} `json:"differences"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if doc.Claims != 558 || len(doc.NotPaid) != 1 || len(doc.NotClaimed) != 1 || doc.NotClaimed[0] != "C209900001" {
		t.Errorf("claims %d, not paid %v, not claimed %v", doc.Claims, doc.NotPaid, doc.NotClaimed)
	}
	if doc.ByKind["deductible"] != 1 || doc.ByKind["none"] < 1 {
		t.Errorf("by kind %v", doc.ByKind)
	}
	for _, d := range doc.Differences {
		if d.Kind == "deductible" && d.Root != "basic" {
			t.Errorf("%s: deductible at root %s", d.ClaimID, d.Root)
		}
	}

	xlsx := filepath.Join(t.TempDir(), "audit.xlsx")
	if code, _, errOut := runCLI(t, "audit", "--claims", claims, "--paid", paid, "--format", "xlsx", "--out", xlsx); code != 0 {
		t.Fatal(errOut)
	}
	f, err := excelize.OpenFile(xlsx)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.GetRows("差异 Differences")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(doc.Differences)+1 {
		t.Errorf("workbook: %d rows of differences, want %d and a header", len(got)-1, len(doc.Differences))
	}
}

// TestAuditFilesRefusesBadPaidFiles: a bad paid file is refused naming the file, line,
// column and rule, and nothing is printed.
func TestAuditFilesRefusesBadPaidFiles(t *testing.T) {
	claims := shippedFile(t, fixtures.ClaimsFile)
	_, rows := shippedPaid(t)
	tests := []struct {
		name string
		edit func(rows [][]string) [][]string
		want string
	}{
		{"amounts do not sum to the total", func(r [][]string) [][]string { r[3][1] = "0.01"; return r },
			"paid.csv:4:7: out_of_pocket: basic+critical+commercial+aid+backstop+out_of_pocket is"},
		{"negative amount", func(r [][]string) [][]string { r[2][4] = "-1.00"; return r }, "paid.csv:3:5: aid: -1.00 is negative"},
		{"duplicate claim", func(r [][]string) [][]string { return append(r, r[5]) }, "duplicate claim " + rows[5][0] + " (first on line 6)"},
		{"missing column", func(r [][]string) [][]string {
			for i := range r {
				r[i] = r[i][:6]
			}
			return r
		}, "out_of_pocket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var copied [][]string
			for _, r := range rows {
				copied = append(copied, append([]string(nil), r...))
			}
			path := filepath.Join(t.TempDir(), "paid.csv")
			writeRows(t, path, tt.edit(copied))
			code, out, errOut := runCLI(t, "audit", "--claims", claims, "--paid", path)
			if code != 1 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %q", code, out, errOut, tt.want)
			}
		})
	}
	if code, _, errOut := runCLI(t, "audit", "--claims", claims); code != 1 || !strings.Contains(errOut, "needs both --claims FILE and --paid FILE") {
		t.Errorf("--claims alone: exit %d, %s", code, errOut)
	}
}

// TestAuditFindsPlantedFaults: on a scale data set whose paid file a legacy system with
// planted faults wrote, the audit finds every planted claim with the kind planted as its
// first cause (recall 100%), and flags no other claim but the knock-ons of a planted
// claim, each reported as a knock-on (precision 100%). Knock-ons are counted apart: a
// knock-on is a claim the legacy system paid by the rules against a ledger an earlier
// planted claim of the person-year had changed, not a fault of its own.
func TestAuditFindsPlantedFaults(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI(t, "fixtures", "scale", "--persons", "20000", "--dir", dir, "--paid-faults", "0.02", "--quiet")
	if code != 0 {
		t.Fatalf("fixtures scale: exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "claims paid wrongly on purpose") {
		t.Errorf("fixtures scale output:\n%s", out)
	}
	code, out, errOut = runCLI(t, "audit", "--claims", filepath.Join(dir, "claims.csv"), "--persons", filepath.Join(dir, "persons.csv"),
		"--providers", filepath.Join(dir, "providers.csv"), "--paid", filepath.Join(dir, "paid.csv"), "--format", "json")
	if code != 0 {
		t.Fatalf("audit: exit %d: %s", code, errOut)
	}
	var doc struct {
		Claims      int `json:"claims"`
		Differences []struct {
			ClaimID  string `json:"claim_id"`
			PersonID string `json:"person_id"`
			Kind     string `json:"kind"`
		} `json:"differences"`
		NotPaid    []string `json:"not_paid"`
		NotClaimed []string `json:"not_claimed"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	planted := map[string]string{}
	for i, r := range readCSV(t, filepath.Join(dir, "planted.csv")) {
		if i > 0 {
			planted[r[0]] = r[1]
		}
	}
	// Each claim's person-year and place in it, to tell a knock-on from a stray flag.
	type place struct {
		personYear string
		discharged string
	}
	claims := map[string]place{}
	for i, r := range readCSV(t, filepath.Join(dir, "claims.csv")) {
		if i > 0 {
			claims[r[0]] = place{r[1] + r[6][:4], r[6]}
		}
	}
	kinds := map[string]int{}
	for _, k := range planted {
		kinds[k]++
	}
	for _, k := range []string{"deductible", "rate", "cap_early", "not_eligible"} {
		if kinds[k] == 0 {
			t.Errorf("no %s fault planted: %v", k, kinds)
		}
	}
	found, knockOns := map[string]bool{}, 0
	for _, d := range doc.Differences {
		want, isPlanted := planted[d.ClaimID]
		switch {
		case isPlanted && d.Kind != want:
			t.Errorf("claim %s, planted %s, is reported as %s", d.ClaimID, want, d.Kind)
		case isPlanted:
			found[d.ClaimID] = true
		case d.Kind != "knock_on":
			t.Errorf("claim %s was paid by the rules, but is reported as %s", d.ClaimID, d.Kind)
		default:
			knockOns++
			// A knock-on needs a planted claim before it in its person-year.
			me := claims[d.ClaimID]
			earlier := false
			for id := range planted {
				if c := claims[id]; c.personYear == me.personYear && (c.discharged < me.discharged || c.discharged == me.discharged && id < d.ClaimID) {
					earlier = true
				}
			}
			if !earlier {
				t.Errorf("claim %s is reported as a knock-on with no planted claim before it in its year", d.ClaimID)
			}
		}
	}
	for id, kind := range planted {
		if !found[id] {
			t.Errorf("planted claim %s (%s) not found", id, kind)
		}
	}
	if doc.Claims != len(claims) || len(doc.NotPaid) != 0 || len(doc.NotClaimed) != 0 {
		t.Errorf("claims %d of %d, not paid %d, not claimed %d", doc.Claims, len(claims), len(doc.NotPaid), len(doc.NotClaimed))
	}
	t.Logf("%d claims, %d planted %v, all found; %d knock-ons", doc.Claims, len(planted), kinds, knockOns)
}

// TestLegacyPaidWithoutFaults: with a share of 0 the legacy system pays as the rules give,
// the same file replay --out writes, byte for byte.
func TestLegacyPaidWithoutFaults(t *testing.T) {
	dir := t.TempDir()
	if code, _, errOut := runCLI(t, "fixtures", "scale", "--persons", "3000", "--dir", dir, "--paid-faults", "0", "--quiet"); code != 0 {
		t.Fatal(errOut)
	}
	out := filepath.Join(dir, "replay.csv")
	if code, _, errOut := runCLI(t, "replay", "--claims", filepath.Join(dir, "claims.csv"), "--persons", filepath.Join(dir, "persons.csv"),
		"--providers", filepath.Join(dir, "providers.csv"), "--out", out); code != 0 {
		t.Fatal(errOut)
	}
	a, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "paid.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) {
		t.Error("paid.csv with no faults differs from replay --out")
	}
	if p := readCSV(t, filepath.Join(dir, "planted.csv")); len(p) != 1 {
		t.Errorf("planted.csv has %d rows with no faults", len(p)-1)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
