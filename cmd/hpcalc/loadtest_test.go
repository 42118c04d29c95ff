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
			cfg := loadConfig{databaseURL: url, duration: 5 * time.Second, requests: 60, clients: 4}
			results, err := loadtest(context.Background(), cfg, io.Discard)
			if err != nil {
				t.Fatal(err)
			}
			if len(results) != 3 {
				t.Fatalf("%d phases, want 3", len(results))
			}
			for _, r := range results {
				if r.requests != cfg.requests || r.errors != 0 || r.perSecond <= 0 || r.p99 < r.p50 {
					t.Errorf("%s: %+v", r.name, r)
				}
			}
		})
	}
}
