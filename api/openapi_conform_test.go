package api_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/hpcalc/hpcalc/workbook"
	"github.com/labstack/echo/v4"
)

// The served /openapi.json, loaded and validated once, and a router over it: every
// response the API tests receive is checked against it, so the document cannot say
// one thing while the handlers do another.
var (
	specOnce   sync.Once
	specRouter routers.Router
	specErr    error
)

// spec loads the document e serves. Every API serves the same document, so the first
// env's will do for all.
func spec(e *echo.Echo) (routers.Router, error) {
	specOnce.Do(func() {
		// The workbook is binary; kin-openapi knows no decoder for its media type.
		openapi3filter.RegisterBodyDecoder(workbook.MediaXLSX, openapi3filter.FileBodyDecoder)
		// kin-openapi's CSV decoder wants every record as wide as the first; a report
		// as CSV is several tables one after another, so only the quoting is checked.
		openapi3filter.RegisterBodyDecoder("text/csv", decodeCSV)
		// The document gives a policy as YAML text (its example is the shipped file);
		// kin-openapi would parse it into an object. It must parse; the text is checked.
		openapi3filter.RegisterBodyDecoder("application/yaml", decodeYAML)
		rec := httptest.NewRecorder()
		e.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/openapi.json", nil))
		if rec.Code != http.StatusOK {
			specErr = fmt.Errorf("GET /openapi.json: %d %s", rec.Code, rec.Body)
			return
		}
		doc, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes())
		if err != nil {
			specErr = fmt.Errorf("load /openapi.json: %w", err)
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			specErr = fmt.Errorf("validate /openapi.json: %w", err)
			return
		}
		specRouter, specErr = legacy.NewRouter(doc)
	})
	return specRouter, specErr
}

// decodeCSV reads a CSV body whose records may differ in width, and gives it as the
// string the document's schema describes.
func decodeCSV(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	if _, err := r.ReadAll(); err != nil {
		return nil, fmt.Errorf("not CSV: %w", err)
	}
	return string(b), nil
}

// decodeYAML checks that a body is YAML and gives it as the string the document's
// schema describes.
func decodeYAML(body io.Reader, h http.Header, schema *openapi3.SchemaRef, enc openapi3filter.EncodingFn) (any, error) {
	b, err := io.ReadAll(body)
	if err != nil {
		return nil, err
	}
	if _, err := openapi3filter.YamlBodyDecoder(bytes.NewReader(b), h, schema, enc); err != nil {
		return nil, fmt.Errorf("not YAML: %w", err)
	}
	return string(b), nil
}

// conform checks one exchange against the document: the response always (status,
// content type, body), the request only when the server accepted it (status below 400).
// Tests that send bad input on purpose get 4xx answers, so their requests are not
// held to the document, but their problem+json answers are.
func conform(e *echo.Echo, req *http.Request, reqBody []byte, rec *httptest.ResponseRecorder) error {
	router, err := spec(e)
	if err != nil {
		return err
	}
	// A fresh request: the handler has read the original's body.
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, pathParams, err := router.FindRoute(r)
	if err != nil {
		if rec.Code == http.StatusNotFound || rec.Code == http.StatusMethodNotAllowed {
			return nil // a path or method the API does not have: nothing documents it
		}
		return fmt.Errorf("%s %s answered %d but the document has no such route: %w", req.Method, req.URL.Path, rec.Code, err)
	}
	opts := &openapi3filter.Options{
		AuthenticationFunc:    openapi3filter.NoopAuthenticationFunc,
		IncludeResponseStatus: true,
		MultiError:            true,
	}
	// The default message prints the whole schema and value; the field and rule say enough.
	opts.WithCustomSchemaErrorFunc(func(err *openapi3.SchemaError) string {
		return "/" + strings.Join(err.JSONPointer(), "/") + ": " + err.Reason
	})
	in := &openapi3filter.RequestValidationInput{Request: r, PathParams: pathParams, Route: route, Options: opts}
	var errs []error
	if rec.Code < http.StatusBadRequest {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			errs = append(errs, fmt.Errorf("request: %w", err))
		}
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 rec.Code,
		Header:                 rec.Header(),
		Body:                   io.NopCloser(bytes.NewReader(rec.Body.Bytes())),
		Options:                opts,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		errs = append(errs, fmt.Errorf("response: %w", err))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%s %s (route %s) answered %d, not as /openapi.json says: %w", req.Method, req.URL.RequestURI(), route.Path, rec.Code, err)
	}
	return nil
}

// TestOpenAPIHookCatchesWrongAnswers shows that conform fails answers the document does
// not allow, and passes one it does: the check on every test's responses is not idle.
func TestOpenAPIHookCatchesWrongAnswers(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		for _, tc := range []struct {
			name        string
			status      int
			contentType string
			body        string
			wantErr     bool
		}{
			{"as documented", http.StatusOK, "application/json", `{"status":"ok"}`, false},
			{"wrong body type", http.StatusOK, "application/json", `{"status":5}`, true},
			{"field not documented", http.StatusOK, "application/json", `{"status":"ok","extra":1}`, true},
			{"required field missing", http.StatusOK, "application/json", `{}`, true},
			{"status not documented", http.StatusTeapot, "application/json", `{"status":"ok"}`, true},
			{"content type not documented", http.StatusOK, "text/html", `<p>ok</p>`, true},
			{"problem without its status", http.StatusInternalServerError, "application/problem+json", `{"type":"urn:x","title":"x"}`, true},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rec := httptest.NewRecorder()
				rec.Header().Set("Content-Type", tc.contentType)
				rec.WriteHeader(tc.status)
				rec.WriteString(tc.body)
				err := conform(v.e, httptest.NewRequest(http.MethodGet, "/healthz", nil), nil, rec)
				if (err != nil) != tc.wantErr {
					t.Fatalf("conform: %v, want error: %v", err, tc.wantErr)
				}
			})
		}
	})
}
