package batch

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// TestCompareTop: the households a what-if lists with TopHouseholds are the first and
// the last of Compare's full list, in its order, whether households are numbered by the
// table or found by id; with rises, falls and ties of every kind.
func TestCompareTop(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 40 {
		persons := 1 + rng.IntN(300)
		set := &ClaimTable{}
		numbered := &ClaimTable{}
		ids := map[string]int32{}
		for p := range persons {
			h := fmt.Sprintf("H%03d", rng.IntN(1+persons/2))
			set.Persons = append(set.Persons, calc.Person{ID: fmt.Sprintf("P%04d", p), HouseholdID: h})
			n, ok := ids[h]
			if !ok {
				n = int32(len(ids))
				ids[h] = n
			}
			numbered.Household = append(numbered.Household, n)
		}
		numbered.Persons, numbered.NumHouseholds = set.Persons, len(ids)
		run := func() *Result {
			r := &Result{OutOfPocket: make([]calc.Money, persons), Lines: make([][calc.NumLines]calc.Money, persons)}
			for p := range persons {
				r.OutOfPocket[p] = calc.Money(rng.IntN(3))
				r.Lines[p][rng.IntN(int(calc.NumLines))] = calc.Money(rng.IntN(4))
			}
			return r
		}
		base, scenario := run(), run()
		full := Compare(set, base, scenario)
		if got := Compare(numbered, base, scenario); !reflect.DeepEqual(got, full) {
			t.Fatalf("trial %d: households numbered by the table give another comparison", trial)
		}
		for top := 1; top <= 6; top++ {
			for _, s := range []*ClaimTable{set, numbered} {
				w := compare(s, base, scenario, top)
				want := full.Households
				if 2*top < len(want) {
					want = append(append([]HouseholdChange(nil), want[:top]...), want[len(want)-top:]...)
				}
				if !reflect.DeepEqual(w.Households, want) || w.PayMore != full.PayMore || w.PayLess != full.PayLess {
					t.Fatalf("trial %d, top %d: households\n%+v\nwant\n%+v", trial, top, w.Households, want)
				}
			}
		}
	}
}
