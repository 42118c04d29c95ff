package main

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// BenchmarkAuditFiles compares an audit from files with a replay of the same claims, both
// as the command runs them (reading the files included): a scale data set of
// HPCALC_BENCH_PERSONS persons (default 150,000, about 100,000 claims; 1500000 gives the
// 999,558 claims of docs/performance.md) whose paid file has 1% planted faults, so that
// the audit explains differences too.
func BenchmarkAuditFiles(b *testing.B) {
	persons := 150_000
	if s := os.Getenv("HPCALC_BENCH_PERSONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("HPCALC_BENCH_PERSONS: %v", err)
		}
		persons = n
	}
	dir := b.TempDir()
	if code := run([]string{"fixtures", "scale", "--persons", strconv.Itoa(persons), "--dir", dir, "--paid-faults", "0.01", "--quiet"}, io.Discard, io.Discard); code != 0 {
		b.Fatalf("fixtures scale: exit %d", code)
	}
	files := []string{"--claims", filepath.Join(dir, "claims.csv"), "--persons", filepath.Join(dir, "persons.csv"), "--providers", filepath.Join(dir, "providers.csv")}
	for _, bench := range []struct {
		name string
		args []string
	}{
		{"replay", append([]string{"replay"}, files...)},
		{"audit", append(append([]string{"audit"}, files...), "--paid", filepath.Join(dir, "paid.csv"), "--format", "csv", "--out", filepath.Join(dir, "audit.csv"))},
	} {
		b.Run(bench.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if code := run(bench.args, io.Discard, io.Discard); code != 0 {
					b.Fatalf("%s: exit %d", bench.name, code)
				}
			}
		})
	}
}
