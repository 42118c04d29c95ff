package api_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestTokenLifecycle: an admin creates a clinic token through the API, the clinic uses
// it, the admin lists and revokes it, and from that moment it is refused, though the
// server had just remembered it.
func TestTokenLifecycle(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		type token struct {
			ID        string   `json:"id"`
			Token     string   `json:"token"`
			Role      string   `json:"role"`
			Providers []string `json:"providers"`
			Note      string   `json:"note"`
			CreatedAt string   `json:"created_at"`
			RevokedAt string   `json:"revoked_at"`
		}
		var made token
		rec := v.postJSON("/v1/tokens", asAdmin, map[string]any{"role": "clinic", "providers": []string{ownClinic}, "note": "front desk"})
		want(t, rec, http.StatusCreated, &made)
		if !strings.HasPrefix(made.Token, "hp_") || len(made.ID) != 16 || made.Role != "clinic" || !slices.Equal(made.Providers, []string{ownClinic}) ||
			made.Note != "front desk" || made.CreatedAt == "" || made.RevokedAt != "" || rec.Header().Get("Location") != "/v1/tokens/"+made.ID {
			t.Fatalf("created %+v, Location %q", made, rec.Header().Get("Location"))
		}

		own := testClaim("TOK1", "P00003", ownClinic, 2000*calc.Yuan)
		want(t, v.postJSON("/v1/quotes", made.Token, claimBody(own)), http.StatusOK, nil)
		want(t, v.postJSON("/v1/quotes", made.Token, claimBody(testClaim("TOK2", "P00003", otherProv, 2000*calc.Yuan))), http.StatusForbidden, nil)
		want(t, v.do(http.MethodGet, "/v1/tokens", made.Token, "", nil), http.StatusForbidden, nil)

		var list struct {
			Tokens []token `json:"tokens"`
		}
		want(t, v.do(http.MethodGet, "/v1/tokens", asAdmin, "", nil), http.StatusOK, &list)
		i := slices.IndexFunc(list.Tokens, func(tk token) bool { return tk.ID == made.ID })
		if i < 0 || list.Tokens[i].Token != "" || list.Tokens[i].Note != "front desk" || len(list.Tokens) != 6 {
			t.Fatalf("list %+v", list.Tokens)
		}

		var revoked token
		want(t, v.do(http.MethodDelete, "/v1/tokens/"+made.ID, asAdmin, "", nil), http.StatusOK, &revoked)
		if revoked.ID != made.ID || revoked.RevokedAt == "" || revoked.Token != "" {
			t.Fatalf("revoked %+v", revoked)
		}
		want(t, v.postJSON("/v1/quotes", made.Token, claimBody(own)), http.StatusUnauthorized, nil)
		want(t, v.do(http.MethodDelete, "/v1/tokens/"+made.ID, asAdmin, "", nil), http.StatusConflict, nil)
		want(t, v.do(http.MethodDelete, "/v1/tokens/0123456789abcdef", asAdmin, "", nil), http.StatusNotFound, nil)
		want(t, v.do(http.MethodDelete, "/v1/tokens/nope", asAdmin, "", nil), http.StatusNotFound, nil)
		want(t, v.do(http.MethodGet, "/v1/tokens", asAdmin, "", nil), http.StatusOK, &list)
		if i := slices.IndexFunc(list.Tokens, func(tk token) bool { return tk.ID == made.ID }); i < 0 || list.Tokens[i].RevokedAt == "" {
			t.Errorf("the revoked token is not listed as revoked: %+v", list.Tokens)
		}
	})
}

// TestCreateTokenInvalid: each bad request is a 422 naming the field, and no token is made.
func TestCreateTokenInvalid(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	tests := []struct {
		body, field string
	}{
		{`{}`, "role"},
		{`{"role":"root"}`, "role"},
		{`{"role":"clinic"}`, "providers"},
		{`{"role":"clinic","providers":["NOPE"]}`, "providers"},
		{`{"role":"clinic","providers":["has space"]}`, "providers"},
		{`{"role":"auditor","providers":["TWN01"]}`, "providers"},
		{`{"role":"auditor","note":"` + strings.Repeat("x", 201) + `"}`, "note"},
		{`{"role":"auditor","expires":"never"}`, "expires"},
		{`{"role":1}`, "role"},
	}
	for _, tt := range tests {
		var p problem
		want(t, v.do(http.MethodPost, "/v1/tokens", asAdmin, "application/json", []byte(tt.body)), http.StatusUnprocessableEntity, &p)
		if !slices.Contains(p.fields(), tt.field) {
			t.Errorf("%s: fields %v, want %s", tt.body, p.fields(), tt.field)
		}
	}
	list, err := v.store.Tokens(t.Context())
	if err != nil || len(list) != 5 {
		t.Errorf("%d tokens on file after bad requests, want the test's 5: %v", len(list), err)
	}
}
