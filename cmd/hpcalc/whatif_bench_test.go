package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkWhatIfFiles runs hpcalc whatif from files as the command runs it (reading the
// files included), on a scale data set of HPCALC_BENCH_PERSONS persons (default 150,000,
// about 100,000 claims; 1500000 gives the 999,558 claims of docs/performance.md), or on
// the files in HPCALC_BENCH_DIR (persons.csv, providers.csv, claims.csv) when set.
func BenchmarkWhatIfFiles(b *testing.B) {
	dir := benchScaleDir(b)
	change := filepath.Join(b.TempDir(), "change.yaml")
	if err := os.WriteFile(change, []byte("commercial: {in_policy_rate: 0.50}\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	args := []string{"whatif", "--claims", filepath.Join(dir, "claims.csv"), "--persons", filepath.Join(dir, "persons.csv"),
		"--providers", filepath.Join(dir, "providers.csv"), "--change", change}
	b.ReportAllocs()
	for b.Loop() {
		if code := run(args, io.Discard, io.Discard); code != 0 {
			b.Fatalf("whatif: exit %d", code)
		}
	}
}

// benchScaleDir is the files a benchmark reads: HPCALC_BENCH_DIR when set, else a scale
// data set of HPCALC_BENCH_PERSONS persons (default 150,000) written by fixtures scale,
// with extra flags, into a temporary directory.
func benchScaleDir(b *testing.B, extra ...string) string {
	b.Helper()
	if dir := os.Getenv("HPCALC_BENCH_DIR"); dir != "" {
		return dir
	}
	persons := 150_000
	if s := os.Getenv("HPCALC_BENCH_PERSONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("HPCALC_BENCH_PERSONS: %v", err)
		}
		persons = n
	}
	dir := b.TempDir()
	args := append([]string{"fixtures", "scale", "--persons", strconv.Itoa(persons), "--dir", dir, "--quiet"}, extra...)
	if code := run(args, io.Discard, io.Discard); code != 0 {
		b.Fatalf("fixtures scale: exit %d", code)
	}
	return dir
}
