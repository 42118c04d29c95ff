package api

import (
	"bytes"
	"encoding/csv"
	"net/http"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/labstack/echo/v4"
)

// tallyJSON is the tally report: totals in yuan and in 万元 (wan).
type tallyJSON struct {
	From           string          `json:"from"`
	To             string          `json:"to"`
	Claims         int             `json:"claims"`
	Total          money           `json:"total"`
	TotalWan       string          `json:"total_wan"`
	Lines          []tallyLineJSON `json:"lines"`
	OutOfPocket    money           `json:"out_of_pocket"`
	OutOfPocketWan string          `json:"out_of_pocket_wan"`
}

type tallyLineJSON struct {
	Name   string `json:"name"`
	Amount money  `json:"amount"`
	Wan    string `json:"wan"`
}

// tally answers GET /v1/reports/tally?from=&to=: the totals of settlements of claims
// discharged in the period, net of reversals, as JSON, CSV or an xlsx workbook (?format=
// or the Accept header).
func (s *server) tally(c echo.Context) error {
	from, to, as, err := reportQuery(c)
	if err != nil {
		return err
	}
	t, err := s.store.Tally(c.Request().Context(), from, to)
	if err != nil {
		return err
	}
	switch as {
	case asCSV:
		return writeTallyCSV(c, from, to, t)
	case asXLSX:
		return writeBook(c, as, workbook.Tally(from, to, t))
	}
	out := tallyJSON{From: from.String(), To: to.String(), Claims: t.Claims,
		Total: money(t.Total), TotalWan: t.Total.Wan(), OutOfPocket: money(t.OutOfPocket), OutOfPocketWan: t.OutOfPocket.Wan()}
	for _, l := range calc.Lines() {
		out.Lines = append(out.Lines, tallyLineJSON{Name: l.String(), Amount: money(t.Lines[l]), Wan: t.Lines[l].Wan()})
	}
	return writeJSON(c, http.StatusOK, out)
}

func dateParam(c echo.Context, f *fields, name string) calc.Date {
	s := c.QueryParam(name)
	if s == "" {
		f.add(name, "is required, a date as YYYY-MM-DD")
		return 0
	}
	d, err := calc.ParseDate(s)
	if err != nil {
		f.addf(name, "%q is not a date as YYYY-MM-DD", s)
	}
	return d
}

// writeTallyCSV writes the tally as CSV: item, yuan, wan (万元).
func writeTallyCSV(c echo.Context, from, to calc.Date, t calc.Tally) error {
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	rows := [][]string{{"item", "yuan", "wan"}, {"total", t.Total.String(), t.Total.Wan()}}
	for _, l := range calc.Lines() {
		rows = append(rows, []string{l.String(), t.Lines[l].String(), t.Lines[l].Wan()})
	}
	rows = append(rows, []string{"out_of_pocket", t.OutOfPocket.String(), t.OutOfPocket.Wan()})
	if err := w.WriteAll(rows); err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set("Content-Disposition", `attachment; filename="tally-`+from.String()+`-`+to.String()+`.csv"`)
	return c.Blob(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
}

// reportQuery reads a report's ?from&to (to not before from) and the form it is asked in
// (?format=json|csv|xlsx, else the Accept header), answering a 400 naming each bad
// parameter.
func reportQuery(c echo.Context) (from, to calc.Date, as string, err error) {
	var f fields
	from = dateParam(c, &f, "from")
	to = dateParam(c, &f, "to")
	if len(f.errs) == 0 && to < from {
		f.addf("to", "%s is before from %s", to, from)
	}
	as = asJSON
	switch format := c.QueryParam("format"); format {
	case asCSV, asXLSX, asJSON:
		as = format
	case "":
		as = preferred(c.Request().Header.Get(echo.HeaderAccept))
	default:
		f.addf("format", "%q is not json, csv or xlsx", format)
	}
	if len(f.errs) > 0 {
		return from, to, as, fail(kindBadRequest, "bad query parameters", f.errs...)
	}
	return from, to, as, nil
}
