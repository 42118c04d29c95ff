package ops_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestAuditStreamedEqualsInMemory: the audit that re-settles person by person as the
// claims stream in gives exactly the audit of all claims held at once (batch.RunAudit
// over store.LoadStoredClaims), on a mixed history: claims settled out of order,
// reversals that re-settle later claims (adjustments), a reconciliation applied to some
// persons, under the versions in force and under another version; with chunks of a few
// claims, so that persons cross many hand-overs.
func TestAuditStreamedEqualsInMemory(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d, o, _ := mixedHistory(t, s)
		from, to := calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)
		defer ops.SetChunkClaims(7)()

		other := d.Policies.Policies()[0].Clone()
		other.Version = "pingxiang-2018-revised"
		other.Commercial.InPolicyRate = 500_000
		for _, only := range []*calc.Policy{nil, other} {
			stored, err := s.LoadStoredClaims(ctx, from, to, 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			persons, err := s.Persons(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, err := batch.RunAudit(persons, stored, d.Policies, only, batch.Options{})
			if err != nil {
				t.Fatal(err)
			}
			v, err := o.Versions(ctx, ops.InForce)
			if err != nil {
				t.Fatal(err)
			}
			var got *batch.Audit
			if only == nil {
				got, err = o.Audit(ctx, from, to, v, nil)
			} else {
				got, err = ops.AuditUnder(o, ctx, from, to, v, only)
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("version %v: streamed audit %s differs from the audit in memory %s", only != nil, got.Summary(), want.Summary())
			}
			// The history is as mixed as it says.
			adjusted := slices.ContainsFunc(stored, func(sc calc.PaidClaim) bool { return sc.Adjusted })
			outOfOrder := slices.ContainsFunc(want.Differences, func(d batch.Difference) bool {
				return slices.Contains(d.Causes, batch.CauseOutOfOrder)
			})
			if want.Reversed == 0 || !adjusted || !outOfOrder || len(want.Differences) == 0 {
				t.Errorf("history not mixed: %s, adjusted %v, out of order %v", want.Summary(), adjusted, outOfOrder)
			}
		}
	})
}

// mixedHistory stores the shipped claims settled in a shuffled order (most persons' out of
// discharge order), every ninth settlement reversed (re-settling the later claims of its
// person-year: adjustments), and the person-years of 40 persons reconciled. It returns
// the claims in the order settled.
func mixedHistory(t *testing.T, s *store.Store) (*fixtures.Data, *ops.Service, []calc.Claim) {
	t.Helper()
	ctx := context.Background()
	d := loaded(t, s)
	o := ops.New(s)
	claims := slices.Clone(d.Claims.Claims)
	r := rand.New(rand.NewPCG(9, 12))
	r.Shuffle(len(claims), func(i, j int) { claims[i], claims[j] = claims[j], claims[i] })
	var settled []store.SettlementRecord
	for _, c := range claims {
		st, _, err := o.Settle(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		settled = append(settled, st)
	}
	for i := 0; i < len(settled); i += 9 {
		if _, err := o.Reverse(ctx, settled[i].ID, "test"); err != nil {
			t.Fatal(err)
		}
	}
	from, to := calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)
	for _, c := range claims[:40] {
		if _, err := o.Reconcile(ctx, from, to, c.PersonID, true); err != nil {
			t.Fatal(err)
		}
	}
	return d, o, claims
}

// TestReconcileStreamed: a reconciliation of every person, which re-settles the
// person-years from the audit's streamed read, finds exactly what reconciling each person
// in turn finds (each person-year read in its own transaction), for a whole year and for
// a period that cuts person-years; applied, it books that, a second time nothing, and an
// audit then finds no difference.
func TestReconcileStreamed(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, o, claims := mixedHistory(t, s)
		defer ops.SetChunkClaims(5)()
		var ids []string
		for _, c := range claims {
			ids = append(ids, c.PersonID)
		}
		slices.Sort(ids)
		ids = slices.Compact(ids)
		// The adjustments as comparable text: everything but their ids, causes' ids and times.
		text := func(r ops.Reconciliation) []string {
			var out []string
			for _, a := range r.Adjustments {
				out = append(out, fmt.Sprintf("%s %s %s %s %+v", a.SettlementID, a.Cause, a.DischargedOn, a.Adjustment.ClaimID, a.Adjustment))
			}
			return out
		}
		periods := [][2]calc.Date{{calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)}, {calc.NewDate(2018, 3, 1), calc.NewDate(2018, 6, 30)}}
		for _, p := range periods {
			got, err := o.Reconcile(ctx, p[0], p[1], "", false)
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			years := 0
			for _, id := range ids {
				r, err := o.Reconcile(ctx, p[0], p[1], id, false)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, text(r)...)
				years += r.PersonYears
			}
			if !slices.Equal(text(got), want) || got.PersonYears != years {
				t.Errorf("%s to %s: streamed %d person-years, adjustments\n%s\nper person %d, adjustments\n%s",
					p[0], p[1], got.PersonYears, strings.Join(text(got), "\n"), years, strings.Join(want, "\n"))
			}
			if len(want) == 0 {
				t.Errorf("%s to %s: nothing to reconcile: the history is not out of order", p[0], p[1])
			}
		}
		from, to := periods[0][0], periods[0][1]
		dry, err := o.Reconcile(ctx, from, to, "", false)
		if err != nil {
			t.Fatal(err)
		}
		applied, err := o.Reconcile(ctx, from, to, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(text(applied), text(dry)) {
			t.Errorf("applied\n%s\ndry run\n%s", strings.Join(text(applied), "\n"), strings.Join(text(dry), "\n"))
		}
		again, err := o.Reconcile(ctx, from, to, "", true)
		if err != nil {
			t.Fatal(err)
		}
		if len(again.Adjustments) != 0 {
			t.Errorf("applied twice: %d adjustments the second time", len(again.Adjustments))
		}
		v, err := o.Versions(ctx, ops.InForce)
		if err != nil {
			t.Fatal(err)
		}
		a, err := o.Audit(ctx, from, to, v, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range a.Differences {
			t.Errorf("after the reconciliation: %+v", d)
		}
	})
}
