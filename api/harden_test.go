package api_test

import (
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
