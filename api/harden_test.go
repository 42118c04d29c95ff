package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// withoutRequestID is a problem body with its request_id emptied, to compare two answers.
func withoutRequestID(t *testing.T, body []byte) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	delete(m, "request_id")
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestOthersClaimsStayHidden: a clinic learns nothing of another provider's claims. Its
// reads of them are answered exactly as reads of what is not on file, and its writes
// under their claim_id with a 409 that names no field and no value.
func TestOthersClaimsStayHidden(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		theirs := testClaim("X1", "P00001", otherProv, 30000*calc.Yuan)
		var st settlement
		want(t, v.postJSON("/v1/settlements", asClinic2, claimBody(theirs)), http.StatusCreated, &st)

		reads := []struct {
			name, method, path, missing string
			body                        []byte
		}{
			{"settlement", http.MethodGet, "/v1/settlements/" + st.SettlementID, "/v1/settlements/S000000000000000000000000", nil},
			{"claim's settlement", http.MethodGet, "/v1/claims/X1/settlement", "/v1/claims/NOPE/settlement", nil},
			{"reversal", http.MethodPost, "/v1/settlements/" + st.SettlementID + "/reversal", "/v1/settlements/S000000000000000000000000/reversal",
				[]byte(`{"reason":"wrong bill"}`)},
		}
		for _, r := range reads {
			t.Run(r.name, func(t *testing.T) {
				other := v.do(r.method, r.path, asClinic, "application/json", r.body)
				missing := v.do(r.method, r.missing, asClinic, "application/json", r.body)
				want(t, other, http.StatusNotFound, nil)
				want(t, missing, http.StatusNotFound, nil)
				if a, b := withoutRequestID(t, other.Body.Bytes()), withoutRequestID(t, missing.Body.Bytes()); a != b {
					t.Errorf("another's: %s\nmissing:   %s", a, b)
				}
				// Those who may see it still do.
				if r.method == http.MethodGet {
					want(t, v.do(r.method, r.path, asClinic2, "", nil), http.StatusOK, nil)
					want(t, v.do(r.method, r.path, asAuditor, "", nil), http.StatusOK, nil)
				}
			})
		}

		t.Run("write", func(t *testing.T) {
			mine := theirs
			mine.ProviderID = ownClinic
			mine.Total, mine.InPolicy = 31000*calc.Yuan, 1000*calc.Yuan
			var p problem
			rec := v.postJSON("/v1/settlements", asClinic, claimBody(mine))
			want(t, rec, http.StatusConflict, &p)
			if len(p.Errors) > 0 {
				t.Errorf("409 names fields: %s", rec.Body)
			}
			for _, leak := range []string{"P00001", otherProv, "30000", "person", "provider", "total", "admitted", "discharged", "kind"} {
				if strings.Contains(rec.Body.String(), leak) {
					t.Errorf("409 tells %q: %s", leak, rec.Body)
				}
			}
			// The other clinic still hears which fields differ from its own claim.
			changed := claimBody(theirs)
			changed["total"] = "30000.01"
			want(t, v.postJSON("/v1/settlements", asClinic2, changed), http.StatusConflict, &p)
			if !slices.Equal(p.fields(), []string{"total"}) {
				t.Errorf("own claim's conflict names %v, want [total]", p.fields())
			}
		})
	})
}

// TestResendAfterLevelChange: a claim sent again unchanged is answered with its stored
// settlement even after its provider moved to another level, which the client never
// sends.
func TestResendAfterLevelChange(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		c := testClaim("L1", "P00002", ownClinic, 12000*calc.Yuan)
		var first, again settlement
		want(t, v.postJSON("/v1/settlements", asClinic, claimBody(c)), http.StatusCreated, &first)
		providers := []map[string]string{{"provider_id": ownClinic, "name": "乡镇卫生院 1, now a county hospital", "level": "county"}}
		want(t, v.do(http.MethodPut, "/v1/providers", asAdmin, "application/json", mustJSON(t, providers)), http.StatusOK, nil)
		want(t, v.postJSON("/v1/settlements", asClinic, claimBody(c)), http.StatusOK, &again)
		if again.SettlementID != first.SettlementID || again.Level != "township" {
			t.Errorf("sent again: settlement %s at level %s, want the stored %s at township", again.SettlementID, again.Level, first.SettlementID)
		}
	})
}

// problemFields sends a request and returns the fields its problem names, failing the
// test unless it is answered with status.
func (v *env) problemFields(t *testing.T, status int, method, path, as, contentType string, body []byte) []string {
	t.Helper()
	var p problem
	want(t, v.do(method, path, as, contentType, body), status, &p)
	return p.fields()
}

// TestIDGrammarEverywhere: ids keep one grammar whatever they arrive in, and bytes that
// are not UTF-8 are refused, naming the field, rather than rewritten.
func TestIDGrammarEverywhere(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	rawClaim := func(field, raw string) []byte {
		b := claimBody(testClaim("G1", "P00001", ownClinic, 1000*calc.Yuan))
		delete(b, field)
		body := mustJSON(t, b)
		return append([]byte(`{"`+field+`":"`+raw+`",`), body[1:]...)
	}
	personsCSV := "person_id,household_id,registered_poor,aid_category\n"
	tests := []struct {
		name, method, path, as, contentType string
		body                                []byte
		fields                              []string
	}{
		{"provider id with a comma (JSON)", http.MethodPut, "/v1/providers", asAdmin, "application/json",
			[]byte(`[{"provider_id":"NEW01,CTY03","name":"new","level":"township"}]`), []string{"[0].provider_id"}},
		{"provider id with a comma (CSV)", http.MethodPut, "/v1/providers", asAdmin, "text/csv",
			[]byte("provider_id,name,level\n\"NEW01,CTY03\",new,township\n"), []string{"provider_id"}},
		{"person id with a space (CSV)", http.MethodPut, "/v1/persons", asAdmin, "text/csv",
			[]byte(personsCSV + "PX 001,H1,true,\n"), []string{"person_id"}},
		{"person id with a space (JSON)", http.MethodPut, "/v1/persons", asAdmin, "application/json",
			[]byte(`[{"person_id":"PX 001","household_id":"H1","registered_poor":true,"aid_category":""}]`), []string{"[0].person_id"}},
		{"household id with a comma (CSV)", http.MethodPut, "/v1/persons", asAdmin, "text/csv",
			[]byte(personsCSV + "PX001,\"H,1\",true,\n"), []string{"household_id"}},
		{"provider name not UTF-8 (JSON)", http.MethodPut, "/v1/providers", asAdmin, "application/json",
			[]byte("[{\"provider_id\":\"NEW01\",\"name\":\"\xe4\xb9\",\"level\":\"township\"}]"), []string{"[0].name"}},
		{"provider name not UTF-8 (CSV)", http.MethodPut, "/v1/providers", asAdmin, "text/csv",
			[]byte("provider_id,name,level\nNEW01,\xe4\xb9,township\n"), []string{"name"}},
		{"claim id not UTF-8", http.MethodPost, "/v1/settlements", asClinic, "application/json",
			rawClaim("claim_id", "G\xff1"), []string{"claim_id"}},
		{"claim id with a slash", http.MethodPost, "/v1/settlements", asClinic, "application/json",
			rawClaim("claim_id", "G/1"), []string{"claim_id"}},
		{"reason not UTF-8", http.MethodPost, "/v1/settlements/S000000000000000000000000/reversal", asAdmin, "application/json",
			[]byte("{\"reason\":\"\xff\"}"), nil}, // no such settlement: 404 before the body is read
		{"token note not UTF-8", http.MethodPost, "/v1/tokens", asAdmin, "application/json",
			[]byte("{\"role\":\"auditor\",\"note\":\"desk \xfe\"}"), []string{"note"}},
		{"token provider with a comma", http.MethodPost, "/v1/tokens", asAdmin, "application/json",
			[]byte(`{"role":"clinic","providers":["TWN01,CTY03"]}`), []string{"providers"}},
		{"token with a provider twice", http.MethodPost, "/v1/tokens", asAdmin, "application/json",
			[]byte(`{"role":"clinic","providers":["TWN01","CTY01","TWN01"]}`), []string{"providers"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status := http.StatusUnprocessableEntity
			if tt.fields == nil {
				status = http.StatusNotFound
			}
			if got := v.problemFields(t, status, tt.method, tt.path, tt.as, tt.contentType, tt.body); !slices.Equal(got, tt.fields) {
				t.Errorf("fields %v, want %v", got, tt.fields)
			}
		})
	}
	// Nothing of it was stored.
	want(t, v.do(http.MethodGet, "/v1/claims/G%EF%BF%BD1/settlement", asAdmin, "", nil), http.StatusNotFound, nil)
	tokens, err := v.store.Tokens(context.Background())
	if err != nil || len(tokens) != 5 {
		t.Errorf("%d tokens on file, want the 5 of the test: %v", len(tokens), err)
	}
}

// TestRefusedInput: input that was accepted silently is refused with its field and rule.
func TestRefusedInput(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	claim := func(change func(b map[string]any)) []byte {
		b := claimBody(testClaim("R1", "P00001", ownClinic, 1000*calc.Yuan))
		change(b)
		return mustJSON(t, b)
	}
	doc := policyYAML(t, "pingxiang-2019", 2019)
	bandBelow := []byte(strings.Replace(string(doc), "deductible: 3000.00", "deductible: 4000.00", 1))
	tests := []struct {
		name, method, path, contentType string
		body                            []byte
		status                          int
		fields                          []string
	}{
		{"admitted in year 1", http.MethodPost, "/v1/settlements", "application/json",
			claim(func(b map[string]any) { b["admitted_on"] = "0001-01-01" }), 422, []string{"admitted_on"}},
		{"admitted in 1900", http.MethodPost, "/v1/settlements", "application/json",
			claim(func(b map[string]any) { b["admitted_on"] = "1900-05-27" }), 422, []string{"admitted_on"}},
		{"chronic bill over 364 days", http.MethodPost, "/v1/settlements", "application/json",
			claim(func(b map[string]any) { b["kind"], b["admitted_on"] = "outpatient_chronic", "2017-06-02" }), 422, []string{"admitted_on"}},
		{"quote admitted in year 1", http.MethodPost, "/v1/quotes", "application/json",
			claim(func(b map[string]any) { b["admitted_on"] = "0001-01-01" }), 422, []string{"admitted_on"}},
		{"bill of 0.00", http.MethodPost, "/v1/settlements", "application/json",
			claim(func(b map[string]any) { b["total"], b["in_policy"] = "0.00", "0.00" }), 422, []string{"total"}},
		{"band below the deductible", http.MethodPost, "/v1/policies", "application/yaml", bandBelow, 422, []string{"critical.bands[0].from"}},
		{"year twice", http.MethodGet, "/v1/persons/P00001/ledger?year=2018&year=2019", "", nil, 400, []string{"year"}},
		{"from twice", http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31&from=2018-02-01", "", nil, 400, []string{"from"}},
		{"format twice", http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31&format=csv&format=json", "", nil, 400, []string{"format"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := v.problemFields(t, tt.status, tt.method, tt.path, asAdmin, tt.contentType, tt.body); !slices.Equal(got, tt.fields) {
				t.Errorf("fields %v, want %v", got, tt.fields)
			}
		})
	}
	var l ledger
	want(t, v.do(http.MethodGet, "/v1/persons/P00001/ledger?year=2018", asAuditor, "", nil), http.StatusOK, &l)
	if l.Claims != 0 {
		t.Errorf("%d claims settled, want none", l.Claims)
	}
}
