package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"go.yaml.in/yaml/v3"
)

func TestSettleIdempotentAndConflicts(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		c := testClaim("I1", "P00001", ownClinic, 20000*calc.Yuan)
		var first, again settlement
		rec := v.postJSON("/v1/settlements", asClinic, claimBody(c))
		want(t, rec, http.StatusCreated, &first)
		if loc := rec.Header().Get("Location"); loc != "/v1/settlements/"+first.SettlementID {
			t.Errorf("Location %q", loc)
		}
		want(t, v.postJSON("/v1/settlements", asClinic, claimBody(c)), http.StatusOK, &again)
		if again.SettlementID != first.SettlementID || !reflect.DeepEqual(again.Lines, first.Lines) || again.LedgerAfter != first.LedgerAfter {
			t.Errorf("sent again: %+v, want the stored %+v", again, first)
		}

		for _, tt := range []struct {
			name   string
			as     string
			change func(b map[string]any)
			fields []string
		}{
			{"kind and total", asClinic, func(b map[string]any) { b["kind"] = "outpatient_chronic"; b["total"] = "20000.01" }, []string{"kind", "total"}},
			{"provider", asAdmin, func(b map[string]any) { b["provider_id"] = otherProv }, []string{"provider_id"}},
			{"dates", asAdmin, func(b map[string]any) { b["admitted_on"] = "2018-05-20" }, []string{"admitted_on"}},
		} {
			t.Run(tt.name, func(t *testing.T) {
				b := claimBody(c)
				tt.change(b)
				var p problem
				rec := v.postJSON("/v1/settlements", tt.as, b)
				want(t, rec, http.StatusConflict, &p)
				if !slices.Equal(p.fields(), tt.fields) || rec.Header().Get("Content-Type") != "application/problem+json" {
					t.Errorf("conflict %+v, want the fields %v", p, tt.fields)
				}
			})
		}
		var l ledger
		want(t, v.do(http.MethodGet, "/v1/persons/P00001/ledger?year=2018", asAuditor, "", nil), http.StatusOK, &l)
		if l != first.LedgerAfter || l.Claims != 1 {
			t.Errorf("ledger %+v, want the first settlement's %+v", l, first.LedgerAfter)
		}
		metrics := v.do(http.MethodGet, "/metrics", "", "", nil).Body.String()
		for _, line := range []string{
			`hpcalc_settlements_total{outcome="created"} 1`, `hpcalc_settlements_total{outcome="replayed"} 1`,
			`hpcalc_settlements_total{outcome="conflict"} 3`, `hpcalc_settlements_total{outcome="invalid"} 0`,
		} {
			if !strings.Contains(metrics, line+"\n") {
				t.Errorf("metrics lack %s", line)
			}
		}
	})
}

func TestQuoteStoresNothing(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		c := testClaim("Q1", "P00004", ownClinic, 35000*calc.Yuan)
		var q, st settlement
		want(t, v.postJSON("/v1/quotes", asClinic, claimBody(c)), http.StatusOK, &q)
		if q.Type != "quote" || q.SettlementID != "" || q.LedgerAfter.Claims != 1 {
			t.Errorf("quote %+v", q)
		}
		want(t, v.postJSON("/v1/quotes", asClinic, claimBody(c)), http.StatusOK, nil) // quoted twice: still nothing
		want(t, v.do(http.MethodGet, "/v1/claims/Q1/settlement", asAuditor, "", nil), http.StatusNotFound, nil)
		var l ledger
		want(t, v.do(http.MethodGet, "/v1/persons/P00004/ledger?year=2018", asAuditor, "", nil), http.StatusOK, &l)
		if l.Claims != 0 || l.Total != "0.00" {
			t.Errorf("ledger after a quote: %+v", l)
		}
		want(t, v.postJSON("/v1/settlements", asClinic, claimBody(c)), http.StatusCreated, &st)
		if !reflect.DeepEqual(st.Lines, q.Lines) || st.OutOfPocket != q.OutOfPocket || st.LedgerAfter != q.LedgerAfter {
			t.Errorf("settlement %+v differs from its quote %+v", st, q)
		}
	})
}

// TestBadClaims sends every kind of bad claim to POST /v1/settlements and POST
// /v1/quotes and checks the status and the fields named, then that nothing was stored.
func TestBadClaims(t *testing.T) {
	huge := `{"claim_id":"` + strings.Repeat("x", 1<<20) + `"}`
	tests := []struct {
		name        string
		change      func(b map[string]any) // of a good claim's body
		raw         string                 // the body instead, if not empty
		prepend     string                 // members put before the good claim's
		contentType string
		chunked     bool // no Content-Length
		status      int
		fields      []string
	}{
		{name: "three decimals", change: set("total", "12.345"), status: 422, fields: []string{"total"}},
		{name: "not a number", change: set("total", "abc"), status: 422, fields: []string{"total"}},
		{name: "money as a JSON number", change: set("total", 1234.5), status: 422, fields: []string{"total"}},
		{name: "negative", change: set("in_policy", "-1.00"), status: 422, fields: []string{"in_policy"}},
		{name: "over the limit", change: set("total", "100000000.01"), status: 422, fields: []string{"total"}},
		{name: "in_policy over total", change: set("in_policy", "20000.01"), status: 422, fields: []string{"in_policy"}},
		{name: "discharge before admission", change: set("admitted_on", "2018-06-02"), status: 422, fields: []string{"discharged_on"}},
		{name: "not a date", change: set("admitted_on", "2018-02-30"), status: 422, fields: []string{"admitted_on"}},
		{name: "unknown kind", change: set("kind", "outpatient"), status: 422, fields: []string{"kind"}},
		{name: "missing field", change: del("claim_id"), status: 422, fields: []string{"claim_id"}},
		{name: "null field", change: set("person_id", nil), status: 422, fields: []string{"person_id"}},
		{name: "empty claim_id", change: set("claim_id", ""), status: 422, fields: []string{"claim_id"}},
		{name: "unknown person", change: set("person_id", "NOBODY"), status: 422, fields: []string{"person_id"}},
		{name: "unknown provider", change: set("provider_id", "NOWHERE"), status: 422, fields: []string{"provider_id"}},
		{name: "unknown field", change: set("discount", "1.00"), status: 422, fields: []string{"discount"}},
		{name: "level sent", change: set("level", "county"), status: 422, fields: []string{"level"}},
		{name: "no policy in force", change: func(b map[string]any) { b["admitted_on"], b["discharged_on"] = "2019-05-30", "2019-06-01" },
			status: 422, fields: []string{"discharged_on"}},
		{name: "everything at once", change: func(b map[string]any) {
			b["total"], b["kind"], b["person_id"], b["provider_id"], b["x"] = 1.5, "x", "NOBODY", "NOWHERE", true
		}, status: 422, fields: []string{"kind", "person_id", "provider_id", "total", "x"}},
		{name: "field twice", prepend: `"total": "1.00",`, status: 422, fields: []string{"total"}},
		{name: "malformed JSON", raw: `{"claim_id": `, status: 400},
		{name: "syntax error", raw: `{"claim_id" "C"}`, status: 400},
		{name: "an array", raw: `[1, 2]`, status: 400},
		{name: "null", raw: `null`, status: 400},
		{name: "two objects", raw: `{} {}`, status: 400},
		{name: "empty body", raw: ` `, status: 400},
		{name: "over 1 MiB", raw: huge, status: 413},
		{name: "over 1 MiB without Content-Length", raw: huge, chunked: true, status: 413},
		{name: "not JSON", contentType: "text/plain", status: 415},
	}
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		for i, tt := range tests {
			for _, path := range []string{"/v1/settlements", "/v1/quotes"} {
				t.Run(tt.name+path, func(t *testing.T) {
					b := claimBody(testClaim(fmt.Sprintf("BAD%02d", i), "P00001", ownClinic, 20000*calc.Yuan))
					if tt.change != nil {
						tt.change(b)
					}
					body := []byte(tt.raw)
					if tt.raw == "" {
						body = mustJSON(t, b)
						body = append([]byte("{"+tt.prepend), body[1:]...)
					}
					ct := cmpOr(tt.contentType, "application/json")
					req := v.request(http.MethodPost, path, asAdmin, ct, body)
					if tt.chunked {
						req.ContentLength = -1
					}
					rec := v.serve(req)
					var p problem
					want(t, rec, tt.status, &p)
					got := p.fields()
					slices.Sort(got)
					if rec.Header().Get("Content-Type") != "application/problem+json" || p.Status != tt.status ||
						!strings.HasPrefix(p.Type, "urn:hpcalc:problem:") || p.RequestID == "" {
						t.Errorf("problem %+v (%s)", p, rec.Header().Get("Content-Type"))
					}
					if tt.fields != nil && !slices.Equal(got, tt.fields) {
						t.Errorf("fields %v, want %v: %s", got, tt.fields, rec.Body)
					}
					for _, e := range p.Errors {
						if e.Rule == "" {
							t.Errorf("field %s has no rule", e.Field)
						}
					}
				})
			}
		}
		// A JSON number for money is refused with the reason.
		b := claimBody(testClaim("NUM", "P00001", ownClinic, 100*calc.Yuan))
		b["total"] = 100
		if rec := v.postJSON("/v1/settlements", asAdmin, b); !strings.Contains(rec.Body.String(), "never sent as a JSON number") {
			t.Errorf("money as a number: %s", rec.Body)
		}

		// Nothing was stored.
		for i := range tests {
			want(t, v.do(http.MethodGet, fmt.Sprintf("/v1/claims/BAD%02d/settlement", i), asAuditor, "", nil), http.StatusNotFound, nil)
		}
		var l ledger
		want(t, v.do(http.MethodGet, "/v1/persons/P00001/ledger?year=2018", asAuditor, "", nil), http.StatusOK, &l)
		if l.Claims != 0 || l.Total != "0.00" {
			t.Errorf("ledger after refusals: %+v", l)
		}
		var tally struct{ Claims int }
		want(t, v.do(http.MethodGet, "/v1/reports/tally?from=2000-01-01&to=2100-12-31", asAuditor, "", nil), http.StatusOK, &tally)
		if tally.Claims != 0 {
			t.Errorf("tally after refusals: %+v", tally)
		}
		invalid := fmt.Sprintf(`hpcalc_settlements_total{outcome="invalid"} %d`, len(tests)+1)
		if m := v.do(http.MethodGet, "/metrics", "", "", nil).Body.String(); !strings.Contains(m, invalid) {
			t.Errorf("metrics lack %s", invalid)
		}
	})
}

func set(field string, value any) func(map[string]any) {
	return func(b map[string]any) { b[field] = value }
}

func del(field string) func(map[string]any) {
	return func(b map[string]any) { delete(b, field) }
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func TestReversal(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		c := testClaim("R1", "P00002", ownClinic, 40000*calc.Yuan)
		var st, rev, got settlement
		want(t, v.postJSON("/v1/settlements", asClinic, claimBody(c)), http.StatusCreated, &st)
		path := "/v1/settlements/" + st.SettlementID + "/reversal"

		for _, tt := range []struct {
			name   string
			body   string
			status int
			fields []string
		}{
			{"no reason", `{}`, 422, []string{"reason"}},
			{"empty reason", `{"reason": "  "}`, 422, []string{"reason"}},
			{"reason not a string", `{"reason": 1}`, 422, []string{"reason"}},
			{"unknown field", `{"reason": "x", "amount": "1.00"}`, 422, []string{"amount"}},
			{"not JSON", `reason=x`, 400, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var p problem
				want(t, v.do(http.MethodPost, path, asClinic, "application/json", []byte(tt.body)), tt.status, &p)
				if !slices.Equal(p.fields(), tt.fields) {
					t.Errorf("fields %v, want %v", p.fields(), tt.fields)
				}
			})
		}

		rec := v.postJSON(path, asClinic, map[string]string{"reason": "bill corrected"})
		want(t, rec, http.StatusCreated, &rev)
		if rev.Type != "reversal" || rev.Reverses != st.SettlementID || rev.Reason != "bill corrected" || rev.ClaimID != "R1" ||
			rev.LedgerAfter.Claims != 0 || rev.ProviderID != ownClinic || rec.Header().Get("Location") != "/v1/settlements/"+rev.SettlementID {
			t.Errorf("reversal %+v", rev)
		}
		// Details are told to the user, without the prefixes errors gather inside.
		for _, tt := range []struct {
			name, path, detail string
			status             int
		}{
			{"Again", path, "settlement " + st.SettlementID + " is already reversed", http.StatusConflict},
			{"AReversal", "/v1/settlements/" + rev.SettlementID + "/reversal",
				rev.SettlementID + " is itself a reversal; only a settlement can be reversed", http.StatusConflict},
			{"Missing", "/v1/settlements/S-missing/reversal", "no settlement with this id is on file for this token", http.StatusNotFound},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var p problem
				want(t, v.postJSON(tt.path, asAdmin, map[string]string{"reason": "again"}), tt.status, &p)
				if p.Detail != tt.detail {
					t.Errorf("detail %q, want %q", p.Detail, tt.detail)
				}
			})
		}

		want(t, v.do(http.MethodGet, "/v1/settlements/"+st.SettlementID, asClinic, "", nil), http.StatusOK, &got)
		if got.ReversedBy != rev.SettlementID || got.Type != "settlement" {
			t.Errorf("reversed settlement %+v", got)
		}
		want(t, v.do(http.MethodGet, "/v1/settlements/"+rev.SettlementID, asAuditor, "", nil), http.StatusOK, &got)
		if got.Type != "reversal" || got.Reverses != st.SettlementID {
			t.Errorf("reversal read back %+v", got)
		}
		var l ledger
		want(t, v.do(http.MethodGet, "/v1/persons/P00002/ledger?year=2018", asAuditor, "", nil), http.StatusOK, &l)
		if l.Claims != 0 || l.Total != "0.00" {
			t.Errorf("ledger after the reversal %+v", l)
		}
		// The same claim sent again answers with the stored, reversed settlement.
		want(t, v.postJSON("/v1/settlements", asClinic, claimBody(c)), http.StatusOK, &got)
		if got.SettlementID != st.SettlementID || got.ReversedBy != rev.SettlementID {
			t.Errorf("claim sent again after its reversal: %+v", got)
		}
	})
}

func TestReferenceData(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		ctx := context.Background()
		for _, tt := range []struct {
			name, path, contentType, body string
			status                        int
			fields                        []string
		}{
			{"persons JSON", "/v1/persons", "application/json",
				`[{"person_id":"N1","household_id":"H9","registered_poor":true,"aid_category":"dibao"},{"person_id":"N2","household_id":"H9","registered_poor":false}]`,
				200, nil},
			{"persons JSON problems", "/v1/persons", "application/json",
				`[{"person_id":"N3","household_id":"H9"},{"person_id":"N3","household_id":"","registered_poor":"yes"},{"person_id":"N4","household_id":"H9","registered_poor":true,"aid_category":"rich"},{"person_id":"N5","x":1}]`,
				422, []string{"[0].registered_poor", "[1].registered_poor", "[2].aid_category", "[3].x"}},
			{"persons not an array", "/v1/persons", "application/json", `{"person_id":"N6"}`, 400, nil},
			{"persons CSV problems", "/v1/persons", "text/csv", "person_id,household_id,registered_poor,aid_category\nN7,H9,maybe,\n", 422, []string{"registered_poor"}},
			{"persons XML", "/v1/persons", "application/xml", `<p/>`, 415, nil},
			{"providers JSON", "/v1/providers", "application/json", `[{"provider_id":"NEW01","name":"n","level":"county"}]`, 200, nil},
			{"providers JSON problems", "/v1/providers", "application/json", `[{"provider_id":"NEW02","level":"city"},{"provider_id":"","level":"county"}]`,
				422, []string{"[0].level", "[1].provider_id"}},
			{"providers CSV", "/v1/providers", "text/csv; charset=utf-8", "provider_id,name,level\nNEW03,x,municipal\n", 200, nil},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var p problem
				rec := v.do(http.MethodPut, tt.path, asAdmin, tt.contentType, []byte(tt.body))
				want(t, rec, tt.status, &p)
				if !slices.Equal(p.fields(), tt.fields) {
					t.Errorf("fields %v, want %v: %s", p.fields(), tt.fields, rec.Body)
				}
			})
		}
		if p, err := s.Person(ctx, "N1"); err != nil || p.Aid != calc.Dibao || !p.RegisteredPoor {
			t.Errorf("N1: %+v, %v", p, err)
		}
		for _, id := range []string{"N3", "N4", "N7"} {
			if _, err := s.Person(ctx, id); err == nil {
				t.Errorf("person %s of a refused body was stored", id)
			}
		}
		if p, err := s.Provider(ctx, "NEW03"); err != nil || p.Level != calc.Municipal {
			t.Errorf("NEW03: %+v, %v", p, err)
		}
		var res struct{ Upserted int }
		body := "person_id,household_id,registered_poor,aid_category\nP00001,H0001,true,\n"
		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "text/csv", []byte(body)), http.StatusOK, &res)
		if res.Upserted != 1 {
			t.Errorf("upserted %d", res.Upserted)
		}

		want(t, v.do(http.MethodGet, "/v1/persons/NOBODY/ledger?year=2018", asAuditor, "", nil), http.StatusNotFound, nil)
		want(t, v.do(http.MethodGet, "/v1/persons/P00001/ledger", asAuditor, "", nil), http.StatusBadRequest, nil)
		want(t, v.do(http.MethodGet, "/v1/persons/P00001/ledger?year=twenty", asAuditor, "", nil), http.StatusBadRequest, nil)
		for _, q := range []string{"", "?from=2018-01-01", "?from=2018-01-01&to=2017-01-01", "?from=2018-01-01&to=2018-12-31&format=xml", "?from=x&to=y"} {
			want(t, v.do(http.MethodGet, "/v1/reports/tally"+q, asFinance, "", nil), http.StatusBadRequest, nil)
		}
	})
}

func TestPolicies(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		var list struct {
			Policies []struct{ Version, From, To string }
		}
		want(t, v.do(http.MethodGet, "/v1/policies", asFinance, "", nil), http.StatusOK, &list)
		if len(list.Policies) != 1 || list.Policies[0].Version != "pingxiang-2018" || list.Policies[0].From != "2018-01-01" || list.Policies[0].To != "2018-12-31" {
			t.Errorf("policies %+v", list)
		}
		rec := v.do(http.MethodGet, "/v1/policies/pingxiang-2018", asAuditor, "", nil)
		shipped := policyYAML(t, "pingxiang-2018", 2018)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), shipped) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") {
			t.Errorf("GET policy: %d %s", rec.Code, rec.Header())
		}
		want(t, v.do(http.MethodGet, "/v1/policies/nope", asAuditor, "", nil), http.StatusNotFound, nil)

		for _, tt := range []struct {
			name   string
			body   []byte
			status int
			detail string // a prefix of it
		}{
			{"same version", shipped, http.StatusConflict, "policy version pingxiang-2018 is already published"},
			{"overlapping period", policyYAML(t, "other-2018", 2018), http.StatusConflict, "policy other-2018: "},
			{"next year", policyYAML(t, "pingxiang-2019", 2019), http.StatusCreated, ""},
		} {
			t.Run(tt.name, func(t *testing.T) {
				var p problem
				rec := v.do(http.MethodPost, "/v1/policies", asAdmin, "application/yaml", tt.body)
				want(t, rec, tt.status, nil)
				if tt.detail != "" {
					want(t, rec, tt.status, &p)
					if !strings.HasPrefix(p.Detail, tt.detail) || strings.Contains(p.Detail, "conflict") || strings.Contains(p.Detail, "publish policy") {
						t.Errorf("detail %q, want it to start %q, without internal prefixes", p.Detail, tt.detail)
					}
				}
			})
		}

		var p problem
		bad := bytes.Replace(policyYAML(t, "bad-2020", 2020), []byte("township: 0.90"), []byte("township: 1.90"), 1)
		bad = bytes.Replace(bad, []byte("annual_cap: 200000.00"), []byte("annual_cap: 200000.001"), 1)
		want(t, v.do(http.MethodPost, "/v1/policies", asAdmin, "application/yaml", bad), http.StatusUnprocessableEntity, &p)
		if got := p.fields(); !slices.Equal(got, []string{"basic.annual_cap", "basic.inpatient.rate.township"}) {
			t.Errorf("invalid policy: fields %v: %+v", got, p)
		}
		want(t, v.do(http.MethodPost, "/v1/policies", asAdmin, "application/yaml", []byte("version: [")), http.StatusUnprocessableEntity, nil)
		want(t, v.do(http.MethodGet, "/v1/policies/bad-2020", asAuditor, "", nil), http.StatusNotFound, nil)

		// A JSON document is accepted too, and read back as JSON.
		var m map[string]any
		if err := yaml.Unmarshal(policyYAML(t, "json-2021", 2021), &m); err != nil {
			t.Fatal(err)
		}
		m["effective"] = map[string]string{"from": "2021-01-01", "to": "2021-12-31"}
		jsonDoc := mustJSON(t, m)
		want(t, v.do(http.MethodPost, "/v1/policies", asAdmin, "application/json", jsonDoc), http.StatusCreated, nil)
		rec = v.do(http.MethodGet, "/v1/policies/json-2021", asFinance, "", nil)
		if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), jsonDoc) || rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("GET a JSON policy: %d %s", rec.Code, rec.Header())
		}
		want(t, v.do(http.MethodPost, "/v1/policies", asAdmin, "application/json", []byte(`{"version": "j-2022"}`)), http.StatusUnprocessableEntity, nil)
		want(t, v.do(http.MethodPost, "/v1/policies", asAdmin, "application/pdf", jsonDoc), http.StatusUnsupportedMediaType, nil)
		want(t, v.do(http.MethodGet, "/v1/policies", asAdmin, "", nil), http.StatusOK, &list)
		if got := fmt.Sprint(list.Policies); got != "[{pingxiang-2018 2018-01-01 2018-12-31} {pingxiang-2019 2019-01-01 2019-12-31} {json-2021 2021-01-01 2021-12-31}]" {
			t.Errorf("policies after publishing: %s", got)
		}
	})
}
