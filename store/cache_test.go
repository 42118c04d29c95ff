package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/jmoiron/sqlx"
)

// quoteFromScratch is what a quote of c must be: the claim settled on the person and
// ledger as stored, read without the cache.
func quoteFromScratch(t *testing.T, s *store.Store, c calc.Claim) (calc.Settlement, calc.Ledger) {
	t.Helper()
	ctx := context.Background()
	h, err := s.PersonHistory(ctx, c.PersonID)
	if err != nil {
		t.Fatal(err)
	}
	p := h.At(c.DischargedOn)
	if p == nil {
		t.Fatalf("person %s is not on the register on %s", c.PersonID, c.DischargedOn)
	}
	l, err := s.Ledger(ctx, c.PersonID, c.DischargedOn.Year())
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st, after, err := calc.Settle(ps.At(c.DischargedOn), *p, l, c)
	if err != nil {
		t.Fatal(err)
	}
	return st, after
}

// checkQuote checks that s quotes c as the database now says it must.
func checkQuote(t *testing.T, s *store.Store, c calc.Claim, when string) {
	t.Helper()
	st, after, err := ops.New(s).Quote(context.Background(), c)
	if err != nil {
		t.Fatalf("%s: quote: %v", when, err)
	}
	wantSt, wantAfter := quoteFromScratch(t, s, c)
	if st != wantSt || after != wantAfter {
		t.Fatalf("%s: quote gives out of pocket %s, ledger after %+v; the database says %s, %+v",
			when, st.OutOfPocket, after, wantSt.OutOfPocket, wantAfter)
	}
}

// waitCacheOn waits until s serves quotes from memory (on PostgreSQL, once LISTEN is in
// place, which the first read sets off), so that what follows tests the cache and not the
// database.
func waitCacheOn(t *testing.T, s *store.Store) {
	t.Helper()
	_, _ = s.Provider(context.Background(), "any") // the first read starts following changes
	for deadline := time.Now().Add(10 * time.Second); !s.CacheStats().On; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the quote cache did not come on within 10 s")
		}
	}
}

// TestQuoteCacheFollowsWrites quotes one person again and again (from the cache) while
// their ledger, their aid category and the claim's provider change through the same
// store, and checks each quote against the database.
func TestQuoteCacheFollowsWrites(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		waitCacheOn(t, s)
		c := d.Claims.Claims[0]
		quoteClaim := c
		quoteClaim.ID = "Q-" + c.ID

		checkQuote(t, s, quoteClaim, "first quote")
		before := s.CacheStats()
		checkQuote(t, s, quoteClaim, "second quote")
		if after := s.CacheStats(); after.Hits == before.Hits {
			t.Fatalf("the second quote of the same person was not served from memory: %+v then %+v", before, after)
		}

		settled, _, err := ops.New(s).Settle(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		checkQuote(t, s, quoteClaim, "after a settlement")
		if _, err := ops.New(s).Reverse(ctx, settled.ID, "test"); err != nil {
			t.Fatal(err)
		}
		checkQuote(t, s, quoteClaim, "after a reversal")

		p := d.Persons[c.PersonID]
		p.Aid = (p.Aid + 1) % calc.NumAidCategories
		p.RegisteredPoor = !p.RegisteredPoor
		// A change from the claim's discharge day on (an upsert without a date changes
		// the register from today only).
		if err := s.UpsertPersonVersions(ctx, []calc.PersonVersion{{Person: p, From: c.DischargedOn, To: calc.NoDate}}); err != nil {
			t.Fatal(err)
		}
		checkQuote(t, s, quoteClaim, "after the person changed")
		if st, _, _ := ops.New(s).Quote(ctx, quoteClaim); st.Aid != p.Aid {
			t.Fatalf("quote after the person changed has aid category %s, want %s", st.Aid, p.Aid)
		}
		// Another person's change leaves this person's year in memory.
		var other calc.Person
		for id, q := range d.Persons {
			if id != p.ID {
				other = q
				break
			}
		}
		other.HouseholdID += "-moved"
		if err := s.UpsertPersons(ctx, []calc.Person{other}); err != nil {
			t.Fatal(err)
		}
		before = s.CacheStats()
		checkQuote(t, s, quoteClaim, "after another person changed")
		if after := s.CacheStats(); after.Misses != before.Misses {
			t.Fatalf("a quote was read from the database after only another person changed: %+v then %+v", before, after)
		}

		pr := d.Providers[c.ProviderID]
		if _, err := s.Provider(ctx, pr.ID); err != nil {
			t.Fatal(err)
		}
		pr.Level = (pr.Level + 1) % calc.NumLevels
		if err := s.UpsertProviders(ctx, []calc.Provider{pr}); err != nil {
			t.Fatal(err)
		}
		if got, err := s.Provider(ctx, pr.ID); err != nil || got.Level != pr.Level {
			t.Fatalf("provider after its level changed: %+v, %v; want level %s", got, err, pr.Level)
		}
	})
}

// TestQuoteCacheFollowsOtherReplicas runs two stores on one PostgreSQL schema, as two
// replicas of the service would: what one writes, the other's quotes show within
// moments, also when the connection that brings the changes was cut meanwhile.
func TestQuoteCacheFollowsOtherReplicas(t *testing.T) {
	url := storetest.PostgresURL(t)
	ctx := context.Background()
	a, b, scratch := storetest.PostgresReplicas(t, url)
	d := loadShipped(t, b)
	waitCacheOn(t, a)

	// Claims of one person: a quotes the next one while b settles them.
	var claims []calc.Claim
	for _, c := range d.Claims.Claims {
		if c.PersonID == d.Claims.Claims[0].PersonID {
			claims = append(claims, c)
		}
	}
	if len(claims) < 2 {
		t.Fatalf("person %s has %d shipped claims; the test needs two", claims[0].PersonID, len(claims))
	}
	probe := claims[len(claims)-1]
	probe.ID = "Q-" + probe.ID
	eventually := func(when string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(5 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: replica a still quotes the old state after 10 s", when)
			}
		}
	}
	quoteIsCurrent := func() bool {
		st, after, err := ops.New(a).Quote(ctx, probe)
		if err != nil {
			t.Fatal(err)
		}
		wantSt, wantAfter := quoteFromScratch(t, b, probe)
		return st == wantSt && after == wantAfter
	}
	checkQuote(t, a, probe, "first quote")
	checkQuote(t, a, probe, "second quote")
	if a.CacheStats().Hits == 0 {
		t.Fatal("replica a served no quote from memory")
	}

	if _, _, err := ops.New(b).Settle(ctx, claims[0]); err != nil {
		t.Fatal(err)
	}
	eventually("after b settled", quoteIsCurrent)

	p := d.Persons[probe.PersonID]
	p.Aid = (p.Aid + 1) % calc.NumAidCategories
	if err := b.UpsertPersons(ctx, []calc.Person{p}); err != nil {
		t.Fatal(err)
	}
	eventually("after b changed the person", quoteIsCurrent)

	pr := d.Providers[probe.ProviderID]
	pr.Level = (pr.Level + 1) % calc.NumLevels
	if err := b.UpsertProviders(ctx, []calc.Provider{pr}); err != nil {
		t.Fatal(err)
	}
	eventually("after b changed the provider", func() bool {
		got, err := a.Provider(ctx, pr.ID)
		return err == nil && got.Level == pr.Level
	})

	// Cut a's LISTEN connection, and settle on b before a can have reconnected: the
	// notification is lost, so a must forget what it holds when it is back.
	checkQuote(t, a, probe, "before the cut")
	schema := scratch[len(scratch)-len("scratch_000000000000"):]
	admin, err := sqlx.Open("postgres", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	var cut int
	if err := admin.GetContext(ctx, &cut, `SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE query = $1`, fmt.Sprintf(`LISTEN "hpcalc_changes_%s"`, schema)); err != nil {
		t.Fatal(err)
	}
	if cut != 1 {
		t.Fatalf("cut %d LISTEN connections, want 1: replica b never quoted, so it does not listen", cut)
	}
	if _, _, err := ops.New(b).Settle(ctx, claims[1]); err != nil {
		t.Fatal(err)
	}
	eventually("after the cut and another settlement", quoteIsCurrent)
	waitCacheOn(t, a)
}

// TestFollowBeforeFirstRead: Follow turns the cache on with no read at all, as serve
// needs for its first requests to be served from memory.
func TestFollowBeforeFirstRead(t *testing.T) {
	s := storetest.Postgres(t, storetest.PostgresURL(t))
	if s.CacheStats().On {
		t.Fatal("the cache is on before anything asked it to follow changes")
	}
	s.Follow()
	for deadline := time.Now().Add(10 * time.Second); !s.CacheStats().On; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the cache did not come on within 10 s of Follow")
		}
	}
	if st := s.CacheStats(); st.Hits+st.Misses != 0 {
		t.Errorf("Follow read something: %+v", st)
	}
}
