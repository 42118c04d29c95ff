package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestObserver settles claims through a store opened with an Observer, on each database,
// and checks that it saw every statement of them with its count, and that Take starts
// afresh.
func TestObserver(t *testing.T) {
	for _, db := range []string{"sqlite", "postgres"} {
		t.Run(db, func(t *testing.T) {
			ctx := context.Background()
			url := filepath.Join(t.TempDir(), "hpcalc.db")
			if db == "postgres" {
				scratch, drop, err := store.ScratchPostgres(ctx, storetest.PostgresURL(t))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(drop)
				url = scratch
			}
			o := store.NewObserver()
			s, err := store.OpenObserved(ctx, url, o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			s.ReadPolicy = policyfile.Parse
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			d := loadShipped(t, s)
			o.Take()
			const n = 7
			for _, c := range d.Claims.Claims[:n] {
				if _, _, err := ops.New(s).Settle(ctx, c); err != nil {
					t.Fatal(err)
				}
			}
			got := map[string]store.StatementTime{}
			for _, st := range o.Take() {
				got[st.Statement] = st
				if st.Count <= 0 || st.Total <= 0 || st.P50 <= 0 || st.P50 > st.P99 || st.P99 > st.Max || st.Max > st.Total {
					t.Errorf("%+v", st)
				}
			}
			claims := 0
			for text, st := range got {
				if strings.HasPrefix(text, "INSERT INTO claims ") {
					claims += int(st.Count)
				}
			}
			if got["BEGIN"].Count != n || got["COMMIT"].Count != n || claims != n {
				t.Errorf("%d settlements: %d BEGIN, %d COMMIT, %d claims inserted; saw %d statements", n, got["BEGIN"].Count, got["COMMIT"].Count, claims, len(got))
			}
			if again := o.Take(); len(again) != 0 {
				t.Errorf("a second Take saw %d statements, want none", len(again))
			}
			if st := s.DBStats(); st.OpenConnections < 1 {
				t.Errorf("DBStats: %+v", st)
			}
		})
	}
}
