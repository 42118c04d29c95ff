package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fileerr"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// problem is an RFC 9457 problem detail: the body of every error response.
type problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Errors    []fieldError `json:"errors,omitempty"`
	RequestID string       `json:"request_id,omitempty"`
}

// fieldError names one field of the input and the rule it breaks. Line and Column place
// it in a CSV or policy document.
type fieldError struct {
	Field  string `json:"field"`
	Rule   string `json:"rule"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
}

// kind is a class of problem: its status, type URI and title.
type kind struct {
	status int
	slug   string
	title  string
}

func (k kind) typeURI() string { return "urn:hpcalc:problem:" + k.slug }

// The kinds of problem the API answers with.
var (
	kindBadRequest    = kind{http.StatusBadRequest, "bad-request", "The request is malformed"}
	kindUnauth        = kind{http.StatusUnauthorized, "unauthenticated", "A valid bearer token is required"}
	kindForbidden     = kind{http.StatusForbidden, "forbidden", "The token may not do this"}
	kindNotFound      = kind{http.StatusNotFound, "not-found", "Not found"}
	kindMethod        = kind{http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed"}
	kindNotAcceptable = kind{http.StatusNotAcceptable, "not-acceptable", "No acceptable representation"}
	kindConflict      = kind{http.StatusConflict, "conflict", "Conflict with what is stored"}
	kindTooLarge      = kind{http.StatusRequestEntityTooLarge, "too-large", "The body is over 1 MiB"}
	kindMediaType     = kind{http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported content type"}
	kindInvalid       = kind{http.StatusUnprocessableEntity, "invalid", "The input breaks a rule"}
	kindInternal      = kind{http.StatusInternalServerError, "internal", "Internal error"}
	kindUnavailable   = kind{http.StatusServiceUnavailable, "unavailable", "The database is unreachable"}
)

// kinds lists every kind, for the OpenAPI document.
var kinds = []kind{kindBadRequest, kindUnauth, kindForbidden, kindNotFound, kindMethod, kindNotAcceptable,
	kindConflict, kindTooLarge, kindMediaType, kindInvalid, kindInternal, kindUnavailable}

// errorKinds maps sentinel errors to problems: the one table of it, which kindOf reads.
// An error matching none, and not an *apiError or echo's, is internal (500). calc's and the
// readers' validation errors are not here: the handlers that read input turn them into
// 422s themselves (invalid), so that a bad value read back from the database is never
// blamed on the client.
var errorKinds = []struct {
	err  error
	kind kind
}{
	{store.ErrUnavailable, kindUnavailable}, // first: whatever else the error says, the database did not answer
	{store.ErrNotFound, kindNotFound},
	{store.ErrConflict, kindConflict},
	{store.ErrBadToken, kindUnauth},
}

// retryAfter is the Retry-After, in seconds, of a 503: long enough for a restarting
// database to come up, short enough for a clinic waiting at a discharge desk.
const retryAfter = "5"

// kindOf is the kind of problem err is answered with.
func kindOf(err error) kind {
	var (
		ae *apiError
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &ae):
		return ae.kind
	case errors.As(err, &he):
		return kindFromStatus(he.Code)
	}
	for _, m := range errorKinds {
		if errors.Is(err, m.err) {
			return m.kind
		}
	}
	return kindInternal
}

// apiError is an error a handler returns to answer with a problem of its own making.
type apiError struct {
	kind   kind
	detail string
	fields []fieldError
}

func (e *apiError) Error() string {
	s := e.kind.title
	if e.detail != "" {
		s += ": " + e.detail
	}
	for _, f := range e.fields {
		s += "; " + f.Field + ": " + f.Rule
	}
	return s
}

func fail(k kind, detail string, fields ...fieldError) *apiError {
	return &apiError{kind: k, detail: detail, fields: fields}
}

// problemFor turns err into the problem to answer with. internal reports whether err is
// one whose details must stay in the log. A detail tells the user what they can act on:
// an *apiError's own, a store.Refused's reason, never the text of an error on its way up.
func problemFor(err error) (p problem, internal bool) {
	k, detail, fields := kindOf(err), "", []fieldError(nil)
	var (
		ae  *apiError
		he  *echo.HTTPError
		cfe *store.ConflictError
		rf  *store.Refused
	)
	switch {
	case errors.As(err, &ae):
		detail, fields = ae.detail, ae.fields
	case errors.As(err, &he):
		if msg, ok := he.Message.(string); ok && he.Code < 500 {
			detail = msg
		}
	case errors.As(err, &cfe):
		detail = "claim " + cfe.ClaimID + " was already settled with other values"
		for _, f := range cfe.Fields {
			fields = append(fields, fieldError{Field: f, Rule: "differs from the claim stored under this claim_id"})
		}
	case errors.As(err, &rf):
		detail = rf.Reason
	case errors.Is(err, store.ErrBadToken):
		detail = store.ErrBadToken.Error()
	}
	if k.status >= 500 {
		detail, fields = "", nil
		switch k {
		case kindInternal:
			detail = "an internal error occurred; the server log has its details under this request_id"
		case kindUnavailable:
			detail = "the database does not answer; try again later"
		}
		// A reconciliation that stopped part way says where, and that running it again
		// completes it: its report names nothing internal.
		var rs *ops.ReconcileStopped
		if errors.As(err, &rs) {
			detail = rs.Report() + "; " + detail
		}
		internal = true
	}
	return problem{Type: k.typeURI(), Title: k.title, Status: k.status, Detail: detail, Errors: fields}, internal
}

// invalidInput turns the validation errors of the file readers and calc into a 422
// listing each problem; doc names what was read ("the policy document"). Other errors are
// returned as they are.
func invalidInput(err error, doc string) error {
	var (
		fe *fileerr.Error
		ve *calc.ValidationError
	)
	var fields []fieldError
	switch {
	case errors.As(err, &fe):
		for _, pr := range fe.Problems {
			fields = append(fields, fieldError{Field: fieldOr(pr.Field, "body"), Rule: pr.Rule, Line: pr.Line, Column: pr.Column})
		}
		detail := doc + " is invalid; nothing was stored"
		if fe.Truncated {
			detail += "; reading stopped after " + strconv.Itoa(len(fe.Problems)) + " problems"
		}
		return fail(kindInvalid, detail, fields...)
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			fields = append(fields, fieldError{Field: f.Field, Rule: f.Rule})
		}
		return fail(kindInvalid, ve.What+" is invalid", fields...)
	}
	return err
}

func fieldOr(field, fallback string) string {
	if field == "" {
		return fallback
	}
	return field
}

// kindFromStatus is the kind of echo's own errors: 404 and 405 of the router.
func kindFromStatus(status int) kind {
	for _, k := range kinds {
		if k.status == status {
			return k
		}
	}
	if status >= 500 {
		return kindInternal
	}
	return kind{status, "http-" + strconv.Itoa(status), http.StatusText(status)}
}

// handleError is the one echo.HTTPErrorHandler: it answers err as a problem and logs
// internal errors with the request id.
func (s *server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	req := c.Request()
	p, internal := problemFor(err)
	p.RequestID = requestID(c)
	if internal {
		s.log.ErrorContext(req.Context(), "request failed", "request_id", p.RequestID,
			"method", req.Method, "path", req.URL.Path, "status", p.Status, "error", err.Error())
	}
	switch p.Status {
	case http.StatusUnauthorized:
		c.Response().Header().Set("WWW-Authenticate", `Bearer realm="hpcalc"`)
	case http.StatusServiceUnavailable:
		c.Response().Header().Set("Retry-After", retryAfter)
	}
	body, merr := json.Marshal(p)
	if merr != nil {
		body = []byte(`{"type":"urn:hpcalc:problem:internal","title":"Internal error","status":500}`)
		p.Status = http.StatusInternalServerError
	}
	if req.Method == http.MethodHead {
		_ = c.NoContent(p.Status)
		return
	}
	_ = c.Blob(p.Status, "application/problem+json", append(body, '\n'))
}
