package api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"syscall"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/api"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// BenchmarkQuote measures POST /v1/quotes through the handler chain on SQLite, without
// the network: what the API and the store cost per quote.
func BenchmarkQuote(b *testing.B) {
	v := newEnv(b, storetest.SQLite(b))
	body := mustJSON(b, claimBody(testClaim("BQ", "P00003", ownClinic, 20000*calc.Yuan)))
	for b.Loop() {
		rec := v.do(http.MethodPost, "/v1/quotes", asClinic, "application/json", body)
		if rec.Code != http.StatusOK {
			b.Fatal(rec.Code, rec.Body)
		}
		v.logs.Reset()
	}
}

// BenchmarkQuoteCPU compares the CPU a quote costs the process (every thread: handler,
// middleware, the garbage collector) with the CPU of an empty handler behind the same
// middleware (request id, log line, metrics, bearer token and role; api.NewWithEmpty), in
// the same run: blocks of 1,024 empty requests and 1,024 quotes in turn, the same claim
// body for both, the requests built before a block's clock starts. The quote's person and
// ledger are in the store's cache (warm). Reported: CPU µs per request of each and their
// ratio, "quote/empty" (target: at most 1.5); ns/op is one pair of blocks. Run it for 200
// pairs: 20 (about 0.1 s of CPU for each kind) left a garbage collection or a background
// wakeup landing on one kind's blocks to move the ratio by up to 0.15 either way.
//
//	HPCALC_TEST_DATABASE_URL=postgres://... go test ./api -run '^$' -bench QuoteCPU -benchtime 200x -count 3
func BenchmarkQuoteCPU(b *testing.B) {
	storetest.ForEachDBBench(b, func(b *testing.B, s *store.Store) {
		v := newEnv(b, s)
		// Log lines are formatted as serve formats them, and thrown away.
		e := api.NewWithEmpty(api.Config{Store: s, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
		s.Follow()
		for deadline := time.Now().Add(10 * time.Second); !s.CacheStats().On; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				b.Fatal("the read cache did not come on")
			}
		}
		body := mustJSON(b, claimBody(testClaim("BQ", "P00003", ownClinic, 20000*calc.Yuan)))
		// Blocks long enough that the garbage collector's work falls, over the run, on
		// each kind in proportion to what it allocates.
		const block = 1024
		reqs := make([]*http.Request, block)
		recs := make([]*httptest.ResponseRecorder, block)
		header := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + v.tokens[asClinic]}}
		// run serves a block of requests to path and returns the process's CPU time.
		// The requests are built before the clock starts, as a server's connection
		// would have read them, and cheaply, so that their garbage weighs little.
		run := func(path string, status int) time.Duration {
			u := &url.URL{Path: path}
			for i := range reqs {
				reqs[i] = &http.Request{Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
					Header: header.Clone(), Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)),
					Host: "hpcalc.test", RemoteAddr: "192.0.2.1:1234", RequestURI: path}
				// A server's connection writes an answer into a buffer it already has (net/http's
				// pooled 4 KB bufio.Writer); a recorder's empty body would instead grow a new
				// buffer for each answer, work and garbage no server does. So each recorder
				// gets its buffer before the clock starts, for either kind.
				recs[i] = httptest.NewRecorder()
				recs[i].Body = bytes.NewBuffer(make([]byte, 0, 4096))
			}
			start := cpuTime(b)
			for i := range reqs {
				e.ServeHTTP(recs[i], reqs[i])
			}
			spent := cpuTime(b) - start
			for _, rec := range recs {
				if rec.Code != status {
					b.Fatalf("%s: %d %s", path, rec.Code, rec.Body)
				}
			}
			return spent
		}
		for range 3 { // the cache, the token and the heap warm
			run(api.EmptyPath, http.StatusNoContent)
			run("/v1/quotes", http.StatusOK)
		}
		misses := s.CacheStats().Misses
		var empty, quote time.Duration
		n := 0
		for b.Loop() {
			empty += run(api.EmptyPath, http.StatusNoContent)
			quote += run("/v1/quotes", http.StatusOK)
			n += block
		}
		if st := s.CacheStats(); st.Misses != misses || !st.On {
			b.Fatalf("the quotes were not all served from the cache: %+v, %d misses before", st, misses)
		}
		b.ReportMetric(float64(empty.Microseconds())/float64(n), "empty-cpu-µs/req")
		b.ReportMetric(float64(quote.Microseconds())/float64(n), "quote-cpu-µs/req")
		b.ReportMetric(float64(quote)/float64(empty), "quote/empty")
	})
}

// cpuTime is the CPU time this process has used, user and system, on every thread.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
