package api

import (
	"net/http"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/labstack/echo/v4"
)

// AuditReport is an audit replay as JSON: what `POST /v1/replays` answers and
// `hpcalc audit --format json` prints.
type AuditReport struct {
	Claims      int               `json:"claims"`
	Reversed    int               `json:"reversed"`
	Paid        auditTotals       `json:"paid"`
	Replayed    auditTotals       `json:"replayed"`
	Differences []auditDifference `json:"differences"`
}

type auditTotals struct {
	Claims      int              `json:"claims"`
	Total       money            `json:"total"`
	Lines       map[string]money `json:"lines"`
	OutOfPocket money            `json:"out_of_pocket"`
}

type auditDifference struct {
	ClaimID         string           `json:"claim_id"`
	PersonID        string           `json:"person_id"`
	PaidVersion     string           `json:"paid_version"`
	ReplayedVersion string           `json:"replayed_version"`
	Delta           map[string]money `json:"delta"` // replayed − paid, per line and out_of_pocket
	Causes          []string         `json:"causes"`
}

func totalsOf(t calc.Tally) auditTotals {
	out := auditTotals{Claims: t.Claims, Total: money(t.Total), Lines: map[string]money{}, OutOfPocket: money(t.OutOfPocket)}
	for _, l := range calc.Lines() {
		out.Lines[l.String()] = money(t.Lines[l])
	}
	return out
}

// NewAuditReport encodes an audit.
func NewAuditReport(a *batch.Audit) AuditReport {
	r := AuditReport{Claims: a.Claims, Reversed: a.Reversed, Paid: totalsOf(a.Stored), Replayed: totalsOf(a.Replayed), Differences: []auditDifference{}}
	for _, d := range a.Differences {
		x := auditDifference{ClaimID: d.ClaimID, PersonID: d.PersonID, PaidVersion: d.StoredVersion, ReplayedVersion: d.ReplayedVersion,
			Delta: map[string]money{"out_of_pocket": money(d.ReplayedOOP - d.StoredOutOfPocket)}, Causes: d.Causes}
		for _, l := range calc.Lines() {
			x.Delta[l.String()] = money(d.Delta(l))
		}
		r.Differences = append(r.Differences, x)
	}
	return r
}

// replay answers POST /v1/replays {from, to, policy}: every stored, non-reversed claim
// discharged in the period re-settled from scratch, under the versions in force
// ("in-force", the default) or one published version, and compared with what was paid.
func (s *server) replay(c echo.Context) error {
	var req struct {
		From   string `json:"from"`
		To     string `json:"to"`
		Policy string `json:"policy"`
	}
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	var f fields
	from, to := period(&f, req.From, req.To)
	ctx := c.Request().Context()
	policies, err := s.store.Policies(ctx)
	if err != nil {
		return err
	}
	var only *calc.Policy
	if req.Policy != "" && req.Policy != "in-force" {
		for _, p := range policies.Policies() {
			if p.Version == req.Policy {
				only = p
			}
		}
		if only == nil {
			f.addf("policy", "no published version %q; want in-force or a published version", req.Policy)
		}
	}
	if len(f.errs) > 0 {
		return f.err("the replay request")
	}
	persons, err := s.store.Persons(ctx)
	if err != nil {
		return err
	}
	stored, err := s.store.LoadStoredClaims(ctx, from, to)
	if err != nil {
		return err
	}
	a, err := batch.RunAudit(persons, stored, policies, only, batch.Options{})
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, NewAuditReport(a))
}

// decodeJSONBody reads a JSON request body into req, refusing unknown fields.
func decodeJSONBody(c echo.Context, req any) error {
	if err := requireJSON(c); err != nil {
		return err
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return decodeStrict(body, req, "")
}

// period reads the from and to dates of a request body, recording problems in f.
func period(f *fields, from, to string) (calc.Date, calc.Date) {
	start, err := calc.ParseDate(from)
	if err != nil {
		f.add("from", "want a date as YYYY-MM-DD")
	}
	end, err2 := calc.ParseDate(to)
	if err2 != nil {
		f.add("to", "want a date as YYYY-MM-DD")
	}
	if err == nil && err2 == nil && end < start {
		f.addf("to", "%s is before from %s", end, start)
	}
	return start, end
}
