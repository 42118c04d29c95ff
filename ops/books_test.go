package ops_test

import (
	"testing"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
)

// TestLargest: the households chosen each way change in that direction, come in order of
// the size of the change, are at most top, and are the largest of all.
func TestLargest(t *testing.T) {
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	set, err := batch.NewClaimTable(d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	for _, change := range []string{"backstop: {oop_ceiling: 0.05}", "backstop: {oop_ceiling: 0.20}", "commercial: {in_policy_rate: 0.50}"} {
		w, err := batch.RunWhatIf(set, d.Policies, merged(t, change), batch.Options{})
		if err != nil {
			t.Fatal(err)
		}
		var up, down int
		for _, h := range w.Households {
			switch {
			case h.PublicDelta() > 0:
				up++
			case h.PublicDelta() < 0:
				down++
			}
		}
		if up+down == 0 {
			t.Fatalf("%s changes no household: the test would test nothing", change)
		}
		for _, top := range []int{0, 1, 5, 10_000} {
			rises, falls := ops.Largest(w, top)
			if len(rises) != min(top, up) || len(falls) != min(top, down) {
				t.Errorf("%s top %d: %d rises of %d, %d falls of %d", change, top, len(rises), up, len(falls), down)
			}
			for i, h := range rises {
				if h.PublicDelta() <= 0 || i > 0 && h.PublicDelta() > rises[i-1].PublicDelta() {
					t.Errorf("%s rise %d: %s %s", change, i, h.ID, h.PublicDelta())
				}
			}
			for i, h := range falls {
				if h.PublicDelta() >= 0 || i > 0 && h.PublicDelta() < falls[i-1].PublicDelta() {
					t.Errorf("%s fall %d: %s %s", change, i, h.ID, h.PublicDelta())
				}
			}
			// None left out is larger than the smallest chosen.
			for _, h := range w.Households {
				if n := len(rises); n > 0 && n < up && h.PublicDelta() > rises[n-1].PublicDelta() && !chosen(rises, h.ID) {
					t.Errorf("%s: %s rises by %s, more than the last chosen", change, h.ID, h.PublicDelta())
				}
				if n := len(falls); n > 0 && n < down && h.PublicDelta() < falls[n-1].PublicDelta() && !chosen(falls, h.ID) {
					t.Errorf("%s: %s falls by %s, more than the last chosen", change, h.ID, h.PublicDelta())
				}
			}
		}
	}
}

func chosen(hs []*batch.HouseholdChange, id string) bool {
	for _, h := range hs {
		if h.ID == id {
			return true
		}
	}
	return false
}
