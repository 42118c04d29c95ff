package console

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// slipRoute is the API route whose roles may print a slip: those that may read the
// settlement.
const slipRoute = "GET /v1/settlements/{id}"

// isSlipPath reports whether p is /v1/settlements/{id}/slip, which the console serves.
func isSlipPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/v1/settlements/")
	if !ok {
		return false
	}
	id, ok := strings.CutSuffix(rest, "/slip")
	return ok && id != "" && !strings.Contains(id, "/")
}

// slipData is the discharge slip (一站式结算单).
type slipData struct {
	Settled    store.SettlementRecord
	Claim      calc.Claim
	Provider   calc.Provider
	Person     calc.Person
	Aid        string // a label key
	Quote      *quoteView
	ReversedBy string
	Print      bool   // print as soon as it opens
	Paper      string // a5 or a4
	Papers     []string
}

// papers are the sizes a slip prints on; the first is the default.
var papers = []string{"a5", "a4"}

// bearer lets a program fetch a slip with the API's bearer token instead of a session.
func (c *Console) bearer(h echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		scheme, plain, ok := strings.Cut(ec.Request().Header.Get(echo.HeaderAuthorization), " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			tok, err := c.store.Authenticate(ec.Request().Context(), strings.TrimSpace(plain))
			if errors.Is(err, store.ErrBadToken) {
				return echo.NewHTTPError(http.StatusUnauthorized, "err.signedOut")
			}
			if err != nil {
				return err
			}
			ec.Set(ctxSession, store.Session{Token: tok})
		}
		return h(ec)
	}
}

// slip answers GET /v1/settlements/{id}/slip: the printable slip of a settlement, to a
// signed-in user or a bearer token of a role that may read the settlement; a clinic only
// for its providers (404 for others', as the API answers).
func (c *Console) slip(ec echo.Context) error {
	sess, _ := c.session(ec)
	ctx := ec.Request().Context()
	st, err := c.store.Settlement(ctx, ec.Param("id"))
	if err != nil {
		return err
	}
	cl, err := c.store.Claim(ctx, st.Settlement.ClaimID)
	if err != nil {
		return err
	}
	if !sess.MayActFor(cl.ProviderID) {
		// As the API: another provider's settlement is answered as one not on file, so
		// that a clinic cannot tell it from none.
		return echo.NewHTTPError(http.StatusNotFound, "err.notFound")
	}
	d := slipData{Settled: st, Claim: cl, Quote: quoteOf(c.lang(ec), &st.Settlement), Print: ec.QueryParam("print") == "1", Paper: papers[0], Papers: papers}
	if p := ec.QueryParam("paper"); slices.Contains(papers, p) {
		d.Paper = p
	}
	if d.Provider, err = c.store.Provider(ctx, cl.ProviderID); err != nil {
		return err
	}
	// The slip shows the patient as the register had them when the claim was settled.
	h, err := c.store.PersonHistory(ctx, cl.PersonID)
	if err != nil {
		return err
	}
	if v := h.Version(st.PersonVersion); v != nil {
		d.Person = v.Person
	} else if d.Person, err = c.store.Person(ctx, cl.PersonID); err != nil {
		return err
	}
	d.Aid = "aid." + aidName(d.Person.Aid)
	if st.Reverses == "" {
		r, err := c.store.Reversal(ctx, st.ID)
		switch {
		case err == nil:
			d.ReversedBy = r.ID
		case !errors.Is(err, store.ErrNotFound):
			return err
		}
	}
	return c.render(ec, http.StatusOK, "slip", "slip.title", d)
}
