// Package storetest opens fresh, migrated stores for tests: SQLite always, PostgreSQL when
// HPCALC_TEST_DATABASE_URL is set (.ci/run sets it). It is imported by tests only.
package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
)

// EnvURL names the environment variable with the PostgreSQL URL tests use.
const EnvURL = "HPCALC_TEST_DATABASE_URL"

// ForEachDB runs test as a subtest "sqlite" on a fresh SQLite database and a subtest
// "postgres" on a fresh schema of PostgreSQL, which says loudly when it is skipped.
func ForEachDB(t *testing.T, test func(t *testing.T, s *store.Store)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { test(t, SQLite(t)) })
	t.Run("postgres", func(t *testing.T) {
		url := os.Getenv(EnvURL)
		if url == "" {
			t.Skip(EnvURL + " is not set: PostgreSQL NOT TESTED")
		}
		test(t, Postgres(t, url))
	})
}

// ForEachDBBench is ForEachDB for a benchmark: sub-benchmarks "sqlite" and "postgres",
// each on a fresh database; the second is skipped loudly without PostgreSQL (PostgresURL).
func ForEachDBBench(b *testing.B, bench func(b *testing.B, s *store.Store)) {
	b.Helper()
	b.Run("sqlite", func(b *testing.B) { bench(b, SQLite(b)) })
	b.Run("postgres", func(b *testing.B) { bench(b, Postgres(b, PostgresURL(b))) })
}

// SQLite opens a migrated store on a new SQLite file, closed when the test ends.
func SQLite(tb testing.TB) *store.Store {
	tb.Helper()
	return migrated(tb, filepath.Join(tb.TempDir(), "hpcalc.db"))
}

// Postgres opens a migrated store on a schema of its own in the database at url, dropped
// when the test ends.
func Postgres(tb testing.TB, url string) *store.Store {
	tb.Helper()
	scratch, drop, err := store.ScratchPostgres(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	return migrated(tb, scratch)
}

// PostgresURL returns the URL of the test PostgreSQL database, skipping the test, loudly,
// when HPCALC_TEST_DATABASE_URL is not set.
func PostgresURL(tb testing.TB) string {
	tb.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		tb.Skip(EnvURL + " is not set: PostgreSQL NOT TESTED")
	}
	return url
}

// PostgresReplicas opens two migrated stores on one new schema of the database at url, as
// two replicas of the service would share it, and returns them and the schema's URL. The
// schema is dropped when the test ends.
func PostgresReplicas(tb testing.TB, url string) (a, b *store.Store, scratch string) {
	tb.Helper()
	scratch, drop, err := store.ScratchPostgres(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(drop)
	return migrated(tb, scratch), migrated(tb, scratch), scratch
}

func migrated(tb testing.TB, url string) *store.Store {
	tb.Helper()
	s, err := store.Open(context.Background(), url)
	if err != nil {
		tb.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s
}
