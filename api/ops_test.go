package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/hpcalc/hpcalc/api"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/lib/pq"
)

var update = flag.Bool("update", false, "rewrite ROUTES.md")

// TestRoutesMarkdown keeps ROUTES.md equal to the route table it shows.
func TestRoutesMarkdown(t *testing.T) {
	got := api.RoutesMarkdown()
	if *update {
		if err := os.WriteFile("ROUTES.md", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	file, err := os.ReadFile("ROUTES.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(file) != got {
		t.Errorf("ROUTES.md is not the route table; run go test ./api -run TestRoutesMarkdown -update\n%s", got)
	}
	// The README carries the same table of routes and roles.
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	table := got[strings.Index(got, "| method"):]
	table = table[:strings.Index(table, "\n\n")]
	if !strings.Contains(string(readme), table) {
		t.Errorf("README.md lacks the current route table; copy it from api/ROUTES.md:\n%s", table)
	}
}

// TestOpenAPIComplete checks that every route echo serves is in the OpenAPI document and
// every operation of the document is a route.
func TestOpenAPIComplete(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	rec := v.do(http.MethodGet, "/openapi.json", "", "", nil)
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	want(t, rec, http.StatusOK, &doc)
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	inDoc := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			inDoc[strings.ToUpper(method)+" "+path] = true
			var o struct {
				Summary   string         `json:"summary"`
				Responses map[string]any `json:"responses"`
			}
			if err := json.Unmarshal(op, &o); err != nil || o.Summary == "" || len(o.Responses) == 0 {
				t.Errorf("%s %s: %s", method, path, op)
			}
		}
	}
	param := regexp.MustCompile(`:([^/]+)`)
	served := map[string]bool{}
	for _, r := range v.e.Routes() {
		key := r.Method + " " + param.ReplaceAllString(r.Path, "{$1}")
		served[key] = true
		if !inDoc[key] {
			t.Errorf("route %s is not in the OpenAPI document", key)
		}
	}
	for key := range inDoc {
		if !served[key] {
			t.Errorf("the OpenAPI document has %s, which is not a route", key)
		}
	}
	if len(served) != len(api.Routes()) {
		t.Errorf("echo serves %d routes, the table has %d", len(served), len(api.Routes()))
	}
	// Every schema referred to is defined.
	var full map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &full)
	comps := full["components"].(map[string]any)
	for _, ref := range regexp.MustCompile(`"\$ref":\s*"#/components/(\w+)/([^"]+)"`).FindAllStringSubmatch(rec.Body.String(), -1) {
		section, _ := comps[ref[1]].(map[string]any)
		if _, ok := section[ref[2]]; !ok {
			t.Errorf("$ref to undefined %s/%s", ref[1], ref[2])
		}
	}
}

func TestMetrics(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	c := testClaim("M1", "P00001", ownClinic, 5000*calc.Yuan)
	want(t, v.postJSON("/v1/settlements", asClinic, claimBody(c)), http.StatusCreated, nil)
	want(t, v.postJSON("/v1/settlements", asClinic, claimBody(c)), http.StatusOK, nil)
	want(t, v.do(http.MethodGet, "/v1/settlements/nope", asAuditor, "", nil), http.StatusNotFound, nil)
	want(t, v.do(http.MethodGet, "/no/such/route", "", "", nil), http.StatusNotFound, nil)
	rec := v.do(http.MethodGet, "/metrics", "", "", nil)
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: %d %s", rec.Code, rec.Header())
	}
	m := rec.Body.String()
	for _, line := range []string{
		"# TYPE hpcalc_http_requests_total counter",
		`hpcalc_http_requests_total{method="POST",route="/v1/settlements",status="201"} 1`,
		`hpcalc_http_requests_total{method="POST",route="/v1/settlements",status="200"} 1`,
		`hpcalc_http_requests_total{method="GET",route="/v1/settlements/{id}",status="404"} 1`,
		`hpcalc_http_requests_total{method="GET",route="unmatched",status="404"} 1`,
		`hpcalc_http_requests_total{method="PUT",route="/v1/persons",status="200"} 1`,
		"# TYPE hpcalc_http_request_duration_seconds histogram",
		`hpcalc_http_request_duration_seconds_bucket{method="POST",route="/v1/settlements",status="201",le="+Inf"} 1`,
		`hpcalc_http_request_duration_seconds_count{method="POST",route="/v1/settlements",status="201"} 1`,
		"# TYPE hpcalc_settlements_total counter",
		`hpcalc_settlements_total{outcome="created"} 1`,
		`hpcalc_settlements_total{outcome="replayed"} 1`,
		`hpcalc_settlements_total{outcome="conflict"} 0`,
		`hpcalc_settlements_total{outcome="invalid"} 0`,
		"hpcalc_quote_cache_on 1",
		"# TYPE hpcalc_quote_cache_lookups_total counter",
		`hpcalc_quote_cache_lookups_total{result="hit"} `,
		`hpcalc_quote_cache_lookups_total{result="miss"} `,
		"# TYPE go_goroutines gauge",
		"# TYPE process_resident_memory_bytes gauge",
	} {
		if !strings.Contains(m, line+"\n") && !(strings.HasSuffix(line, " ") && strings.Contains(m, line)) {
			t.Errorf("metrics lack %s", line)
		}
	}
	// Every sample line is NAME{labels} VALUE or NAME VALUE.
	sample := regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? ([0-9.e+-]+|NaN|[+-]Inf)$`)
	for _, line := range strings.Split(strings.TrimSpace(m), "\n") {
		if !strings.HasPrefix(line, "# ") && !sample.MatchString(line) {
			t.Errorf("bad metrics line %q", line)
		}
	}
}

// TestUnavailable closes the database under the API: /readyz and every route that needs
// the database answer 503; /healthz still answers 200.
func TestUnavailable(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		want(t, v.do(http.MethodGet, "/readyz", "", "", nil), http.StatusOK, nil)
		s.Close()
		var p problem
		want(t, v.do(http.MethodGet, "/readyz", "", "", nil), http.StatusServiceUnavailable, &p)
		if p.Type != "urn:hpcalc:problem:unavailable" {
			t.Errorf("readyz problem %+v", p)
		}
		want(t, v.do(http.MethodGet, "/v1/policies", asAdmin, "", nil), http.StatusServiceUnavailable, &p)
		want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(testClaim("U1", "P00001", ownClinic, 100))), http.StatusServiceUnavailable, &p)
		if strings.Contains(p.Detail, "closed") {
			t.Errorf("503 shows the internal error: %+v", p)
		}
		want(t, v.do(http.MethodGet, "/healthz", "", "", nil), http.StatusOK, nil)
	})
}

// TestDatabaseUnavailable makes the database fail as one that is starting up, shutting
// down or unreachable does, through the real handlers: each connection-class error is a
// 503 with Retry-After, though the database answers a ping at once (the answer must come
// from the error, not from asking again); any other database error stays a 500.
func TestDatabaseUnavailable(t *testing.T) {
	s, fault := storetest.Faulty(t)
	v := newEnv(t, s)
	claim := claimBody(testClaim("DU1", "P00001", ownClinic, 5000*calc.Yuan))
	for _, tt := range []struct {
		name   string
		err    error
		status int
	}{
		{"StartingUp", &pq.Error{Severity: "FATAL", Code: "57P03", Message: "the database system is starting up"}, http.StatusServiceUnavailable},
		{"AdminShutdown", &pq.Error{Severity: "FATAL", Code: "57P01", Message: "terminating connection due to administrator command"}, http.StatusServiceUnavailable},
		{"ConnectionFailure", &pq.Error{Code: "08006", Message: "connection failure"}, http.StatusServiceUnavailable},
		{"Refused", &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, http.StatusServiceUnavailable},
		{"Reset", fmt.Errorf("read: %w", syscall.ECONNRESET), http.StatusServiceUnavailable},
		{"UndefinedTable", &pq.Error{Code: "42P01", Message: `relation "claims" does not exist`}, http.StatusInternalServerError},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fault.Set(tt.err)
			defer fault.Set(nil)
			for name, rec := range map[string]*httptest.ResponseRecorder{
				"GET /v1/policies":         v.do(http.MethodGet, "/v1/policies", asAdmin, "", nil),
				"POST /v1/settlements":     v.postJSON("/v1/settlements", asClinic, claim),
				"GET /v1/settlements/{id}": v.do(http.MethodGet, "/v1/settlements/S1", asAuditor, "", nil),
				"GET /v1/reports/tally":    v.do(http.MethodGet, "/v1/reports/tally?from=2018-01-01&to=2018-12-31", asFinance, "", nil),
			} {
				var p problem
				want(t, rec, tt.status, &p)
				retry := rec.Header().Get("Retry-After")
				if tt.status == http.StatusServiceUnavailable && (p.Type != "urn:hpcalc:problem:unavailable" || retry == "") {
					t.Errorf("%s: %+v, Retry-After %q", name, p, retry)
				}
				if tt.status != http.StatusServiceUnavailable && retry != "" {
					t.Errorf("%s: Retry-After %q on a %d", name, retry, rec.Code)
				}
				if strings.Contains(rec.Body.String(), tt.err.Error()) {
					t.Errorf("%s: the answer shows the driver's error: %s", name, rec.Body)
				}
			}
		})
	}
	want(t, v.do(http.MethodGet, "/readyz", "", "", nil), http.StatusOK, nil)
	want(t, v.postJSON("/v1/settlements", asClinic, claim), http.StatusCreated, nil)
}

// TestInternalError makes the database hold a policy document that cannot be read: the
// client gets a 500 that says nothing of it, and the log has the error under the
// request id.
func TestInternalError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hpcalc.db")
	s, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	defer s.Close()
	if _, err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	v := newEnv(t, s)
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`INSERT INTO policies VALUES ('broken-2030', '2030-01-01', '2030-12-31', 'secret: [', 'x')`); err != nil {
		t.Fatal(err)
	}
	var p problem
	rec := v.do(http.MethodGet, "/v1/policies", asAdmin, "", nil, "X-Request-ID", "req-500")
	want(t, rec, http.StatusInternalServerError, &p)
	if p.Type != "urn:hpcalc:problem:internal" || p.RequestID != "req-500" || strings.Contains(rec.Body.String(), "broken") ||
		strings.Contains(rec.Body.String(), "secret") || len(p.Errors) != 0 {
		t.Errorf("500 problem: %s", rec.Body)
	}
	var logged bool
	for _, line := range strings.Split(v.logs.String(), "\n") {
		if strings.Contains(line, `"request_id":"req-500"`) && strings.Contains(line, `"level":"ERROR"`) && strings.Contains(line, "broken-2030") {
			logged = true
		}
	}
	if !logged {
		t.Errorf("the internal error is not logged with the request id:\n%s", v.logs)
	}
}

func TestRequestID(t *testing.T) {
	v := newEnv(t, storetest.SQLite(t))
	rec := v.do(http.MethodGet, "/healthz", "", "", nil, "X-Request-ID", "abc-123")
	if got := rec.Header().Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("X-Request-ID %q, want the client's abc-123", got)
	}
	if !strings.Contains(v.logs.String(), `"request_id":"abc-123"`) {
		t.Errorf("the request id is not logged:\n%s", v.logs)
	}
	hex := regexp.MustCompile(`^[0-9a-f]{24}$`)
	for _, sent := range []string{"", "has space", strings.Repeat("x", 129), "new\nline"} {
		rec := v.do(http.MethodGet, "/healthz", "", "", nil, "X-Request-ID", sent)
		if got := rec.Header().Get("X-Request-ID"); !hex.MatchString(got) {
			t.Errorf("sent %q: X-Request-ID %q, want a new one", sent, got)
		}
	}
	var p problem
	rec = v.do(http.MethodGet, "/v1/settlements/x", "", "", nil)
	want(t, rec, http.StatusUnauthorized, &p)
	if p.RequestID != rec.Header().Get("X-Request-ID") {
		t.Errorf("problem request_id %q, header %q", p.RequestID, rec.Header().Get("X-Request-ID"))
	}
	// Each log line is one JSON object with the fields of a request.
	for _, line := range strings.Split(strings.TrimSpace(v.logs.String()), "\n") {
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if entry["msg"] == "request" {
			for _, k := range []string{"request_id", "method", "route", "path", "status", "duration"} {
				if _, ok := entry[k]; !ok {
					t.Errorf("log line lacks %s: %s", k, line)
				}
			}
		}
	}
}

// TestPublicRoutes: only the four operational routes need no token.
func TestPublicRoutes(t *testing.T) {
	var public []string
	for _, r := range api.Routes() {
		if r.Roles == nil {
			public = append(public, r.Path)
		}
	}
	if !slices.Equal(public, []string{"/healthz", "/readyz", "/metrics", "/openapi.json"}) {
		t.Errorf("routes without a token: %v", public)
	}
}

// TestCorrectionsUnavailable fails only the statements of the reconciliation, refunds and
// adjustments paths, past authentication, as a database that goes away in the middle of
// a request does: each is a 503 with Retry-After, any other database error a 500.
func TestCorrectionsUnavailable(t *testing.T) {
	s, fault := storetest.Faulty(t)
	v := newEnv(t, s)
	first := v.postJSON("/v1/settlements", asClinic, claimBody(testClaim("CU1", "P00001", ownClinic, 5000*calc.Yuan)))
	var st struct {
		SettlementID string `json:"settlement_id"`
	}
	want(t, first, http.StatusCreated, &st)
	refunds := "/v1/reports/refunds?from=2018-01-01&to=2018-12-31"
	for _, tt := range []struct {
		name, match string
		do          func() *httptest.ResponseRecorder
	}{
		{"reconcile", "SELECT concat_ws", func() *httptest.ResponseRecorder { // the read of every person-year
			return v.postJSON("/v1/reconciliations", asAdmin, map[string]any{"from": "2018-01-01", "to": "2018-12-31", "apply": true})
		}},
		{"reconcile person-year", "FROM adjustments", func() *httptest.ResponseRecorder {
			return v.postJSON("/v1/reconciliations", asAuditor, map[string]any{"from": "2018-01-01", "to": "2018-12-31"})
		}},
		{"refunds", "FROM adjustments", func() *httptest.ResponseRecorder { return v.do(http.MethodGet, refunds, asFinance, "", nil) }},
		{"refunds csv", "FROM adjustments", func() *httptest.ResponseRecorder {
			return v.do(http.MethodGet, refunds+"&format=csv", asFinance, "", nil)
		}},
		{"settlement's adjustments", "FROM adjustments", func() *httptest.ResponseRecorder {
			return v.do(http.MethodGet, "/v1/settlements/"+st.SettlementID, asAuditor, "", nil)
		}},
		{"reversal", "FROM adjustments", func() *httptest.ResponseRecorder {
			return v.postJSON("/v1/settlements/"+st.SettlementID+"/reversal", asAdmin, map[string]any{"reason": "test"})
		}},
	} {
		for _, c := range []struct {
			err    error
			status int
		}{
			{&pq.Error{Code: "08006", Message: "connection failure"}, http.StatusServiceUnavailable},
			{&pq.Error{Code: "42P01", Message: `relation "adjustments" does not exist`}, http.StatusInternalServerError},
		} {
			t.Run(fmt.Sprintf("%s/%d", tt.name, c.status), func(t *testing.T) {
				fault.SetOn(tt.match, 0, c.err)
				rec := tt.do()
				fault.SetOn("", 0, nil)
				var p problem
				want(t, rec, c.status, &p)
				if retry := rec.Header().Get("Retry-After"); (c.status == http.StatusServiceUnavailable) != (retry != "") {
					t.Errorf("%d with Retry-After %q", rec.Code, retry)
				}
			})
		}
	}
	want(t, v.do(http.MethodGet, refunds, asFinance, "", nil), http.StatusOK, nil)
}
