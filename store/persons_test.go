package store_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/lib/pq"
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

// TestConcurrentUpserts: upserts of persons not yet on the register, from 16 clients at
// once, each with a household of its own, and half of them upserting two persons in the
// opposite order. None fails; each person ends with one version per upsert, numbered
// 1..16, and the persons row holds the last. Conditional creations (current version 0)
// of one new person at once: exactly one succeeds and the others get ErrConflict, never
// a database error.
func TestConcurrentUpserts(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		const clients = 16
		person := func(id string, i int) calc.PersonVersion {
			return calc.PersonVersion{Person: calc.Person{ID: id, HouseholdID: fmt.Sprintf("H%02d", i), RegisteredPoor: true, Aid: calc.AidNone},
				From: calc.NoDate, To: calc.NoDate}
		}
		errs := make([]error, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				list := []calc.PersonVersion{person("NEW-A", i), person("NEW-B", i)}
				if i%2 == 1 {
					list[0], list[1] = list[1], list[0]
				}
				errs[i] = s.UpsertPersonVersions(ctx, list)
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatalf("concurrent upserts: %v", err)
		}
		for _, id := range []string{"NEW-A", "NEW-B"} {
			versions, err := s.PersonVersions(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			households := map[string]bool{}
			for i, v := range versions {
				if v.Version != int32(i+1) {
					t.Errorf("%s: version %d recorded as %d", id, i+1, v.Version)
				}
				households[v.HouseholdID] = true
			}
			if len(versions) != clients || len(households) != clients {
				t.Errorf("%s: %d versions of %d households, want %d of each", id, len(versions), len(households), clients)
			}
			p, err := s.Person(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if last := versions[len(versions)-1]; p.Version != last.Version || p.HouseholdID != last.HouseholdID {
				t.Errorf("%s: the register holds version %d of %s, the last recorded is %d of %s", id, p.Version, p.HouseholdID, last.Version, last.HouseholdID)
			}
		}

		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = s.UpsertPersonVersionsIf(ctx, []calc.PersonVersion{person("NEW-C", i)}, map[string]int32{"NEW-C": 0})
			}()
		}
		wg.Wait()
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
			case !errors.Is(err, store.ErrConflict):
				t.Errorf("client %d: %v, want nil or ErrConflict", i, err)
			}
		}
		if created != 1 {
			t.Errorf("%d conditional creations of one person succeeded, want 1", created)
		}
	})
}

// BenchmarkUpsertPersons: upserts of 1,000 persons at a time, as a register's upload
// sends them, half new and half changing a person upserted before; reported per person.
//
//	HPCALC_TEST_DATABASE_URL=postgres://... go test ./store -run '^$' -bench UpsertPersons
func BenchmarkUpsertPersons(b *testing.B) {
	storetest.ForEachDBBench(b, func(b *testing.B, s *store.Store) {
		ctx := context.Background()
		const batch = 1000
		round := 0
		for b.Loop() {
			list := make([]calc.Person, batch)
			for i := range list {
				// Persons batch/2*round ... : the first half were new in the round before.
				list[i] = calc.Person{ID: fmt.Sprintf("U%08d", round*batch/2+i), HouseholdID: fmt.Sprintf("H%d", round),
					RegisteredPoor: true, Aid: calc.AidNone}
			}
			if err := s.UpsertPersons(ctx, list); err != nil {
				b.Fatal(err)
			}
			round++
		}
		b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(round*batch), "µs/person")
	})
}

// TestUpsertRaceLostEveryTime: an upsert that loses its race each time it runs (here a
// database that finds every new version's number taken) is run three times and then
// refused as a conflict the client may send again, storing nothing; not a server error.
func TestUpsertRaceLostEveryTime(t *testing.T) {
	s, fault := storetest.Faulty(t)
	ctx := context.Background()
	var runs atomic.Int32
	fault.Before = func(query string) {
		if strings.Contains(query, "INSERT INTO person_versions") {
			runs.Add(1)
		}
	}
	fault.SetOn("INSERT INTO person_versions", 0, &pq.Error{Code: "23505", Table: "person_versions"})
	p := calc.Person{ID: "RACED", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.AidNone}
	err := s.UpsertPersons(ctx, []calc.Person{p})
	if !errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("upsert that lost every race: %v, want ErrConflict", err)
	}
	if n := runs.Load(); n != 3 {
		t.Errorf("run %d times, want 3", n)
	}
	if _, err := s.PersonVersions(ctx, p.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("after the refused upsert the person reads %v, want ErrNotFound", err)
	}
	fault.SetOn("", 0, nil)
	if err := s.UpsertPersons(ctx, []calc.Person{p}); err != nil {
		t.Fatalf("the upsert sent again: %v", err)
	}
}
