package api_test

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/api"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// sample makes a request to a route that succeeds for a role allowed to call it, about
// a claim of provider when the route concerns one. Each call makes a fresh request
// (and, for a reversal, a fresh settlement to reverse).
type sample func(t *testing.T, v *env, provider string) *http.Request

// samples holds a request for every route of api.Routes; TestAuthTable fails when a
// route has none.
func samples() map[string]sample {
	n := 0
	next := func() int { n++; return n }
	settled := func(t *testing.T, v *env, provider string) store.SettlementRecord {
		t.Helper()
		ctx := context.Background()
		p, err := v.store.Provider(ctx, provider)
		if err != nil {
			t.Fatal(err)
		}
		c := testClaim(fmt.Sprintf("AUTH-S%d", next()), "P00010", provider, 1000*calc.Yuan)
		c.Level = p.Level
		st, _, err := ops.New(v.store).Settle(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	claim := func(path string) sample {
		return func(t *testing.T, v *env, provider string) *http.Request {
			c := testClaim(fmt.Sprintf("AUTH-C%d", next()), "P00011", provider, 1000*calc.Yuan)
			return v.request(http.MethodPost, path, "", "application/json", mustJSON(t, claimBody(c)))
		}
	}
	get := func(path string) sample {
		return func(t *testing.T, v *env, _ string) *http.Request {
			return v.request(http.MethodGet, path, "", "", nil)
		}
	}
	return map[string]sample{
		"POST /v1/settlements": claim("/v1/settlements"),
		"POST /v1/quotes":      claim("/v1/quotes"),
		"GET /v1/settlements/{id}": func(t *testing.T, v *env, provider string) *http.Request {
			return v.request(http.MethodGet, "/v1/settlements/"+settled(t, v, provider).ID, "", "", nil)
		},
		"GET /v1/claims/{claim_id}/settlement": func(t *testing.T, v *env, provider string) *http.Request {
			return v.request(http.MethodGet, "/v1/claims/"+settled(t, v, provider).Settlement.ClaimID+"/settlement", "", "", nil)
		},
		"POST /v1/settlements/{id}/reversal": func(t *testing.T, v *env, provider string) *http.Request {
			return v.request(http.MethodPost, "/v1/settlements/"+settled(t, v, provider).ID+"/reversal", "", "application/json", []byte(`{"reason":"test"}`))
		},
		"GET /v1/persons/{id}/ledger": get("/v1/persons/P00010/ledger?year=2018"),
		"PUT /v1/persons": func(t *testing.T, v *env, _ string) *http.Request {
			return v.request(http.MethodPut, "/v1/persons", "", "application/json",
				[]byte(`[{"person_id":"AUTH1","household_id":"HA","registered_poor":true}]`))
		},
		"GET /v1/persons":      get("/v1/persons?limit=2&after=P00010"),
		"GET /v1/persons/{id}": get("/v1/persons/P00010"),
		"PUT /v1/providers": func(t *testing.T, v *env, _ string) *http.Request {
			return v.request(http.MethodPut, "/v1/providers", "", "text/csv", []byte("provider_id,name,level\nAUTHP,x,county\n"))
		},
		"GET /v1/policies":           get("/v1/policies"),
		"GET /v1/policies/{version}": get("/v1/policies/pingxiang-2018"),
		"POST /v1/policies": func(t *testing.T, v *env, _ string) *http.Request {
			i := next()
			return v.request(http.MethodPost, "/v1/policies", "", "application/yaml", policyYAML(t, fmt.Sprintf("auth-%d", i), 2100+i))
		},
		"GET /v1/reports/tally": get("/v1/reports/tally?from=2018-01-01&to=2018-12-31"),
		"POST /v1/tokens": func(t *testing.T, v *env, _ string) *http.Request {
			return v.request(http.MethodPost, "/v1/tokens", "", "application/json", []byte(`{"role":"auditor","note":"auth table"}`))
		},
		"GET /v1/tokens": get("/v1/tokens"),
		"DELETE /v1/tokens/{id}": func(t *testing.T, v *env, _ string) *http.Request {
			_, info, err := v.store.IssueToken(context.Background(), store.Token{Role: store.RoleFinance, Note: "to revoke"})
			if err != nil {
				t.Fatal(err)
			}
			return v.request(http.MethodDelete, "/v1/tokens/"+info.ID, "", "", nil)
		},
		"POST /v1/whatif": func(t *testing.T, v *env, _ string) *http.Request {
			return v.request(http.MethodPost, "/v1/whatif", "", "application/json", []byte(`{"from":"2018-01-01","to":"2018-12-31","change":"commercial: {in_policy_rate: 0.5}"}`))
		},
		"POST /v1/sweeps": func(t *testing.T, v *env, _ string) *http.Request {
			return v.request(http.MethodPost, "/v1/sweeps", "", "application/json",
				[]byte(`{"from":"2018-01-01","to":"2018-12-31","field":"backstop.oop_ceiling","start":"0.05","stop":"0.06","step":"0.01"}`))
		},
		"POST /v1/replays": func(t *testing.T, v *env, _ string) *http.Request {
			return v.request(http.MethodPost, "/v1/replays", "", "application/json", []byte(`{"from":"2018-01-01","to":"2018-12-31"}`))
		},
		"POST /v1/audits": func(t *testing.T, v *env, _ string) *http.Request {
			return auditRequest(t, v, "", shippedPaid(t, nil))
		},
		"POST /v1/imports": func(t *testing.T, v *env, _ string) *http.Request {
			body, ct := multipartBody(t, map[string][]byte{"claims": []byte(importExampleClaims), "paid": []byte(importExamplePaid)})
			return v.request(http.MethodPost, "/v1/imports", "", ct, body)
		},
		"POST /v1/reconciliations": func(t *testing.T, v *env, _ string) *http.Request {
			return v.request(http.MethodPost, "/v1/reconciliations", "", "application/json", []byte(`{"from":"2018-01-01","to":"2018-12-31"}`))
		},
		"GET /v1/reports/refunds": get("/v1/reports/refunds?from=2018-01-01&to=2018-12-31"),
		"GET /healthz":            get("/healthz"),
		"GET /readyz":             get("/readyz"),
		"GET /metrics":            get("/metrics"),
		"GET /openapi.json":       get("/openapi.json"),
	}
}

// TestAuthTable walks api.Routes, the table ROUTES.md shows: without a token or with an
// unknown one each route is 401, with a role it does not list 403, with each role it
// lists a success; and a clinic token is refused (403) a claim of a provider not its own,
// and finds nothing (404) on file of such a claim.
func TestAuthTable(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		all := samples()
		seen := map[string]bool{}
		for _, r := range api.Routes() {
			key := r.Method + " " + r.Path
			seen[key] = true
			sample, ok := all[key]
			if !ok {
				t.Errorf("%s: no sample request in this test", key)
				continue
			}
			t.Run(key, func(t *testing.T) {
				call := func(as, provider string) int {
					t.Helper()
					req := sample(t, v, provider)
					if as != "" {
						tok, ok := v.tokens[as]
						if !ok {
							tok = as
						}
						req.Header.Set("Authorization", "Bearer "+tok)
					}
					rec := v.serve(req)
					if rec.Code >= 400 && rec.Header().Get("Content-Type") != "application/problem+json" {
						t.Errorf("as %q: %d is not a problem: %s", as, rec.Code, rec.Body)
					}
					if rec.Code == http.StatusUnauthorized && rec.Header().Get("WWW-Authenticate") == "" {
						t.Errorf("as %q: 401 without WWW-Authenticate", as)
					}
					if rec.Code >= 300 && rec.Code != http.StatusUnauthorized && rec.Code != http.StatusForbidden {
						t.Logf("as %q: %d %s", as, rec.Code, rec.Body)
					}
					return rec.Code
				}
				if r.Roles == nil {
					if got := call("", ownClinic); got != http.StatusOK {
						t.Errorf("without a token: %d, want 200", got)
					}
					return
				}
				if got := call("", ownClinic); got != http.StatusUnauthorized {
					t.Errorf("without a token: %d, want 401", got)
				}
				if got := call("hp_not-a-token", ownClinic); got != http.StatusUnauthorized {
					t.Errorf("with an unknown token: %d, want 401", got)
				}
				for _, role := range store.Roles {
					got := call(role, ownClinic)
					switch {
					case !slices.Contains(r.Roles, role) && got != http.StatusForbidden:
						t.Errorf("as %s (not allowed): %d, want 403", role, got)
					case slices.Contains(r.Roles, role) && (got < 200 || got > 299):
						t.Errorf("as %s (allowed): %d, want success", role, got)
					}
				}
				if slices.Contains(r.Roles, store.RoleClinic) {
					// Sending a claim for another's provider is refused; what is on file of
					// another's claims is, for a clinic, not there at all.
					refused := http.StatusForbidden
					if strings.Contains(r.Path, "{") {
						refused = http.StatusNotFound
					}
					if got := call(asClinic2, ownClinic); got != refused {
						t.Errorf("as the clinic of %s on a claim of %s: %d, want %d", otherProv, ownClinic, got, refused)
					}
					if got := call(asClinic, otherProv); got != refused {
						t.Errorf("as the clinic of %s on a claim of %s: %d, want %d", ownClinic, otherProv, got, refused)
					}
				}
			})
		}
		for key := range all {
			if !seen[key] {
				t.Errorf("sample for %s, which is not a route", key)
			}
		}
		// Of the claims sent, only the two settlements allowed (admin's and the clinic's
		// for its own provider) were stored: refusals and quotes stored nothing.
		var l ledger
		want(t, v.do(http.MethodGet, "/v1/persons/P00011/ledger?year=2018", asAuditor, "", nil), http.StatusOK, &l)
		if l.Claims != 2 {
			t.Errorf("P00011 has %d claims settled, want 2", l.Claims)
		}
	})
}

// TestAuthHeader checks the forms of the Authorization header.
func TestAuthHeader(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	tok := v.tokens[asAuditor]
	for _, tt := range []struct {
		header string
		status int
	}{
		{"Bearer " + tok, 200},
		{"bearer " + tok, 200},
		{"Bearer  " + tok + " ", 200},
		{"Basic " + tok, 401},
		{"Bearer", 401},
		{"Bearer ", 401},
		{tok, 401},
	} {
		rec := v.do(http.MethodGet, "/v1/policies", "", "", nil, "Authorization", tt.header)
		if rec.Code != tt.status {
			t.Errorf("Authorization %q: %d, want %d", tt.header, rec.Code, tt.status)
		}
	}
}
