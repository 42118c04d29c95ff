package console_test

import (
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/console"
	"github.com/hpcalc/hpcalc/store/storetest"
)

var sessionRow = regexp.MustCompile(`<tr data-session="([0-9a-f]+)"( class="current")?>`)

// sessionsOf lists the ids on the user's sessions page, and which is the current one.
func (u *user) sessionsOf() (ids []string, current string) {
	u.v.t.Helper()
	res, body := u.get("/sessions")
	if res.StatusCode != http.StatusOK {
		u.v.t.Fatalf("GET /sessions: status %d", res.StatusCode)
	}
	for _, m := range sessionRow.FindAllStringSubmatch(body, -1) {
		ids = append(ids, m[1])
		if m[2] != "" {
			current = m[1]
		}
	}
	return ids, current
}

// TestSessionsPage checks the list of a user's own sessions and "sign out this session":
// it ends the session on the server, takes the CSRF token, and reaches no other token's
// session.
func TestSessionsPage(t *testing.T) {
	v := newEnv(t)
	phone := v.user()
	phone.client.Transport = userAgent{"PhoneBrowser/1.0", phone.client.Transport}
	if res := phone.signin(v.tokens[asAuditor]); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", res.StatusCode)
	}
	desk := v.signedIn(asAuditor)
	other := v.signedIn(asFinance)

	ids, current := desk.sessionsOf()
	if len(ids) != 2 || current == "" {
		t.Fatalf("the auditor's sessions page lists %v (current %q), want both sessions of the token", ids, current)
	}
	_, body := desk.get("/sessions")
	for _, want := range []string{"PhoneBrowser/1.0", "127.0.0.1", "我的会话"} {
		if !strings.Contains(body, want) {
			t.Errorf("the sessions page does not show %q", want)
		}
	}
	phoneID := ids[0]
	if phoneID == current {
		phoneID = ids[1]
	}
	otherIDs, _ := other.sessionsOf()
	if len(otherIDs) != 1 {
		t.Fatalf("the finance user sees %d sessions, want their 1", len(otherIDs))
	}

	// Without the CSRF token nothing ends.
	if res := desk.post("/sessions/end", url.Values{"id": {phoneID}, "csrf": {"forged"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("ending a session with a forged CSRF token: status %d, want 403", res.StatusCode)
	}
	// Another token's session is not the auditor's to end.
	if res := desk.post("/sessions/end", url.Values{"id": {otherIDs[0]}, "csrf": {desk.csrf("/sessions")}}); res.StatusCode != http.StatusNotFound {
		t.Errorf("ending another token's session: status %d, want 404", res.StatusCode)
	}
	if res, _ := other.get("/sessions"); res.StatusCode != http.StatusOK {
		t.Errorf("the finance user after the refused end: status %d", res.StatusCode)
	}
	if res, _ := phone.get("/audit"); res.StatusCode != http.StatusOK {
		t.Fatalf("the phone before its end: status %d", res.StatusCode)
	}
	res := desk.post("/sessions/end", url.Values{"id": {phoneID}, "csrf": {desk.csrf("/sessions")}})
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out the phone's session: status %d", res.StatusCode)
	}
	if res, _ := phone.get("/audit"); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/signin") {
		t.Errorf("the phone after its session was ended: status %d, want 303 to sign in", res.StatusCode)
	}
	if ids, _ := desk.sessionsOf(); len(ids) != 1 || ids[0] != current {
		t.Errorf("after ending the phone's session the list is %v, want only %s", ids, current)
	}
	// Ending the current session signs out.
	desk.post("/sessions/end", url.Values{"id": {current}, "csrf": {desk.csrf("/sessions")}})
	if res, _ := desk.get("/audit"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("after ending its own session: status %d, want 303 to sign in", res.StatusCode)
	}
	if res, _ := v.user().get("/sessions"); res.StatusCode != http.StatusSeeOther {
		t.Errorf("the sessions page without a session: status %d, want 303 to sign in", res.StatusCode)
	}
}

type userAgent struct {
	ua   string
	next http.RoundTripper
}

func (u userAgent) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", u.ua)
	next := u.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// header adds fixed headers to every request, as a reverse proxy in front would.
type header struct {
	h    http.Header
	next http.RoundTripper
}

func (p header) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, vs := range p.h {
		r.Header[k] = vs
	}
	next := p.next
	if next == nil {
		next = http.DefaultTransport
	}
	return next.RoundTrip(r)
}

// TestSecureCookies checks the session cookie's Secure flag over plain HTTP: set with
// SecureCookies; set behind a trusted proxy that says https, and not when the proxy is not
// trusted or says http; and the address a session notes behind a trusted proxy.
func TestSecureCookies(t *testing.T) {
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	elsewhere := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tc := range []struct {
		name    string
		cfg     console.Config
		headers http.Header
		secure  bool
		ip      string
	}{
		{"plain", console.Config{}, nil, false, "127.0.0.1"},
		{"secure-cookies", console.Config{SecureCookies: true}, nil, true, "127.0.0.1"},
		{"trusted-proxy-https", console.Config{TrustProxy: loopback},
			http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"203.0.113.9, 198.51.100.4"}}, true, "198.51.100.4"},
		{"trusted-proxy-http", console.Config{TrustProxy: loopback}, http.Header{"X-Forwarded-Proto": {"http"}}, false, "127.0.0.1"},
		{"untrusted-proxy", console.Config{TrustProxy: elsewhere},
			http.Header{"X-Forwarded-Proto": {"https"}, "X-Forwarded-For": {"198.51.100.4"}}, false, "127.0.0.1"},
		{"no-proxy-configured", console.Config{}, http.Header{"X-Forwarded-Proto": {"https"}}, false, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := newEnvOn(t, storetest.SQLite(t), false, func(c *console.Config) {
				c.SecureCookies, c.TrustProxy = tc.cfg.SecureCookies, tc.cfg.TrustProxy
			})
			u := v.user()
			u.client.Transport = header{tc.headers, u.client.Transport}
			res := u.signin(v.tokens[asAdmin])
			var found bool
			for _, c := range res.Cookies() {
				if c.Name == "hpcalc_session" {
					found = true
					if c.Secure != tc.secure {
						t.Errorf("session cookie Secure %v, want %v", c.Secure, tc.secure)
					}
				}
			}
			if !found {
				t.Fatalf("sign-in (status %d) set no session cookie", res.StatusCode)
			}
			if tc.secure {
				// The client's jar keeps a Secure cookie for https only: hand it over by hand.
				for _, c := range res.Cookies() {
					c.Secure = false
					u.client.Jar.SetCookies(mustURL(t, v.srv.URL), []*http.Cookie{c})
				}
			}
			_, body := u.get("/sessions")
			if !strings.Contains(body, `<td class="mono">`+tc.ip+`</td>`) {
				t.Errorf("the session does not note the address %s", tc.ip)
			}
		})
	}
}
