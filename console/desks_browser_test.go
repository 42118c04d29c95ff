package console_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/hpcalc/hpcalc/console"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/xuri/excelize/v2"
)

// fetchInPage downloads href with the page's session, as a click on the link would, and
// returns the bytes.
func fetchInPage(t *testing.T, ctx context.Context, href string) []byte {
	t.Helper()
	eval[bool](t, ctx, fmt.Sprintf(`(function(){window.__dl = null; fetch(%q, {credentials: "same-origin"}).then(function(r){
		if (!r.ok) { window.__dl = "status " + r.status; return; }
		return r.arrayBuffer().then(function(b){ var u = new Uint8Array(b), s = ""; for (var i = 0; i < u.length; i++) { s += String.fromCharCode(u[i]); } window.__dl = "ok:" + btoa(s); });
	}); return true})()`, href))
	waitJS(t, ctx, `window.__dl !== null`)
	got := eval[string](t, ctx, `window.__dl`)
	b64, ok := strings.CutPrefix(got, "ok:")
	if !ok {
		t.Fatalf("download %s: %s", href, got)
	}
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// openBook opens a downloaded workbook.
func openBook(t *testing.T, b []byte) *excelize.File {
	t.Helper()
	f, err := excelize.OpenReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("the download is not a workbook: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// runWhatIf sets the backstop's ceiling on the finance desk, runs the what-if and waits
// for its table.
func runWhatIf(t *testing.T, ctx context.Context, v *env, ceiling string) time.Duration {
	t.Helper()
	do(t, ctx, chromedp.Navigate(v.srv.URL+"/finance"), chromedp.WaitVisible(chromedp.ID("policy-form")))
	setField(t, ctx, "from", "2018-01-01")
	setField(t, ctx, "to", "2018-12-31")
	setField(t, ctx, "p-backstop-oop_ceiling", ceiling)
	start := time.Now()
	do(t, ctx, chromedp.Click(chromedp.ID("run-whatif")), chromedp.WaitVisible(chromedp.ID("whatif-table")))
	return time.Since(start)
}

func TestBrowserDesks(t *testing.T) {
	browser := newBrowser(t)
	v := newEnv(t)
	v.settleShipped()

	t.Run("FinanceWhatIfEqualsAPI", func(t *testing.T) {
		ctx := tab(t, browser)
		browserSignin(t, ctx, v, asFinance)
		runWhatIf(t, ctx, v, "0.05")
		loc := eval[string](t, ctx, `location.search`)
		if !strings.Contains(loc, "p.backstop.oop_ceiling=0.05") || !strings.Contains(loc, "from=2018-01-01") {
			t.Errorf("the address %s does not carry the change", loc)
		}
		rows := eval[map[string][]string](t, ctx, `Object.fromEntries(Array.from(document.querySelectorAll("#whatif-table tbody tr")).map(r => [r.dataset.key, Array.from(r.cells).map(c => c.textContent)]))`)
		var js whatIfJSON
		if st := v.apiJSON(asFinance, http.MethodPost, "/v1/whatif", `{"from":"2018-01-01","to":"2018-12-31","change":"{backstop: {oop_ceiling: 0.05}}"}`, &js); st != http.StatusOK {
			t.Fatalf("API what-if: %d", st)
		}
		want := []string{"basic", "critical", "commercial", "aid", "backstop", "out_of_pocket"}
		var keys []string
		for k := range rows {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		slices.Sort(want)
		if !slices.Equal(keys, want) {
			t.Fatalf("the chart's table has rows %v, want %v", keys, want)
		}
		for key, r := range rows {
			if grouped(t, r[1]) != js.Baseline.amount(t, "x."+key) || grouped(t, r[2]) != js.Scenario.amount(t, "x."+key) {
				t.Errorf("chart table %s %q; POST /v1/whatif baseline %s scenario %s", key, r, js.Baseline.amount(t, "x."+key), js.Scenario.amount(t, "x."+key))
			}
		}
		// The chart is drawn, in the page, with its title for screen readers.
		if title := eval[string](t, ctx, `document.querySelector("#whatif-chart svg title").textContent`); title == "" {
			t.Error("the chart has no title")
		}

		// A colleague opening the address sees the same table.
		other := tab(t, browser)
		browserSignin(t, other, v, asAdmin)
		do(t, other, chromedp.Navigate(v.srv.URL+"/finance"+loc), chromedp.WaitVisible(chromedp.ID("whatif-table")))
		again := eval[map[string][]string](t, other, `Object.fromEntries(Array.from(document.querySelectorAll("#whatif-table tbody tr")).map(r => [r.dataset.key, Array.from(r.cells).map(c => c.textContent)]))`)
		for k, r := range rows {
			if !slices.Equal(again[k], r) {
				t.Errorf("the shared address shows %s %q, the first %q", k, again[k], r)
			}
		}

		// The download buttons: each workbook, fetched with the session, reads back to
		// the API's figures.
		href := eval[string](t, ctx, `document.getElementById("download-whatif-xlsx").href`)
		f := openBook(t, fetchInPage(t, ctx, href))
		lines := sheetRows(t, f, "各线 Lines")
		for i, key := range []string{"total", "basic", "critical", "commercial", "aid", "backstop", "public", "out_of_pocket"} {
			if grouped(t, lines[i][1]) != js.Baseline.amount(t, "x."+key) || grouped(t, lines[i][2]) != js.Scenario.amount(t, "x."+key) {
				t.Errorf("downloaded workbook %s %q", key, lines[i])
			}
		}
		csv := fetchInPage(t, ctx, eval[string](t, ctx, `document.getElementById("download-whatif-csv").href`))
		if !bytes.HasPrefix(csv, []byte("\uFEFF各线 Lines")) {
			t.Errorf("downloaded CSV begins %.40q", csv)
		}
	})

	t.Run("AuditDeskDownloads", func(t *testing.T) {
		ctx := tab(t, browser)
		browserSignin(t, ctx, v, asAuditor)
		do(t, ctx, chromedp.Navigate(v.srv.URL+"/audit"), chromedp.WaitVisible(chromedp.ID("audit-form")))
		setField(t, ctx, "from", "2018-01-01")
		setField(t, ctx, "to", "2018-12-31")
		do(t, ctx, chromedp.Click(chromedp.ID("run-audit")), chromedp.WaitVisible(chromedp.ID("diff-table")))
		var js struct {
			Paid     apiTotals `json:"paid"`
			Replayed apiTotals `json:"replayed"`
		}
		v.apiJSON(asAuditor, http.MethodPost, "/v1/replays", `{"from":"2018-01-01","to":"2018-12-31"}`, &js)
		f := openBook(t, fetchInPage(t, ctx, eval[string](t, ctx, `document.getElementById("download-audit-xlsx").href`)))
		for i, key := range []string{"total", "basic", "critical", "commercial", "aid", "backstop", "out_of_pocket"} {
			r := sheetRows(t, f, "汇总 Summary")[i]
			if grouped(t, r[1]) != js.Paid.amount(t, "x."+key) || grouped(t, r[2]) != js.Replayed.amount(t, "x."+key) {
				t.Errorf("downloaded audit %s %q", key, r)
			}
		}
		tf := openBook(t, fetchInPage(t, ctx, eval[string](t, ctx, `document.getElementById("download-tally-xlsx").href`)))
		if r := sheetRows(t, tf, "合计 Tally"); len(r) != 7 || grouped(t, r[0][1]) <= 0 {
			t.Errorf("downloaded tally %q", r)
		}
		// Sorting by the difference puts the smallest first; the filter keeps matching rows.
		do(t, ctx, chromedp.Click(chromedp.CSS(`#diff-table button[data-col="5"]`)))
		diffs := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#diff-table tbody tr")).map(r => r.cells[5].textContent)`)
		for i := 1; i < len(diffs); i++ {
			if grouped(t, diffs[i-1]) > grouped(t, diffs[i]) {
				t.Fatalf("sorted differences out of order at %d: %s before %s", i, diffs[i-1], diffs[i])
			}
		}
		person := eval[string](t, ctx, `document.querySelector("#diff-table tbody tr").cells[1].textContent`)
		setField(t, ctx, "diff-filter", person)
		shown := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("#diff-table tbody tr")).filter(r => !r.hidden).map(r => r.cells[1].textContent)`)
		if len(shown) == 0 || len(shown) == len(diffs) {
			t.Errorf("filtering by %s shows %d of %d rows", person, len(shown), len(diffs))
		}
		for _, p := range shown {
			if p != person {
				t.Errorf("filtering by %s shows %s", person, p)
			}
		}
	})

	t.Run("AuditorCannotReachFinance", func(t *testing.T) {
		ctx := tab(t, browser)
		browserSignin(t, ctx, v, asAuditor)
		links := eval[[]string](t, ctx, `Array.from(document.querySelectorAll("nav.desks a")).map(a => a.getAttribute("href"))`)
		if slices.Contains(links, "/finance") || !slices.Contains(links, "/audit") {
			t.Errorf("the auditor's desks are %v", links)
		}
		for _, path := range []string{"/finance", "/finance?run=1&from=2018-01-01&to=2018-12-31", "/finance/download?format=xlsx&from=2018-01-01&to=2018-12-31"} {
			res, err := chromedp.Run(ctx, chromedp.NavigateResponse(v.srv.URL+path))
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != http.StatusForbidden {
				t.Errorf("the auditor at %s: status %d, want 403", path, res.Status)
			}
		}
	})

	t.Run("WhatIfTiming", func(t *testing.T) {
		// Measured, not asserted: the what-if from the finance desk against the API's.
		ctx := tab(t, browser)
		browserSignin(t, ctx, v, asFinance)
		var wall, response, load, compute, api []float64
		ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
		for i := range 5 {
			ceiling := fmt.Sprintf("0.0%d", 5+i)
			wall = append(wall, ms(runWhatIf(t, ctx, v, ceiling)))
			response = append(response, eval[float64](t, ctx, `(function(){var n = performance.getEntriesByType("navigation")[0]; return n.responseEnd - n.requestStart})()`))
			load = append(load, eval[float64](t, ctx, `performance.getEntriesByType("navigation")[0].loadEventEnd`))
			compute = append(compute, eval[float64](t, ctx, `Number(document.getElementById("whatif-result").dataset.ms)`))
			start := time.Now()
			v.apiJSON(asFinance, http.MethodPost, "/v1/whatif", `{"from":"2018-01-01","to":"2018-12-31","change":"{backstop: {oop_ceiling: `+ceiling+`}}"}`, nil)
			api = append(api, ms(time.Since(start)))
		}
		median := func(xs []float64) float64 { slices.Sort(xs); return xs[len(xs)/2] }
		claims := eval[string](t, ctx, `document.getElementById("whatif-claims").textContent`)
		t.Logf("what-if of %s stored claims, medians of 5: POST /v1/whatif %.1f ms; finance desk: what-if inside the page's handler %.1f ms, "+
			"request to last byte %.1f ms, to the load event %.1f ms, click to table seen by the test %.1f ms",
			claims, median(api), median(compute), median(response), median(load), median(wall))
	})
}

// TestScreenshotsDesks rewrites the screenshots of the audit and finance desks (1280×800,
// Chinese) with the others: go test ./console -run TestScreenshots -update-screenshots
func TestScreenshotsDesks(t *testing.T) {
	if !*updateScreenshots {
		t.Skip("screenshots are rewritten only with -update-screenshots")
	}
	browser := newBrowser(t)
	v := newEnv(t)
	v.settleShipped()
	shot := func(ctx context.Context, name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		writeDoc(t, name, png)
	}
	ctx := tab(t, browser)
	browserSignin(t, ctx, v, asAuditor)
	do(t, ctx, chromedp.Navigate(v.srv.URL+"/audit?from=2018-01-01&to=2018-12-31&policy=in-force"), chromedp.WaitVisible(chromedp.ID("diff-table")))
	shot(ctx, "audit.png")
	fin := tab(t, browser)
	browserSignin(t, fin, v, asFinance)
	runWhatIf(t, fin, v, "0.05")
	eval[bool](t, fin, `(function(){document.getElementById("whatif-result").scrollIntoView(); return true})()`)
	shot(fin, "finance.png")
	do(t, fin, chromedp.Navigate(v.srv.URL+"/finance?run=1&from=2018-01-01&to=2018-12-31&sweep=backstop.oop_ceiling&start=0.05&stop=0.20&step=0.01"),
		chromedp.WaitVisible(chromedp.ID("sweep-chart")))
	eval[bool](t, fin, `(function(){document.getElementById("sweep-result").scrollIntoView(); return true})()`)
	shot(fin, "finance-sweep.png")
}

// TestBrowserAuditProgress runs an audit from the desk as its script does: the progress
// shows each stage with its counts as the audit goes on (the test lets the real audit go
// on from one progress report to the next), a cancelled audit says so, and the result
// page that opens at the end has the API's figures.
func TestBrowserAuditProgress(t *testing.T) {
	browser := newBrowser(t)
	var stepped *steppedOps
	v := newEnvOn(t, storetest.SQLite(t), false, func(c *console.Config) {
		stepped = &steppedOps{Ops: c.Ops}
		stepped.hold()
		c.Ops = stepped
	})
	t.Cleanup(stepped.letGo)
	v.settleShipped()
	var js struct {
		Claims   int       `json:"claims"`
		Reversed int       `json:"reversed"`
		Paid     apiTotals `json:"paid"`
		Replayed apiTotals `json:"replayed"`
	}
	if st := v.apiJSON(asAuditor, http.MethodPost, "/v1/replays", `{"from":"2018-01-01","to":"2018-12-31"}`, &js); st != http.StatusOK {
		t.Fatalf("API replay: %d", st)
	}
	ctx := tab(t, browser)
	browserSignin(t, ctx, v, asAuditor)
	do(t, ctx, chromedp.Navigate(v.srv.URL+"/audit"), chromedp.WaitVisible(chromedp.ID("audit-form")))
	setField(t, ctx, "from", "2018-01-01")
	setField(t, ctx, "to", "2018-12-31")
	do(t, ctx, chromedp.Click(chromedp.ID("run-audit")))
	type shown struct {
		Stage, Text string
		Value, Max  float64
	}
	seen := func() shown {
		return eval[shown](t, ctx, `(function(){var p = document.getElementById("audit-progress"), b = document.getElementById("audit-bar");
			return {Stage: p.dataset.stage || "", Text: document.getElementById("audit-progress-text").textContent, Value: b.value, Max: b.max}})()`)
	}
	// At each report of the audit, the counts.
	waitJS(t, ctx, `document.getElementById("audit-progress").dataset.stage === "read"`)
	read := seen()
	if !eval[bool](t, ctx, `!document.getElementById("audit-progress").hidden && !document.getElementById("cancel-audit").hidden`) {
		t.Error("the progress or its cancel button is not shown while the audit runs")
	}
	stepped.next()
	claims := float64(js.Claims + js.Reversed)
	if read.Value != claims || read.Max != claims || !strings.Contains(read.Text, "已读取并重算单据") {
		t.Errorf("reading: the page showed %+v, want %v of %v claims", read, claims, claims)
	}
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("audit-summary")))
	if loc := eval[string](t, ctx, `location.search`); !strings.Contains(loc, "job=") {
		t.Errorf("the result page %s is not the job's", loc)
	}
	rows := eval[map[string][]string](t, ctx, `Object.fromEntries(Array.from(document.querySelectorAll("#audit-totals tbody tr")).map(r => [r.dataset.key, Array.from(r.cells).map(c => c.textContent)]))`)
	for _, key := range []string{"item.total", "line.basic", "line.critical", "line.commercial", "line.aid", "line.backstop", "item.out_of_pocket"} {
		r := rows[key]
		if len(r) != 4 || grouped(t, r[1]) != js.Paid.amount(t, key) || grouped(t, r[2]) != js.Replayed.amount(t, key) {
			t.Errorf("result row %s %q; the API paid %s replayed %s", key, r, js.Paid.amount(t, key), js.Replayed.amount(t, key))
		}
	}
	if got := eval[string](t, ctx, `document.getElementById("audit-claims").textContent`); got != fmt.Sprint(js.Claims) {
		t.Errorf("the result re-settled %s claims, the API %d", got, js.Claims)
	}

	// Cancelled: the desk says so and the form can run again.
	do(t, ctx, chromedp.Click(chromedp.ID("run-audit")))
	waitJS(t, ctx, `document.getElementById("audit-progress").dataset.stage === "read"`)
	do(t, ctx, chromedp.Click(chromedp.ID("cancel-audit")))
	// Once the server has the request to cancel, the audit goes on to where it looks.
	waitJS(t, ctx, `document.getElementById("audit-progress").dataset.cancelled`)
	stepped.letGo()
	waitJS(t, ctx, `!document.getElementById("audit-error").hidden`)
	if msg := eval[string](t, ctx, `document.getElementById("audit-error").textContent`); msg != "核查已取消。" {
		t.Errorf("after cancelling the desk says %q", msg)
	}
	if eval[bool](t, ctx, `document.getElementById("run-audit").disabled`) {
		t.Error("after cancelling the run button stays disabled")
	}
}
