package api

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/labstack/echo/v4"
)

// The representations a report route can answer.
const (
	asJSON = "json"
	asCSV  = "csv"
	asXLSX = "xlsx"
)

// mediaTypes are the Accept header's names of the representations.
var mediaTypes = map[string]string{asJSON: "application/json", asCSV: "text/csv", asXLSX: workbook.MediaXLSX}

// preferred is the representation an Accept header asks for: of JSON, CSV and xlsx, the one
// listed by name with the highest quality, JSON on a tie and when none is listed (a
// wildcard gets the default, JSON).
func preferred(accept string) string {
	best, bestQ := asJSON, 0.0
	for _, part := range strings.Split(accept, ",") {
		mt, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(p), "q="); ok {
				if w, err := strconv.ParseFloat(v, 64); err == nil {
					q = w
				}
			}
		}
		for _, rep := range []string{asJSON, asXLSX, asCSV} {
			if mt == mediaTypes[rep] && q > 0 && (q > bestQ || q == bestQ && rep == asJSON) {
				best, bestQ = rep, q
			}
		}
	}
	return best
}

// writeBook answers a workbook as xlsx or CSV, as a download named for what it holds.
func writeBook(c echo.Context, as string, b *workbook.Book) error {
	var buf bytes.Buffer
	media, ext := workbook.MediaXLSX, ".xlsx"
	write := b.WriteXLSX
	if as == asCSV {
		media, ext, write = workbook.MediaCSV, ".csv", b.WriteCSV
	}
	if err := write(&buf); err != nil {
		return err
	}
	c.Response().Header().Set("Content-Disposition", `attachment; filename="`+b.Name+ext+`"`)
	return c.Blob(http.StatusOK, media, buf.Bytes())
}

// auditBook is an audit as the workbook package takes it.
func auditBook(from, to calc.Date, policy string, a *batch.Audit) *workbook.Book {
	if policy == "" {
		policy = ops.InForce
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

// whatIfBook is a what-if as the workbook package takes it, with the same households as
// the JSON answer.
func whatIfBook(from, to calc.Date, change string, claims int, w *batch.WhatIf, rises, falls []*batch.HouseholdChange) *workbook.Book {
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
	x.LargestRises, x.LargestFalls = households(rises), households(falls)
	return workbook.WhatIfBook(x)
}
