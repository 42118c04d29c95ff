package api

import (
	"context"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
)

// status is the body of /healthz and /readyz.
type status struct {
	Status string `json:"status"`
}

// healthz answers GET /healthz: the process is up. It touches nothing else.
func (s *server) healthz(c echo.Context) error {
	return writeJSON(c, http.StatusOK, status{Status: "ok"})
}

// readyz answers GET /readyz: 200 when the database answers a ping within two seconds,
// else 503.
func (s *server) readyz(c echo.Context) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), 2*time.Second)
	defer cancel()
	if s.store == nil || s.store.Ping(ctx) != nil {
		return fail(kindUnavailable, "")
	}
	return writeJSON(c, http.StatusOK, status{Status: "ready"})
}

// serveOpenAPI answers GET /openapi.json.
func (s *server) serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, s.openapi)
}
