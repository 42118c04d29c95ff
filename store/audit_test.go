package store_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

func audit(t *testing.T, s *store.Store, only *calc.Policy) *batch.Audit {
	t.Helper()
	ctx := context.Background()
	var stored []calc.PaidClaim
	err := s.StoredClaims(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), func(sc *calc.PaidClaim) error {
		stored = append(stored, *sc)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	persons, err := s.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	policies, err := s.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	a, err := batch.RunAudit(persons, stored, policies, only, batch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// causesOf returns the causes given for claim id, or nil if it does not differ.
func causesOf(a *batch.Audit, id string) []string {
	for _, d := range a.Differences {
		if d.ClaimID == id {
			return d.Causes
		}
	}
	return nil
}

func TestAuditShippedClaims(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		d := loadShipped(t, s)
		for _, i := range replay.Order(d.Claims.Claims) {
			if _, _, err := ops.New(s).Settle(context.Background(), d.Claims.Claims[i]); err != nil {
				t.Fatal(err)
			}
		}
		a := audit(t, s, nil)
		if len(a.Differences) != 0 || a.Claims != len(d.Claims.Claims) || a.Stored != a.Replayed {
			t.Fatalf("%s; stored %+v, replayed %+v", a.Summary(), a.Stored, a.Replayed)
		}
		pub := fixtures.Published2018
		if a.Replayed.Total != pub.Total || a.Replayed.Lines[calc.Critical] != pub.Lines[calc.Critical] ||
			a.Replayed.Lines[calc.Commercial] != pub.Lines[calc.Commercial] || a.Replayed.Lines[calc.Aid] != pub.Lines[calc.Aid] ||
			a.Replayed.Lines[calc.Backstop] != pub.Lines[calc.Backstop] {
			t.Errorf("audit replay %+v is not the published figures", a.Replayed)
		}
	})
}

// Each cause of a difference, produced by a scenario that really produces it.
func TestAuditCauses(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		claim := func(id, person string, month int, total calc.Money) calc.Claim {
			c := testClaim(id, person, total)
			c.DischargedOn = calc.NewDate(2018, 1, 1) + calc.Date(30*month)
			c.AdmittedOn = c.DischargedOn - 3
			return c
		}
		settle := func(c calc.Claim) store.SettlementRecord {
			st, _, err := ops.New(s).Settle(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		// Reversal: A then B of one person; A is reversed, and B, re-settled by the
		// reversal, replays to what it pays now.
		a := settle(claim("REV-A", "P00001", 1, 40000*calc.Yuan))
		settle(claim("REV-B", "P00001", 3, 30000*calc.Yuan))
		if _, err := ops.New(s).Reverse(ctx, a.ID, "wrong patient"); err != nil {
			t.Fatal(err)
		}
		// Out of order: the later discharge is settled first.
		settle(claim("ORD-B", "P00002", 5, 30000*calc.Yuan))
		settle(claim("ORD-A", "P00002", 2, 40000*calc.Yuan))
		// A person whose claims are all in order and untouched does not differ.
		settle(claim("OK-1", "P00003", 1, 20000*calc.Yuan))
		settle(claim("OK-2", "P00003", 4, 20000*calc.Yuan))

		got := audit(t, s, nil)
		for _, id := range []string{"ORD-A", "ORD-B"} {
			if c := causesOf(got, id); !slices.Equal(c, []string{batch.CauseOutOfOrder}) {
				t.Errorf("%s causes %v, want out of order", id, c)
			}
		}
		for _, id := range []string{"OK-1", "OK-2", "REV-A", "REV-B"} {
			if c := causesOf(got, id); c != nil {
				t.Errorf("%s differs (%v)", id, c)
			}
		}
		if got.Reversed != 1 {
			t.Errorf("%d reversed claims left out, want 1", got.Reversed)
		}

		// Another version: replaying under a version with another commercial rate.
		other := d.Policies.Policies()[0].Clone()
		other.Version = "pingxiang-2018-revised"
		other.Commercial.InPolicyRate = 500_000
		got = audit(t, s, other)
		if c := causesOf(got, "OK-1"); !slices.Contains(c, batch.CauseOtherVersion) {
			t.Errorf("OK-1 under another version: causes %v", c)
		}
	})
}

// TestLoadStoredClaimsProgress: progress every 100 claims and once at the end, with the
// count of the period.
func TestLoadStoredClaimsProgress(t *testing.T) {
	s := storetest.SQLite(t)
	d := loadShipped(t, s)
	for _, i := range replay.Order(d.Claims.Claims) {
		if _, _, err := ops.New(s).Settle(context.Background(), d.Claims.Claims[i]); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	stored, err := s.LoadStoredClaims(context.Background(), calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), 100,
		func(read, total int) { got = append(got, fmt.Sprintf("%d/%d", read, total)) })
	if err != nil {
		t.Fatal(err)
	}
	want := "100/559 200/559 300/559 400/559 500/559 559/559"
	if strings.Join(got, " ") != want || len(stored) != 559 {
		t.Errorf("reports %v for %d claims, want %s", got, len(stored), want)
	}
}
