package console_test

import (
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestCSP checks the Content-Security-Policy of every page and that no page needs what it
// forbids: no inline script, no inline style, no event handler attribute, nothing from
// another origin.
func TestCSP(t *testing.T) {
	v := newEnv(t)
	st := v.settleByAPI("C-CSP", "P00001", "1000.00", "800.00")
	admin := v.signedIn(asAdmin)
	pages := []string{"/signin", "/discharge", "/admin", "/sessions", "/v1/settlements/" + st.SettlementID + "/slip", "/nope"}
	inline := regexp.MustCompile(`(?i)\sstyle=|\son[a-z]+=|<style|https?://`)
	script := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
	for _, p := range pages {
		res, body := admin.get(p)
		got := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: CSP %q lacks %q", p, got, want)
			}
		}
		if strings.Contains(got, "unsafe") || strings.Contains(got, "http") {
			t.Errorf("%s: CSP %q allows inline code or another origin", p, got)
		}
		for _, m := range script.FindAllStringSubmatch(body, -1) {
			if !strings.Contains(m[1], `src="/static/`) || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s: inline script %q", p, m[0])
			}
		}
		if m := inline.FindString(body); m != "" {
			t.Errorf("%s: the page has %q, which the CSP forbids or which loads from elsewhere", p, m)
		}
	}
}

// TestSignin checks the sign-in form: its CSRF check, a bad token, and the session
// cookie's attributes over HTTP and TLS.
func TestSignin(t *testing.T) {
	for _, tls := range []bool{false, true} {
		v := newEnvOn(t, storetest.SQLite(t), tls)
		u := v.user()
		if res := u.post("/signin", url.Values{"token": {v.tokens[asAdmin]}, "csrf": {"forged"}}); res.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in with a forged CSRF token: status %d, want 403", res.StatusCode)
		}
		if res := u.signin("hp_not-a-token"); res.StatusCode != http.StatusUnauthorized {
			t.Errorf("sign-in with an unknown token: status %d, want 401", res.StatusCode)
		}
		res := u.signin(v.tokens[asClinic])
		if res.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: status %d", res.StatusCode)
		}
		var found bool
		for _, c := range res.Cookies() {
			if c.Name != "hpcalc_session" {
				continue
			}
			found = true
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Secure != tls {
				t.Errorf("tls %v: session cookie HttpOnly %v SameSite %v Secure %v", tls, c.HttpOnly, c.SameSite, c.Secure)
			}
			if strings.Contains(c.Value, v.tokens[asClinic]) {
				t.Error("the session cookie carries the API token")
			}
		}
		if !found {
			t.Fatal("sign-in set no session cookie")
		}
		if _, body := u.get("/discharge"); !strings.Contains(body, `id="claim-form"`) {
			t.Error("after sign-in the discharge desk does not show")
		}
	}
}

// TestRoles checks that each role sees only its desks and is refused the others, as the
// API refuses their routes.
func TestRoles(t *testing.T) {
	v := newEnv(t)
	for _, tc := range []struct {
		who        string
		allowed    []string
		refused    []string
		navHas     []string
		navHasNot  []string
		postRefuse string
	}{
		{who: asClinic, allowed: []string{"/discharge"}, refused: []string{"/admin"}, navHas: []string{`href="/discharge"`}, navHasNot: []string{`href="/admin"`}, postRefuse: "/admin/tokens"},
		{who: asAuditor, refused: []string{"/discharge", "/admin"}, navHasNot: []string{`href="/discharge"`, `href="/admin"`}, postRefuse: "/discharge/settle"},
		{who: asFinance, refused: []string{"/discharge", "/admin"}, navHasNot: []string{`href="/discharge"`, `href="/admin"`}, postRefuse: "/discharge/quote"},
		{who: asAdmin, allowed: []string{"/discharge", "/admin"}, navHas: []string{`href="/discharge"`, `href="/admin"`}},
	} {
		t.Run(tc.who, func(t *testing.T) {
			u := v.signedIn(tc.who)
			for _, p := range tc.allowed {
				if res, _ := u.get(p); res.StatusCode != http.StatusOK {
					t.Errorf("GET %s: status %d, want 200", p, res.StatusCode)
				}
			}
			for _, p := range tc.refused {
				if res, _ := u.get(p); res.StatusCode != http.StatusForbidden {
					t.Errorf("GET %s: status %d, want 403", p, res.StatusCode)
				}
			}
			_, home := u.get("/signin")
			if len(tc.allowed) > 0 {
				_, home = u.get(tc.allowed[0])
			}
			for _, s := range tc.navHas {
				if !strings.Contains(home, s) {
					t.Errorf("navigation lacks %s", s)
				}
			}
			for _, s := range tc.navHasNot {
				if strings.Contains(home, s) {
					t.Errorf("navigation shows %s", s)
				}
			}
			if tc.postRefuse != "" {
				res := u.post(tc.postRefuse, url.Values{"role": {"admin"}, "person_id": {"P00001"}})
				if res.StatusCode != http.StatusForbidden {
					t.Errorf("POST %s: status %d, want 403", tc.postRefuse, res.StatusCode)
				}
			}
		})
	}
}

// TestCSRF checks that every state-changing form of a session needs its CSRF token.
func TestCSRF(t *testing.T) {
	v := newEnv(t)
	u := v.signedIn(asAdmin)
	claim := url.Values{"claim_id": {"C-CSRF"}, "person_id": {"P00001"}, "provider_id": {"TWN01"}, "kind": {"inpatient"},
		"admitted_on": {"2018-03-10"}, "discharged_on": {"2018-03-15"}, "total": {"1000"}, "in_policy": {"900"}}
	for _, p := range []string{"/discharge/settle", "/discharge/quote", "/discharge/reverse", "/admin/tokens", "/admin/tokens/revoke", "/signout"} {
		f := url.Values{}
		for k, vs := range claim {
			f[k] = vs
		}
		f.Set("csrf", "forged")
		if res := u.post(p, f); res.StatusCode != http.StatusForbidden {
			t.Errorf("POST %s with a forged CSRF token: status %d, want 403", p, res.StatusCode)
		}
	}
	var st apiSettlement
	if code := v.apiJSON(asAdmin, http.MethodGet, "/v1/claims/C-CSRF/settlement", "", &st); code != http.StatusNotFound {
		t.Errorf("a forged settle form stored a settlement (status %d)", code)
	}
	claim.Set("csrf", u.csrf("/discharge"))
	if res := u.post("/discharge/settle", claim); res.StatusCode != http.StatusSeeOther {
		t.Errorf("POST /discharge/settle with the session's CSRF token: status %d, want 303", res.StatusCode)
	}
}

// TestSettleForm settles through the form without a script: errors at their field, the
// slip after it, the same amounts as the API's settlement.
func TestSettleForm(t *testing.T) {
	v := newEnv(t)
	u := v.signedIn(asClinic)
	f := url.Values{"claim_id": {"C-FORM"}, "person_id": {"P00003"}, "provider_id": {"TWN01"}, "kind": {"inpatient"},
		"admitted_on": {"2018-03-10"}, "discharged_on": {"2018-03-15"}, "total": {"12,345.6x"}, "in_policy": {"9000"}, "csrf": {u.csrf("/discharge")}}
	res, body := u.postBody("/discharge/settle", f)
	if res.StatusCode != http.StatusUnprocessableEntity {
		t.Fatalf("a bad amount: status %d, want 422", res.StatusCode)
	}
	if !regexp.MustCompile(`id="err-total">[^<]+<`).MatchString(body) || regexp.MustCompile(`id="err-in_policy">[^<]+<`).MatchString(body) {
		t.Error("the bad total's error is not at the total field alone")
	}
	f.Set("total", "12,345.60")
	f.Set("provider_id", "CTY01")
	if res, body := u.postBody("/discharge/settle", f); res.StatusCode != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="err-provider_id">[^<]+<`).MatchString(body) {
		t.Errorf("another provider's claim: status %d, or no error at the provider", res.StatusCode)
	}
	f.Set("provider_id", "TWN01")
	res = u.post("/discharge/settle", f)
	loc := res.Header.Get("Location")
	if res.StatusCode != http.StatusSeeOther || !strings.HasSuffix(loc, "/slip") {
		t.Fatalf("settle: status %d, location %q", res.StatusCode, loc)
	}
	_, slip := u.get(loc)
	var st apiSettlement
	if code := v.apiJSON(asAdmin, http.MethodGet, "/v1/claims/C-FORM/settlement", "", &st); code != http.StatusOK {
		t.Fatalf("the API does not have the form's settlement: %d", code)
	}
	checkSlipHTML(t, slip, st)
	if !strings.Contains(slip, ">12,345.60<") || !strings.Contains(slip, "1.23 万元") {
		t.Error("the slip does not show the total in yuan with thousands separators and in 万元")
	}
}

var slipAmount = regexp.MustCompile(`data-amount="([a-z_]+)">([^<]+)<`)

// checkSlipHTML checks every amount of a slip against the API's settlement.
func checkSlipHTML(t *testing.T, slip string, st apiSettlement) {
	t.Helper()
	got := map[string]string{}
	for _, m := range slipAmount.FindAllStringSubmatch(slip, -1) {
		got[m[1]] = strings.ReplaceAll(m[2], ",", "")
	}
	want := map[string]string{"total": st.Total, "in_policy": st.InPolicy, "out_of_pocket": st.OutOfPocket}
	for _, l := range st.Lines {
		want[l.Name] = l.Amount
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("slip %s = %q, the API says %q", k, got[k], w)
		}
	}
	for _, name := range []string{"基本医疗保险", "大病保险", "商业补充保险", "民政医疗救助", "政府兜底"} {
		if !strings.Contains(slip, name) {
			t.Errorf("the slip does not name %s", name)
		}
	}
}

// TestSlipAccess checks the slip's roles and provider binding, by session and by bearer
// token, as the API reads the settlement.
func TestSlipAccess(t *testing.T) {
	v := newEnv(t)
	st := v.settleByAPI("C-SLIP", "P00001", "5000.00", "4000.00")
	path := "/v1/settlements/" + st.SettlementID + "/slip"
	for _, tc := range []struct {
		who  string
		want int
	}{{asClinic, 200}, {asClinic2, 404}, {asAuditor, 200}, {asAdmin, 200}, {asFinance, 403}} {
		if _, body := v.signedIn(tc.who).get(path); tc.want == 200 != strings.Contains(body, `id="slip"`) {
			t.Errorf("%s by session: slip shown %v, want %v", tc.who, !(tc.want == 200), tc.want == 200)
		}
		req, _ := http.NewRequest(http.MethodGet, v.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+v.tokens[tc.who])
		res, err := v.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		var apiRes apiSettlement
		apiCode := v.apiJSON(tc.who, http.MethodGet, "/v1/settlements/"+st.SettlementID, "", &apiRes)
		if res.StatusCode != tc.want || apiCode != tc.want {
			t.Errorf("%s by bearer: slip %d, API %d, want %d", tc.who, res.StatusCode, apiCode, tc.want)
		}
	}
	if res, _ := v.user().get(path); res.StatusCode != http.StatusSeeOther {
		t.Errorf("slip without a session: status %d, want 303 to sign in", res.StatusCode)
	}
}

// TestSignout checks that signing out ends the session on the server: the old cookie is
// refused afterwards.
func TestSignout(t *testing.T) {
	v := newEnv(t)
	u := v.signedIn(asAdmin)
	old := u.client.Jar.Cookies(mustURL(t, v.srv.URL))
	if res := u.post("/signout", url.Values{"csrf": {u.csrf("/admin")}}); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-out: status %d", res.StatusCode)
	}
	replay := v.user()
	replay.client.Jar.SetCookies(mustURL(t, v.srv.URL), old)
	if res, _ := replay.get("/admin"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		t.Errorf("the old cookie after sign-out: status %d location %q, want 303 to /signin", res.StatusCode, res.Header.Get("Location"))
	}
}

// TestSessionEnds checks the idle expiry and that revoking the token ends its sessions.
func TestSessionEnds(t *testing.T) {
	v := newEnv(t)
	u := v.signedIn(asAdmin)
	clock := v.store.Now()
	v.store.Now = func() time.Time { return clock }
	if res, _ := u.get("/admin"); res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	clock = clock.Add(31 * time.Minute)
	if res, _ := u.get("/admin"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after 31 idle minutes: status %d, want 303 to sign in", res.StatusCode)
	}
	u = v.signedIn(asClinic)
	tokens, err := v.store.Tokens(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range tokens {
		if tok.Role == "clinic" && tok.Providers[0] == ownClinic {
			if _, err := v.store.RevokeToken(context.Background(), tok.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if res, _ := u.get("/discharge"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after its token was revoked: status %d, want 303 to sign in", res.StatusCode)
	}
}

// TestLanguage checks Chinese by default and the English switch that sticks.
func TestLanguage(t *testing.T) {
	v := newEnv(t)
	u := v.signedIn(asClinic)
	if _, body := u.get("/discharge"); !strings.Contains(body, "出院结算") || !strings.Contains(body, `lang="zh-CN"`) {
		t.Error("the desk is not in Chinese by default")
	}
	if res, _ := u.get("/lang/en?back=/discharge"); res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/discharge" {
		t.Errorf("switch: status %d location %q", res.StatusCode, res.Header.Get("Location"))
	}
	if _, body := u.get("/discharge"); !strings.Contains(body, "Settlements of the day") || strings.Contains(body, "出院结算") {
		t.Error("the switch to English did not stick")
	}
	if res, _ := u.get("/lang/en?back=//evil.example"); res.Header.Get("Location") != "/" {
		t.Errorf("an outside return address was followed: %q", res.Header.Get("Location"))
	}
}

// TestReverse reverses from the desk's list: a reason is required, a confirmation comes
// first, and the API then shows the settlement reversed.
func TestReverse(t *testing.T) {
	v := newEnv(t)
	st := v.settleByAPI("C-REV", "P00001", "3000.00", "2500.00")
	u := v.signedIn(asClinic)
	_, desk := u.get("/discharge?day=2018-03-15")
	if !strings.Contains(desk, st.SettlementID) {
		t.Fatal("the day's list lacks the settlement")
	}
	csrf := u.csrf("/discharge")
	if res, body := u.postBody("/discharge/reverse", url.Values{"id": {st.SettlementID}, "reason": {"  "}, "confirm": {"yes"}, "csrf": {csrf}}); res.StatusCode != http.StatusUnprocessableEntity || !strings.Contains(body, "请填写冲正原因") {
		t.Errorf("no reason: status %d", res.StatusCode)
	}
	if res, body := u.postBody("/discharge/reverse", url.Values{"id": {st.SettlementID}, "reason": {"账单有误"}, "csrf": {csrf}}); res.StatusCode != http.StatusOK || !strings.Contains(body, "确认冲正") {
		t.Errorf("first step: status %d, no confirmation", res.StatusCode)
	}
	var got struct {
		ReversedBy string `json:"reversed_by"`
	}
	v.apiJSON(asAdmin, http.MethodGet, "/v1/settlements/"+st.SettlementID, "", &got)
	if got.ReversedBy != "" {
		t.Fatal("reversed before confirmation")
	}
	if res := u.post("/discharge/reverse", url.Values{"id": {st.SettlementID}, "reason": {"账单有误"}, "confirm": {"yes"}, "csrf": {csrf}}); res.StatusCode != http.StatusSeeOther {
		t.Errorf("confirmed: status %d", res.StatusCode)
	}
	v.apiJSON(asAdmin, http.MethodGet, "/v1/settlements/"+st.SettlementID, "", &got)
	if got.ReversedBy == "" {
		t.Error("the API does not show the settlement reversed")
	}
	other := v.settleByAPI("C-REV2", "P00002", "3000.00", "2500.00")
	u2 := v.signedIn(asClinic2)
	if res := u2.post("/discharge/reverse", url.Values{"id": {other.SettlementID}, "reason": {"x"}, "confirm": {"yes"}, "csrf": {u2.csrf("/discharge")}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("another provider's clinic reversed: status %d, want 404 as the API answers", res.StatusCode)
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
