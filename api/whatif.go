package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/labstack/echo/v4"
)

// whatIfs is what the what-if and sweep routes need of ops.
type whatIfs interface {
	WhatIf(ctx context.Context, from, to calc.Date, change []byte) (*batch.WhatIf, *batch.ClaimTable, error)
	Sweep(ctx context.Context, from, to calc.Date, field string, values []calc.Rate) ([]ops.SweepStep, error)
}

var _ whatIfs = (*ops.Service)(nil)

// whatIfGroup is one group's totals under both runs, and what changed per line.
type whatIfGroup struct {
	Group            string           `json:"group"`
	Baseline         ops.Totals       `json:"baseline"`
	Scenario         ops.Totals       `json:"scenario"`
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
	Baseline        ops.Totals        `json:"baseline"`
	Scenario        ops.Totals        `json:"scenario"`
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
	g := whatIfGroup{Group: name, Baseline: ops.TotalsOf(*b), Scenario: ops.TotalsOf(*s), PublicDelta: public,
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
	w, set, err := s.whatIfs.WhatIf(c.Request().Context(), from, to, []byte(req.Change))
	var ce *ops.ChangeError
	if errors.As(err, &ce) {
		var fe fields
		fe.add("change", ce.Error())
		return fe.err("the change")
	}
	if err != nil {
		return err
	}
	rep := WhatIfReport{Claims: set.Len(), Baseline: ops.TotalsOf(w.Base.All), Scenario: ops.TotalsOf(w.Scenario.All),
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
	if as := preferred(c.Request().Header.Get(echo.HeaderAccept)); as != asJSON {
		return writeBook(c, as, ops.WhatIfBook(from, to, req.Change, set.Len(), w, top))
	}
	rises, falls := ops.Largest(w, top)
	for _, h := range rises {
		rep.LargestRises = append(rep.LargestRises, householdOf(h))
	}
	for _, h := range falls {
		rep.LargestFalls = append(rep.LargestFalls, householdOf(h))
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
	} else if err := ops.CheckParameter(req.Field); err != nil {
		f.add("field", err.Error())
	}
	values, err := ops.SweepValues(req.Start, req.Stop, req.Step)
	if err != nil {
		f.add("step", "start, stop and step: "+err.Error())
	}
	if len(f.errs) > 0 {
		return f.err("the sweep request")
	}
	steps, err := s.whatIfs.Sweep(c.Request().Context(), from, to, req.Field, values)
	// A value the parameter cannot take is the field's problem; changed versions that
	// no longer form a set are not the request's to fix.
	if ce := (*ops.ChangeError)(nil); errors.As(err, &ce) && ce.Version != "" {
		var fe fields
		fe.add("field", ce.Error())
		return fe.err("the sweep")
	}
	if err != nil {
		return err
	}
	rep := SweepReport{Field: req.Field, Steps: []sweepStep{}}
	for _, st := range steps {
		t := ops.TotalsOf(st.Tally)
		rep.Steps = append(rep.Steps, sweepStep{Value: st.Value.Decimal(), Lines: t.Lines,
			Public: money(st.Tally.Total - st.Tally.OutOfPocket), OutOfPocket: t.OutOfPocket})
	}
	return writeJSON(c, http.StatusOK, rep)
}
