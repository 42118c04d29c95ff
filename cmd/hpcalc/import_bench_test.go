package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/store"
)

// BenchmarkImportPaid times hpcalc import of a scale data set's claims with its paid file
// "as a legacy system paid it" (1% planted faults: the amounts still sum to each claim's
// total), beside a replay of the same claims in the same run: HPCALC_BENCH_PERSONS persons
// (default 150,000, about 100,000 claims). Each import goes into a fresh database holding
// the persons, providers and shipped policy (stored outside the timer): SQLite, or
// PostgreSQL (a scratch schema) when HPCALC_BENCH_DATABASE_URL names one.
func BenchmarkImportPaid(b *testing.B) {
	persons := 150_000
	if s := os.Getenv("HPCALC_BENCH_PERSONS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			b.Fatalf("HPCALC_BENCH_PERSONS: %v", err)
		}
		persons = n
	}
	ctx := context.Background()
	dir := b.TempDir()
	if code := run([]string{"fixtures", "scale", "--persons", strconv.Itoa(persons), "--dir", dir, "--paid-faults", "0.01", "--quiet"}, io.Discard, io.Discard); code != 0 {
		b.Fatalf("fixtures scale: exit %d", code)
	}
	read := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		return f
	}
	register, err := csvdata.ReadPersons("persons.csv", read("persons.csv"))
	if err != nil {
		b.Fatal(err)
	}
	providers, err := csvdata.ReadProviders("providers.csv", read("providers.csv"))
	if err != nil {
		b.Fatal(err)
	}
	// fresh returns a database with the register, the providers and the shipped policy.
	fresh := func(b *testing.B) string {
		url := filepath.Join(b.TempDir(), "hpcalc.db")
		if pg := os.Getenv("HPCALC_BENCH_DATABASE_URL"); pg != "" {
			scratch, drop, err := store.ScratchPostgres(ctx, pg)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(drop)
			url = scratch
		}
		s, err := (&storeFlags{databaseURL: url}).open(ctx, io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if _, err := ensureScalePolicy(ctx, s, func(string, ...any) {}); err != nil {
			b.Fatal(err)
		}
		if err := s.UpsertPersons(ctx, register); err != nil {
			b.Fatal(err)
		}
		if err := s.UpsertProviders(ctx, providers); err != nil {
			b.Fatal(err)
		}
		return url
	}
	claims, paid := filepath.Join(dir, "claims.csv"), filepath.Join(dir, "paid.csv")
	// The host these figures come from is shared and often loaded far beyond its cores, so
	// each sub-benchmark also reports the CPU time the process spent (user and system) per
	// run, which waiting for a core does not inflate.
	b.Run("replay", func(b *testing.B) {
		b.ReportAllocs()
		args := []string{"replay", "--claims", claims, "--persons", filepath.Join(dir, "persons.csv"), "--providers", filepath.Join(dir, "providers.csv")}
		var cpu time.Duration
		for b.Loop() {
			start := cpuTime(b)
			if code := run(args, io.Discard, io.Discard); code != 0 {
				b.Fatalf("replay: exit %d", code)
			}
			cpu += cpuTime(b) - start
		}
		b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
	})
	b.Run("import", func(b *testing.B) {
		b.ReportAllocs()
		var cpu time.Duration
		for i := 0; i < b.N; i++ {
			b.StopTimer()
			url := fresh(b)
			b.StartTimer()
			start := cpuTime(b)
			if code := run([]string{"import", "--database-url", url, "--claims", claims, "--paid", paid, "--quiet"}, io.Discard, os.Stderr); code != 0 {
				b.Fatalf("import: exit %d", code)
			}
			cpu += cpuTime(b) - start
		}
		b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
	})
}

// cpuTime is the CPU time (user and system) the process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
