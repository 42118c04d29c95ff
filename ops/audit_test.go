package ops_test

import (
	"context"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
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
