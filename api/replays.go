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

// replayer is what the audit replay needs of ops.
type replayer interface {
	Versions(ctx context.Context, name string) (ops.Versions, error)
	Audit(ctx context.Context, from, to calc.Date, v ops.Versions, progress func(ops.Progress)) (*batch.Audit, error)
}

var _ replayer = (*ops.Service)(nil)

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
	versions, err := s.replays.Versions(ctx, req.Policy)
	switch {
	case errors.Is(err, ops.ErrUnknownVersion):
		f.addf("policy", "no published version %q; want in-force or a published version", req.Policy)
	case err != nil:
		return err
	}
	if len(f.errs) > 0 {
		return f.err("the replay request")
	}
	a, err := s.replays.Audit(ctx, from, to, versions, nil)
	if err != nil {
		return err
	}
	if as := preferred(c.Request().Header.Get(echo.HeaderAccept)); as != asJSON {
		return writeBook(c, as, ops.AuditBook(from, to, req.Policy, a))
	}
	return writeJSON(c, http.StatusOK, ops.NewAuditReport(a))
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
