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
	return Compare(set, b, s), nil
}

// Compare compares two runs of the same set.
func Compare(set *ClaimTable, base, scenario *Result) *WhatIf {
	w := &WhatIf{Base: base, Scenario: scenario}
	// Number the households first and size the list once: grown one household at a time,
	// the list of a province's households would be copied over and over.
	index := map[string]int32{}
	household := make([]int32, len(set.Persons)) // each person's household's number
	for p := range set.Persons {
		id := set.Persons[p].HouseholdID
		i, ok := index[id]
		if !ok {
			i = int32(len(index))
			index[id] = i
		}
		household[p] = i
	}
	w.Households = make([]HouseholdChange, len(index))
	for id, i := range index {
		w.Households[i].ID = id
	}
	for p := range set.Persons {
		switch d := scenario.OutOfPocket[p] - base.OutOfPocket[p]; {
		case d > 0:
			w.PayMore++
		case d < 0:
			w.PayLess++
		}
		h := &w.Households[household[p]]
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
