package api

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"net/http"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// corrector is what reconciliations and the refunds report need of ops.
type corrector interface {
	Reconcile(ctx context.Context, from, to calc.Date, personID string, apply bool) (ops.Reconciliation, error)
	Refunds(ctx context.Context, from, to calc.Date) ([]ops.Refund, error)
}

var _ corrector = (*ops.Service)(nil)

// reconciliationJSON is the answer of POST /v1/reconciliations.
type reconciliationJSON struct {
	ReconciliationID string           `json:"reconciliation_id"`
	From             string           `json:"from"`
	To               string           `json:"to"`
	PersonID         string           `json:"person_id,omitempty"`
	Applied          bool             `json:"applied"`
	PersonYears      int              `json:"person_years"`
	Lines            map[string]money `json:"lines"`
	OutOfPocket      money            `json:"out_of_pocket"`
	Adjustments      []adjustmentJSON `json:"adjustments"`
}

// reconcile answers POST /v1/reconciliations {from, to, person_id?, apply}: every
// person-year of the period settled again in order, the differences listed, and booked
// as adjustments when apply is true (admin only; an auditor may run it dry).
func (s *server) reconcile(c echo.Context) error {
	var req struct {
		From     string `json:"from"`
		To       string `json:"to"`
		PersonID string `json:"person_id"`
		Apply    bool   `json:"apply"`
	}
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	if req.Apply && token(c).Role != admin {
		return fail(kindForbidden, "only an admin token applies a reconciliation; run it with apply false to see what it would book")
	}
	var f fields
	from, to := period(&f, req.From, req.To)
	if len(f.errs) > 0 {
		return f.err("the reconciliation")
	}
	r, err := s.corrections.Reconcile(c.Request().Context(), from, to, req.PersonID, req.Apply)
	if errors.Is(err, store.ErrNotFound) && req.PersonID != "" {
		f.addf("person_id", "no person %q is registered", req.PersonID)
		return f.err("the reconciliation")
	}
	if err != nil {
		return err
	}
	out := reconciliationJSON{ReconciliationID: r.ID, From: from.String(), To: to.String(), PersonID: r.PersonID,
		Applied: r.Applied, PersonYears: r.PersonYears, Adjustments: adjustmentsOut(r.Adjustments)}
	var sum [calc.NumLines]calc.Money
	var oop calc.Money
	for i := range r.Adjustments {
		d := &r.Adjustments[i].Adjustment
		for l := range calc.NumLines {
			sum[l] += d.Lines[l]
		}
		oop += d.OutOfPocket
	}
	out.Lines, out.OutOfPocket = linesOut(sum), money(oop)
	status := http.StatusOK
	if r.Applied && len(r.Adjustments) > 0 {
		status = http.StatusCreated
	}
	return writeJSON(c, status, out)
}

// refundJSON is what one patient is owed.
type refundJSON struct {
	PersonID    string           `json:"person_id"`
	Amount      money            `json:"amount"`
	Adjustments []adjustmentJSON `json:"adjustments"`
}

// refunds answers GET /v1/reports/refunds?from&to: the refunds owed to patients for
// adjustments of claims discharged in the period, per person, with the claims and causes,
// as JSON, CSV or an xlsx workbook (?format= or the Accept header).
func (s *server) refunds(c echo.Context) error {
	from, to, as, err := reportQuery(c)
	if err != nil {
		return err
	}
	list, err := s.corrections.Refunds(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	switch as {
	case asCSV:
		return writeRefundsCSV(c, from, to, list)
	case asXLSX:
		return writeBook(c, as, ops.RefundsBook(from, to, list))
	}
	out := struct {
		From    string       `json:"from"`
		To      string       `json:"to"`
		Total   money        `json:"total"`
		Refunds []refundJSON `json:"refunds"`
	}{From: from.String(), To: to.String(), Refunds: []refundJSON{}}
	var total calc.Money
	for _, r := range list {
		total += r.Amount
		out.Refunds = append(out.Refunds, refundJSON{PersonID: r.PersonID, Amount: money(r.Amount), Adjustments: adjustmentsOut(r.Adjustments)})
	}
	out.Total = money(total)
	return writeJSON(c, http.StatusOK, out)
}

// writeRefundsCSV writes one row per adjustment that changed what a patient pays.
func writeRefundsCSV(c echo.Context, from, to calc.Date, list []ops.Refund) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	rows := [][]string{{"person_id", "claim_id", "settlement_id", "refund", "cause", "cause_id", "adjustment_id", "created_at"}}
	for _, r := range list {
		for _, a := range r.Adjustments {
			rows = append(rows, []string{cell(r.PersonID), cell(a.Adjustment.ClaimID), a.SettlementID,
				a.Adjustment.Refund().String(), a.Cause, a.CauseID, a.ID, a.CreatedAt.UTC().Format("2006-01-02T15:04:05Z")})
		}
	}
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="refunds-`+from.String()+`-`+to.String()+`.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
}

// cell keeps an id that a spreadsheet would read as a formula as text.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
