package store_test

import (
	"context"
	"errors"
	"testing"

	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestPersonsAfter pages through the shipped register a few persons at a time: the
// pages, in order, are every shipped person once, ids rising, and a person is read back
// as it was stored.
func TestPersonsAfter(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		for _, limit := range []int{1, 7, len(d.Persons), len(d.Persons) + 1} {
			seen := map[string]bool{}
			after, pages := "", 0
			for {
				page, err := s.PersonsAfter(ctx, after, limit)
				if err != nil {
					t.Fatalf("limit %d after %q: %v", limit, after, err)
				}
				if len(page) > limit {
					t.Fatalf("limit %d: a page of %d", limit, len(page))
				}
				if len(page) == 0 {
					break
				}
				pages++
				for _, p := range page {
					if p.ID <= after {
						t.Fatalf("limit %d: %s after %s, ids must rise", limit, p.ID, after)
					}
					want, ok := d.Persons[p.ID]
					want.Version = 1 // each shipped person's one version
					if !ok || p != want {
						t.Errorf("limit %d: read %+v, shipped %+v (%v)", limit, p, want, ok)
					}
					seen[p.ID] = true
					after = p.ID
				}
			}
			if len(seen) != len(d.Persons) {
				t.Errorf("limit %d: %d persons in %d pages, shipped %d", limit, len(seen), pages, len(d.Persons))
			}
			if wantPages := (len(d.Persons) + limit - 1) / limit; pages != wantPages {
				t.Errorf("limit %d: %d non-empty pages, want %d", limit, pages, wantPages)
			}
		}
		if _, err := s.PersonsAfter(ctx, "", 0); err == nil {
			t.Error("limit 0 was taken")
		}
		p, err := s.Person(ctx, "P00010")
		if want := d.Persons["P00010"]; err != nil || p.Version != 1 || p.HouseholdID != want.HouseholdID || p.Aid != want.Aid || p.RegisteredPoor != want.RegisteredPoor {
			t.Errorf("Person(P00010) = %+v, %v; shipped %+v", p, err, d.Persons["P00010"])
		}
		if _, err := s.Person(ctx, "NOBODY"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Person(NOBODY): %v, want ErrNotFound", err)
		}
	})
}
