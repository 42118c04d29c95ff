package ops_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// dibaoClaims returns the first two claims of 2018, in settlement order, of a dibao person
// whose first claim is paid aid: the example, a claim of a 低保 person settled with
// aid, the person then taken off 低保.
func dibaoClaims(t *testing.T, d *fixtures.Data) (calc.Claim, calc.Claim) {
	t.Helper()
	claims := d.Claims.Claims
	order := replay.Order(claims)
	for k := 1; k < len(order); k++ {
		a, b := claims[order[k-1]], claims[order[k]]
		if a.PersonID != b.PersonID || (k > 1 && claims[order[k-2]].PersonID == a.PersonID) {
			continue
		}
		person := d.Persons[a.PersonID]
		if person.Aid != calc.Dibao {
			continue
		}
		st, _, err := calc.Settle(d.Policies.At(a.DischargedOn), person, calc.Ledger{}, a)
		if err != nil {
			t.Fatal(err)
		}
		if st.Lines[calc.Aid].Amount > 0 {
			return a, b
		}
	}
	t.Fatal("no dibao person with two claims whose first is paid aid")
	return calc.Claim{}, calc.Claim{}
}

// auditOf audits 2018's stored claims under the versions in force.
func auditOf(t *testing.T, o *ops.Service) *batch.Audit {
	t.Helper()
	ctx := context.Background()
	v, err := o.Versions(ctx, ops.InForce)
	if err != nil {
		t.Fatal(err)
	}
	a, err := o.Audit(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// TestPersonsAsTheyWere is the example on both databases: a claim of a dibao
// person is settled with aid; the person is then taken off dibao. Recorded today, the
// change leaves 2018 as it was: quotes, settlements and the audit of 2018 still see
// dibao. Recorded from 2018-01-01 on, it changes 2018: a new 2018 claim is settled
// without aid, and the audit reports the settled claim with the cause "the register
// changed after settlement", never as unexplained.
func TestPersonsAsTheyWere(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loaded(t, s)
		o := ops.New(s)
		first, second := dibaoClaims(t, d)
		id := first.PersonID
		settled, _, err := o.Settle(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		paidAid := settled.Settlement.Lines[calc.Aid].Amount
		if settled.PersonVersion != 1 || paidAid == 0 {
			t.Fatalf("settled with person version %d, aid %s; want version 1 and aid", settled.PersonVersion, paidAid)
		}
		if got, err := s.Settlement(ctx, settled.ID); err != nil || got.PersonVersion != 1 {
			t.Fatalf("stored settlement: person version %d, %v; want 1", got.PersonVersion, err)
		}

		// Taken off dibao today: 2018 stays as it was.
		off := d.Persons[id]
		off.Aid = calc.AidNone
		if err := s.UpsertPersons(ctx, []calc.Person{off}); err != nil {
			t.Fatal(err)
		}
		h, err := s.PersonHistory(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		today := s.Today()
		if len(h) != 2 || h[0].Aid != calc.Dibao || h[0].From != calc.Beginning || h[0].To != calc.End ||
			h[1].Aid != calc.AidNone || h[1].From != today || h[1].To != calc.End || h[1].Version != 2 {
			t.Fatalf("history after an upsert without a date: %+v; want version 1 kept whole and version 2 from %s", h, today)
		}
		if p, err := s.Person(ctx, id); err != nil || p.Aid != calc.AidNone || p.Version != 2 {
			t.Errorf("the person as the register now stands: %+v, %v; want version 2 without aid", p, err)
		}
		if err := s.UpsertPersons(ctx, []calc.Person{off}); err != nil {
			t.Fatal(err)
		}
		if h2, _ := s.PersonHistory(ctx, id); len(h2) != 2 {
			t.Errorf("the same person sent again recorded a version: %+v", h2)
		}
		if q, _, err := o.Quote(ctx, second); err != nil || q.Aid != calc.Dibao {
			t.Errorf("quote of a 2018 claim after a change from today: aid category %s, %v; want dibao", q.Aid, err)
		}
		if a := auditOf(t, o); len(a.Differences) != 0 {
			t.Errorf("audit after a change from today: %d differences, want none: %+v", len(a.Differences), a.Differences)
		}

		// Taken off dibao from 2018-01-01: the register changed after settlement.
		err = s.UpsertPersonVersions(ctx, []calc.PersonVersion{{Person: off, From: calc.NewDate(2018, 1, 1), To: calc.NoDate}})
		if err != nil {
			t.Fatal(err)
		}
		h, _ = s.PersonHistory(ctx, id)
		if len(h) != 3 || h[0].To != calc.End || h[1].From != today {
			t.Fatalf("history after a change back to 2018: %+v; earlier versions must stay as recorded", h)
		}
		a := auditOf(t, o)
		if len(a.Differences) != 1 {
			t.Fatalf("audit after a change back to 2018: %d differences, want 1: %+v", len(a.Differences), a.Differences)
		}
		diff := a.Differences[0]
		if diff.ClaimID != first.ID || !slices.Equal(diff.Causes, []string{batch.CauseRegister}) ||
			diff.Stored[calc.Aid] != paidAid || diff.Replayed[calc.Aid] != 0 {
			t.Errorf("difference %+v; want claim %s, aid %s paid and 0.00 replayed, cause %q only",
				diff, first.ID, paidAid, batch.CauseRegister)
		}
		st2, _, err := o.Settle(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		if st2.PersonVersion != 3 || st2.Settlement.Aid != calc.AidNone || st2.Settlement.Lines[calc.Aid].Amount != 0 {
			t.Errorf("a 2018 claim settled after the change: person version %d, aid category %s, aid %s; want version 3, none, 0.00",
				st2.PersonVersion, st2.Settlement.Aid, st2.Settlement.Lines[calc.Aid].Amount)
		}

		// A reversal re-settles the later claims with the versions they were settled
		// with: it books what the reversal changes, not the register's change.
		rev, err := o.Reverse(ctx, settled.ID, "test")
		if err != nil {
			t.Fatal(err)
		}
		want, _, err := calc.Settle(d.Policies.At(second.DischargedOn), h[2].Person, calc.Ledger{}, second)
		if err != nil {
			t.Fatal(err)
		}
		got := calc.AmountsOf(&st2.Settlement)
		for _, adj := range rev.Adjustments {
			got = got.Plus(&adj.Adjustment)
		}
		if wantA := calc.AmountsOf(&want); got != wantA {
			t.Errorf("the second claim after the first's reversal pays %+v, want %+v", got, wantA)
		}
	})
}

// TestPersonVersionsRefused: versions whose days are wrong are refused, naming the field
// and the rule, and nothing of the upsert is stored.
func TestPersonVersionsRefused(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loaded(t, s)
		p, q := d.Persons["P00001"], d.Persons["P00002"]
		q.Aid = calc.Tekun
		day := func(m time.Month, dd int) calc.Date { return calc.NewDate(2018, m, dd) }
		tests := []struct {
			name     string
			versions []calc.PersonVersion
			field    string
		}{
			{"inverted", []calc.PersonVersion{{Person: q, From: day(6, 1), To: day(1, 1)}}, "valid_to"},
			{"before today without a start", []calc.PersonVersion{{Person: q, From: calc.NoDate, To: day(1, 1)}}, "valid_to"},
			{"overlapping", []calc.PersonVersion{{Person: q, From: day(1, 1), To: day(6, 1)}, {Person: q, From: day(5, 1), To: calc.NoDate}}, "valid_from"},
			{"several without a start", []calc.PersonVersion{{Person: q, From: calc.NoDate, To: day(6, 1)}, {Person: q, From: day(7, 1), To: calc.NoDate}}, "valid_from"},
			{"apart", []calc.PersonVersion{{Person: q, From: day(1, 1), To: calc.NoDate}, {Person: p, From: calc.NoDate, To: calc.NoDate}, {Person: q, From: day(9, 1), To: calc.NoDate}}, "person_id"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := s.UpsertPersonVersions(ctx, tt.versions)
				var ve *store.VersionError
				if !errors.As(err, &ve) || !errors.Is(err, calc.ErrInvalid) || ve.Field != tt.field || ve.Rule == "" {
					t.Fatalf("got %v; want a VersionError (ErrInvalid) at %s", err, tt.field)
				}
				if tt.name == "apart" && (ve.Index != 1 || ve.PersonID != q.ID) {
					t.Errorf("versions apart: refused at index %d of person %s, want 1 (after %s's first run)", ve.Index, ve.PersonID, q.ID)
				}
				for _, id := range []string{"P00001", "P00002"} {
					if h, err := s.PersonHistory(ctx, id); err != nil || len(h) != 1 {
						t.Errorf("%s after a refused upsert: %+v, %v; want its one version", id, h, err)
					}
				}
			})
		}
	})
}
