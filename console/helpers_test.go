package console_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/api"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/console"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// Names of the test tokens.
const (
	asAdmin   = store.RoleAdmin
	asAuditor = store.RoleAuditor
	asFinance = store.RoleFinance
	asClinic  = store.RoleClinic // provider TWN01
	asClinic2 = "clinic2"        // provider CTY01
	ownClinic = "TWN01"
)

// today is the console's clock in the tests: a day the shipped policy covers.
var today = time.Date(2018, 3, 15, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))

// env is the console and the API on one server, on a store with the shipped policy,
// persons and providers, and a token of each role.
type env struct {
	t      testing.TB
	store  *store.Store
	srv    *httptest.Server
	tokens map[string]string
}

func newEnv(t testing.TB) *env {
	t.Helper()
	return newEnvOn(t, storetest.SQLite(t), false)
}

// newEnvOn is newEnv on store s, served over TLS if tls; configure, if any, change the
// console's configuration.
func newEnvOn(t testing.TB, s *store.Store, tls bool, configure ...func(*console.Config)) *env {
	t.Helper()
	v := &env{t: t, store: s, tokens: map[string]string{}}
	// The store's clock runs from the console's day, so that settlements are made on
	// the day they are discharged, as at a window.
	offset := time.Until(today)
	s.Now = func() time.Time { return time.Now().Add(offset) }
	ctx := context.Background()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range d.Policies.Policies() {
		if err := s.PublishPolicy(ctx, p, doc); err != nil {
			t.Fatal(err)
		}
	}
	var persons []calc.Person
	for _, p := range d.Persons {
		persons = append(persons, p)
	}
	var providers []calc.Provider
	for _, p := range d.Providers {
		providers = append(providers, p)
	}
	if err := s.UpsertPersons(ctx, persons); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertProviders(ctx, providers); err != nil {
		t.Fatal(err)
	}
	for name, tok := range map[string]store.Token{
		asAdmin: {Role: store.RoleAdmin}, asAuditor: {Role: store.RoleAuditor}, asFinance: {Role: store.RoleFinance},
		asClinic: {Role: store.RoleClinic, Providers: []string{ownClinic}}, asClinic2: {Role: store.RoleClinic, Providers: []string{"CTY01"}},
	} {
		if v.tokens[name], err = s.CreateToken(ctx, tok); err != nil {
			t.Fatal(err)
		}
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	operations := ops.New(s)
	cfg := console.Config{Store: s, Ops: operations, Logger: logger, Now: func() time.Time { return today }}
	for _, f := range configure {
		f(&cfg)
	}
	con, err := console.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := con.Handler(api.New(api.Config{Store: s, Ops: operations, Logger: logger}))
	if tls {
		v.srv = httptest.NewTLSServer(h)
	} else {
		v.srv = httptest.NewServer(h)
	}
	t.Cleanup(v.srv.Close)
	return v
}

// user is a browser without a script: a cookie jar that does not follow redirects.
type user struct {
	v      *env
	client *http.Client
}

func (v *env) user() *user {
	jar, _ := cookiejar.New(nil)
	c := *v.srv.Client() // a copy: each user has a jar of their own
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &user{v: v, client: &c}
}

// signedIn is a user signed in with the token of name.
func (v *env) signedIn(name string) *user {
	v.t.Helper()
	u := v.user()
	if res := u.signin(v.tokens[name]); res.StatusCode != http.StatusSeeOther {
		v.t.Fatalf("sign in as %s: status %d", name, res.StatusCode)
	}
	return u
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the form on the page at path.
func (u *user) csrf(path string) string {
	u.v.t.Helper()
	res, body := u.get(path)
	m := csrfField.FindStringSubmatch(body)
	if res.StatusCode != http.StatusOK || m == nil {
		u.v.t.Fatalf("GET %s: status %d, no csrf field", path, res.StatusCode)
	}
	return m[1]
}

func (u *user) signin(token string) *http.Response {
	u.v.t.Helper()
	return u.post("/signin", url.Values{"token": {token}, "csrf": {u.csrf("/signin")}})
}

func (u *user) get(path string) (*http.Response, string) {
	u.v.t.Helper()
	return u.do(http.MethodGet, path, "", nil)
}

func (u *user) post(path string, form url.Values) *http.Response {
	u.v.t.Helper()
	res, _ := u.do(http.MethodPost, path, form.Encode(), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
	return res
}

func (u *user) postBody(path string, form url.Values) (*http.Response, string) {
	u.v.t.Helper()
	return u.do(http.MethodPost, path, form.Encode(), http.Header{"Content-Type": {"application/x-www-form-urlencoded"}})
}

func (u *user) do(method, path, body string, h http.Header) (*http.Response, string) {
	u.v.t.Helper()
	req, err := http.NewRequest(method, u.v.srv.URL+path, strings.NewReader(body))
	if err != nil {
		u.v.t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	res, err := u.client.Do(req)
	if err != nil {
		u.v.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		u.v.t.Fatal(err)
	}
	return res, string(b)
}

// apiJSON calls the API with the bearer token of name and decodes its JSON answer.
func (v *env) apiJSON(name, method, path, body string, out any) int {
	v.t.Helper()
	req, err := http.NewRequest(method, v.srv.URL+path, strings.NewReader(body))
	if err != nil {
		v.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+v.tokens[name])
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := v.srv.Client().Do(req)
	if err != nil {
		v.t.Fatal(err)
	}
	defer res.Body.Close()
	if out != nil && strings.Contains(res.Header.Get("Content-Type"), "json") {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			v.t.Fatal(err)
		}
	}
	return res.StatusCode
}

// apiSettlement is the API's JSON of a settlement, what the tests compare with.
type apiSettlement struct {
	SettlementID string `json:"settlement_id"`
	ClaimID      string `json:"claim_id"`
	Total        string `json:"total"`
	InPolicy     string `json:"in_policy"`
	OutOfPocket  string `json:"out_of_pocket"`
	Lines        []struct {
		Name        string `json:"name"`
		Amount      string `json:"amount"`
		Explanation string `json:"explanation"`
	} `json:"lines"`
}

// settleByAPI settles a claim of TWN01 through the API as the clinic.
func (v *env) settleByAPI(claimID, personID, total, inPolicy string) apiSettlement {
	v.t.Helper()
	var out apiSettlement
	body := `{"claim_id":"` + claimID + `","person_id":"` + personID + `","provider_id":"TWN01","kind":"inpatient",
		"admitted_on":"2018-03-10","discharged_on":"2018-03-15","total":"` + total + `","in_policy":"` + inPolicy + `"}`
	if st := v.apiJSON(asClinic, http.MethodPost, "/v1/settlements", body, &out); st != http.StatusCreated {
		v.t.Fatalf("settle %s through the API: status %d", claimID, st)
	}
	return out
}
