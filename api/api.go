// Package api is hpcalc's HTTP interface (labstack/echo v4): request and response types,
// authentication by bearer token and roles, the mapping of errors to RFC 9457 problems,
// metrics and the OpenAPI document. Handlers decode input into calc values, call store,
// and encode the result; they hold no state of their own.
//
// api must never import cmd.
package api

import (
	"log/slog"

	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// Config is what the API needs.
type Config struct {
	Store  *store.Store
	Logger *slog.Logger
}

// New returns the API's routes.
func New(cfg Config) *echo.Echo {
	e := echo.New()
	e.HideBanner = true
	e.HidePort = true
	return e
}
