package main

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// childEnv, set to 1 in a process's environment, makes the test binary run as hpcalc
// with its arguments instead of running tests: BenchmarkAuditFiles measures each run's
// resident set in a process of its own.
const childEnv = "HPCALC_BENCH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		os.Exit(run(os.Args[1:], io.Discard, os.Stderr))
	}
	os.Exit(m.Run())
}

// BenchmarkAuditFiles compares an audit from files with a replay of the same claims, both
// as the command runs them (reading the files included): a scale data set of
// HPCALC_BENCH_PERSONS persons (default 150,000, about 100,000 claims; 1500000 gives the
// 999,558 claims of docs/performance.md) whose paid file has 1% planted faults, so that
// the audit explains differences too, or the files in HPCALC_BENCH_DIR (persons.csv,
// providers.csv, claims.csv, paid.csv) when set.
//
// replay and audit run in this process, for their allocations; processes runs each in
// a process of its own, replay then audit, and reports the two ratios from the
// same iterations: audit/replay-wall (goal at most 1.5) and audit-replay-MiB, the audit's
// peak resident set less the replay's (goal at most 64), beside audit/replay-cpu (user
// and system time), steadier than the wall's on a shared machine. Each is the median of
// the iterations (-benchtime 3x for three pairs).
func BenchmarkAuditFiles(b *testing.B) {
	dir := benchScaleDir(b, "--paid-faults", "0.01")
	out := filepath.Join(b.TempDir(), "audit.csv")
	files := []string{"--claims", filepath.Join(dir, "claims.csv"), "--persons", filepath.Join(dir, "persons.csv"), "--providers", filepath.Join(dir, "providers.csv")}
	replay := append([]string{"replay"}, files...)
	audit := append(append([]string{"audit"}, files...), "--paid", filepath.Join(dir, "paid.csv"), "--format", "csv", "--out", out)
	for _, bench := range []struct {
		name string
		args []string
	}{{"replay", replay}, {"audit", audit}} {
		b.Run(bench.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if code := run(bench.args, io.Discard, io.Discard); code != 0 {
					b.Fatalf("%s: exit %d", bench.name, code)
				}
			}
		})
	}
	b.Run("processes", func(b *testing.B) {
		self, err := os.Executable()
		if err != nil {
			b.Fatal(err)
		}
		var wall, cpu, rss []float64
		for b.Loop() {
			r := runChild(b, self, replay)
			a := runChild(b, self, audit)
			wall = append(wall, a.wall.Seconds()/r.wall.Seconds())
			cpu = append(cpu, a.cpu.Seconds()/r.cpu.Seconds())
			rss = append(rss, float64(a.maxRSS-r.maxRSS)/(1<<20))
		}
		b.ReportMetric(median(wall), "audit/replay-wall")
		b.ReportMetric(median(cpu), "audit/replay-cpu")
		b.ReportMetric(median(rss), "audit-replay-MiB")
	})
}

// childRun is what one run of hpcalc in a process of its own took.
type childRun struct {
	wall, cpu time.Duration
	maxRSS    int64 // bytes
}

// runChild runs hpcalc (the test binary self, see TestMain) with args and measures it.
func runChild(b *testing.B, self string, args []string) childRun {
	b.Helper()
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", args[0], err, stderr.String())
	}
	r := childRun{wall: time.Since(start), cpu: cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss << 10 // Linux gives kilobytes
	}
	return r
}

func median(x []float64) float64 {
	if len(x) == 0 {
		return 0
	}
	s := slices.Clone(x)
	slices.Sort(s)
	if n := len(s); n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[len(s)/2]
}
