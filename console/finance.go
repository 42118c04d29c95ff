package console

import (
	"errors"
	"html/template"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/chart"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/labstack/echo/v4"
)

// The API routes whose roles the finance desk takes.
const (
	whatIfRoute = "POST /v1/whatif"
	sweepRoute  = "POST /v1/sweeps"
)

func financeDesk() desk {
	return desk{id: "finance", path: "/finance", route: whatIfRoute, mount: func(c *Console, e *echo.Echo) {
		e.GET("/finance", c.guard(whatIfRoute, c.financePage))
		e.GET("/finance/download", c.guard(whatIfRoute, c.financeDownload))
	}}
}

// topHouseholds is how many households the desk lists each way, as the API by default.
const topHouseholds = 10

// param is one parameter of the policy in force as the form shows it.
type param struct {
	policyfile.Parameter
	ID, Name    string // the input's id and name
	Label, Unit string // in the user's language
	Input       string // what the form holds: the query's value, else the policy's
	Changed     bool
	Error       string
}

// section is the parameters of one line.
type section struct {
	Key    string // label key of the line
	Source string
	Params []param
}

// groupRow is one level's, kind's or aid category's change.
type groupRow struct {
	Key                 string // label key
	Claims              int
	Lines               []calc.Money // scenario − baseline per line
	Public, OutOfPocket calc.Money
}

// householdRow is one household's change.
type householdRow struct {
	ID                  string
	Public, OutOfPocket calc.Money
}

// chartView is a chart, drawn, and its numbers as a table; Keys name the table's rows.
type chartView struct {
	ID    string // the table's id
	SVG   template.HTML
	Table chart.Table
	Keys  []string
}

// financeData is what the finance desk shows.
type financeData struct {
	Version   string
	Form      period
	Sections  []section
	Errors    fieldErrors
	Error     string       // a problem of the change as a whole
	Change    string       // the change document built from the form
	XLSX, CSV template.URL // the downloads of the page's what-if

	Ran              bool
	Claims           int
	Lines            []item // A baseline, B scenario
	Chart            chartView
	Groups           []groupTable
	Rises, Falls     []householdRow
	PayMore, PayLess int
	Elapsed          string
	ElapsedMS        float64

	LineKeys    []string // label keys of the five lines, for the groups' columns
	SweepFields []string
	Sweep       struct{ Field, Start, Stop, Step string }
	SweepRan    bool
	SweepChart  chartView
	SweepError  string
}

// groupTable is the changes of one grouping.
type groupTable struct {
	Key  string // label key of the grouping
	Rows []groupRow
}

// paramValue is what a parameter may be set to: a decimal, a percentage, or none (no cap).
var paramValue = regexp.MustCompile(`^(none|[0-9]{1,12}(\.[0-9]{1,6})?%?)$`)

func (l *locale) has(key string) bool { _, ok := l.msgs[key]; return ok }

// paramLabel names a parameter by its path's parts in the user's language: the line, the
// kind, the level or category, what it is.
func paramLabel(l *locale, path string) string {
	parts := strings.Split(path, ".")
	var out []string
	for i, p := range parts {
		key := "param." + p
		for _, k := range []string{"line." + p, "kind." + p, "level." + p, "aid." + p, "param." + p} {
			if (i == 0) == strings.HasPrefix(k, "line.") && l.has(k) {
				key = k
				break
			}
		}
		out = append(out, l.T(key))
	}
	return strings.Join(out, " · ")
}

// paramUnit is the unit of a parameter: a share for rates and ceilings, yuan otherwise.
func paramUnit(l *locale, path string) string {
	leaf := path[strings.LastIndexByte(path, '.')+1:]
	if strings.Contains(path, ".rate.") || strings.HasSuffix(leaf, "rate") || strings.HasSuffix(leaf, "ceiling") {
		return l.T("unit.share")
	}
	return l.T("unit.yuan")
}

// changeDoc writes the changed parameters as one partial policy document in flow style:
// {backstop: {oop_ceiling: 0.05}, commercial: {in_policy_rate: 0.5}}. Values have been
// checked against paramValue, so they cannot carry YAML of their own.
func changeDoc(changes map[string]string) string {
	type node struct {
		kids  map[string]*node
		value string
	}
	root := &node{kids: map[string]*node{}}
	for path, v := range changes {
		n := root
		for _, k := range strings.Split(path, ".") {
			next, ok := n.kids[k]
			if !ok {
				next = &node{kids: map[string]*node{}}
				n.kids[k] = next
			}
			n = next
		}
		n.value = v
	}
	var write func(n *node) string
	write = func(n *node) string {
		if len(n.kids) == 0 {
			return n.value
		}
		keys := make([]string, 0, len(n.kids))
		for k := range n.kids {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = k + ": " + write(n.kids[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return write(root)
}

// financeForm reads the desk's form: the period, the policy in force with each
// parameter as typed, and the change they make.
func (c *Console) financeForm(ec echo.Context) (financeData, calc.Date, calc.Date, error) {
	ctx := ec.Request().Context()
	l := c.lang(ec)
	d := financeData{Form: c.defaultPeriod(), Errors: fieldErrors{}}
	q := ec.Request().URL.Query()
	var from, to calc.Date
	if q.Has("from") || q.Has("to") {
		d.Form.From, d.Form.To = q.Get("from"), q.Get("to")
		from, to = readPeriod(ec, l, d.Errors)
	}
	set, err := c.store.Policies(ctx)
	if err != nil {
		return d, 0, 0, err
	}
	versions := set.Policies()
	if len(versions) == 0 {
		return d, 0, 0, echo.NewHTTPError(http.StatusNotFound, "err.noPolicyPublished")
	}
	// The version in force at the period's end, else the latest.
	shown := versions[len(versions)-1]
	for _, p := range versions {
		if to != 0 && p.From <= to && to <= p.To {
			shown = p
		}
	}
	d.Version = shown.Version
	doc, err := c.store.PolicyDocument(ctx, shown.Version)
	if err != nil {
		return d, 0, 0, err
	}
	params, err := policyfile.Parameters(doc)
	if err != nil {
		return d, 0, 0, err
	}
	changes := map[string]string{}
	for _, p := range params {
		top, _, _ := strings.Cut(p.Path, ".")
		if len(d.Sections) == 0 || d.Sections[len(d.Sections)-1].Key != "line."+top {
			d.Sections = append(d.Sections, section{Key: "line." + top, Source: p.Source})
		}
		x := param{Parameter: p, ID: "p-" + strings.ReplaceAll(p.Path, ".", "-"), Name: "p." + p.Path,
			Label: paramLabel(l, p.Path), Unit: paramUnit(l, p.Path), Input: p.Value}
		if v, ok := q["p."+p.Path]; ok {
			x.Input = strings.TrimSpace(v[0])
		}
		if x.Input != p.Value {
			if !paramValue.MatchString(x.Input) {
				x.Error = l.T("err.paramValue")
				d.Errors.add(x.Name, x.Error)
			} else {
				x.Changed = true
				changes[p.Path] = x.Input
			}
		}
		if p.Value != "none" {
			d.SweepFields = append(d.SweepFields, p.Path)
		}
		s := &d.Sections[len(d.Sections)-1]
		s.Params = append(s.Params, x)
	}
	d.Change = changeDoc(changes)
	if len(changes) == 0 {
		d.Change = ""
	}
	d.Sweep.Field, d.Sweep.Start, d.Sweep.Stop, d.Sweep.Step = q.Get("sweep"), q.Get("start"), q.Get("stop"), q.Get("step")
	d.XLSX, d.CSV = downloadURL("/finance/download", q, "xlsx"), downloadURL("/finance/download", q, "csv")
	return d, from, to, nil
}

func (c *Console) financePage(ec echo.Context) error {
	ctx := ec.Request().Context()
	l := c.lang(ec)
	d, from, to, err := c.financeForm(ec)
	if err != nil {
		return err
	}
	q := ec.Request().URL.Query()
	if !q.Has("run") || len(d.Errors) > 0 {
		status := http.StatusOK
		if len(d.Errors) > 0 {
			status = http.StatusUnprocessableEntity
		}
		return c.render(ec, status, "finance", "desk.finance", d)
	}
	change := d.Change
	if change == "" {
		change = "{}"
	}
	start := time.Now()
	w, set, err := c.ops.WhatIf(ctx, from, to, []byte(change))
	var ce *ops.ChangeError
	switch {
	case errors.As(err, &ce):
		d.Error = l.fileError(ce.Err)
		return c.render(ec, http.StatusUnprocessableEntity, "finance", "desk.finance", d)
	case errors.Is(err, calc.ErrNoPolicy):
		d.Error = l.T("err.noPolicy")
		return c.render(ec, http.StatusUnprocessableEntity, "finance", "desk.finance", d)
	case err != nil:
		return err
	}
	elapsed := time.Since(start)
	d.Elapsed, d.ElapsedMS = elapsed.Round(time.Millisecond).String(), float64(elapsed.Microseconds())/1000
	d.Ran, d.Claims, d.PayMore, d.PayLess = true, set.Len(), w.PayMore, w.PayLess
	d.Lines = pair(w.Base.All, w.Scenario.All, true)
	for _, ln := range calc.Lines() {
		d.LineKeys = append(d.LineKeys, "line."+ln.String())
	}
	d.Chart.ID, d.SweepChart.ID = "whatif-table", "sweep-table"

	bar := &chart.Bar{Labels: chart.Labels{Title: l.T("finance.chartTitle"), Desc: l.T("finance.chartDesc", d.Form.From, d.Form.To),
		X: l.T("finance.chartX"), Y: l.T("finance.chartY"), Corner: l.T("finance.item")}, Wan: true,
		Series: []chart.Series{{Name: l.T("finance.baseline")}, {Name: l.T("finance.scenario")}}}
	for _, it := range d.Lines {
		if it.Key == "item.total" || it.Key == "item.public" {
			continue
		}
		bar.Categories = append(bar.Categories, l.T(it.Key))
		bar.Series[0].Values = append(bar.Series[0].Values, it.A)
		bar.Series[1].Values = append(bar.Series[1].Values, it.B)
		d.Chart.Keys = append(d.Chart.Keys, strings.TrimPrefix(strings.TrimPrefix(it.Key, "line."), "item."))
	}
	svg, err := bar.SVG("whatif-chart")
	if err != nil {
		return err
	}
	d.Chart.SVG, d.Chart.Table = template.HTML(svg), bar.Table() // chart escapes every text it draws

	group := func(key string, names []string, base, scen []calc.Tally) groupTable {
		g := groupTable{Key: key}
		for i, n := range names {
			r := groupRow{Key: n, Claims: base[i].Claims, Lines: make([]calc.Money, 0, calc.NumLines)}
			for _, ln := range calc.Lines() {
				r.Lines = append(r.Lines, scen[i].Lines[ln]-base[i].Lines[ln])
				r.Public += scen[i].Lines[ln] - base[i].Lines[ln]
			}
			r.OutOfPocket = scen[i].OutOfPocket - base[i].OutOfPocket
			g.Rows = append(g.Rows, r)
		}
		return g
	}
	var levels, kinds, aids []string
	for _, x := range calc.Levels() {
		levels = append(levels, "level."+x.String())
	}
	for _, x := range calc.Kinds() {
		kinds = append(kinds, "kind."+x.String())
	}
	for a := range calc.NumAidCategories {
		aids = append(aids, "aid."+a.String())
	}
	d.Groups = []groupTable{
		group("finance.byLevel", levels, w.Base.ByLevel[:], w.Scenario.ByLevel[:]),
		group("finance.byKind", kinds, w.Base.ByKind[:], w.Scenario.ByKind[:]),
		group("finance.byAid", aids, w.Base.ByAid[:], w.Scenario.ByAid[:]),
	}
	rises, falls := ops.Largest(w, topHouseholds)
	for _, h := range rises {
		d.Rises = append(d.Rises, householdRow{ID: h.ID, Public: h.PublicDelta(), OutOfPocket: h.OOPDelta()})
	}
	for _, h := range falls {
		d.Falls = append(d.Falls, householdRow{ID: h.ID, Public: h.PublicDelta(), OutOfPocket: h.OOPDelta()})
	}

	if d.Sweep.Field != "" && c.mayUse(sweepRoute, c.role(ec)) {
		if err := c.financeSweep(ec, &d, from, to); err != nil {
			return err
		}
	}
	return c.render(ec, http.StatusOK, "finance", "desk.finance", d)
}

// financeSweep runs the sweep of the form and draws it.
func (c *Console) financeSweep(ec echo.Context, d *financeData, from, to calc.Date) error {
	l := c.lang(ec)
	if !slices.Contains(d.SweepFields, d.Sweep.Field) {
		d.SweepError = l.T("err.sweepField")
		return nil
	}
	values, err := ops.SweepValues(d.Sweep.Start, d.Sweep.Stop, d.Sweep.Step)
	if err != nil {
		d.SweepError = l.T("err.sweepRange", ops.MaxSweepSteps) + " (" + err.Error() + ")"
		return nil
	}
	steps, err := c.ops.Sweep(ec.Request().Context(), from, to, d.Sweep.Field, values)
	var ce *ops.ChangeError
	if errors.As(err, &ce) {
		d.SweepError = l.fileError(ce.Err)
		return nil
	}
	if err != nil {
		return err
	}
	line := &chart.Line{Labels: chart.Labels{Title: l.T("finance.sweepTitle", paramLabel(l, d.Sweep.Field)),
		Desc: l.T("finance.sweepDesc", d.Sweep.Start, d.Sweep.Stop), X: paramLabel(l, d.Sweep.Field), Y: l.T("finance.chartY"),
		Corner: l.T("finance.value")}, Wan: true}
	for _, ln := range calc.Lines() {
		line.Series = append(line.Series, chart.Series{Name: l.T("line." + ln.String())})
	}
	line.Series = append(line.Series, chart.Series{Name: l.T("item.out_of_pocket")})
	for _, st := range steps {
		line.Steps = append(line.Steps, st.Value.Decimal())
		d.SweepChart.Keys = append(d.SweepChart.Keys, st.Value.Decimal())
		for i, ln := range calc.Lines() {
			line.Series[i].Values = append(line.Series[i].Values, st.Tally.Lines[ln])
		}
		line.Series[calc.NumLines].Values = append(line.Series[calc.NumLines].Values, st.Tally.OutOfPocket)
	}
	svg, err := line.SVG("sweep-chart")
	if err != nil {
		return err
	}
	d.SweepRan = true
	d.SweepChart.SVG, d.SweepChart.Table = template.HTML(svg), line.Table() // chart escapes every text it draws
	return nil
}

// financeDownload answers the what-if of the desk's address as a workbook.
func (c *Console) financeDownload(ec echo.Context) error {
	d, from, to, err := c.financeForm(ec)
	if err != nil {
		return err
	}
	if len(d.Errors) > 0 || !ec.Request().URL.Query().Has("from") {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "err.badPeriod")
	}
	change := d.Change
	if change == "" {
		change = "{}"
	}
	w, set, err := c.ops.WhatIf(ec.Request().Context(), from, to, []byte(change))
	var ce *ops.ChangeError
	if errors.As(err, &ce) {
		return echo.NewHTTPError(http.StatusUnprocessableEntity, "err.badChange")
	}
	if err != nil {
		return err
	}
	return sendBook(ec, ops.WhatIfBook(from, to, change, set.Len(), w, topHouseholds))
}
