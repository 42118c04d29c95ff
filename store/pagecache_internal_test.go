package store

import (
	"context"
	"path/filepath"
	"testing"
)

// TestSQLitePageCache checks that the store's SQLite connection keeps SQLiteCacheKiB of
// pages, not SQLite's default 2 MiB.
func TestSQLitePageCache(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "cache.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var got int
	if err := s.db.GetContext(ctx, &got, `PRAGMA cache_size`); err != nil {
		t.Fatal(err)
	}
	if want := -SQLiteCacheKiB; got != want {
		t.Errorf("cache_size %d, want %d (KiB)", got, want)
	}
}
