package console

import (
	"bytes"
	"context"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/labstack/echo/v4"
)

// The API routes whose roles the audit desk takes.
const (
	replayRoute  = "POST /v1/replays"
	tallyRoute   = "GET /v1/reports/tally"
	refundsRoute = "GET /v1/reports/refunds"
)

func auditDesk() desk {
	return desk{id: "audit", path: "/audit", route: replayRoute, mount: func(c *Console, e *echo.Echo) {
		e.GET("/audit", c.guard(replayRoute, c.auditPage))
		e.GET("/audit/download", c.guard(replayRoute, c.auditDownload))
		e.GET("/audit/tally", c.guard(tallyRoute, c.tallyDownload))
		e.GET("/audit/refunds", c.guard(refundsRoute, c.refundsDownload))
		e.POST("/audit/jobs", c.guard(replayRoute, c.startAuditJob))
		e.GET("/audit/jobs/:id", c.guard(replayRoute, c.auditJobStatus))
		e.POST("/audit/jobs/:id/cancel", c.guard(replayRoute, c.cancelAuditJob))
	}}
}

// maxAuditRows is how many rows of differences the page shows; the workbook has them all.
const maxAuditRows = 5000

// item is one row of a summary: a line, the total cost, the public cost or the
// out-of-pocket, by its label key.
type item struct {
	Key                 string
	A, B                calc.Money
	Published           calc.Money
	HasPublished, Match bool
}

// Diff is B less A.
func (i item) Diff() calc.Money { return i.B - i.A }

// items lists a tally's rows in the reports' order, with the public cost if asked.
func items(t calc.Tally, public bool) []item {
	out := []item{{Key: "item.total", A: t.Total}}
	var sum calc.Money
	for _, l := range calc.Lines() {
		out = append(out, item{Key: "line." + l.String(), A: t.Lines[l]})
		sum += t.Lines[l]
	}
	if public {
		out = append(out, item{Key: "item.public", A: sum})
	}
	return append(out, item{Key: "item.out_of_pocket", A: t.OutOfPocket})
}

// pair lists two tallies side by side: A from a, B from b.
func pair(a, b calc.Tally, public bool) []item {
	out := items(a, public)
	for i, x := range items(b, public) {
		out[i].B = x.A
	}
	return out
}

// diffRow is one line of a claim whose replay differs from what was paid.
type diffRow struct {
	Claim, Person, Line          string // Line is a label key
	Paid, Replayed               calc.Money
	PaidVersion, ReplayedVersion string
	Causes                       []string // label keys, or batch's words for a cause without one
}

// Diff is replayed less paid.
func (r diffRow) Diff() calc.Money { return r.Replayed - r.Paid }

// causeKeys are the label keys of batch's causes.
var causeKeys = map[string]string{
	batch.CauseOtherVersion: "cause.otherVersion",
	batch.CauseReversal:     "cause.reversal",
	batch.CauseOutOfOrder:   "cause.outOfOrder",
	batch.CauseUnexplained:  "cause.unexplained",
}

// period is the period and policy of a desk's form, as typed.
type period struct {
	From, To, Policy string
}

// readPeriod reads from and to of the query; errs gets each field's problem in the
// user's language.
func readPeriod(ec echo.Context, l *locale, errs fieldErrors) (calc.Date, calc.Date) {
	return readPeriodValues(ec.QueryParam("from"), ec.QueryParam("to"), l, errs)
}

// readPeriodValues reads a period as typed; errs gets each field's problem.
func readPeriodValues(fromText, toText string, l *locale, errs fieldErrors) (calc.Date, calc.Date) {
	var dates [2]calc.Date
	for i, f := range []string{"from", "to"} {
		v := map[string]string{"from": fromText, "to": toText}[f]
		d, err := calc.ParseDate(v)
		if err != nil {
			errs.add(f, l.T("err.date"))
		}
		dates[i] = d
	}
	if len(errs) == 0 && dates[1] < dates[0] {
		errs.add("to", l.T("err.toBeforeFrom"))
	}
	return dates[0], dates[1]
}

// auditData is what the audit desk shows.
type auditData struct {
	Form                           period
	Versions                       []string
	Errors                         fieldErrors
	Ran                            bool
	XLSX, CSV, TallyXLSX, TallyCSV template.URL // the downloads
	RefundsXLSX                    template.URL // "" if the role may not read refunds

	Claims, Reversed, Differing int
	Summary                     []item // A paid, B replayed
	Rows                        []diffRow
	Hidden                      int // rows of differences not shown
	Elapsed                     string

	TallyClaims  int
	Tally        []item // A the tally; Published where the county published the figure
	HasPublished bool
}

// defaultPeriod is the year of the console's today.
func (c *Console) defaultPeriod() period {
	y := c.now().Year()
	return period{From: calc.NewDate(y, 1, 1).String(), To: calc.NewDate(y, 12, 31).String(), Policy: ops.InForce}
}

func (c *Console) auditPage(ec echo.Context) error {
	ctx := ec.Request().Context()
	d := auditData{Form: c.defaultPeriod(), Errors: fieldErrors{}}
	set, err := c.store.Policies(ctx)
	if err != nil {
		return err
	}
	for _, p := range set.Policies() {
		d.Versions = append(d.Versions, p.Version)
	}
	q := ec.Request().URL.Query()
	if !q.Has("from") && !q.Has("to") {
		return c.render(ec, http.StatusOK, "audit", "desk.audit", d)
	}
	run, err := c.readAudit(ec, &d)
	if err != nil {
		return err
	}
	if len(d.Errors) > 0 {
		return c.render(ec, http.StatusUnprocessableEntity, "audit", "desk.audit", d)
	}
	// The result of the job the page's script ran, if it is this user's and of this
	// form; otherwise (no script, or the job forgotten) the audit runs now.
	var a *batch.Audit
	if j := c.jobs.get(q.Get("job"), c.sessionID(ec)); j != nil && j.run.same(run) {
		if st := j.state(); st.Finished && st.err == nil {
			a, d.Elapsed = st.result, st.elapsed.Round(time.Millisecond).String()
		}
	}
	if a == nil {
		start := time.Now()
		a, err = c.ops.Audit(ctx, run.from, run.to, run.versions, nil)
		if key := auditErrorKey(err); key != "" {
			d.Errors.add("policy", c.lang(ec).T(key))
			return c.render(ec, http.StatusUnprocessableEntity, "audit", "desk.audit", d)
		}
		if err != nil {
			return err
		}
		d.Elapsed = time.Since(start).Round(time.Millisecond).String()
	}
	if err := c.fillAudit(ec, &d, run, a); err != nil {
		return err
	}
	return c.render(ec, http.StatusOK, "audit", "desk.audit", d)
}

// auditRun is what an audit runs on: the period and the versions, as the form chose them.
type auditRun struct {
	from, to calc.Date
	policy   string
	versions ops.Versions
}

// same reports whether r and o audit the same period under the same choice of policy.
func (r auditRun) same(o auditRun) bool {
	return r.from == o.from && r.to == o.to && r.policy == o.policy
}

// readAudit reads the audit form of the request (query or form fields) into d.Form and
// what to run; each field's problem goes to d.Errors in the user's language.
func (c *Console) readAudit(ec echo.Context, d *auditData) (auditRun, error) {
	l := c.lang(ec)
	d.Form = period{From: ec.FormValue("from"), To: ec.FormValue("to"), Policy: ec.FormValue("policy")}
	if d.Form.Policy == "" {
		d.Form.Policy = ops.InForce
	}
	from, to := readPeriodValues(d.Form.From, d.Form.To, l, d.Errors)
	versions, err := c.ops.Versions(ec.Request().Context(), d.Form.Policy)
	switch {
	case errors.Is(err, ops.ErrUnknownVersion):
		d.Errors.add("policy", l.T("err.unknownVersion"))
	case err != nil:
		return auditRun{}, err
	}
	return auditRun{from: from, to: to, policy: d.Form.Policy, versions: versions}, nil
}

// auditErrorKey is the label of an audit's error that the user can act on ("" for none
// or for an internal error).
func auditErrorKey(err error) string {
	switch {
	case errors.Is(err, calc.ErrNoPolicy):
		return "err.noPolicy"
	case errors.Is(err, context.Canceled):
		return "audit.cancelled"
	}
	return ""
}

// fillAudit fills what the desk shows of an audit's result: the summary, the differences,
// the downloads and, for whoever may read it, the tally of the period.
func (c *Console) fillAudit(ec echo.Context, d *auditData, run auditRun, a *batch.Audit) error {
	from, to := run.from, run.to
	d.Ran = true
	dq := url.Values{"from": {from.String()}, "to": {to.String()}, "policy": {run.policy}}
	d.XLSX, d.CSV = downloadURL("/audit/download", dq, "xlsx"), downloadURL("/audit/download", dq, "csv")
	dq.Del("policy")
	d.TallyXLSX, d.TallyCSV = downloadURL("/audit/tally", dq, "xlsx"), downloadURL("/audit/tally", dq, "csv")
	if c.mayUse(refundsRoute, c.role(ec)) {
		d.RefundsXLSX = downloadURL("/audit/refunds", dq, "xlsx")
	}
	d.Claims, d.Reversed, d.Differing = a.Claims, a.Reversed, len(a.Differences)
	d.Summary = pair(a.Stored, a.Replayed, false)
	for i := range a.Differences {
		diff := &a.Differences[i]
		var causes []string
		for _, cs := range diff.Causes {
			if k, ok := causeKeys[cs]; ok {
				causes = append(causes, k)
			} else {
				causes = append(causes, cs)
			}
		}
		add := func(key string, paid, replayed calc.Money) {
			if paid == replayed {
				return
			}
			if len(d.Rows) >= maxAuditRows {
				d.Hidden++
				return
			}
			d.Rows = append(d.Rows, diffRow{Claim: diff.ClaimID, Person: diff.PersonID, Line: key, Paid: paid, Replayed: replayed,
				PaidVersion: diff.StoredVersion, ReplayedVersion: diff.ReplayedVersion, Causes: causes})
		}
		for _, ln := range calc.Lines() {
			add("line."+ln.String(), diff.Stored[ln], diff.Replayed[ln])
		}
		add("item.out_of_pocket", diff.StoredOutOfPocket, diff.ReplayedOOP)
	}
	if c.mayUse(tallyRoute, c.role(ec)) {
		t, err := c.store.Tally(ec.Request().Context(), from, to)
		if err != nil {
			return err
		}
		d.TallyClaims, d.Tally = t.Claims, items(t, false)
		d.HasPublished = publishedFor(from, to, d.Tally)
	}
	return nil
}

// publishedFor puts the county's published figures beside a tally of a period within
// 2018, the year they are of, and reports whether it did.
func publishedFor(from, to calc.Date, tally []item) bool {
	if from.Time().Year() != 2018 || to.Time().Year() != 2018 {
		return false
	}
	pub := fixtures.Published2018
	for i := range tally {
		it := &tally[i]
		switch it.Key {
		case "item.total":
			it.Published, it.HasPublished = pub.Total, true
		default:
			for _, l := range calc.Lines() {
				if it.Key == "line."+l.String() && pub.Published[l] {
					it.Published, it.HasPublished = pub.Lines[l], true
				}
			}
		}
		it.Match = it.HasPublished && it.Published == it.A
	}
	return true
}

// role is the signed-in user's role ("" if none).
func (c *Console) role(ec echo.Context) string {
	s, _ := c.session(ec)
	return s.Role
}

// auditDownload answers the audit of the period as a workbook (?format=xlsx or csv).
func (c *Console) auditDownload(ec echo.Context) error {
	ctx := ec.Request().Context()
	errs := fieldErrors{}
	from, to := readPeriod(ec, c.lang(ec), errs)
	policy := ec.QueryParam("policy")
	versions, err := c.ops.Versions(ctx, policy)
	if errors.Is(err, ops.ErrUnknownVersion) || len(errs) > 0 {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "err.badPeriod")
	}
	if err != nil {
		return err
	}
	a, err := c.ops.Audit(ctx, from, to, versions, nil)
	if err != nil {
		return err
	}
	return sendBook(ec, ops.AuditBook(from, to, policy, a))
}

// tallyDownload answers the tally of the period as a workbook.
func (c *Console) tallyDownload(ec echo.Context) error {
	errs := fieldErrors{}
	from, to := readPeriod(ec, c.lang(ec), errs)
	if len(errs) > 0 {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "err.badPeriod")
	}
	t, err := c.store.Tally(ec.Request().Context(), from, to)
	if err != nil {
		return err
	}
	return sendBook(ec, workbook.Tally(from, to, t))
}

// refundsDownload answers the refunds owed for adjustments of the period's claims as a
// workbook, as GET /v1/reports/refunds does.
func (c *Console) refundsDownload(ec echo.Context) error {
	errs := fieldErrors{}
	from, to := readPeriod(ec, c.lang(ec), errs)
	if len(errs) > 0 {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "err.badPeriod")
	}
	list, err := c.ops.Refunds(ec.Request().Context(), from, to)
	if err != nil {
		return err
	}
	return sendBook(ec, ops.RefundsBook(from, to, list))
}

// downloadURL is the address of a download: path with the query q (less run) and the
// format. Built here so that the template takes it whole (url.Values.Encode escapes it).
func downloadURL(path string, q url.Values, format string) template.URL {
	v := url.Values{}
	for k, vs := range q {
		if k != "run" && k != "format" {
			v[k] = vs
		}
	}
	v.Set("format", format)
	return template.URL(path + "?" + v.Encode())
}

// sendBook answers a workbook as a download, xlsx unless ?format=csv.
func sendBook(ec echo.Context, b *workbook.Book) error {
	var buf bytes.Buffer
	media, ext, write := workbook.MediaXLSX, ".xlsx", b.WriteXLSX
	if ec.QueryParam("format") == "csv" {
		media, ext, write = workbook.MediaCSV, ".csv", b.WriteCSV
	}
	if err := write(&buf); err != nil {
		return err
	}
	ec.Response().Header().Set("Content-Disposition", `attachment; filename="`+b.Name+ext+`"`)
	return ec.Blob(http.StatusOK, media, buf.Bytes())
}
