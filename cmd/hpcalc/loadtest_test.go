package main

import (
	"context"
	"io"
	"os"
	"testing"
	"time"
)

// TestLoadtest runs a tiny load on SQLite, and on PostgreSQL when HPCALC_TEST_DATABASE_URL
// is set, and checks that every phase measured something without errors.
func TestLoadtest(t *testing.T) {
	urls := map[string]string{"sqlite": ""}
	if url := os.Getenv("HPCALC_TEST_DATABASE_URL"); url != "" {
		urls["postgres"] = url
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
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
