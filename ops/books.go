package ops

import (
	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/workbook"
)

// Largest returns the top households of a what-if whose claims would cost the five lines
// most more, largest rise first, and most less, largest fall first; households whose cost
// does not change are in neither. It is the one place that chooses them, for the API's
// answer, its workbook and the console alike.
func Largest(w *batch.WhatIf, top int) (rises, falls []*batch.HouseholdChange) {
	for i := 0; i < len(w.Households) && len(rises) < top; i++ {
		if h := &w.Households[i]; h.PublicDelta() > 0 {
			rises = append(rises, h)
		}
	}
	for i := len(w.Households) - 1; i >= 0 && len(falls) < top; i-- {
		if h := &w.Households[i]; h.PublicDelta() < 0 {
			falls = append(falls, h)
		}
	}
	return rises, falls
}

// AuditBook is an audit of the claims discharged from from to to, re-settled under policy
// (InForce or one version), as a workbook.
func AuditBook(from, to calc.Date, policy string, a *batch.Audit) *workbook.Book {
	if policy == "" {
		policy = InForce
	}
	w := &workbook.Audit{From: from, To: to, Policy: policy, Claims: a.Claims, Reversed: a.Reversed,
		Paid: a.Stored, Replayed: a.Replayed, Differences: make([]workbook.Difference, len(a.Differences))}
	for i, d := range a.Differences {
		w.Differences[i] = workbook.Difference{ClaimID: d.ClaimID, PersonID: d.PersonID, PaidVersion: d.StoredVersion,
			ReplayedVersion: d.ReplayedVersion, Paid: d.Stored, Replayed: d.Replayed,
			PaidOutOfPocket: d.StoredOutOfPocket, ReplayedOutOfPocket: d.ReplayedOOP, Causes: d.Causes}
	}
	return workbook.AuditBook(w)
}

// WhatIfBook is a what-if of claims claims discharged from from to to under change, with
// its top households each way (Largest), as a workbook.
func WhatIfBook(from, to calc.Date, change string, claims int, w *batch.WhatIf, top int) *workbook.Book {
	x := &workbook.WhatIf{From: from, To: to, Change: change, Claims: claims, Baseline: w.Base.All, Scenario: w.Scenario.All,
		PayMore: w.PayMore, PayLess: w.PayLess}
	for _, l := range calc.Levels() {
		x.ByLevel = append(x.ByLevel, workbook.Group{Name: l.String(), Baseline: w.Base.ByLevel[l], Scenario: w.Scenario.ByLevel[l]})
	}
	for _, k := range calc.Kinds() {
		x.ByKind = append(x.ByKind, workbook.Group{Name: k.String(), Baseline: w.Base.ByKind[k], Scenario: w.Scenario.ByKind[k]})
	}
	for a := range calc.NumAidCategories {
		x.ByAid = append(x.ByAid, workbook.Group{Name: a.String(), Baseline: w.Base.ByAid[a], Scenario: w.Scenario.ByAid[a]})
	}
	households := func(hs []*batch.HouseholdChange) []workbook.Household {
		out := make([]workbook.Household, len(hs))
		for i, h := range hs {
			out[i] = workbook.Household{ID: h.ID, Public: h.PublicDelta(), OutOfPocket: h.OOPDelta()}
			for _, l := range calc.Lines() {
				out[i].Lines[l] = h.LineDelta(l)
			}
		}
		return out
	}
	rises, falls := Largest(w, top)
	x.LargestRises, x.LargestFalls = households(rises), households(falls)
	return workbook.WhatIfBook(x)
}

// RefundsBook is the refunds owed for adjustments of claims discharged from from to to
// (Refunds) as a workbook.
func RefundsBook(from, to calc.Date, list []Refund) *workbook.Book {
	r := &workbook.Refunds{From: from, To: to, Persons: make([]workbook.RefundOwed, len(list))}
	for i, x := range list {
		p := &r.Persons[i]
		p.PersonID, p.Amount = x.PersonID, x.Amount
		for _, a := range x.Adjustments {
			p.Adjustments = append(p.Adjustments, workbook.RefundLine{ClaimID: a.Adjustment.ClaimID, SettlementID: a.SettlementID,
				Refund: a.Adjustment.Refund(), Cause: a.Cause, CauseID: a.CauseID, AdjustmentID: a.ID,
				CreatedAt: a.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")})
		}
	}
	return workbook.RefundsBook(r)
}
