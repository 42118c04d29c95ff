package ops_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// loaded publishes the shipped policy and stores the shipped persons and providers in s.
func loaded(t testing.TB, s *store.Store) *fixtures.Data {
	t.Helper()
	ctx := context.Background()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PublishPolicy(ctx, d.Policies.Policies()[0], doc); err != nil {
		t.Fatal(err)
	}
	var persons []calc.Person
	for _, p := range d.Persons {
		persons = append(persons, p)
	}
	if err := s.UpsertPersons(ctx, persons); err != nil {
		t.Fatal(err)
	}
	var providers []calc.Provider
	for _, p := range d.Providers {
		providers = append(providers, p)
	}
	if err := s.UpsertProviders(ctx, providers); err != nil {
		t.Fatal(err)
	}
	return d
}

// settledAll settles every shipped claim through o, in settlement order.
func settledAll(t *testing.T, o *ops.Service, d *fixtures.Data) {
	t.Helper()
	for _, i := range replay.Order(d.Claims.Claims) {
		if _, _, err := o.Settle(context.Background(), d.Claims.Claims[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// twoClaims returns the first two claims, in settlement order, of a person whose second
// claim of 2018 settles to other amounts when the first is not there: the first claim's
// ledger matters to the second.
func twoClaims(t *testing.T, d *fixtures.Data) (calc.Claim, calc.Claim) {
	t.Helper()
	claims := d.Claims.Claims
	order := replay.Order(claims)
	for k := 1; k < len(order); k++ {
		a, b := claims[order[k-1]], claims[order[k]]
		if a.PersonID != b.PersonID || (k > 1 && claims[order[k-2]].PersonID == a.PersonID) {
			continue
		}
		p, person := d.Policies.At(a.DischargedOn), d.Persons[a.PersonID]
		_, after, err := calc.Settle(p, person, calc.Ledger{}, a)
		if err != nil {
			t.Fatal(err)
		}
		alone, _, err1 := calc.Settle(p, person, calc.Ledger{}, b)
		second, _, err2 := calc.Settle(p, person, after, b)
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if alone.OutOfPocket != second.OutOfPocket {
			return a, b
		}
	}
	t.Fatal("no person whose second claim depends on the first")
	return calc.Claim{}, calc.Claim{}
}

func TestSettleQuoteReverse(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loaded(t, s)
		o := ops.New(s)
		first, second := twoClaims(t, d)
		policy := d.Policies.At(first.DischargedOn)
		person := d.Persons[first.PersonID]
		want1, ledger1, err := calc.Settle(policy, person, calc.Ledger{}, first)
		if err != nil {
			t.Fatal(err)
		}
		want2, ledger2, err := calc.Settle(policy, person, ledger1, second)
		if err != nil {
			t.Fatal(err)
		}

		q, ql, err := o.Quote(ctx, first)
		if err != nil || q != want1 || ql != ledger1 {
			t.Fatalf("quote of the first claim: %v\n got %+v %+v\nwant %+v %+v", err, q, ql, want1, ledger1)
		}
		st, created, err := o.Settle(ctx, first)
		if err != nil || !created || st.Settlement != want1 || st.Ledger != ledger1 {
			t.Fatalf("settle the first claim: created %v, %v\n got %+v\nwant %+v", created, err, st.Settlement, want1)
		}
		again, created, err := o.Settle(ctx, first)
		if err != nil || created || again.ID != st.ID {
			t.Errorf("settle the first claim again: %s created %v, %v; want %s, not created", again.ID, created, err, st.ID)
		}
		if q, ql, err := o.Quote(ctx, second); err != nil || q != want2 || ql != ledger2 {
			t.Errorf("quote of the second claim after the first: %v\n got %+v\nwant %+v", err, q, want2)
		}
		st2, _, err := o.Settle(ctx, second)
		if err != nil || st2.Settlement != want2 {
			t.Fatalf("settle the second claim: %v", err)
		}

		rev, err := o.Reverse(ctx, st.ID, "bill corrected")
		if err != nil {
			t.Fatal(err)
		}
		// The second claim is re-settled as if the first never was; the patient pays what
		// they paid at discharge, and a rise of their share goes to the backstop.
		_, wantAfter, err := calc.Settle(d.Policies.At(second.DischargedOn), d.Persons[second.PersonID], calc.Ledger{}, second)
		if err != nil {
			t.Fatal(err)
		}
		if rise := wantAfter.OutOfPocket - want2.OutOfPocket; rise > 0 {
			wantAfter.BackstopPaid += rise
			wantAfter.OutOfPocket -= rise
		}
		if rev.Reverses != st.ID || rev.Reason != "bill corrected" || rev.Ledger != wantAfter {
			t.Errorf("reversal %+v, ledger %+v; want it to reverse %s and leave %+v", rev, rev.Ledger, st.ID, wantAfter)
		}
		if l, err := s.Ledger(ctx, second.PersonID, 2018); err != nil || l != wantAfter {
			t.Errorf("kept ledger %+v, %v; want %+v", l, err, wantAfter)
		}

		t.Run("Errors", func(t *testing.T) {
			if _, err := o.Reverse(ctx, st.ID, "again"); !errors.Is(err, store.ErrConflict) {
				t.Errorf("reverse twice: %v, want ErrConflict", err)
			}
			if _, err := o.Reverse(ctx, rev.ID, "a reversal"); !errors.Is(err, store.ErrConflict) {
				t.Errorf("reverse a reversal: %v, want ErrConflict", err)
			}
			if _, err := o.Reverse(ctx, "S-none", "x"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("reverse an unknown settlement: %v, want ErrNotFound", err)
			}
			changed := first
			changed.Total += calc.Yuan
			var ce *store.ConflictError
			if _, _, err := o.Settle(ctx, changed); !errors.As(err, &ce) || !slices.Contains(ce.Fields, "total") {
				t.Errorf("settle a claim id again with another total: %v, want a ConflictError naming total", err)
			}
			nobody := second
			nobody.ID, nobody.PersonID = "C-nobody", "P-nobody"
			if _, _, err := o.Settle(ctx, nobody); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("settle for an unknown person: %v, want ErrNotFound", err)
			}
			late := second
			late.ID, late.AdmittedOn, late.DischargedOn = "C-2030", calc.NewDate(2030, 1, 1), calc.NewDate(2030, 1, 2)
			if _, _, err := o.Quote(ctx, late); !errors.Is(err, calc.ErrNoPolicy) {
				t.Errorf("quote a claim of 2030: %v, want ErrNoPolicy", err)
			}
			bad := second
			bad.ID, bad.InPolicy = "C-bad", bad.Total+1
			if _, _, err := o.Settle(ctx, bad); !errors.Is(err, calc.ErrInvalid) {
				t.Errorf("settle an invalid claim: %v, want ErrInvalid", err)
			}
		})
	})
}

func TestAudit(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loaded(t, s)
		o := ops.New(s)
		settledAll(t, o, d)
		direct, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
		if err != nil {
			t.Fatal(err)
		}
		from, to := calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)

		for _, name := range []string{"", ops.InForce, "pingxiang-2018"} {
			v, err := o.Versions(ctx, name)
			if err != nil {
				t.Fatalf("versions %q: %v", name, err)
			}
			if got := v.Version() != nil; got != (name == "pingxiang-2018") {
				t.Errorf("versions %q: one version %v", name, got)
			}
			var stages []string
			a, err := o.Audit(ctx, from, to, v, func(p ops.Progress) { stages = append(stages, p.Stage) })
			if err != nil {
				t.Fatal(err)
			}
			if a.Claims != 559 || a.Reversed != 0 || len(a.Differences) != 0 || a.Replayed != direct.Tally || a.Stored != direct.Tally {
				t.Errorf("audit under %q: %s; replayed %+v, want %+v", name, a.Summary(), a.Replayed, direct.Tally)
			}
			if want := []string{"read"}; !slices.Equal(stages, want) {
				t.Errorf("audit under %q reported stages %v, want %v", name, stages, want)
			}
		}
		if _, err := o.Versions(ctx, "pingxiang-2099"); !errors.Is(err, ops.ErrUnknownVersion) {
			t.Errorf("versions of an unpublished version: %v, want ErrUnknownVersion", err)
		}
		if _, err := o.Audit(ctx, from, to, ops.Versions{}, nil); err == nil {
			t.Error("audit without versions chosen: no error")
		}
		// Cancelled, the audit stops with the context's error.
		inForce, err := o.Versions(ctx, ops.InForce)
		if err != nil {
			t.Fatal(err)
		}
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := o.Audit(cctx, from, to, inForce, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled audit: %v, want context.Canceled", err)
		}

		// A reversal leaves its claim out and re-settles the later claims of its
		// person-year: the audit then finds no difference.
		first, _ := twoClaims(t, d)
		st, err := s.SettlementForClaim(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Reverse(ctx, st.ID, "test"); err != nil {
			t.Fatal(err)
		}
		v, err := o.Versions(ctx, ops.InForce)
		if err != nil {
			t.Fatal(err)
		}
		a, err := o.Audit(ctx, from, to, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.Claims != 558 || a.Reversed != 1 {
			t.Errorf("audit after a reversal: %s", a.Summary())
		}
		for _, diff := range a.Differences {
			t.Errorf("difference after a reversal: %+v", diff)
		}
	})
}

// merged returns the shipped policy with change applied, as a set.
func merged(t *testing.T, change string) *calc.PolicySet {
	t.Helper()
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := policyfile.Merge(doc, "test", []byte(change))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := calc.NewPolicySet(p)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

func TestWhatIfAndSweep(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loaded(t, s)
		o := ops.New(s)
		settledAll(t, o, d)
		from, to := calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)

		w, set, err := o.WhatIf(ctx, from, to, []byte("commercial: {in_policy_rate: 0.50}"))
		if err != nil {
			t.Fatal(err)
		}
		base, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
		if err != nil {
			t.Fatal(err)
		}
		scenario, err := replay.Run(merged(t, "commercial: {in_policy_rate: 0.50}"), d.Persons, d.Claims.Claims)
		if err != nil {
			t.Fatal(err)
		}
		if set.Len() != 559 || w.Base.All != base.Tally || w.Scenario.All != scenario.Tally {
			t.Errorf("what-if on %d claims:\n base %+v\nwant %+v\n scenario %+v\nwant %+v", set.Len(), w.Base.All, base.Tally, w.Scenario.All, scenario.Tally)
		}
		var ce *ops.ChangeError
		if _, _, err := o.WhatIf(ctx, from, to, []byte("commercial: {in_policy_rate: 1.50}")); !errors.As(err, &ce) || ce.Version != "pingxiang-2018" || !errors.Is(err, calc.ErrInvalid) {
			t.Errorf("what-if with a rate of 150%%: %v, want a ChangeError of pingxiang-2018 (ErrInvalid)", err)
		}

		values, err := ops.SweepValues("0.08", "0.12", "0.02")
		if err != nil {
			t.Fatal(err)
		}
		steps, err := o.Sweep(ctx, from, to, "backstop.oop_ceiling", values)
		if err != nil {
			t.Fatal(err)
		}
		if len(steps) != 3 {
			t.Fatalf("%d steps, want 3", len(steps))
		}
		for _, st := range steps {
			want, err := replay.Run(merged(t, "backstop: {oop_ceiling: "+st.Value.Decimal()+"}"), d.Persons, d.Claims.Claims)
			if err != nil {
				t.Fatal(err)
			}
			if st.Tally != want.Tally {
				t.Errorf("oop_ceiling %s: %+v, want %+v", st.Value.Decimal(), st.Tally, want.Tally)
			}
		}
		if steps[0].Tally.Lines[calc.Backstop] <= steps[2].Tally.Lines[calc.Backstop] {
			t.Errorf("a lower ceiling should cost the backstop more: %s at 0.08, %s at 0.12",
				steps[0].Tally.Lines[calc.Backstop], steps[2].Tally.Lines[calc.Backstop])
		}
		if _, err := o.Sweep(ctx, from, to, "backstop.no_such_field", values); !errors.Is(err, calc.ErrInvalid) ||
			!strings.Contains(err.Error(), `unknown parameter "no_such_field"`) {
			t.Errorf("sweep of an unknown field: %v, want an invalid parameter naming no_such_field", err)
		}
	})
}
