package api

import (
	"context"
	"net/http"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/labstack/echo/v4"
)

// whatIfGroup is one group's totals under both runs, and what changed per line.
type whatIfGroup struct {
	Group            string           `json:"group"`
	Baseline         auditTotals      `json:"baseline"`
	Scenario         auditTotals      `json:"scenario"`
	Delta            map[string]money `json:"delta"` // scenario − baseline, by line, out_of_pocket and public
	PublicDelta      money            `json:"public_delta"`
	OutOfPocketDelta money            `json:"out_of_pocket_delta"`
}

// whatIfHousehold is what changes for one household's claims.
type whatIfHousehold struct {
	HouseholdID      string           `json:"household_id"`
	PublicDelta      money            `json:"public_delta"`
	OutOfPocketDelta money            `json:"out_of_pocket_delta"`
	Delta            map[string]money `json:"delta"` // scenario − baseline, by line, out_of_pocket and public
}

func householdOf(h *batch.HouseholdChange) whatIfHousehold {
	out := whatIfHousehold{HouseholdID: h.ID, PublicDelta: money(h.PublicDelta()), OutOfPocketDelta: money(h.OOPDelta()),
		Delta: map[string]money{"out_of_pocket": money(h.OOPDelta()), "public": money(h.PublicDelta())}}
	for _, l := range calc.Lines() {
		out.Delta[l.String()] = money(h.LineDelta(l))
	}
	return out
}

// WhatIfReport is a what-if run as JSON.
type WhatIfReport struct {
	Claims          int               `json:"claims"`
	Baseline        auditTotals       `json:"baseline"`
	Scenario        auditTotals       `json:"scenario"`
	ByLevel         []whatIfGroup     `json:"by_level"`
	ByKind          []whatIfGroup     `json:"by_kind"`
	ByAidCategory   []whatIfGroup     `json:"by_aid_category"`
	LargestRises    []whatIfHousehold `json:"households_largest_rise"`
	LargestFalls    []whatIfHousehold `json:"households_largest_fall"`
	PatientsPayMore int               `json:"patients_pay_more"`
	PatientsPayLess int               `json:"patients_pay_less"`
}

func groupOf(name string, b, s *calc.Tally) whatIfGroup {
	public := money((s.Total - s.OutOfPocket) - (b.Total - b.OutOfPocket))
	g := whatIfGroup{Group: name, Baseline: totalsOf(*b), Scenario: totalsOf(*s), PublicDelta: public,
		OutOfPocketDelta: money(s.OutOfPocket - b.OutOfPocket),
		Delta:            map[string]money{"out_of_pocket": money(s.OutOfPocket - b.OutOfPocket), "public": public}}
	for _, l := range calc.Lines() {
		g.Delta[l.String()] = money(s.Lines[l] - b.Lines[l])
	}
	return g
}

// defaultTop and maxTop bound how many households a what-if lists each way.
const (
	defaultTop = 10
	maxTop     = 10_000
)

// whatIf answers POST /v1/whatif {from, to, change, top}: the stored claims discharged in
// the period (reversed ones left out) settled under the published policies and under the
// same policies with change — a partial policy document, YAML or JSON, as a string —
// applied to each; totals, each group's totals and differences per line, the top
// households (10 unless told) with the largest change each way, and how many patients
// would pay more.
func (s *server) whatIf(c echo.Context) error {
	var req struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Change string `json:"change"`
		Top    *int   `json:"top"`
	}
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	var f fields
	from, to := period(&f, req.From, req.To)
	if req.Change == "" {
		f.add("change", "is required: a partial policy document, e.g. \"commercial: {in_policy_rate: 0.50}\"")
	}
	top := defaultTop
	if req.Top != nil {
		if top = *req.Top; top < 0 || top > maxTop {
			f.addf("top", "must be from 0 to %d households each way, not %d", maxTop, top)
		}
	}
	if len(f.errs) > 0 {
		return f.err("the what-if request")
	}
	ctx := c.Request().Context()
	base, err := s.store.Policies(ctx)
	if err != nil {
		return err
	}
	var changed []*calc.Policy
	for _, p := range base.Policies() {
		doc, err := s.store.PolicyDocument(ctx, p.Version)
		if err != nil {
			return err
		}
		q, _, err := policyfile.Merge(doc, "change", []byte(req.Change))
		if err != nil {
			var fe fields
			fe.add("change", err.Error())
			return fe.err("the change")
		}
		changed = append(changed, q)
	}
	scenario, err := calc.NewPolicySet(changed...)
	if err != nil {
		var fe fields
		fe.add("change", err.Error())
		return fe.err("the change")
	}
	set, err := s.storedSet(ctx, from, to)
	if err != nil {
		return err
	}
	w, err := batch.RunWhatIf(set, base, scenario, batch.Options{})
	if err != nil {
		return err
	}
	rep := WhatIfReport{Claims: set.Len(), Baseline: totalsOf(w.Base.All), Scenario: totalsOf(w.Scenario.All),
		PatientsPayMore: w.PayMore, PatientsPayLess: w.PayLess,
		LargestRises: []whatIfHousehold{}, LargestFalls: []whatIfHousehold{}}
	for _, l := range calc.Levels() {
		rep.ByLevel = append(rep.ByLevel, groupOf(l.String(), &w.Base.ByLevel[l], &w.Scenario.ByLevel[l]))
	}
	for _, k := range calc.Kinds() {
		rep.ByKind = append(rep.ByKind, groupOf(k.String(), &w.Base.ByKind[k], &w.Scenario.ByKind[k]))
	}
	for a := range calc.NumAidCategories {
		rep.ByAidCategory = append(rep.ByAidCategory, groupOf(a.String(), &w.Base.ByAid[a], &w.Scenario.ByAid[a]))
	}
	for i := 0; i < len(w.Households) && len(rep.LargestRises) < top; i++ {
		if h := &w.Households[i]; h.PublicDelta() > 0 {
			rep.LargestRises = append(rep.LargestRises, householdOf(h))
		}
	}
	for i := len(w.Households) - 1; i >= 0 && len(rep.LargestFalls) < top; i-- {
		if h := &w.Households[i]; h.PublicDelta() < 0 {
			rep.LargestFalls = append(rep.LargestFalls, householdOf(h))
		}
	}
	return writeJSON(c, http.StatusOK, rep)
}

type sweepStep struct {
	Value       string           `json:"value"`
	Lines       map[string]money `json:"lines"`
	Public      money            `json:"public"`
	OutOfPocket money            `json:"out_of_pocket"`
}

// SweepReport is a sweep as JSON: each line's cost at each value of one parameter.
type SweepReport struct {
	Field string      `json:"field"`
	Steps []sweepStep `json:"steps"`
}

// sweep answers POST /v1/sweeps {from, to, field, start, stop, step}: the stored claims
// of the period settled with one parameter set to each value from start to stop, and
// every line's cost at each, for plotting.
func (s *server) sweep(c echo.Context) error {
	var req struct {
		From  string `json:"from"`
		To    string `json:"to"`
		Field string `json:"field"`
		Start string `json:"start"`
		Stop  string `json:"stop"`
		Step  string `json:"step"`
	}
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	var f fields
	from, to := period(&f, req.From, req.To)
	if req.Field == "" {
		f.add("field", "is required: a parameter's dotted path, e.g. backstop.oop_ceiling")
	}
	steps, err := policyfile.Steps(req.Start, req.Stop, req.Step, 100)
	if err != nil {
		f.add("step", "start, stop and step: "+err.Error())
	}
	if len(f.errs) > 0 {
		return f.err("the sweep request")
	}
	ctx := c.Request().Context()
	base, err := s.store.Policies(ctx)
	if err != nil {
		return err
	}
	docs := map[string][]byte{}
	for _, p := range base.Policies() {
		if docs[p.Version], err = s.store.PolicyDocument(ctx, p.Version); err != nil {
			return err
		}
	}
	set, err := s.storedSet(ctx, from, to)
	if err != nil {
		return err
	}
	rep := SweepReport{Field: req.Field, Steps: []sweepStep{}}
	for _, v := range steps {
		var changed []*calc.Policy
		for _, p := range base.Policies() {
			q, _, err := policyfile.Merge(docs[p.Version], req.Field+"="+v.Decimal(), policyfile.Change(req.Field, v.Decimal()))
			if err != nil {
				var fe fields
				fe.add("field", err.Error())
				return fe.err("the sweep")
			}
			changed = append(changed, q)
		}
		ps, err := calc.NewPolicySet(changed...)
		if err != nil {
			return err
		}
		res, err := batch.Run(set, ps, batch.Options{})
		if err != nil {
			return err
		}
		t := totalsOf(res.All)
		rep.Steps = append(rep.Steps, sweepStep{Value: v.Decimal(), Lines: t.Lines,
			Public: money(res.All.Total - res.All.OutOfPocket), OutOfPocket: t.OutOfPocket})
	}
	return writeJSON(c, http.StatusOK, rep)
}

// storedSet reads the stored claims of a period that were not reversed into a batch set.
func (s *server) storedSet(ctx context.Context, from, to calc.Date) (*batch.Set, error) {
	persons, err := s.store.Persons(ctx)
	if err != nil {
		return nil, err
	}
	stored, err := s.store.LoadStoredClaims(ctx, from, to)
	if err != nil {
		return nil, err
	}
	claims := make([]calc.Claim, 0, len(stored))
	for i := range stored {
		if !stored[i].Reversed {
			claims = append(claims, stored[i].Claim)
		}
	}
	return batch.NewSet(persons, claims)
}
