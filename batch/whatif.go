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

// RunWhatIf settles set under base and under scenario, in one pass, and compares the two
// runs; opt.Each, if set, sees the base's settlements.
func RunWhatIf(set *ClaimTable, base, scenario *calc.PolicySet, opt Options) (*WhatIf, error) {
	runs, err := runEach(set, []*calc.PolicySet{base, scenario}, opt)
	if err != nil {
		return nil, err
	}
	return compare(set, runs[0], runs[1], opt.TopHouseholds), nil
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
	household, ids := set.households()
	for p := range set.Persons {
		switch d := scenario.OutOfPocket[p] - base.OutOfPocket[p]; {
		case d > 0:
			w.PayMore++
		case d < 0:
			w.PayLess++
		}
	}
	// The claims of persons whose household changed count in the household of their
	// discharge day (issue 13): movedTo[i] is base.Moved[i]'s household, numbered after
	// those of the table when the table has no number for it.
	var movedTo []int32
	if len(base.Moved) > 0 {
		number := make(map[string]int32, len(ids))
		for h, id := range ids {
			number[id] = int32(h)
		}
		movedTo = make([]int32, len(base.Moved))
		for i := range base.Moved {
			m := &base.Moved[i]
			id := set.Persons[m.Person].HouseholdID
			if x, err := set.PersonAt(int(m.Person), int(m.Row)); err == nil {
				id = x.HouseholdID
			}
			h, ok := number[id]
			if !ok {
				h = int32(len(ids))
				number[id] = h
				ids = append(ids, id)
			}
			movedTo[i] = h
		}
	}
	moved := func(p int) bool {
		return movedTo != nil && set.Histories[int32(p)] != nil && isMover(base.Moved, int32(p))
	}
	// each calls f with every household's part of the runs: a person's claims, or a moved
	// claim.
	each := func(f func(h int32, b, s *[calc.NumLines]calc.Money, bOOP, sOOP calc.Money)) {
		for p := range set.Persons {
			if moved(p) {
				continue
			}
			f(household[p], &base.Lines[p], &scenario.Lines[p], base.OutOfPocket[p], scenario.OutOfPocket[p])
		}
		for i := range base.Moved {
			b, s := &base.Moved[i], &scenario.Moved[i]
			f(movedTo[i], &b.Lines, &s.Lines, b.OutOfPocket, s.OutOfPocket)
		}
	}
	sum := func(l *[calc.NumLines]calc.Money) calc.Money {
		var m calc.Money
		for _, x := range l {
			m += x
		}
		return m
	}
	n := len(ids)
	// used[h] reports whether household h has claims: a mover's latest household may
	// have none on any day. Nil when every household has some.
	var used []bool
	if movedTo != nil {
		used = make([]bool, n)
		each(func(h int32, _, _ *[calc.NumLines]calc.Money, _, _ calc.Money) { used[h] = true })
	}
	listed := func(h int32) bool { return used == nil || used[h] }
	// chosen[h] is household h's place in w.Households, or -1 if it is not listed.
	chosen := make([]int32, n)
	if top <= 0 || 2*top >= n {
		w.Households = make([]HouseholdChange, 0, n)
		for h := range chosen {
			chosen[h] = -1
			if listed(int32(h)) {
				chosen[h] = int32(len(w.Households))
				w.Households = append(w.Households, HouseholdChange{})
			}
		}
	} else {
		delta := make([]calc.Money, n)
		each(func(h int32, b, s *[calc.NumLines]calc.Money, _, _ calc.Money) { delta[h] += sum(s) - sum(b) })
		// Before reports whether household a comes before b in Compare's list.
		before := func(a, b int32) bool {
			return delta[a] > delta[b] || delta[a] == delta[b] && ids[a] < ids[b]
		}
		rises, falls := make([]int32, 0, top+1), make([]int32, 0, top+1)
		for h := range int32(n) {
			if !listed(h) {
				continue
			}
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
			w.Households[i].ID = ids[h]
		}
	}
	each(func(hh int32, b, s *[calc.NumLines]calc.Money, bOOP, sOOP calc.Money) {
		i := chosen[hh]
		if i < 0 {
			return
		}
		h := &w.Households[i]
		h.PublicBase += sum(b)
		h.PublicScenario += sum(s)
		h.OOPBase += bOOP
		h.OOPScenario += sOOP
		for l := range calc.NumLines {
			h.LinesBase[l] += b[l]
			h.LinesScenario[l] += s[l]
		}
	})
	slices.SortFunc(w.Households, func(a, b HouseholdChange) int {
		return cmp.Or(cmp.Compare(b.PublicDelta(), a.PublicDelta()), cmp.Compare(a.ID, b.ID))
	})
	return w
}

// isMover reports whether person p has claims in moved, which is in person order.
func isMover(moved []MovedClaim, p int32) bool {
	_, found := slices.BinarySearchFunc(moved, p, func(m MovedClaim, p int32) int { return cmp.Compare(m.Person, p) })
	return found
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
// household's id.
func (s *ClaimTable) households() (household []int32, ids []string) {
	if s.Household != nil {
		ids = make([]string, s.NumHouseholds)
		for p := len(s.Persons) - 1; p >= 0; p-- {
			ids[s.Household[p]] = s.Persons[p].HouseholdID
		}
		return s.Household, ids
	}
	index := map[string]int32{}
	household = make([]int32, len(s.Persons))
	for p := range s.Persons {
		id := s.Persons[p].HouseholdID
		i, ok := index[id]
		if !ok {
			i = int32(len(ids))
			index[id] = i
			ids = append(ids, id)
		}
		household[p] = i
	}
	return household, ids
}
