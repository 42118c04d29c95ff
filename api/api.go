// Package api is hpcalc's HTTP interface (labstack/echo v4): request and response types,
// authentication by bearer token and roles, the mapping of errors to RFC 9457 problems,
// metrics and the OpenAPI document. Handlers decode input into calc values, call an
// operation of ops (or store, for plain reads of rows and tokens), and encode the result;
// they hold no state of their own. Each file declares the small interface of ops it uses.
//
// The routes and the roles that may call each are one table, routeTable in routes.go;
// ROUTES.md is that table for people (the tests generate it), and Routes returns it for
// programs.
//
// api must never import cmd or console.
package api

import (
	"log/slog"
	"strings"

	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// Config is what the API needs.
type Config struct {
	Store *store.Store
	// Ops runs the operations on Store; nil means ops.New(Store).
	Ops    *ops.Service
	Logger *slog.Logger
}

// server holds what the handlers share. It keeps no state of a request between requests:
// metrics are the only thing it accumulates.
type server struct {
	store   *store.Store
	settler settler
	replays replayer
	audits  paidAuditor
	imports paidImporter
	whatIfs whatIfs
	// corrections runs reconciliations and reports refunds.
	corrections corrector
	log         *slog.Logger
	metrics     *metrics
	openapi     []byte
	// routeOf maps echo's path of a route ("/v1/settlements/:id") to the table's
	// ("/v1/settlements/{id}"), which logs and metrics use.
	routeOf map[string]string
}

// New returns the API's routes. Every error a handler returns is answered by one
// HTTPErrorHandler as an RFC 9457 problem; every request is logged with its request id
// and counted in the metrics.
func New(cfg Config) *echo.Echo {
	_, e := newServer(cfg)
	return e
}

func newServer(cfg Config) (*server, *echo.Echo) {
	logger := cfg.Logger
	if logger == nil {
		logger = slog.Default()
	}
	o := cfg.Ops
	if o == nil {
		o = ops.New(cfg.Store)
	}
	s := &server{store: cfg.Store, settler: o, replays: o, audits: o, imports: o, whatIfs: o, corrections: o, log: logger, metrics: newMetrics(cfg.Store), routeOf: map[string]string{}}
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.observe)
	for _, r := range routeTable {
		p := echoPath(r.path)
		s.routeOf[p] = r.path
		e.Add(r.method, p, s.authorize(r, r.handle))
	}
	s.openapi = openAPIDocument()
	return s, e
}

// echoPath turns the table's /v1/settlements/{id} into echo's /v1/settlements/:id.
func echoPath(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if strings.HasPrefix(part, "{") && strings.HasSuffix(part, "}") {
			parts[i] = ":" + part[1:len(part)-1]
		}
	}
	return strings.Join(parts, "/")
}
