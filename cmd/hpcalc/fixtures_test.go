package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestFixturesScale writes a small data set and replays it.
func TestFixturesScale(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "scale")
	code, out, errOut := runCLI(t, "fixtures", "scale", "--persons", "1500", "--seed", "5", "--dir", dir)
	if code != 0 {
		t.Fatalf("fixtures scale exited %d: %s", code, errOut)
	}
	m := regexp.MustCompile(`Wrote 1,500 persons in 376 households \(814 on dibao, 13 tekun\), 16 providers and ([0-9,]+) claims`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("fixtures scale printed:\n%s", out)
	}
	code, out, errOut = runCLI(t, "replay", "--persons", filepath.Join(dir, "persons.csv"),
		"--providers", filepath.Join(dir, "providers.csv"), "--claims", filepath.Join(dir, "claims.csv"))
	if code != 0 {
		t.Fatalf("replay of the scaled data exited %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Replay of "+strings.ReplaceAll(m[1], ",", "")+" claims") {
		t.Errorf("replay of the scaled data printed:\n%s", out)
	}
}

func TestFixturesScaleProgress(t *testing.T) {
	if testing.Short() {
		t.Skip("draws 100,000 persons")
	}
	dir := t.TempDir()
	code, _, errOut := runCLI(t, "fixtures", "scale", "--persons", "100000", "--dir", dir)
	if code != 0 {
		t.Fatalf("fixtures scale exited %d: %s", code, errOut)
	}
	for _, want := range []string{"hpcalc fixtures scale: 100,000 of 100,000 persons drawn", "hpcalc fixtures scale: writing "} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if code, _, errOut := runCLI(t, "fixtures", "scale", "--persons", "100000", "--quiet", "--dir", dir); code != 0 || errOut != "" {
		t.Errorf("--quiet exited %d and printed %q", code, errOut)
	}
}

func TestFixturesScaleUsage(t *testing.T) {
	code, out, _ := runCLI(t, "fixtures", "scale", "--help")
	if code != 0 || !strings.Contains(out, "Usage: hpcalc fixtures scale [flags]") ||
		!strings.Contains(out, "--persons 1,500,000 (the default) gives about 1,000,000 claims") {
		t.Errorf("fixtures scale --help exited %d:\n%s", code, out)
	}
	if code, out, _ := runCLI(t, "help", "fixtures"); code != 0 || !strings.Contains(out, "scale") {
		t.Errorf("help fixtures exited %d:\n%s", code, out)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"fixtures"}, 2, "Usage: hpcalc fixtures <command>"},
		{[]string{"fixtures", "shrink"}, 2, `unknown command "shrink"`},
		{[]string{"fixtures", "scale", "--persons", "10"}, 2, "--dir is required"},
		{[]string{"fixtures", "scale", "--persons", "0", "--dir", t.TempDir()}, 2, "--persons must be from 1 to 20,000,000, not 0"},
		{[]string{"fixtures", "scale", "--persons", "-3", "--dir", t.TempDir()}, 2, "--persons must be from 1 to 20,000,000, not -3"},
		{[]string{"fixtures", "scale", "--persons", "many", "--dir", t.TempDir()}, 2, "invalid value"},
		{[]string{"fixtures", "scale", "--persons", "10", "--dir", file}, 1, "hpcalc fixtures: directory " + file},
		{[]string{"fixtures", "scale", "--persons", "10", "--dir", filepath.Join(file, "sub")}, 1, "not a directory"},
	} {
		code, _, errOut := runCLI(t, tc.args...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want %d and %q", strings.Join(tc.args, " "), code, errOut, tc.code, tc.want)
		}
	}
}
