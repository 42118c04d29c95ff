package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// tokenJSON is an API token as on file; Token is set only in the answer that creates it.
type tokenJSON struct {
	ID        string     `json:"id"`
	Token     string     `json:"token,omitempty"`
	Role      string     `json:"role"`
	Providers []string   `json:"providers"`
	Note      string     `json:"note"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

func tokenOut(t store.TokenInfo) tokenJSON {
	out := tokenJSON{ID: t.ID, Role: t.Role, Providers: t.Providers, Note: t.Note, CreatedAt: t.CreatedAt.UTC(), RevokedAt: t.RevokedAt}
	if out.Providers == nil {
		out.Providers = []string{}
	}
	return out
}

// maxNote is the longest note of a token, in bytes.
const maxNote = 200

// createToken answers POST /v1/tokens {role, providers, note}: 201 with the new token,
// shown this once; only its SHA-256 is kept.
func (s *server) createToken(c echo.Context) error {
	var req struct {
		Role      string   `json:"role"`
		Providers []string `json:"providers"`
		Note      string   `json:"note"`
	}
	if err := decodeJSONBody(c, &req); err != nil {
		return err
	}
	var f fields
	switch {
	case req.Role == "":
		f.add("role", "is required: one of "+strings.Join(store.Roles, ", "))
	case !slices.Contains(store.Roles, req.Role):
		f.add("role", "must be one of "+strings.Join(store.Roles, ", ")+", not "+req.Role)
	case req.Role == store.RoleClinic && len(req.Providers) == 0:
		f.add("providers", "a clinic token needs at least one provider id")
	case req.Role != store.RoleClinic && len(req.Providers) > 0:
		f.add("providers", "only a clinic token acts for providers")
	}
	if len(req.Note) > maxNote {
		f.addf("note", "must be at most %d bytes", maxNote)
	}
	ctx := c.Request().Context()
	if !f.bad["providers"] {
		for i, id := range req.Providers {
			if rule := calc.IDRule(id); rule != "" {
				f.add("providers", "provider id "+rule)
				break
			}
			if slices.Contains(req.Providers[:i], id) {
				f.add("providers", "provider "+id+" is listed more than once")
				break
			}
			if _, err := s.store.Provider(ctx, id); errors.Is(err, store.ErrNotFound) {
				f.add("providers", "unknown provider "+id)
				break
			} else if err != nil {
				return err
			}
		}
	}
	if len(f.errs) > 0 {
		return f.err("the token")
	}
	plain, info, err := s.store.IssueToken(ctx, store.Token{Role: req.Role, Providers: req.Providers, Note: req.Note})
	if err != nil {
		return err
	}
	out := tokenOut(info)
	out.Token = plain
	return created(c, "/v1/tokens/"+info.ID, out)
}

// listTokens answers GET /v1/tokens: every token on file, revoked ones too, without the
// tokens themselves.
func (s *server) listTokens(c echo.Context) error {
	list, err := s.store.Tokens(c.Request().Context())
	if err != nil {
		return err
	}
	out := struct {
		Tokens []tokenJSON `json:"tokens"`
	}{Tokens: make([]tokenJSON, 0, len(list))}
	for _, t := range list {
		out.Tokens = append(out.Tokens, tokenOut(t))
	}
	return writeJSON(c, http.StatusOK, out)
}

// revokeToken answers DELETE /v1/tokens/{id}: the token stops authenticating at once on
// this server and within a quarter of a second on every other server on the database;
// 409 if it is already revoked.
func (s *server) revokeToken(c echo.Context) error {
	t, err := s.store.RevokeToken(c.Request().Context(), c.Param("id"))
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, tokenOut(t))
}
