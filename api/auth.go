package api

import (
	"errors"
	"slices"
	"strings"

	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// authorize wraps the handler of route r: a route with roles needs a bearer token of one
// of them (401 without a known token, 403 for another role). The token is kept in the
// context for mayActFor.
func (s *server) authorize(r route, h func(*server, echo.Context) error) echo.HandlerFunc {
	if r.roles == nil {
		return func(c echo.Context) error {
			if err := queryOnce(c); err != nil {
				return err
			}
			return h(s, c)
		}
	}
	allowed := strings.Join(r.roles, ", ")
	return func(c echo.Context) error {
		plain, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return fail(kindUnauth, "send the header Authorization: Bearer <token>")
		}
		tok, err := s.store.Authenticate(c.Request().Context(), plain)
		if errors.Is(err, store.ErrBadToken) {
			return fail(kindUnauth, "the bearer token is not known")
		}
		if err != nil {
			return err
		}
		if !slices.Contains(r.roles, tok.Role) {
			return fail(kindForbidden, "a "+tok.Role+" token may not call "+r.method+" "+r.path+"; it takes a token of: "+allowed)
		}
		c.Set(ctxToken, tok)
		if err := queryOnce(c); err != nil {
			return err
		}
		return h(s, c)
	}
}

// queryOnce refuses (400) a query string that gives a parameter more than once, such as
// ?year=2018&year=2019: which value was meant is not for the server to guess, and
// echo's QueryParam would silently take the first. Every route is checked, so that no
// route that reads a parameter can forget to.
func queryOnce(c echo.Context) error {
	if c.Request().URL.RawQuery == "" {
		return nil
	}
	var names []string
	for name, values := range c.QueryParams() {
		if len(values) > 1 {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	var f fields
	for _, name := range names {
		f.addf(name, "is given %d times; give each query parameter once", len(c.QueryParams()[name]))
	}
	return fail(kindBadRequest, "a query parameter is repeated", f.errs...)
}

// bearer returns the token of an Authorization header "Bearer <token>".
func bearer(header string) (string, bool) {
	scheme, tok, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// token is the token authorize accepted for the request.
func token(c echo.Context) store.Token {
	t, _ := c.Get(ctxToken).(store.Token)
	return t
}

// mayActFor returns a 403 problem when a clinic token acts for a provider that is not
// one of its own, and nil otherwise: other roles act for every provider.
func mayActFor(c echo.Context, providerID string) error {
	if actsFor(c, providerID) {
		return nil
	}
	t := token(c)
	return fail(kindForbidden, "this clinic token acts only for claims of its provider(s) "+strings.Join(t.Providers, ", "))
}

// actsFor reports whether the request's token acts for providerID: a clinic token for its
// own providers only, other roles for every provider.
func actsFor(c echo.Context, providerID string) bool {
	return token(c).MayActFor(providerID)
}
