package batch

import (
	"cmp"
	"slices"

	"github.com/hpcalc/hpcalc/calc"
)

// WhatIf is a baseline run and a scenario run of the same claims, and what changed.
type WhatIf struct {
	Base, Scenario *Result
	Households     []HouseholdChange // by change in public cost, largest rise first
	PayMore        int               // persons who would pay more out of pocket
	PayLess        int               // persons who would pay less
}

// HouseholdChange is what a household's claims cost under both runs.
type HouseholdChange struct {
	ID                         string
	PublicBase, PublicScenario calc.Money // the five lines together
	OOPBase, OOPScenario       calc.Money
	LinesBase, LinesScenario   [calc.NumLines]calc.Money
}

// LineDelta is what line l pays under the scenario less under the baseline.
func (h *HouseholdChange) LineDelta(l calc.Line) calc.Money {
	return h.LinesScenario[l] - h.LinesBase[l]
}

// PublicDelta is the scenario's public cost less the baseline's.
func (h *HouseholdChange) PublicDelta() calc.Money { return h.PublicScenario - h.PublicBase }

// OOPDelta is the scenario's out-of-pocket less the baseline's.
func (h *HouseholdChange) OOPDelta() calc.Money { return h.OOPScenario - h.OOPBase }

// RunWhatIf settles set under base and under scenario and compares the two runs.
func RunWhatIf(set *ClaimTable, base, scenario *calc.PolicySet, opt Options) (*WhatIf, error) {
	b, err := Run(set, base, opt)
	if err != nil {
		return nil, err
	}
	s, err := Run(set, scenario, opt)
	if err != nil {
		return nil, err
	}
	return compare(set, b, s, opt.TopHouseholds), nil
}

// Compare compares two runs of the same set; its Households are every household.
func Compare(set *ClaimTable, base, scenario *Result) *WhatIf { return compare(set, base, scenario, 0) }

// compare compares two runs of the same set. With top > 0 its Households are only the
// top households whose claims would cost the public purse most more and most less: the
// first top and the last top of the list Compare gives, in its order. Selecting them
// rather than sorting every household (a province has hundreds of thousands) was a tenth
// of a what-if's time.
func compare(set *ClaimTable, base, scenario *Result, top int) *WhatIf {
	w := &WhatIf{Base: base, Scenario: scenario}
	household, first := set.households()
	n := len(first)
	for p := range set.Persons {
		switch d := scenario.OutOfPocket[p] - base.OutOfPocket[p]; {
		case d > 0:
			w.PayMore++
		case d < 0:
			w.PayLess++
		}
	}
	id := func(h int32) string { return set.Persons[first[h]].HouseholdID }
	// chosen[h] is household h's place in w.Households, or -1 if it is not listed.
	chosen := make([]int32, n)
	if top <= 0 || 2*top >= n {
		w.Households = make([]HouseholdChange, n)
		for h := range chosen {
			chosen[h] = int32(h)
		}
	} else {
		delta := make([]calc.Money, n)
		for p := range set.Persons {
			delta[household[p]] += scenario.Public(p) - base.Public(p)
		}
		// Before reports whether household a comes before b in Compare's list.
		before := func(a, b int32) bool {
			return delta[a] > delta[b] || delta[a] == delta[b] && id(a) < id(b)
		}
		rises, falls := make([]int32, 0, top+1), make([]int32, 0, top+1)
		for h := range int32(n) {
			rises = keepBest(rises, h, top, before)
			falls = keepBest(falls, h, top, func(a, b int32) bool { return before(b, a) })
		}
		for i := range chosen {
			chosen[i] = -1
		}
		for _, h := range append(rises, falls...) {
			if chosen[h] < 0 {
				chosen[h] = int32(len(w.Households))
				w.Households = append(w.Households, HouseholdChange{})
			}
		}
	}
	for h, i := range chosen {
		if i >= 0 {
			w.Households[i].ID = id(int32(h))
		}
	}
	for p := range set.Persons {
		i := chosen[household[p]]
		if i < 0 {
			continue
		}
		h := &w.Households[i]
		h.PublicBase += base.Public(p)
		h.PublicScenario += scenario.Public(p)
		h.OOPBase += base.OutOfPocket[p]
		h.OOPScenario += scenario.OutOfPocket[p]
		for l := range calc.NumLines {
			h.LinesBase[l] += base.Lines[p][l]
			h.LinesScenario[l] += scenario.Lines[p][l]
		}
	}
	slices.SortFunc(w.Households, func(a, b HouseholdChange) int {
		return cmp.Or(cmp.Compare(b.PublicDelta(), a.PublicDelta()), cmp.Compare(a.ID, b.ID))
	})
	return w
}

// keepBest adds h to best, the at most top households first by before, in that order.
func keepBest(best []int32, h int32, top int, before func(a, b int32) bool) []int32 {
	if len(best) == top && !before(h, best[top-1]) {
		return best
	}
	i := len(best)
	for i > 0 && before(h, best[i-1]) {
		i--
	}
	best = slices.Insert(best, i, h)
	if len(best) > top {
		best = best[:top]
	}
	return best
}

// households numbers the households of set's persons: each person's household, and each
// household's first person.
func (s *ClaimTable) households() (household, first []int32) {
	if s.Household != nil {
		first = make([]int32, s.NumHouseholds)
		for i := range first {
			first[i] = -1
		}
		for p := len(s.Persons) - 1; p >= 0; p-- {
			first[s.Household[p]] = int32(p)
		}
		return s.Household, first
	}
	index := map[string]int32{}
	household = make([]int32, len(s.Persons))
	for p := range s.Persons {
		id := s.Persons[p].HouseholdID
		i, ok := index[id]
		if !ok {
			i = int32(len(first))
			index[id] = i
			first = append(first, int32(p))
		}
		household[p] = i
	}
	return household, first
}
