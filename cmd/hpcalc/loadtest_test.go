package main

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestLoadtest runs a tiny load on SQLite, and on PostgreSQL when HPCALC_TEST_DATABASE_URL
// is set (the subtest skips loudly when it is not), and checks that every phase measured something without errors.
func TestLoadtest(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			url := ""
			if name == "postgres" {
				url = storetest.PostgresURL(t)
			}
			cfg := loadConfig{databaseURL: url, duration: 5 * time.Second, requests: 60, clients: 4, rounds: 2, warmup: 20}
			results, err := loadtest(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 3 {
				t.Fatalf("%d phases, want 3", len(results))
			}
			for i, r := range results {
				rounds := cfg.rounds
				if i == 2 { // settlements run once
					rounds = 1
				}
				if r.requests != rounds*cfg.requests || len(r.rounds) != rounds || r.errors != 0 || r.perSecond <= 0 || r.p99 < r.p50 {
					t.Errorf("%s: %d requests in %d rounds, %d errors, %.0f/s, p50 %s, p99 %s",
						r.name, r.requests, len(r.rounds), r.errors, r.perSecond, r.p50, r.p99)
				}
			}
		})
	}
}

// TestLoadtestSoak runs a soak of a few seconds, on SQLite and on PostgreSQL when
// HPCALC_TEST_DATABASE_URL is set (the subtest skips loudly when it is not), and checks the report's shape: a row per interval with
// requests and memory, every kind of request sent, no error, and a tally at the end equal
// to the settlements made less the reversals.
func TestLoadtestSoak(t *testing.T) {
	for _, name := range []string{"sqlite", "postgres"} {
		t.Run(name, func(t *testing.T) {
			url := ""
			if name == "postgres" {
				url = storetest.PostgresURL(t)
			}
			cfg := soakConfig{databaseURL: url, duration: 3 * time.Second, interval: time.Second, maxRequests: 1_000_000, clients: 8, statements: 5} // spread 0: as the data, copies registered while it runs
			r, err := soak(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(r.intervals) != 3 || len(r.fullIntervals(cfg.interval)) != 3 {
				t.Fatalf("%d intervals (%d full), want 3: %+v", len(r.intervals), len(r.fullIntervals(cfg.interval)), r.intervals)
			}
			for i, in := range r.intervals {
				if in.requests == 0 || in.errors != 0 || in.perSecond <= 0 || in.p99 < in.p50 || in.rssBytes <= 0 || in.goroutines <= 0 ||
					in.dbOpen < 1 || in.cpu <= 0 {
					t.Errorf("interval %d: %+v", i+1, in)
				}
				// Every interval's statements are its own: each settlement commits once. A
				// settlement may insert its claim just before an interval ends and commit just
				// after (at most one in flight a client), and one retried after a deadlock or
				// serialization failure inserts again after its ROLLBACK, so the claims
				// inserted may exceed the commits by those, never by more.
				var commits, rollbacks, settles int64
				for _, st := range in.stmts {
					switch {
					case st.Statement == "COMMIT":
						commits = st.Count
					case st.Statement == "ROLLBACK":
						rollbacks = st.Count
					case strings.HasPrefix(st.Statement, "INSERT INTO claims "):
						settles = st.Count
					}
					if st.Count <= 0 || st.P50 <= 0 || st.P99 < st.P50 || st.Max < st.P99/2 {
						t.Errorf("interval %d: %+v", i+1, st)
					}
				}
				if commits == 0 || settles == 0 || settles > commits+rollbacks+int64(cfg.clients) {
					t.Errorf("interval %d: %d commits, %d rollbacks, %d claims inserted by %d clients", i+1, commits, rollbacks, settles, cfg.clients)
				}
				if wal := in.walMaxBytes; (name == "sqlite") != (wal > 0 && in.dbBytes > 0) || wal < in.walBytes {
					t.Errorf("interval %d: database %d bytes, WAL %d (largest %d) on %s", i+1, in.dbBytes, in.walBytes, wal, name)
				}
			}
			for k, kr := range r.kinds {
				if kr.requests == 0 || kr.errors != 0 {
					t.Errorf("%s: %d requests, %d errors", kindNames[k], kr.requests, kr.errors)
				}
			}
			if r.planErr != nil || len(r.plans) < 10 {
				t.Errorf("%d plans at the end: %v", len(r.plans), r.planErr)
			}
			if r.firstErr != "" {
				t.Errorf("first error: %s", r.firstErr)
			}
			if r.settled == 0 || r.reversed == 0 || r.tallyClaims != r.settled-r.reversed {
				t.Errorf("tally %d claims; settled %d, reversed %d", r.tallyClaims, r.settled, r.reversed)
			}
			var out bytes.Buffer
			printSoak(&out, cfg, r)
			for _, want := range []string{"interval  requests  errors  per second", "0s–1s", "2s–3s", "new settlement", "resubmission",
				"of the first's", "the clients settled", ": consistent", "CPU per request", "statement time per second",
				"S1 ", "COMMIT", "Each statement's mean per interval", "reversal p50 / p99 (n)",
				"The plans of the hot queries at the end", "the tally:", "tally_sums"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("the report has no %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// TestKindOfMix checks the soak's mix over one cycle of 20 requests.
func TestKindOfMix(t *testing.T) {
	var got [numKinds]int
	for n := range int64(20) {
		got[kindOf(n)]++
	}
	if want := [numKinds]int{10, 6, 2, 1, 1}; got != want {
		t.Errorf("mix %v, want %v", got, want)
	}
}
