package api

import (
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
)

// The parts of a quote's path on their own. Each reports, besides ns/op, the CPU time
// of the benchmark's thread per operation (cpu-ns/op), which a busy host's other work
// disturbs less than the wall clock.

// quoteExample is a shipped claim's settlement in which every line applies (aid and
// backstop included), and a ledger after it: a quote's answer of the usual size.
func quoteExample(b *testing.B) (calc.Settlement, calc.Ledger) {
	d, err := fixtures.Load()
	if err != nil {
		b.Fatal(err)
	}
	res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		b.Fatal(err)
	}
	for _, st := range res.Settlements {
		if st.Lines[calc.Aid].Applies && st.Lines[calc.Backstop].Applies && st.Lines[calc.Backstop].Amount > 0 {
			after := calc.Ledger{Year: st.Year, Claims: 1, BasicInpatient: st.Lines[calc.Basic].Amount,
				CriticalBurden: st.InPolicy / 10, CriticalPaid: st.Lines[calc.Critical].Amount,
				CommercialPaid: st.Lines[calc.Commercial].Amount, AidPaid: st.Lines[calc.Aid].Amount,
				BackstopPaid: st.Lines[calc.Backstop].Amount, OutOfPocket: st.OutOfPocket, Total: st.Total}
			return st, after
		}
	}
	b.Fatal("no shipped settlement has every line")
	return calc.Settlement{}, calc.Ledger{}
}

// threadCPU measures the CPU time of the calling goroutine's thread, which it locks.
func threadCPU(b *testing.B) func() {
	runtime.LockOSThread()
	now := func() time.Duration {
		var ru syscall.Rusage
		if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
			b.Fatal(err)
		}
		return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	start, n := now(), 0
	return func() {
		b.ReportMetric(float64(now()-start)/float64(max(b.N, n)), "cpu-ns/op")
		runtime.UnlockOSThread()
	}
}

// BenchmarkQuoteAnswer measures appendComputedJSON, a quote's answer, on its own.
func BenchmarkQuoteAnswer(b *testing.B) {
	st, after := quoteExample(b)
	buf := make([]byte, 0, 4096)
	done := threadCPU(b)
	for b.Loop() {
		buf = appendComputedJSON(buf[:0], "quote", &st, &after, 1, "TWN01")
	}
	done()
	b.SetBytes(int64(len(buf)))
}

// BenchmarkQuoteClaim measures decodeClaimInto on a claim body as clients send it.
func BenchmarkQuoteClaim(b *testing.B) {
	body := []byte(`{"admitted_on":"2018-05-27","claim_id":"BQ","discharged_on":"2018-06-01","in_policy":"16000.00","kind":"inpatient","person_id":"P00003","provider_id":"TWN01","total":"20000.00"}`)
	done := threadCPU(b)
	for b.Loop() {
		var f fields
		if _, err := decodeClaimInto(body, &f); err != nil {
			b.Fatal(err)
		}
	}
	done()
}
