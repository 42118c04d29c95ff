package store

import (
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/lib/pq"
)

// ErrUnavailable is the error of a database that cannot be reached or cannot serve yet:
// it is starting up or shutting down, refuses or drops the connection, or the store is
// closed. The request may well succeed later; callers answer "try again" (HTTP 503). The
// driver's error stays in the chain, for the log.
var ErrUnavailable = errors.New("the database is unavailable")

// unavailableError wraps a driver error of the connection class.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return "database unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *unavailableError) Is(target error) bool { return target == ErrUnavailable }

// classify wraps *err in ErrUnavailable when it is of the connection class, so that
// callers decide by the error itself and never by asking the database again afterwards
// (a ping after the failure may already succeed, or still fail, whatever the failure was).
// Every exported method that reaches the database defers it.
func (s *Store) classify(err *error) {
	if *err == nil || errors.Is(*err, ErrUnavailable) {
		return
	}
	if s.closed.Load() || connectionClass(*err) {
		*err = &unavailableError{*err}
	}
}

// connectionClass reports whether err says the database could not be reached or cannot
// serve now, rather than that the request was wrong: PostgreSQL's SQLSTATE classes 08
// (connection exception) and 57P (operator intervention: shutting down, starting up,
// cannot connect now), 53300 (too many connections: every slot taken, for now), and the
// connection refused, reset or cut short below the driver.
func connectionClass(err error) bool {
	var pe *pq.Error
	if errors.As(err, &pe) {
		code := string(pe.Code)
		return strings.HasPrefix(code, "08") || strings.HasPrefix(code, "57P") || code == "53300"
	}
	var ne *net.OpError
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNABORTED),
		errors.Is(err, syscall.EPIPE), errors.Is(err, driver.ErrBadConn), errors.Is(err, sql.ErrConnDone),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &ne):
		return true // dialing or reading the socket failed: no answer from the database
	}
	return false
}
