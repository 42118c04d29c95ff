package console_test

import (
	"bytes"
	"context"
	"html"
	"net/http"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/xuri/excelize/v2"
)

// settleShipped settles every shipped claim, in discharge order, through the operations
// the API and the console share, but for the second claim of each person with three or
// more, then reverses the first claim of each such person (which re-settles the later
// ones) and only then settles the second claims, out of discharge order, so that an audit
// finds them and the claims after them different.
func (v *env) settleShipped() {
	v.t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		v.t.Fatal(err)
	}
	o := ops.New(v.store)
	ctx := context.Background()
	count := map[string]int{}
	for _, c := range d.Claims.Claims {
		count[c.PersonID]++
	}
	first := map[string]string{} // person to their first settlement
	seen := map[string]int{}
	var late []int
	for _, i := range replay.Order(d.Claims.Claims) {
		c := d.Claims.Claims[i]
		if seen[c.PersonID]++; seen[c.PersonID] == 2 && count[c.PersonID] >= 3 {
			late = append(late, i)
			continue
		}
		st, _, err := o.Settle(ctx, c)
		if err != nil {
			v.t.Fatalf("settle %s: %v", c.ID, err)
		}
		if _, ok := first[c.PersonID]; !ok && count[c.PersonID] >= 3 {
			first[c.PersonID] = st.ID
		}
	}
	for _, id := range first {
		if _, err := o.Reverse(ctx, id, "bill corrected"); err != nil {
			v.t.Fatal(err)
		}
	}
	for _, i := range late {
		if _, _, err := o.Settle(ctx, d.Claims.Claims[i]); err != nil {
			v.t.Fatalf("settle %s: %v", d.Claims.Claims[i].ID, err)
		}
	}
}

// page GETs a console page as u and checks its status.
func (u *user) page(path string, status int) string {
	u.v.t.Helper()
	res, body := u.get(path)
	if res.StatusCode != status {
		u.v.t.Fatalf("GET %s: status %d, want %d\n%.2000s", path, res.StatusCode, status, body)
	}
	return body
}

// download GETs a workbook as u and opens it.
func (u *user) download(path string) *excelize.File {
	u.v.t.Helper()
	res, body := u.get(path)
	if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != workbook.MediaXLSX ||
		!strings.HasPrefix(res.Header.Get("Content-Disposition"), "attachment;") {
		u.v.t.Fatalf("GET %s: %d %s %s", path, res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Content-Disposition"))
	}
	f, err := excelize.OpenReader(bytes.NewReader([]byte(body)))
	if err != nil {
		u.v.t.Fatalf("open %s: %v", path, err)
	}
	u.v.t.Cleanup(func() { f.Close() })
	return f
}

var keyedRow = regexp.MustCompile(`(?s)<tr data-key="([^"]+)">(.*?)</tr>`)
var cell = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)

// tableRows reads the rows of the table of id on a page: by data-key, the cells' text.
func tableRows(t *testing.T, body, id string) map[string][]string {
	t.Helper()
	start := strings.Index(body, `id="`+id+`"`)
	if start < 0 {
		t.Fatalf("no table %s on the page", id)
	}
	end := strings.Index(body[start:], "</table>")
	out := map[string][]string{}
	for _, m := range keyedRow.FindAllStringSubmatch(body[start:start+end], -1) {
		for _, c := range cell.FindAllStringSubmatch(m[2], -1) {
			out[m[1]] = append(out[m[1]], html.UnescapeString(strings.TrimSpace(c[1])))
		}
	}
	return out
}

// grouped parses an amount as the page shows it (1,234.56).
func grouped(t *testing.T, s string) calc.Money {
	t.Helper()
	m, err := calc.ParseMoney(strings.ReplaceAll(s, ",", ""))
	if err != nil {
		t.Fatalf("amount %q: %v", s, err)
	}
	return m
}

// apiTotals is a tally as the API's JSON has it.
type apiTotals struct {
	Claims      int               `json:"claims"`
	Total       string            `json:"total"`
	Lines       map[string]string `json:"lines"`
	OutOfPocket string            `json:"out_of_pocket"`
}

// amount is the API's amount of a row key of the desks ("item.total", "line.basic",
// "item.public", "item.out_of_pocket", or the same without the prefix).
func (x apiTotals) amount(t *testing.T, key string) calc.Money {
	t.Helper()
	name := key[strings.IndexByte(key, '.')+1:]
	switch name {
	case "total":
		return grouped(t, x.Total)
	case "out_of_pocket":
		return grouped(t, x.OutOfPocket)
	case "public":
		var sum calc.Money
		for _, l := range calc.Lines() {
			sum += grouped(t, x.Lines[l.String()])
		}
		return sum
	}
	v, ok := x.Lines[name]
	if !ok {
		t.Fatalf("the API has no %s", key)
	}
	return grouped(t, v)
}

// sheetRows are a sheet's rows after the header, numbers unformatted.
func sheetRows(t *testing.T, f *excelize.File, sheet string) [][]string {
	t.Helper()
	rows, err := f.GetRows(sheet, excelize.Options{RawCellValue: true})
	if err != nil || len(rows) == 0 {
		t.Fatalf("sheet %s: %v", sheet, err)
	}
	return rows[1:]
}

var idText = func(id string) *regexp.Regexp { return regexp.MustCompile(`id="` + id + `"[^>]*>([^<]*)<`) }

// textOf is the text of the element of id on a page.
func textOf(t *testing.T, body, id string) string {
	t.Helper()
	m := idText(id).FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no element %s on the page", id)
	}
	return html.UnescapeString(strings.TrimSpace(m[1]))
}

func TestAuditDesk(t *testing.T) {
	v := newEnv(t)
	v.settleShipped()
	const q = "from=2018-01-01&to=2018-12-31&policy=in-force"
	var js struct {
		Claims      int       `json:"claims"`
		Reversed    int       `json:"reversed"`
		Paid        apiTotals `json:"paid"`
		Replayed    apiTotals `json:"replayed"`
		Differences []struct {
			ClaimID string            `json:"claim_id"`
			Delta   map[string]string `json:"delta"`
		} `json:"differences"`
	}
	if st := v.apiJSON(asAuditor, http.MethodPost, "/v1/replays", `{"from":"2018-01-01","to":"2018-12-31"}`, &js); st != http.StatusOK {
		t.Fatalf("API replay: %d", st)
	}
	if len(js.Differences) == 0 {
		t.Fatal("the audit should find differences after claims settled out of order")
	}
	nonzero := 0
	for _, d := range js.Differences {
		for _, m := range d.Delta {
			if grouped(t, m) != 0 {
				nonzero++
			}
		}
	}

	for _, who := range []string{asAuditor, asAdmin} {
		u := v.signedIn(who)
		form := u.page("/audit", http.StatusOK)
		if !strings.Contains(form, `id="audit-form"`) || strings.Contains(form, `id="audit-summary"`) {
			t.Errorf("%s: /audit without a period should show the form only", who)
		}
		body := u.page("/audit?"+q, http.StatusOK)
		for id, want := range map[string]int{"audit-claims": js.Claims, "audit-reversed": js.Reversed, "audit-differing": len(js.Differences)} {
			if got := textOf(t, body, id); got != strconv.Itoa(want) {
				t.Errorf("%s %s = %s, the API says %d", who, id, got, want)
			}
		}
		rows := tableRows(t, body, "audit-totals")
		for _, key := range []string{"item.total", "line.basic", "line.critical", "line.commercial", "line.aid", "line.backstop", "item.out_of_pocket"} {
			r := rows[key]
			if len(r) != 4 || grouped(t, r[1]) != js.Paid.amount(t, key) || grouped(t, r[2]) != js.Replayed.amount(t, key) ||
				grouped(t, r[3]) != js.Replayed.amount(t, key)-js.Paid.amount(t, key) {
				t.Errorf("%s: row %s %q; the API paid %s replayed %s", who, key, r, js.Paid.amount(t, key), js.Replayed.amount(t, key))
			}
		}
		diffs := body[strings.Index(body, `id="diff-table"`):]
		diffs = diffs[strings.Index(diffs, "<tbody>"):strings.Index(diffs, "</tbody>")]
		if n := strings.Count(diffs, "<tr>"); n != nonzero {
			t.Errorf("%s: %d rows of differences, the API has %d amounts that differ", who, n, nonzero)
		}
		if !strings.Contains(diffs, "同一人较早的单据已冲正") {
			t.Errorf("%s: the cause is not named in Chinese", who)
		}
		// The published figures beside the tally.
		tally := tableRows(t, body, "audit-tally")
		if r := tally["line.critical"]; len(r) < 5 || r[3] != fixtures.Published2018.Lines[calc.Critical].Grouped() {
			t.Errorf("%s: tally row %q, want the published critical figure", who, r)
		}

		if !strings.Contains(body, `id="download-refunds-xlsx" href="/audit/refunds?`) {
			t.Errorf("%s: no download of the refunds on the audit desk", who)
		}
		// Downloads: the audit and the tally, read back, are the API's figures.
		f := u.download("/audit/download?format=xlsx&" + q)
		for i, r := range sheetRows(t, f, "汇总 Summary") {
			key := []string{"item.total", "line.basic", "line.critical", "line.commercial", "line.aid", "line.backstop", "item.out_of_pocket"}[i]
			if grouped(t, r[1]) != js.Paid.amount(t, key) || grouped(t, r[2]) != js.Replayed.amount(t, key) {
				t.Errorf("%s: workbook summary %q, the API %s paid %s", who, r, key, js.Paid.amount(t, key))
			}
		}
		if n := len(sheetRows(t, f, "差异 Differences")); n != nonzero {
			t.Errorf("%s: the workbook lists %d differences, the API %d", who, n, nonzero)
		}
		var tj struct {
			apiTotals
			Lines []struct{ Name, Amount string } `json:"lines"`
		}
		v.apiJSON(who, http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31", "", &tj)
		tf := u.download("/audit/tally?format=xlsx&from=2018-01-01&to=2018-12-31")
		if rf := u.download("/audit/refunds?format=xlsx&from=2018-01-01&to=2018-12-31"); len(sheetRows(t, rf, "期间 Period")) != 1 {
			t.Errorf("%s: the refunds workbook has no period", who)
		}
		tr := sheetRows(t, tf, "合计 Tally")
		if grouped(t, tr[0][1]) != grouped(t, tj.Total) {
			t.Errorf("%s: tally workbook total %s, the API %s", who, tr[0][1], tj.Total)
		}
		for i, l := range tj.Lines {
			if grouped(t, tr[i+1][1]) != grouped(t, l.Amount) {
				t.Errorf("%s: tally workbook %s %s, the API %s", who, l.Name, tr[i+1][1], l.Amount)
			}
		}
		res, csv := u.get("/audit/download?format=csv&" + q)
		if res.StatusCode != http.StatusOK || !strings.HasPrefix(csv, "\uFEFF汇总 Summary") {
			t.Errorf("%s: CSV %d %.60q", who, res.StatusCode, csv)
		}
	}

	u := v.signedIn(asAuditor)
	bad := u.page("/audit?from=2018-13-01&to=2018-12-31", http.StatusUnprocessableEntity)
	if textOf(t, bad, "err-from") == "" {
		t.Error("a bad date shows no error at its field")
	}
	bad = u.page("/audit?from=2018-01-01&to=2018-12-31&policy=nope", http.StatusUnprocessableEntity)
	if textOf(t, bad, "err-policy") == "" {
		t.Error("an unknown version shows no error at its field")
	}
	for _, who := range []string{asFinance, asClinic} {
		w := v.signedIn(who)
		for _, path := range []string{"/audit", "/audit?" + q, "/audit/download?format=xlsx&" + q} {
			if res, _ := w.get(path); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s at %s: %d, want 403", who, path, res.StatusCode)
			}
		}
	}
}

// whatIfJSON is the API's what-if, as the tests read it.
type whatIfJSON struct {
	Claims   int       `json:"claims"`
	Baseline apiTotals `json:"baseline"`
	Scenario apiTotals `json:"scenario"`
	Rises    []struct {
		HouseholdID string `json:"household_id"`
		PublicDelta string `json:"public_delta"`
	} `json:"households_largest_rise"`
	PayMore int `json:"patients_pay_more"`
	PayLess int `json:"patients_pay_less"`
}

func TestFinanceDesk(t *testing.T) {
	v := newEnv(t)
	v.settleShipped()
	u := v.signedIn(asFinance)

	// The policy in force as a form: every parameter, with its label, unit and source.
	form := u.page("/finance", http.StatusOK)
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	params, err := policyfile.Parameters(doc)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range params {
		id := "p-" + strings.ReplaceAll(p.Path, ".", "-")
		input := regexp.MustCompile(`<label for="` + id + `">([^<]+)<span class="unit">（([^）]+)）</span></label>\s*<input id="` + id + `" name="p\.` +
			regexp.QuoteMeta(p.Path) + `" value="` + regexp.QuoteMeta(p.Value) + `"`)
		m := input.FindStringSubmatch(form)
		if m == nil {
			t.Errorf("parameter %s = %s is not in the form with a label and unit", p.Path, p.Value)
			continue
		}
		if strings.Contains(m[1], "param.") || strings.Contains(m[1], "line.") {
			t.Errorf("%s is labelled %q: a label key shows", p.Path, m[1])
		}
	}
	if !strings.Contains(html.UnescapeString(form), "Jiangxi's 2017 commitment") {
		t.Error("the backstop's source note is not shown")
	}

	const change = "{backstop: {oop_ceiling: 0.05}}"
	const page = "/finance?run=1&from=2018-01-01&to=2018-12-31&p.backstop.oop_ceiling=0.05&sweep=backstop.oop_ceiling&start=0.05&stop=0.15&step=0.05"
	var js whatIfJSON
	if st := v.apiJSON(asFinance, http.MethodPost, "/v1/whatif", `{"from":"2018-01-01","to":"2018-12-31","change":"`+change+`"}`, &js); st != http.StatusOK {
		t.Fatalf("API what-if: %d", st)
	}
	var sweep struct {
		Steps []struct {
			Value       string            `json:"value"`
			Lines       map[string]string `json:"lines"`
			OutOfPocket string            `json:"out_of_pocket"`
		} `json:"steps"`
	}
	if st := v.apiJSON(asFinance, http.MethodPost, "/v1/sweeps",
		`{"from":"2018-01-01","to":"2018-12-31","field":"backstop.oop_ceiling","start":"0.05","stop":"0.15","step":"0.05"}`, &sweep); st != http.StatusOK {
		t.Fatalf("API sweep: %d", st)
	}

	var first map[string][]string
	for _, who := range []string{asFinance, asAdmin} { // a colleague opening the same address sees the same
		w := v.signedIn(who)
		body := w.page(page, http.StatusOK)
		if got := textOf(t, body, "change-doc"); got != change {
			t.Errorf("%s: change %q, want %q", who, got, change)
		}
		rows := tableRows(t, body, "whatif-table")
		if len(rows) != 6 {
			t.Errorf("%s: the chart's table has %d rows, want the five lines and out-of-pocket", who, len(rows))
		}
		for key, r := range rows {
			if len(r) != 3 || grouped(t, r[1]) != js.Baseline.amount(t, "x."+key) || grouped(t, r[2]) != js.Scenario.amount(t, "x."+key) {
				t.Errorf("%s: chart table row %s %q; the API baseline %s scenario %s", who, key, r, js.Baseline.amount(t, "x."+key), js.Scenario.amount(t, "x."+key))
			}
		}
		if first == nil {
			first = rows
		} else if !reflect.DeepEqual(first, rows) {
			t.Errorf("%s sees %v at the same address, %s saw %v", who, rows, asFinance, first)
		}
		if textOf(t, body, "pay-more") != strconv.Itoa(js.PayMore) || textOf(t, body, "pay-less") != strconv.Itoa(js.PayLess) ||
			textOf(t, body, "whatif-claims") != strconv.Itoa(js.Claims) {
			t.Errorf("%s: counts differ from the API's %+v", who, js)
		}
		rises := body[strings.Index(body, `id="rises"`):]
		rises = rises[:strings.Index(rises, "</table>")]
		for _, h := range js.Rises {
			if !strings.Contains(rises, `<td class="mono">`+h.HouseholdID+`</td><td class="num">`+grouped(t, h.PublicDelta).Grouped()+`</td>`) {
				t.Errorf("%s: household %s rising by %s is not listed", who, h.HouseholdID, h.PublicDelta)
			}
		}
		if strings.Count(rises, "<tr>") != len(js.Rises)+1 {
			t.Errorf("%s: %d rows of rises, the API lists %d", who, strings.Count(rises, "<tr>")-1, len(js.Rises))
		}
		srows := tableRows(t, body, "sweep-table")
		if len(srows) != len(sweep.Steps) {
			t.Fatalf("%s: %d steps drawn, the API %d", who, len(srows), len(sweep.Steps))
		}
		for _, st := range sweep.Steps {
			r := srows[st.Value]
			for i, l := range calc.Lines() {
				if len(r) != 7 || grouped(t, r[i+1]) != grouped(t, st.Lines[l.String()]) {
					t.Errorf("%s: sweep at %s %s: page %q, API %s", who, st.Value, l, r, st.Lines[l.String()])
				}
			}
			if len(r) == 7 && grouped(t, r[6]) != grouped(t, st.OutOfPocket) {
				t.Errorf("%s: sweep at %s out-of-pocket %s, API %s", who, st.Value, r[6], st.OutOfPocket)
			}
		}
		if !strings.Contains(body, `<svg xmlns="http://www.w3.org/2000/svg"`) || !strings.Contains(body, `id="whatif-chart-title"`) {
			t.Errorf("%s: no chart drawn", who)
		}

		f := w.download("/finance/download?format=xlsx&from=2018-01-01&to=2018-12-31&p.backstop.oop_ceiling=0.05")
		keys := []string{"total", "basic", "critical", "commercial", "aid", "backstop", "public", "out_of_pocket"}
		for i, r := range sheetRows(t, f, "各线 Lines") {
			if grouped(t, r[1]) != js.Baseline.amount(t, "x."+keys[i]) || grouped(t, r[2]) != js.Scenario.amount(t, "x."+keys[i]) {
				t.Errorf("%s: workbook %q, the API %s baseline %s scenario %s", who, r, keys[i], js.Baseline.amount(t, "x."+keys[i]), js.Scenario.amount(t, "x."+keys[i]))
			}
		}
		rs := sheetRows(t, f, "增加最多的户 Largest rises")
		if len(rs) != len(js.Rises) || len(rs) > 0 && rs[0][0] != js.Rises[0].HouseholdID {
			t.Errorf("%s: workbook rises %d, API %d", who, len(rs), len(js.Rises))
		}
	}

	bad := u.page("/finance?run=1&from=2018-01-01&to=2018-12-31&p.backstop.oop_ceiling=lots", http.StatusUnprocessableEntity)
	if textOf(t, bad, "err-p-backstop-oop_ceiling") == "" {
		t.Error("a bad parameter shows no error at its field")
	}
	bad = u.page("/finance?run=1&from=2018-01-01&to=2018-12-31&p.backstop.oop_ceiling=1.5", http.StatusUnprocessableEntity)
	if textOf(t, bad, "change-error") == "" {
		t.Error("a ceiling over 1 is not refused as a change")
	}
	for _, who := range []string{asAuditor, asClinic} {
		w := v.signedIn(who)
		for _, path := range []string{"/finance", page, "/finance/download?format=xlsx&from=2018-01-01&to=2018-12-31"} {
			if res, _ := w.get(path); res.StatusCode != http.StatusForbidden {
				t.Errorf("%s at %s: %d, want 403", who, path, res.StatusCode)
			}
		}
	}
}
