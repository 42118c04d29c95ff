package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// Keys of values a request carries in its echo.Context.
const (
	ctxRequestID = "hpcalc.request_id"
	ctxToken     = "hpcalc.token"
)

// observe gives each request an id (the client's X-Request-ID if it is a sane one,
// else a new one, echoed in the response), answers the error a handler returns (so that
// the status is known here), recovers a panic as a 500, and then logs and counts the
// request.
func (s *server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		req := c.Request()
		id := req.Header.Get(echo.HeaderXRequestID)
		if !validRequestID(id) {
			id = newRequestID()
		}
		c.Set(ctxRequestID, id)
		c.Response().Header().Set(echo.HeaderXRequestID, id)

		if err := safely(next, c); err != nil {
			c.Error(err)
		}

		elapsed := time.Since(start)
		status := c.Response().Status
		route, ok := s.routeOf[c.Path()]
		if !ok {
			route = "unmatched"
		}
		method := req.Method
		if !knownMethods[method] {
			method = "other"
		}
		s.metrics.observeRequest(method, route, status, elapsed)

		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		attrs := []slog.Attr{
			slog.String("request_id", id),
			slog.String("method", req.Method),
			slog.String("route", route),
			slog.String("path", req.URL.Path),
			slog.Int("status", status),
			slog.Duration("duration", elapsed),
			slog.Int64("bytes_out", c.Response().Size),
			slog.String("remote_addr", req.RemoteAddr),
		}
		if tok, ok := c.Get(ctxToken).(store.Token); ok {
			attrs = append(attrs, slog.String("role", tok.Role))
		}
		s.log.LogAttrs(req.Context(), level, "request", attrs...)
		return nil
	}
}

var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}

// safely calls next, turning a panic into an error with its stack.
func safely(next echo.HandlerFunc, c echo.Context) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return next(c)
}

// validRequestID accepts a client's request id of 1 to 128 letters, digits and ._:-
// so that it can go into logs and headers as it is.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		b := id[i]
		if !('a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '.' || b == '_' || b == ':' || b == '-') {
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:]) // crypto/rand does not fail on supported platforms
	return hex.EncodeToString(b[:])
}

// requestID is the id observe gave the request.
func requestID(c echo.Context) string {
	id, _ := c.Get(ctxRequestID).(string)
	return id
}
