package console

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"strings"

	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// Cookies of the console.
const (
	sessionCookie = "hpcalc_session"
	langCookie    = "hpcalc_lang"
	// preCSRFCookie carries the CSRF token of the sign-in form, before there is a
	// session: the form must send the same value back (double submit).
	preCSRFCookie = "hpcalc_signin"
)

// csp is the Content-Security-Policy of every console answer: nothing from another
// origin, no inline script or style, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// maxForm is the largest body of a form that is not an upload.
const maxForm = 1 << 20

func secureHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		limit := int64(maxForm)
		if strings.HasPrefix(ec.Request().Header.Get(echo.HeaderContentType), echo.MIMEMultipartForm) {
			limit = maxUpload
		}
		ec.Request().Body = http.MaxBytesReader(ec.Response(), ec.Request().Body, limit)
		h := ec.Response().Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		if !strings.HasPrefix(ec.Request().URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		return next(ec)
	}
}

// ctxSession is where guard keeps the request's session.
const ctxSession = "console.session"

// session returns the session of the request's cookie, if it is on file and alive.
func (c *Console) session(ec echo.Context) (store.Session, bool) {
	if s, ok := ec.Get(ctxSession).(store.Session); ok {
		return s, true
	}
	ck, err := ec.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return store.Session{}, false
	}
	s, err := c.store.Session(ec.Request().Context(), ck.Value, c.idle)
	if err != nil {
		if !errors.Is(err, store.ErrNoSession) {
			c.log.Error("console session", "err", err)
		}
		return store.Session{}, false
	}
	ec.Set(ctxSession, s)
	return s, true
}

// guard wraps a handler that takes the roles of the API route route: without a session it
// sends the user to sign in (401 for a request the browser does not navigate to); with
// another role it answers 403; a POST must carry the session's CSRF token (403 if not).
func (c *Console) guard(route string, h echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		sess, ok := c.session(ec)
		if !ok {
			if ec.Request().Method == http.MethodGet {
				return ec.Redirect(http.StatusSeeOther, "/signin?next="+url.QueryEscape(ec.Request().URL.RequestURI()))
			}
			return echo.NewHTTPError(http.StatusUnauthorized, "err.signedOut")
		}
		if !c.mayUse(route, sess.Role) {
			return echo.NewHTTPError(http.StatusForbidden, "err.forbiddenRole")
		}
		if ec.Request().Method != http.MethodGet && !sameToken(csrfOf(ec), sess.CSRF) {
			return echo.NewHTTPError(http.StatusForbidden, "err.csrf")
		}
		return h(ec)
	}
}

// csrfOf is the CSRF token a request carries: the form's csrf field, or the
// X-CSRF-Token header of the script's requests.
func csrfOf(ec echo.Context) string {
	if v := ec.Request().Header.Get("X-CSRF-Token"); v != "" {
		return v
	}
	return ec.FormValue("csrf")
}

func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// secure reports whether the request reached the user over TLS, so that cookies are
// marked Secure: always with Config.SecureCookies, when the Go server itself speaks TLS,
// or when a trusted proxy says it received the request over https.
func (c *Console) secure(ec echo.Context) bool {
	r := ec.Request()
	if c.secureCookies || r.TLS != nil {
		return true
	}
	if !c.fromProxy(r) {
		return false
	}
	proto, _, _ := strings.Cut(r.Header.Get("X-Forwarded-Proto"), ",")
	return strings.EqualFold(strings.TrimSpace(proto), "https")
}

// fromProxy reports whether the request came straight from a trusted proxy.
func (c *Console) fromProxy(r *http.Request) bool {
	return len(c.trustProxy) > 0 && c.trusted(remoteAddr(r.RemoteAddr))
}

func (c *Console) trusted(a netip.Addr) bool {
	for _, p := range c.trustProxy {
		if a.IsValid() && p.Contains(a.Unmap()) {
			return true
		}
	}
	return false
}

func remoteAddr(hostport string) netip.Addr {
	if ap, err := netip.ParseAddrPort(hostport); err == nil {
		return ap.Addr()
	}
	a, _ := netip.ParseAddr(hostport)
	return a
}

// clientIP is the address a session notes: the peer's, or behind trusted proxies the
// last address of X-Forwarded-For that is not one of them (what a client writes there
// itself comes before what the proxies appended, and is not believed).
func (c *Console) clientIP(r *http.Request) string {
	peer := remoteAddr(r.RemoteAddr)
	if !c.fromProxy(r) {
		if peer.IsValid() {
			return peer.Unmap().String()
		}
		return ""
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if !c.trusted(a) {
			return a.Unmap().String()
		}
	}
	return peer.Unmap().String()
}

// signinData is what the sign-in page shows.
type signinData struct {
	Next  string
	Error string // a label key
}

func (c *Console) signinPage(ec echo.Context) error {
	return c.renderSignin(ec, http.StatusOK, signinData{Next: safeNext(ec.QueryParam("next"))})
}

func (c *Console) renderSignin(ec echo.Context, status int, d signinData) error {
	tok, err := newSecret()
	if err != nil {
		return err
	}
	ec.SetCookie(&http.Cookie{Name: preCSRFCookie, Value: tok, Path: "/signin", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(ec), MaxAge: 3600})
	return c.renderWith(ec, status, "signin", "signin.title", d, tok)
}

// signin answers the sign-in form: the pasted API token opens a session.
func (c *Console) signin(ec echo.Context) error {
	next := safeNext(ec.FormValue("next"))
	pre, err := ec.Cookie(preCSRFCookie)
	if err != nil || !sameToken(ec.FormValue("csrf"), pre.Value) {
		return c.renderSignin(ec, http.StatusForbidden, signinData{Next: next, Error: "err.csrf"})
	}
	plain := strings.TrimSpace(ec.FormValue("token"))
	if plain == "" {
		return c.renderSignin(ec, http.StatusUnprocessableEntity, signinData{Next: next, Error: "signin.empty"})
	}
	secret, _, err := c.store.OpenSession(ec.Request().Context(), plain, ec.Request().UserAgent(), c.clientIP(ec.Request()))
	if errors.Is(err, store.ErrBadToken) {
		return c.renderSignin(ec, http.StatusUnauthorized, signinData{Next: next, Error: "signin.bad"})
	}
	if err != nil {
		return err
	}
	ec.SetCookie(&http.Cookie{Name: sessionCookie, Value: secret, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(ec)})
	ec.SetCookie(&http.Cookie{Name: preCSRFCookie, Path: "/signin", MaxAge: -1})
	if next == "" {
		next = "/"
	}
	return ec.Redirect(http.StatusSeeOther, next)
}

// signout ends the session on the server and forgets the cookie.
func (c *Console) signout(ec echo.Context) error {
	sess, ok := c.session(ec)
	if ok {
		if !sameToken(csrfOf(ec), sess.CSRF) {
			return echo.NewHTTPError(http.StatusForbidden, "err.csrf")
		}
		ck, _ := ec.Cookie(sessionCookie)
		if err := c.store.EndSession(ec.Request().Context(), ck.Value); err != nil {
			return err
		}
	}
	ec.SetCookie(&http.Cookie{Name: sessionCookie, Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(ec)})
	return ec.Redirect(http.StatusSeeOther, "/signin")
}

// safeNext keeps a return address only if it is a path of this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, "\\") {
		return ""
	}
	return next
}

// setLang sets the language cookie and goes back where the user was.
func (c *Console) setLang(ec echo.Context) error {
	lang := ec.Param("lang")
	if _, ok := c.pages[lang]; !ok {
		return echo.NewHTTPError(http.StatusNotFound, "err.notFound")
	}
	ec.SetCookie(&http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		SameSite: http.SameSiteStrictMode, Secure: c.secure(ec)})
	back := safeNext(ec.QueryParam("back"))
	if back == "" {
		back = "/"
	}
	return ec.Redirect(http.StatusSeeOther, back)
}

// handleError answers every error of the console as a page in the user's language; a
// status the user should not see the details of (500) is logged.
func (c *Console) handleError(err error, ec echo.Context) {
	if ec.Response().Committed {
		return
	}
	status, key := http.StatusInternalServerError, "err.internal"
	var he *echo.HTTPError
	if errors.As(err, &he) {
		status = he.Code
		switch m := he.Message.(type) {
		case string:
			if strings.HasPrefix(m, "err.") {
				key = m
			} else {
				key = "err.status"
			}
		default:
			key = "err.status"
		}
		if status == http.StatusNotFound && key == "err.status" {
			key = "err.notFound"
		}
	} else if errors.Is(err, store.ErrNotFound) {
		status, key = http.StatusNotFound, "err.notFound"
	} else {
		c.log.Error("console", "method", ec.Request().Method, "path", ec.Request().URL.Path, "err", err)
	}
	if ec.Request().Header.Get("X-CSRF-Token") != "" {
		_ = ec.JSON(status, map[string]string{"error": c.lang(ec).T(key)})
		return
	}
	if rerr := c.render(ec, status, "error", "err.title", errorData{Status: status, Key: key}); rerr != nil {
		c.log.Error("console: render error page", "err", rerr)
	}
}

type errorData struct {
	Status int
	Key    string
}
