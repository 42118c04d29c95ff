package api_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestEndToEnd loads the fixtures through the API, settles every shipped claim through
// POST /v1/settlements in discharge order, and checks each response against the
// engine's replay and the 2018 tally against the published figures.
func TestEndToEnd(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		d, err := fixtures.Load()
		if err != nil {
			t.Fatal(err)
		}
		claims := d.Claims.Claims
		wantRun, err := replay.Run(d.Policies, d.Persons, claims)
		if err != nil {
			t.Fatal(err)
		}
		for _, i := range replay.Order(claims) {
			c, w := claims[i], &wantRun.Settlements[i]
			// A quote just before must be what the settlement then stores: quotes read the
			// ledger the previous settlement of the person left, from the cache.
			var quoted, settled map[string]any
			want(t, v.postJSON("/v1/quotes", asAdmin, claimBody(c)), http.StatusOK, &quoted)
			rec := v.postJSON("/v1/settlements", asAdmin, claimBody(c))
			want(t, rec, http.StatusCreated, &settled)
			for _, m := range []map[string]any{quoted, settled} {
				delete(m, "type")
				delete(m, "settlement_id")
				delete(m, "created_at")
			}
			// Both name the register version they used: the shipped persons are each one.
			if settled["person_version"] != 1.0 || quoted["person_version"] != 1.0 {
				t.Fatalf("claim %s: quoted with person_version %v, settled with %v, want 1", c.ID, quoted["person_version"], settled["person_version"])
			}
			if !reflect.DeepEqual(quoted, settled) {
				t.Fatalf("claim %s: the quote\n%v\ndiffers from the settlement\n%v", c.ID, quoted, settled)
			}
			var got settlement
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			if got.ClaimID != c.ID || got.Type != "settlement" || got.SettlementID == "" || got.PolicyVersion != w.PolicyVersion ||
				got.Total != w.Total.String() || got.OutOfPocket != w.OutOfPocket.String() || got.Level != c.Level.String() {
				t.Fatalf("claim %s: %+v, replay %+v", c.ID, got, w)
			}
			if len(got.Lines) != int(calc.NumLines) {
				t.Fatalf("claim %s: %d lines", c.ID, len(got.Lines))
			}
			for _, l := range calc.Lines() {
				gl, wl := got.Lines[l], w.Lines[l]
				if gl.Name != l.String() || gl.Amount != wl.Amount.String() || gl.Base != wl.Base.String() ||
					gl.Explanation != w.Explain(l) {
					t.Fatalf("claim %s line %s: got %+v, replay amount %s base %s %q", c.ID, l, gl, wl.Amount, wl.Base, w.Explain(l))
				}
				if l == calc.Critical && len(gl.Bands) != w.NumBands {
					t.Fatalf("claim %s: %d bands, replay %d", c.ID, len(gl.Bands), w.NumBands)
				}
			}
		}

		var tally struct {
			Claims   int    `json:"claims"`
			Total    string `json:"total"`
			TotalWan string `json:"total_wan"`
			Lines    []struct {
				Name, Amount, Wan string
			} `json:"lines"`
		}
		want(t, v.do(http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31", asAuditor, "", nil), http.StatusOK, &tally)
		got := map[string]string{"total": tally.Total}
		for _, l := range tally.Lines {
			got[l.Name] = l.Amount
		}
		for name, w := range map[string]string{
			"total": "2663300.00", "critical": "374100.00", "commercial": "194600.00", "aid": "133300.00", "backstop": "523200.00",
		} {
			if got[name] != w {
				t.Errorf("tally %s = %s, want %s", name, got[name], w)
			}
		}
		if tally.Claims != len(claims) || tally.TotalWan != "266.33" {
			t.Errorf("tally claims %d (want %d), total 万元 %s (want 266.33)", tally.Claims, len(claims), tally.TotalWan)
		}

		rec := v.do(http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31&format=csv", asFinance, "", nil)
		wantCSV := "item,yuan,wan\ntotal,2663300.00,266.33\nbasic,1172210.69,117.22\ncritical,374100.00,37.41\n" +
			"commercial,194600.00,19.46\naid,133300.00,13.33\nbackstop,523200.00,52.32\nout_of_pocket,265889.31,26.59\n"
		if rec.Code != http.StatusOK || rec.Body.String() != wantCSV || rec.Header().Get("Content-Type") != "text/csv; charset=utf-8" {
			t.Errorf("tally CSV: %d %s\n%s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
		}
		rec = v.do(http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31", asFinance, "", nil, "Accept", "text/csv")
		if rec.Body.String() != wantCSV {
			t.Errorf("tally with Accept: text/csv:\n%s", rec.Body)
		}
	})
}
