// Package console is hpcalc's browser console: the desks that clinic cashiers, auditors,
// finance staff and administrators use, served by `hpcalc serve` beside the API. It owns
// its pages (html/template, embedded), its static files (one stylesheet, one small
// script, embedded: nothing is ever loaded from another origin), its translations
// (locales/*.json, Chinese by default) and its sessions (rows kept by store).
//
// Who may use a desk is not decided here: every desk and every action names the API route
// whose roles it takes (api.Routes), and a clinic token acts only for its providers
// (store.Token.MayActFor), so that the console and the API enforce one rule. The desks
// call the same operations as the API (Ops, Store); the console never calls the API over
// HTTP.
//
// Adding a desk takes one file and one template:
//
//   - desk.go: func auditDesk() desk { return desk{id: "audit", path: "/audit",
//     route: "POST /v1/replays", mount: ...} }, whose mount adds its routes, each wrapped
//     in c.guard(apiRoute, handler) with the API route whose roles it takes (a GET shows,
//     a POST acts and needs the session's CSRF token, which guard checks); list it in
//     deskList. The navigation shows it to the roles of its route.
//   - templates/audit.html: {{define "content"}}...{{end}}, rendered inside the layout by
//     c.render(ec, status, "audit", "desk.audit", data); the page's data is .Data, the
//     CSRF token .CSRF. Other {{define}}s of the file are fragments (c.fragment).
//   - its labels in locales/zh.json and locales/en.json ("desk.audit" and the rest):
//     every label through {{t "key"}}, never written in a template or in Go; TestLocales
//     fails on a key missing from either.
//
// Static files go in static/ (served at /static/, same origin, no inline script or style:
// the CSP forbids them); a script hooks onto ids and data- attributes.
//
// console must never import cmd.
package console

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/api"
	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

//go:embed locales/*.json
var localeFS embed.FS

// Ops are the operations the desks perform, the same the API performs.
type Ops interface {
	// Quote computes what Settle would store for a claim now, storing nothing.
	Quote(ctx context.Context, c calc.Claim) (calc.Settlement, calc.Ledger, error)
	// Settle settles and stores a claim; created is false when the same claim was
	// settled before with the same values.
	Settle(ctx context.Context, c calc.Claim) (st store.SettlementRecord, created bool, err error)
	// Reverse voids a settlement with a reason.
	Reverse(ctx context.Context, id, reason string) (store.SettlementRecord, error)
	// Versions chooses what an audit re-settles under: ops.InForce or one version.
	Versions(ctx context.Context, name string) (ops.Versions, error)
	// Audit re-settles a period's stored claims and lists the differences.
	Audit(ctx context.Context, from, to calc.Date, v ops.Versions, progress func(ops.Progress)) (*batch.Audit, error)
	// WhatIf settles a period's stored claims under the published versions and under
	// them with a change.
	WhatIf(ctx context.Context, from, to calc.Date, change []byte) (*batch.WhatIf, *batch.ClaimTable, error)
	// Sweep settles a period's stored claims with one parameter at each of values.
	Sweep(ctx context.Context, from, to calc.Date, field string, values []calc.Rate) ([]ops.SweepStep, error)
	// ImportPaid stores claims with what the system before hpcalc paid, opening ledgers.
	ImportPaid(ctx context.Context, in ops.PaidImport, progress func(ops.Progress)) (ops.ImportStats, error)
	// Refunds lists per person the refunds owed for adjustments of a period's claims.
	Refunds(ctx context.Context, from, to calc.Date) ([]ops.Refund, error)
}

// Store is what the console reads and writes besides the operations.
type Store interface {
	OpenSession(ctx context.Context, plainToken, userAgent, ip string) (string, store.Session, error)
	Session(ctx context.Context, secret string, idle time.Duration) (store.Session, error)
	EndSession(ctx context.Context, secret string) error
	SiblingSessions(ctx context.Context, secret string, idle time.Duration) ([]store.Session, error)
	EndSiblingSession(ctx context.Context, secret, id string) error
	Authenticate(ctx context.Context, plain string) (store.Token, error)

	Person(ctx context.Context, id string) (calc.Person, error)
	Ledger(ctx context.Context, personID string, year int) (calc.Ledger, error)
	Provider(ctx context.Context, id string) (calc.Provider, error)
	Providers(ctx context.Context) ([]calc.Provider, error)
	ProviderDay(ctx context.Context, provider string, day calc.Date) ([]store.DaySettlement, error)
	Settlement(ctx context.Context, id string) (store.SettlementRecord, error)
	Reversal(ctx context.Context, id string) (store.SettlementRecord, error)
	Claim(ctx context.Context, id string) (calc.Claim, error)

	Tokens(ctx context.Context) ([]store.TokenInfo, error)
	IssueToken(ctx context.Context, t store.Token) (string, store.TokenInfo, error)
	RevokeToken(ctx context.Context, id string) (store.TokenInfo, error)
	Policies(ctx context.Context) (*calc.PolicySet, error)
	PolicyDocument(ctx context.Context, version string) ([]byte, error)
	Tally(ctx context.Context, from, to calc.Date) (calc.Tally, error)
	PublishPolicy(ctx context.Context, p *calc.Policy, document []byte) error
	UpsertPersonVersions(ctx context.Context, versions []calc.PersonVersion) error
	PersonHistory(ctx context.Context, id string) (calc.History, error)
	UpsertProviders(ctx context.Context, providers []calc.Provider) error
}

var (
	_ Ops   = (*ops.Service)(nil)
	_ Store = (*store.Store)(nil)
)

// Config is what the console needs.
type Config struct {
	Store Store
	// Ops performs settlements, quotes, reversals, audits, what-ifs and sweeps, as for the
	// API (an *ops.Service).
	Ops    Ops
	Logger *slog.Logger
	// Idle is how long a session lives without a request; 30 minutes if zero.
	Idle time.Duration
	// Now is the clock (the desk's "today"); time.Now if nil.
	Now func() time.Time
	// SecureCookies marks every cookie Secure, whatever the request came over: for a
	// console served over HTTPS by a proxy that the Go server cannot see.
	SecureCookies bool
	// TrustProxy lists the addresses of the reverse proxies whose X-Forwarded-Proto and
	// X-Forwarded-For the console believes: a request from one of them that says it came
	// over https gets Secure cookies, and its session notes the client's address rather
	// than the proxy's. Requests from elsewhere are taken as they come.
	TrustProxy []netip.Prefix
}

// Console serves the desks.
type Console struct {
	store  Store
	ops    Ops
	log    *slog.Logger
	idle   time.Duration
	now    func() time.Time
	pages  map[string]*pageSet // by language
	roles  map[string][]string // "POST /v1/settlements" → roles, from api.Routes
	apiAt  func(path string) bool
	echo   *echo.Echo
	static http.Handler
	desks  []desk
	langs  []string // the default language first

	secureCookies bool
	trustProxy    []netip.Prefix
	jobs          jobs // audits the desk's script runs
}

// desk is one desk of the console: where it lives, its label, the API route whose roles
// may use it, and the routes it adds.
type desk struct {
	id    string // also its label key: "desk." + id
	path  string
	route string // "POST /v1/settlements": who may call that may use the desk
	mount func(c *Console, e *echo.Echo)
}

// deskList returns the console's desks in the order of the navigation. (A function, not
// a variable: the desks' handlers read the list back through Console.desks.)
func deskList() []desk { return []desk{dischargeDesk(), auditDesk(), financeDesk(), adminDesk()} }

// New returns the console.
func New(cfg Config) (*Console, error) {
	c := &Console{store: cfg.Store, ops: cfg.Ops, log: cfg.Logger, idle: cfg.Idle, now: cfg.Now, roles: map[string][]string{}, desks: deskList(),
		secureCookies: cfg.SecureCookies, trustProxy: cfg.TrustProxy}
	if c.ops == nil || c.store == nil {
		return nil, errors.New("console: Config needs a Store and Ops")
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.idle == 0 {
		c.idle = 30 * time.Minute
	}
	if c.now == nil {
		c.now = time.Now
	}
	exact := map[string]bool{}
	for _, r := range api.Routes() {
		c.roles[r.Method+" "+r.Path] = r.Roles
		if !strings.HasPrefix(r.Path, "/v1/") {
			exact[r.Path] = true
		}
	}
	c.apiAt = func(p string) bool { return (strings.HasPrefix(p, "/v1/") && !isSlipPath(p)) || exact[p] }
	for _, d := range append(slices.Clone(c.desks), desk{id: "slip", route: slipRoute}) {
		if _, ok := c.roles[d.route]; !ok {
			return nil, fmt.Errorf("console: desk %q takes the roles of %q, which the API does not have", d.id, d.route)
		}
	}
	var err error
	if c.pages, err = loadPages(); err != nil {
		return nil, err
	}
	c.langs = []string{defaultLang}
	for code := range c.pages {
		if code != defaultLang {
			c.langs = append(c.langs, code)
		}
	}
	slices.Sort(c.langs[1:])
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, err
	}
	c.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	c.echo = c.routes()
	return c, nil
}

// Handler serves the console, and hands whatever the API answers (its /v1/ routes but
// the slip, /healthz, /readyz, /metrics, /openapi.json) to apiHandler.
func (c *Console) Handler(apiHandler http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c.apiAt(r.URL.Path) {
			apiHandler.ServeHTTP(w, r)
			return
		}
		c.echo.ServeHTTP(w, r)
	})
}

func (c *Console) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = c.handleError
	e.Use(secureHeaders)
	e.GET("/", c.home)
	e.GET("/signin", c.signinPage)
	e.POST("/signin", c.signin)
	e.POST("/signout", c.signout)
	e.GET("/lang/:lang", c.setLang)
	e.GET("/sessions", c.signedIn(c.sessionsPage))
	e.POST("/sessions/end", c.signedIn(c.endSession))
	e.GET("/static/*", echo.WrapHandler(c.staticHandler()))
	e.GET("/v1/settlements/:id/slip", c.bearer(c.guard(slipRoute, c.slip)))
	for _, d := range c.desks {
		d.mount(c, e)
	}
	return e
}

// staticHandler serves the embedded stylesheet and script; they change only with the
// binary, so browsers may keep them for a day.
func (c *Console) staticHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400")
		c.static.ServeHTTP(w, r)
	})
}

// mayUse reports whether role may use what the API route takes.
func (c *Console) mayUse(route, role string) bool {
	return slices.Contains(c.roles[route], role)
}

// home sends a signed-in user to the first desk their role may use.
func (c *Console) home(ec echo.Context) error {
	sess, ok := c.session(ec)
	if !ok {
		return ec.Redirect(http.StatusSeeOther, "/signin")
	}
	for _, d := range c.desks {
		if c.mayUse(d.route, sess.Role) {
			return ec.Redirect(http.StatusSeeOther, d.path)
		}
	}
	return c.render(ec, http.StatusOK, "nodesk", "nav.home", nil)
}
