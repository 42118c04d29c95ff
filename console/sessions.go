package console

import (
	"errors"
	"net/http"

	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// The signed-in user's own sessions: every session opened with their API token (the
// console knows users by their tokens), with "sign out this session" for each.

// signedIn wraps a handler that any signed-in user may use, whatever their role: without
// a session it sends the user to sign in; a POST must carry the session's CSRF token.
func (c *Console) signedIn(h echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		sess, ok := c.session(ec)
		if !ok {
			if ec.Request().Method == http.MethodGet {
				return ec.Redirect(http.StatusSeeOther, "/signin?next=/sessions")
			}
			return echo.NewHTTPError(http.StatusUnauthorized, "err.signedOut")
		}
		if ec.Request().Method != http.MethodGet && !sameToken(csrfOf(ec), sess.CSRF) {
			return echo.NewHTTPError(http.StatusForbidden, "err.csrf")
		}
		return h(ec)
	}
}

// sessionRow is one session on the page.
type sessionRow struct {
	store.Session
	Current bool
}

// Short is the beginning of the session's id, enough to tell sessions apart.
func (r sessionRow) Short() string { return r.ID[:min(len(r.ID), 8)] }

type sessionsData struct {
	Sessions []sessionRow
	Notice   string // a label key
}

func (c *Console) sessionsPage(ec echo.Context) error {
	sess, _ := c.session(ec)
	ck, err := ec.Cookie(sessionCookie)
	if err != nil {
		return echo.NewHTTPError(http.StatusUnauthorized, "err.signedOut")
	}
	list, err := c.store.SiblingSessions(ec.Request().Context(), ck.Value, c.idle)
	if errors.Is(err, store.ErrNoSession) {
		return echo.NewHTTPError(http.StatusUnauthorized, "err.signedOut")
	}
	if err != nil {
		return err
	}
	d := sessionsData{Notice: noticeKey(ec.QueryParam("notice"))}
	for _, s := range list {
		d.Sessions = append(d.Sessions, sessionRow{Session: s, Current: s.ID == sess.ID})
	}
	return c.render(ec, http.StatusOK, "sessions", "sessions.title", d)
}

// endSession signs out one of the user's sessions on the server; ending the current one
// is signing out.
func (c *Console) endSession(ec echo.Context) error {
	sess, _ := c.session(ec)
	id := ec.FormValue("id")
	if id == sess.ID {
		return c.signout(ec)
	}
	ck, err := ec.Cookie(sessionCookie)
	if err != nil {
		return echo.NewHTTPError(http.StatusUnauthorized, "err.signedOut")
	}
	err = c.store.EndSiblingSession(ec.Request().Context(), ck.Value, id)
	if errors.Is(err, store.ErrNoSession) {
		return echo.NewHTTPError(http.StatusNotFound, "err.notFound")
	}
	if err != nil {
		return err
	}
	return ec.Redirect(http.StatusSeeOther, "/sessions?notice=sessionEnded")
}
