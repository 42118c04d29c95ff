package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/hpcalc/hpcalc/api"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// env is an API on a store, with a token of each role.
type env struct {
	t      testing.TB
	store  *store.Store
	e      *echo.Echo
	logs   *syncBuffer
	tokens map[string]string // by role; "clinic" acts for TWN01, "clinic2" for CTY01
}

// Names of the test tokens.
const (
	asAdmin   = store.RoleAdmin
	asAuditor = store.RoleAuditor
	asFinance = store.RoleFinance
	asClinic  = store.RoleClinic // provider TWN01
	asClinic2 = "clinic2"        // provider CTY01
	ownClinic = "TWN01"
	otherProv = "CTY01"
)

// newEnv returns an API on s with the shipped policy, persons and providers loaded
// through the API itself, and a token of each role.
func newEnv(t testing.TB, s *store.Store) *env {
	t.Helper()
	v := &env{t: t, store: s, logs: &syncBuffer{}, tokens: map[string]string{}}
	v.e = api.New(api.Config{Store: s, Logger: slog.New(slog.NewJSONHandler(v.logs, nil))})
	v.tokens[asAdmin] = v.token(store.Token{Role: store.RoleAdmin})
	v.loadFixtures()
	v.tokens[asAuditor] = v.token(store.Token{Role: store.RoleAuditor})
	v.tokens[asFinance] = v.token(store.Token{Role: store.RoleFinance})
	v.tokens[asClinic] = v.token(store.Token{Role: store.RoleClinic, Providers: []string{ownClinic}})
	v.tokens[asClinic2] = v.token(store.Token{Role: store.RoleClinic, Providers: []string{otherProv}})
	return v
}

func (v *env) token(tok store.Token) string {
	v.t.Helper()
	plain, err := v.store.CreateToken(context.Background(), tok)
	if err != nil {
		v.t.Fatal(err)
	}
	return plain
}

// loadFixtures publishes the shipped policy and puts the shipped persons and providers
// as CSV, all through the API.
func (v *env) loadFixtures() {
	v.t.Helper()
	for _, step := range []struct {
		method, path, file, contentType string
		status                          int
	}{
		{http.MethodPost, "/v1/policies", fixtures.PolicyFile, "application/yaml", http.StatusCreated},
		{http.MethodPut, "/v1/persons", fixtures.PersonsFile, "text/csv", http.StatusOK},
		{http.MethodPut, "/v1/providers", fixtures.ProvidersFile, "text/csv", http.StatusOK},
	} {
		body, err := fixtures.FS.ReadFile(step.file)
		if err != nil {
			v.t.Fatal(err)
		}
		rec := v.do(step.method, step.path, asAdmin, step.contentType, body)
		if rec.Code != step.status {
			v.t.Fatalf("%s %s: %d %s", step.method, step.path, rec.Code, rec.Body)
		}
	}
}

// do sends a request as the token named as ("" for none) and returns the response.
func (v *env) do(method, path, as, contentType string, body []byte, header ...string) *httptest.ResponseRecorder {
	v.t.Helper()
	return v.serve(v.request(method, path, as, contentType, body, header...))
}

func (v *env) request(method, path, as, contentType string, body []byte, header ...string) *http.Request {
	v.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if as != "" {
		tok, ok := v.tokens[as]
		if !ok {
			tok = as // a literal token
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

// serve answers req and checks the exchange against /openapi.json (conform). A
// benchmark is not checked: it measures the handler, not the validator.
func (v *env) serve(req *http.Request) *httptest.ResponseRecorder {
	var body []byte
	if req.Body != nil {
		var err error
		if body, err = io.ReadAll(req.Body); err != nil {
			v.t.Errorf("read request body: %v", err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	rec := httptest.NewRecorder()
	v.e.ServeHTTP(rec, req)
	if _, bench := v.t.(*testing.B); !bench {
		if err := conform(v.e, req, body, rec); err != nil {
			// Errorf, not Fatalf: serve runs on the goroutines of concurrency tests too.
			v.t.Errorf("%v", err)
		}
	}
	return rec
}

// postJSON sends body as JSON.
func (v *env) postJSON(path, as string, body any) *httptest.ResponseRecorder {
	v.t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		v.t.Fatal(err)
	}
	return v.do(http.MethodPost, path, as, "application/json", b)
}

// want checks a response's status and decodes its JSON body into out (if not nil).
func want(t testing.TB, rec *httptest.ResponseRecorder, status int, out any) {
	t.Helper()
	if rec.Code != status {
		t.Fatalf("status %d, want %d: %s", rec.Code, status, rec.Body)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			t.Fatalf("decode %s: %v", rec.Body, err)
		}
	}
}

// claimBody is the API's body of claim c.
func claimBody(c calc.Claim) map[string]any {
	return map[string]any{
		"claim_id": c.ID, "person_id": c.PersonID, "provider_id": c.ProviderID, "kind": c.Kind.String(),
		"admitted_on": c.AdmittedOn.String(), "discharged_on": c.DischargedOn.String(),
		"total": c.Total.String(), "in_policy": c.InPolicy.String(),
	}
}

// testClaim is an inpatient claim of person at provider, discharged 2018-06-01.
func testClaim(id, person, provider string, total calc.Money) calc.Claim {
	d := calc.NewDate(2018, 6, 1)
	return calc.Claim{ID: id, PersonID: person, ProviderID: provider, Kind: calc.Inpatient,
		AdmittedOn: d - 5, DischargedOn: d, Total: total, InPolicy: total * 8 / 10}
}

// settlement is the API's settlement as the tests read it.
type settlement struct {
	Type          string `json:"type"`
	SettlementID  string `json:"settlement_id"`
	Reverses      string `json:"reverses"`
	ReversedBy    string `json:"reversed_by"`
	Reason        string `json:"reason"`
	ClaimID       string `json:"claim_id"`
	PersonID      string `json:"person_id"`
	ProviderID    string `json:"provider_id"`
	Level         string `json:"level"`
	PolicyVersion string `json:"policy_version"`
	Total         string `json:"total"`
	OutOfPocket   string `json:"out_of_pocket"`
	Lines         []struct {
		Name        string  `json:"name"`
		Applies     bool    `json:"applies"`
		Amount      string  `json:"amount"`
		Base        string  `json:"base"`
		Deductible  string  `json:"deductible"`
		Rate        string  `json:"rate"`
		Bands       []band  `json:"bands"`
		CapRoom     *string `json:"cap_room"`
		Explanation string  `json:"explanation"`
	} `json:"lines"`
	LedgerAfter ledger `json:"ledger_after"`
}

type band struct {
	From, To, Rate string
}

type ledger struct {
	Year        int    `json:"year"`
	Claims      int    `json:"claims"`
	Total       string `json:"total"`
	OutOfPocket string `json:"out_of_pocket"`
	BasicPaid   string `json:"basic_paid"`
}

// problem is an RFC 9457 problem as the tests read it.
type problem struct {
	Type      string `json:"type"`
	Title     string `json:"title"`
	Status    int    `json:"status"`
	Detail    string `json:"detail"`
	RequestID string `json:"request_id"`
	Errors    []struct {
		Field string `json:"field"`
		Rule  string `json:"rule"`
	} `json:"errors"`
}

// fields lists the fields of a problem's errors.
func (p problem) fields() []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for concurrent writes (the logger).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// Reset forgets what was logged, so that a benchmark's logs do not pile up.
func (b *syncBuffer) Reset() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b.Reset()
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// policyYAML is the shipped policy document under another version, in force for year.
func policyYAML(t testing.TB, version string, year int) []byte {
	t.Helper()
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.Replace(string(doc), "version: pingxiang-2018", "version: "+version, 1)
	s = strings.Replace(s, "from: 2018-01-01", fmt.Sprintf("from: %d-01-01", year), 1)
	s = strings.Replace(s, "to: 2018-12-31", fmt.Sprintf("to: %d-12-31", year), 1)
	return []byte(s)
}

// settleShipped settles every shipped claim through the store in discharge order and
// returns the fixtures and the first settlement.
func settleShipped(t testing.TB, s *store.Store) (*fixtures.Data, store.SettlementRecord) {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	var first store.SettlementRecord
	for n, i := range replay.Order(d.Claims.Claims) {
		st, _, err := ops.New(s).Settle(context.Background(), d.Claims.Claims[i])
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			first = st
		}
	}
	return d, first
}
