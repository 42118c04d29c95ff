package api_test

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/xuri/excelize/v2"
)

// The ids of a person whose ids begin with "-", which the id grammar allows and a
// spreadsheet would read as the start of a formula.
const (
	dashPerson    = "-P1"
	dashHousehold = "-H1"
	dashClaim1    = "-C1"
	dashClaim2    = "-C2"
)

// settleDashPerson adds a person whose ids begin with "-", settles two claims of theirs
// and reverses the first, so that an audit finds the second different.
func settleDashPerson(t *testing.T, v *env) {
	t.Helper()
	want(t, v.postJSONMethod(http.MethodPut, "/v1/persons", []map[string]any{{"person_id": dashPerson, "household_id": dashHousehold,
		"registered_poor": true, "aid_category": "dibao"}}), http.StatusOK, nil)
	c1 := testClaim(dashClaim1, dashPerson, ownClinic, 30_000*calc.Yuan)
	c2 := testClaim(dashClaim2, dashPerson, ownClinic, 20_000*calc.Yuan)
	c2.AdmittedOn, c2.DischargedOn = c1.AdmittedOn+30, c1.DischargedOn+30
	c3 := testClaim(dashClaim2+"R", dashPerson, ownClinic, 10_000*calc.Yuan)
	c3.AdmittedOn, c3.DischargedOn = c2.AdmittedOn+30, c2.DischargedOn+30
	// c2 before c1: settled out of discharge order, which the audit finds; c3, the last,
	// reversed, which re-settles nothing.
	var third settlement
	want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(c2)), http.StatusCreated, nil)
	want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(c1)), http.StatusCreated, nil)
	want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(c3)), http.StatusCreated, &third)
	want(t, v.do(http.MethodPost, "/v1/settlements/"+third.SettlementID+"/reversal", asAdmin, "application/json",
		[]byte(`{"reason":"bill corrected"}`)), http.StatusCreated, nil)
}

func (v *env) postJSONMethod(method, path string, body any) *httptest.ResponseRecorder {
	v.t.Helper()
	return v.do(method, path, asAdmin, "application/json", mustJSON(v.t, body))
}

// book is a downloaded workbook, checked as a download and opened.
func book(t *testing.T, rec *httptest.ResponseRecorder, wantName string) *excelize.File {
	t.Helper()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != workbook.MediaXLSX {
		t.Fatalf("status %d, Content-Type %q, want 200 and xlsx: %.300s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="`+wantName+`"` {
		t.Errorf("Content-Disposition %q, want %s", cd, wantName)
	}
	f, err := excelize.OpenReader(bytes.NewReader(rec.Body.Bytes()))
	if err != nil {
		t.Fatalf("open the workbook: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// sheet is a sheet's rows after its header, as stored (numbers unformatted), with every
// money and count cell checked to be of number type and every text cell a string.
func sheet(t *testing.T, f *excelize.File, name string, kinds string) [][]string {
	t.Helper()
	rows, err := f.GetRows(name, excelize.Options{RawCellValue: true})
	if err != nil {
		t.Fatalf("sheet %s: %v", name, err)
	}
	if len(rows) == 0 || len(rows[0]) != len(kinds) {
		t.Fatalf("sheet %s: header %q, want %d columns", name, rows, len(kinds))
	}
	for i, row := range rows[1:] {
		for j := range kinds {
			cell, _ := excelize.CoordinatesToCellName(j+1, i+2)
			typ, err := f.GetCellType(name, cell)
			if err != nil {
				t.Fatal(err)
			}
			isNumber := typ == excelize.CellTypeUnset || typ == excelize.CellTypeNumber
			if want := kinds[j] != 't'; isNumber != want || j >= len(row) {
				t.Errorf("%s!%s (%q) is of type %d; number wanted: %v", name, cell, row, typ, want)
			}
		}
	}
	return rows[1:]
}

func money(t *testing.T, s string) calc.Money {
	t.Helper()
	m, err := calc.ParseMoney(s)
	if err != nil {
		t.Fatalf("money %q: %v", s, err)
	}
	return m
}

func count(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("count %q: %v", s, err)
	}
	return n
}

// totalsJ is the JSON of a tally in audits and what-ifs.
type totalsJ struct {
	Claims      int               `json:"claims"`
	Total       string            `json:"total"`
	Lines       map[string]string `json:"lines"`
	OutOfPocket string            `json:"out_of_pocket"`
}

// item is the amount of a report's row name ("total", a line, "public", "out_of_pocket").
func (x totalsJ) item(t *testing.T, name string) calc.Money {
	t.Helper()
	switch name {
	case "total":
		return money(t, x.Total)
	case "out_of_pocket":
		return money(t, x.OutOfPocket)
	case "public":
		var sum calc.Money
		for _, l := range calc.Lines() {
			sum += money(t, x.Lines[l.String()])
		}
		return sum
	}
	s, ok := x.Lines[name]
	if !ok {
		t.Fatalf("no item %q", name)
	}
	return money(t, s)
}

// reportItems are the rows a report lists, in order.
func reportItems(public bool) []string {
	out := []string{"total"}
	for _, l := range calc.Lines() {
		out = append(out, l.String())
	}
	if public {
		out = append(out, "public")
	}
	return append(out, "out_of_pocket")
}

// TestTallyWorkbook: the tally as xlsx, by Accept or ?format=xlsx, holds the JSON's figures.
func TestTallyWorkbook(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		settleShipped(t, s)
		settleDashPerson(t, v)
		const path = "/v1/reports/tally?from=2018-01-01&to=2018-12-31"
		var js struct {
			Claims int `json:"claims"`
			totalsJ
			TotalWan string `json:"total_wan"`
			Lines    []struct {
				Name, Amount, Wan string
			} `json:"lines"`
			OutOfPocketWan string `json:"out_of_pocket_wan"`
		}
		want(t, v.do(http.MethodGet, path, asAuditor, "", nil), http.StatusOK, &js)
		amounts := map[string][2]string{"total": {js.Total, js.TotalWan}, "out_of_pocket": {js.OutOfPocket, js.OutOfPocketWan}}
		for _, l := range js.Lines {
			amounts[l.Name] = [2]string{l.Amount, l.Wan}
		}
		for _, rec := range []*httptest.ResponseRecorder{
			v.do(http.MethodGet, path, asFinance, "", nil, "Accept", workbook.MediaXLSX),
			v.do(http.MethodGet, path+"&format=xlsx", asAdmin, "", nil),
			v.do(http.MethodGet, path, asAuditor, "", nil, "Accept", "application/json;q=0.5, "+workbook.MediaXLSX),
		} {
			f := book(t, rec, "tally-2018-01-01-2018-12-31.xlsx")
			rows := sheet(t, f, "合计 Tally", "tyw")
			var names []string
			for _, row := range rows {
				name := workbook.Key(row[0])
				names = append(names, name)
				w := amounts[name]
				if money(t, row[1]) != money(t, w[0]) || money(t, row[2]) != money(t, strings.ReplaceAll(w[1], ",", "")) {
					t.Errorf("%s: workbook %s, %s 万元; JSON %s, %s 万元", name, row[1], row[2], w[0], w[1])
				}
			}
			if !slices.Equal(names, reportItems(false)) {
				t.Errorf("rows %q, want %q", names, reportItems(false))
			}
			period := sheet(t, f, "期间 Period", "ttn")
			if period[0][0] != "2018-01-01" || period[0][1] != "2018-12-31" || count(t, period[0][2]) != js.Claims {
				t.Errorf("period %q, want 2018-01-01 2018-12-31 %d claims", period[0], js.Claims)
			}
		}
		// Asked for JSON first, or for something else, JSON it is.
		for _, accept := range []string{"application/json, " + workbook.MediaXLSX, "*/*", "text/html"} {
			if rec := v.do(http.MethodGet, path, asAuditor, "", nil, "Accept", accept); rec.Header().Get("Content-Type") != "application/json" {
				t.Errorf("Accept %s: %s", accept, rec.Header().Get("Content-Type"))
			}
		}
		if rec := v.do(http.MethodGet, path+"&format=pdf", asAuditor, "", nil); rec.Code != http.StatusBadRequest ||
			!strings.Contains(rec.Body.String(), "xlsx") {
			t.Errorf("format=pdf: %d %s", rec.Code, rec.Body)
		}
	})
}

// auditJ is the JSON of an audit.
type auditJ struct {
	Claims      int     `json:"claims"`
	Reversed    int     `json:"reversed"`
	Paid        totalsJ `json:"paid"`
	Replayed    totalsJ `json:"replayed"`
	Differences []struct {
		ClaimID         string            `json:"claim_id"`
		PersonID        string            `json:"person_id"`
		PaidVersion     string            `json:"paid_version"`
		ReplayedVersion string            `json:"replayed_version"`
		Delta           map[string]string `json:"delta"`
		Causes          []string          `json:"causes"`
	} `json:"differences"`
}

// TestAuditWorkbook: an audit with differences as xlsx and as CSV holds the JSON's figures;
// ids beginning with "-" stay text.
func TestAuditWorkbook(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		settleShipped(t, s)
		settleDashPerson(t, v)
		body := []byte(`{"from":"2018-01-01","to":"2018-12-31"}`)
		var js auditJ
		want(t, v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json", body), http.StatusOK, &js)
		if len(js.Differences) == 0 || js.Reversed != 1 {
			t.Fatalf("the audit should find the out-of-order claims' differences and the reversal: %+v", js)
		}
		// What the JSON says differs: claim and item to replayed − paid.
		wantDiff := map[[2]string]calc.Money{}
		for _, d := range js.Differences {
			for name, delta := range d.Delta {
				if m := money(t, delta); m != 0 {
					wantDiff[[2]string{d.ClaimID, name}] = m
				}
			}
		}

		rec := v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json", body, "Accept", workbook.MediaXLSX)
		f := book(t, rec, "audit-2018-01-01-2018-12-31.xlsx")
		sum := sheet(t, f, "汇总 Summary", "tyyy")
		for i, name := range reportItems(false) {
			row := sum[i]
			paid, replayed := js.Paid.item(t, name), js.Replayed.item(t, name)
			if workbook.Key(row[0]) != name || money(t, row[1]) != paid || money(t, row[2]) != replayed || money(t, row[3]) != replayed-paid {
				t.Errorf("summary row %q; JSON %s paid %s replayed %s", row, name, paid, replayed)
			}
		}
		period := sheet(t, f, "期间 Period", "tttnnn")[0]
		if period[2] != "in-force" || count(t, period[3]) != js.Claims || count(t, period[4]) != js.Reversed || count(t, period[5]) != len(js.Differences) {
			t.Errorf("period %q; JSON %d claims, %d reversed, %d differences", period, js.Claims, js.Reversed, len(js.Differences))
		}
		got := map[[2]string]calc.Money{}
		for _, row := range sheet(t, f, "差异 Differences", "tttyyyttt") {
			key := [2]string{row[0], workbook.Key(row[2])}
			paid, replayed, diff := money(t, row[3]), money(t, row[4]), money(t, row[5])
			if diff != replayed-paid {
				t.Errorf("row %q: difference is not replayed − paid", row)
			}
			got[key] = diff
			if row[0] == dashClaim2 && (row[1] != dashPerson || !strings.Contains(row[8], "out of discharge order") || !strings.Contains(row[8], "未按出院顺序")) {
				t.Errorf("row %q: want person %s and the cause named in both languages", row, dashPerson)
			}
		}
		if !mapsEqual(got, wantDiff) {
			t.Errorf("workbook differences %v, JSON %v", got, wantDiff)
		}
		checkText(t, f, "差异 Differences", dashClaim2, dashPerson)

		rec = v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json", body, "Accept", "text/csv")
		sections := csvSections(t, rec, "audit-2018-01-01-2018-12-31.csv")
		got = map[[2]string]calc.Money{}
		for _, row := range sections["差异 Differences"][1:] {
			claim := row[0]
			if c, ok := strings.CutPrefix(claim, "'"); ok {
				if !strings.HasPrefix(c, "-") {
					t.Errorf("claim %q quoted though it is harmless", claim)
				}
				claim = c
			} else if strings.HasPrefix(claim, "-") {
				t.Errorf("claim %q begins with - and is not quoted", claim)
			}
			if claim == dashClaim2 && row[1] != "'"+dashPerson {
				t.Errorf("person %q, want '%s", row[1], dashPerson)
			}
			got[[2]string{claim, workbook.Key(row[2])}] = money(t, row[5])
		}
		if !mapsEqual(got, wantDiff) {
			t.Errorf("CSV differences %v, JSON %v", got, wantDiff)
		}
		for i, name := range reportItems(false) {
			row := sections["汇总 Summary"][i+1]
			if workbook.Key(row[0]) != name || money(t, row[1]) != js.Paid.item(t, name) || money(t, row[2]) != js.Replayed.item(t, name) {
				t.Errorf("CSV summary row %q", row)
			}
		}
	})
}

func mapsEqual[K comparable](a, b map[K]calc.Money) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// checkText checks that each of values is in a cell of sheet written as a string, never a
// formula, and reads back as it was.
func checkText(t *testing.T, f *excelize.File, name string, values ...string) {
	t.Helper()
	found := map[string]bool{}
	rows, err := f.GetRows(name)
	if err != nil {
		t.Fatal(err)
	}
	for i, row := range rows {
		for j, v := range row {
			if !slices.Contains(values, v) {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(j+1, i+1)
			typ, _ := f.GetCellType(name, cell)
			formula, _ := f.GetCellFormula(name, cell)
			if typ != excelize.CellTypeInlineString || formula != "" {
				t.Errorf("%s!%s %q: type %d, formula %q; want text", name, cell, v, typ, formula)
			}
			found[v] = true
		}
	}
	for _, v := range values {
		if !found[v] {
			t.Errorf("%s: no cell holds %q", name, v)
		}
	}
}

// csvSections reads a downloaded CSV of several tables into its sections by title; each
// section's first row is its header.
func csvSections(t *testing.T, rec *httptest.ResponseRecorder, wantName string) map[string][][]string {
	t.Helper()
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != workbook.MediaCSV {
		t.Fatalf("status %d, Content-Type %q: %.300s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	if cd := rec.Header().Get("Content-Disposition"); cd != `attachment; filename="`+wantName+`"` {
		t.Errorf("Content-Disposition %q, want %s", cd, wantName)
	}
	body, ok := bytes.CutPrefix(rec.Body.Bytes(), []byte("\uFEFF"))
	if !ok {
		t.Error("no byte order mark")
	}
	r := csv.NewReader(bytes.NewReader(body))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][][]string{}
	title := ""
	for _, rec := range recs {
		if len(rec) == 1 { // every table has several columns: a lone cell is a section title
			title = rec[0]
			continue
		}
		out[title] = append(out[title], rec)
	}
	return out
}

type groupJ struct {
	Group    string  `json:"group"`
	Baseline totalsJ `json:"baseline"`
	Scenario totalsJ `json:"scenario"`
}

type householdJ struct {
	HouseholdID      string            `json:"household_id"`
	PublicDelta      string            `json:"public_delta"`
	OutOfPocketDelta string            `json:"out_of_pocket_delta"`
	Delta            map[string]string `json:"delta"`
}

// TestWhatIfWorkbook: a what-if as xlsx and as CSV holds the JSON's figures, sheet by
// sheet; a household id beginning with "-" stays text.
func TestWhatIfWorkbook(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		settleShipped(t, s)
		settleDashPerson(t, v)
		// A lower ceiling costs the lines more (rises), a higher one less (falls).
		var rises, falls int
		for _, change := range []string{"backstop:\n  oop_ceiling: 0.05\n", "backstop:\n  oop_ceiling: 0.20\n"} {
			body := mustJSON(t, map[string]any{"from": "2018-01-01", "to": "2018-12-31", "change": change, "top": 1000})
			var js struct {
				Claims   int          `json:"claims"`
				Baseline totalsJ      `json:"baseline"`
				Scenario totalsJ      `json:"scenario"`
				ByLevel  []groupJ     `json:"by_level"`
				ByKind   []groupJ     `json:"by_kind"`
				ByAid    []groupJ     `json:"by_aid_category"`
				Rises    []householdJ `json:"households_largest_rise"`
				Falls    []householdJ `json:"households_largest_fall"`
				PayMore  int          `json:"patients_pay_more"`
				PayLess  int          `json:"patients_pay_less"`
			}
			want(t, v.do(http.MethodPost, "/v1/whatif", asFinance, "application/json", body), http.StatusOK, &js)
			rises, falls = rises+len(js.Rises), falls+len(js.Falls)
			dashIn := "增加最多的户 Largest rises"
			if !slices.ContainsFunc(js.Rises, func(h householdJ) bool { return h.HouseholdID == dashHousehold }) {
				dashIn = "减少最多的户 Largest falls"
				if !slices.ContainsFunc(js.Falls, func(h householdJ) bool { return h.HouseholdID == dashHousehold }) {
					t.Fatalf("household %s should be among the rises or falls: %+v %+v", dashHousehold, js.Rises, js.Falls)
				}
			}

			rec := v.do(http.MethodPost, "/v1/whatif", asFinance, "application/json", body, "Accept", workbook.MediaXLSX)
			f := book(t, rec, "whatif-2018-01-01-2018-12-31.xlsx")
			checkLines := func(where string, rows [][]string) {
				t.Helper()
				for i, name := range reportItems(true) {
					row := rows[i]
					b, s := js.Baseline.item(t, name), js.Scenario.item(t, name)
					if workbook.Key(row[0]) != name || money(t, row[1]) != b || money(t, row[2]) != s || money(t, row[3]) != s-b {
						t.Errorf("%s row %q; JSON %s baseline %s scenario %s", where, row, name, b, s)
					}
				}
			}
			checkLines("xlsx", sheet(t, f, "各线 Lines", "tyyy"))
			period := sheet(t, f, "期间 Period", "tttnnn")[0]
			if period[2] != change || count(t, period[3]) != js.Claims ||
				count(t, period[4]) != js.PayMore || count(t, period[5]) != js.PayLess {
				t.Errorf("period %q; JSON %d claims, %d pay more, %d less", period, js.Claims, js.PayMore, js.PayLess)
			}
			for _, g := range []struct {
				sheet  string
				groups []groupJ
			}{{"按级别 By level", js.ByLevel}, {"按类型 By kind", js.ByKind}, {"按救助类别 By aid category", js.ByAid}} {
				rows := sheet(t, f, g.sheet, "tntyyy")
				items := reportItems(true)
				if len(rows) != len(g.groups)*len(items) {
					t.Fatalf("%s: %d rows, want %d", g.sheet, len(rows), len(g.groups)*len(items))
				}
				for i, row := range rows {
					gr, name := g.groups[i/len(items)], items[i%len(items)]
					b, s := gr.Baseline.item(t, name), gr.Scenario.item(t, name)
					if workbook.Key(row[0]) != gr.Group || count(t, row[1]) != gr.Baseline.Claims || workbook.Key(row[2]) != name ||
						money(t, row[3]) != b || money(t, row[4]) != s || money(t, row[5]) != s-b {
						t.Errorf("%s row %q; JSON %s %s baseline %s scenario %s", g.sheet, row, gr.Group, name, b, s)
					}
				}
			}
			checkHouseholds := func(where string, rows [][]string, hs []householdJ, unquote func(string) string) {
				t.Helper()
				if len(rows) != len(hs) {
					t.Fatalf("%s: %d households, JSON %d", where, len(rows), len(hs))
				}
				for i, h := range hs {
					row := rows[i]
					ok := unquote(row[0]) == h.HouseholdID && money(t, row[1]) == money(t, h.PublicDelta) && money(t, row[2]) == money(t, h.OutOfPocketDelta)
					for j, l := range calc.Lines() {
						ok = ok && money(t, row[3+j]) == money(t, h.Delta[l.String()])
					}
					if !ok {
						t.Errorf("%s row %q; JSON %+v", where, row, h)
					}
				}
			}
			same := func(s string) string { return s }
			checkHouseholds("rises", sheet(t, f, "增加最多的户 Largest rises", "tyyyyyyy"), js.Rises, same)
			checkHouseholds("falls", sheet(t, f, "减少最多的户 Largest falls", "tyyyyyyy"), js.Falls, same)
			checkText(t, f, dashIn, dashHousehold)

			rec = v.do(http.MethodPost, "/v1/whatif", asFinance, "application/json", body, "Accept", "text/csv")
			sections := csvSections(t, rec, "whatif-2018-01-01-2018-12-31.csv")
			checkLines("CSV", sections["各线 Lines"][1:])
			unquote := func(s string) string {
				if u, ok := strings.CutPrefix(s, "'"); ok && strings.HasPrefix(u, "-") {
					return u
				}
				if strings.HasPrefix(s, "-") {
					t.Errorf("%q begins with - and is not quoted", s)
				}
				return s
			}
			checkHouseholds("CSV rises", sections["增加最多的户 Largest rises"][1:], js.Rises, unquote)
			checkHouseholds("CSV falls", sections["减少最多的户 Largest falls"][1:], js.Falls, unquote)

			// A bad request is still a problem, whatever was asked for.
			rec = v.do(http.MethodPost, "/v1/whatif", asFinance, "application/json", []byte(`{"from":"2018-01-01","to":"2018-12-31"}`),
				"Accept", workbook.MediaXLSX)
			if rec.Code != http.StatusUnprocessableEntity || !strings.Contains(rec.Header().Get("Content-Type"), "problem+json") {
				t.Errorf("what-if without a change, asking for xlsx: %d %s", rec.Code, rec.Header().Get("Content-Type"))
			}
		}
		if rises == 0 || falls == 0 {
			t.Errorf("%d rises and %d falls: both sheets should have been compared with households in them", rises, falls)
		}
	})
}
