package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/fixtures"
)

// shippedFiles writes the shipped persons, providers and claims files into a directory
// and returns their paths.
func shippedFiles(t *testing.T) (persons, providers, claims string) {
	t.Helper()
	dir := t.TempDir()
	var paths []string
	for _, name := range []string{fixtures.PersonsFile, fixtures.ProvidersFile, fixtures.ClaimsFile} {
		raw, err := fixtures.FS.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths[0], paths[1], paths[2]
}

// TestFromFilesEqualsShipped: what-if and replay read from files give what they give
// from the shipped data they hold, byte for byte (but for the comparison with the
// published figures, which replay prints for the shipped claims only).
func TestFromFilesEqualsShipped(t *testing.T) {
	persons, providers, claims := shippedFiles(t)
	change := filepath.Join(t.TempDir(), "raise.yaml")
	if err := os.WriteFile(change, []byte("commercial:\n  in_policy_rate: 0.50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, groupBy := range []string{"level", "household"} {
		_, want, _ := runCLI(t, "whatif", "--change", change, "--group-by", groupBy)
		code, got, errOut := runCLI(t, "whatif", "--change", change, "--group-by", groupBy, "--persons", persons, "--claims", claims)
		if code != 0 || got != want || want == "" {
			t.Errorf("whatif --group-by %s from files: exit %d, stderr %q; output\n%s\nwant\n%s", groupBy, code, errOut, got, want)
		}
	}
	_, want, _ := runCLI(t, "whatif", "--sweep", "backstop.oop_ceiling=0.08:0.12:0.02")
	if code, got, errOut := runCLI(t, "whatif", "--sweep", "backstop.oop_ceiling=0.08:0.12:0.02", "--persons", persons, "--claims", claims); code != 0 || got != want {
		t.Errorf("sweep from files: exit %d, stderr %q; output\n%s\nwant\n%s", code, errOut, got, want)
	}

	dir := t.TempDir()
	outShipped, outFiles := filepath.Join(dir, "shipped.csv"), filepath.Join(dir, "files.csv")
	code, shippedReport, errOut := runCLI(t, "replay", "--out", outShipped)
	if code != 0 {
		t.Fatalf("replay: exit %d: %s", code, errOut)
	}
	code, filesReport, errOut := runCLI(t, "replay", "--persons", persons, "--providers", providers, "--claims", claims, "--out", outFiles)
	if code != 0 {
		t.Fatalf("replay from files: exit %d: %s", code, errOut)
	}
	first := func(s string) string { line, _, _ := strings.Cut(s, "\n"); return line }
	if first(filesReport) != first(shippedReport) || !strings.Contains(filesReport, "2,663,300.00") {
		t.Errorf("replay from files:\n%s\nshipped:\n%s", filesReport, shippedReport)
	}
	a, errA := os.ReadFile(outShipped)
	b, errB := os.ReadFile(outFiles)
	if errA != nil || errB != nil || string(a) != string(b) || len(a) == 0 {
		t.Errorf("--out from files differs from --out of the shipped claims (%v, %v)", errA, errB)
	}
}

// TestReplayRefusesBadPersons: a bad persons file is refused naming file:line:column and
// the rule, and nothing is printed or written.
func TestReplayRefusesBadPersons(t *testing.T) {
	persons, _, _ := shippedFiles(t)
	raw, err := os.ReadFile(persons)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(raw), "\n")
	dupID, _, _ := strings.Cut(lines[3], ",")
	tests := []struct {
		name  string
		edit  func(lines []string)
		where string // line:column
		rule  string
	}{
		{"Duplicate", func(l []string) { _, rest, _ := strings.Cut(l[10], ","); l[10] = dupID + "," + rest }, "11:1", "duplicate person " + dupID + " (first on line 4)"},
		{"NoHousehold", func(l []string) { f := strings.Split(l[5], ","); f[1] = ""; l[5] = strings.Join(f, ",") }, "6:2", "household_id: is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			edited := append([]string(nil), lines...)
			tt.edit(edited)
			path := filepath.Join(t.TempDir(), "persons.csv")
			if err := os.WriteFile(path, []byte(strings.Join(edited, "\n")), 0o644); err != nil {
				t.Fatal(err)
			}
			outPath := filepath.Join(t.TempDir(), "out.csv")
			code, out, errOut := runCLI(t, "replay", "--persons", path, "--out", outPath)
			if code != 1 || out != "" || !strings.Contains(errOut, path+":"+tt.where+": ") || !strings.Contains(errOut, tt.rule) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %s:%s and %q", code, out, errOut, path, tt.where, tt.rule)
			}
			if _, err := os.Stat(outPath); !os.IsNotExist(err) {
				t.Errorf("--out file written on error (stat: %v)", err)
			}
		})
	}
}
