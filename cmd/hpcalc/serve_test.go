package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// TestServe starts the server on a fresh SQLite database with the fixtures loaded, checks
// it answers, and stops it as SIGTERM would.
func TestServe(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := serveConfig{store: storeFlags{databaseURL: filepath.Join(t.TempDir(), "hpcalc.db")}, addr: "127.0.0.1:0", logFormat: "json", loadFixtures: true}
	var stdout, stderr bytes.Buffer
	ready := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- serve(ctx, cfg, &stdout, &stderr, func(addr string) { ready <- addr }) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not start")
	}
	if !regexp.MustCompile(`Admin token \(shown once\): hp_\S+`).MatchString(stdout.String()) {
		t.Errorf("no admin token printed:\n%s", stdout.String())
	}
	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %s", resp.Status)
	}
	// The console on the same port: / sends an unsigned user to sign in.
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get("http://" + addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/signin" || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("GET /: %s to %q, CSP %q; want the console's 303 to /signin", resp.Status, resp.Header.Get("Location"), resp.Header.Get("Content-Security-Policy"))
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("shutdown: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not shut down")
	}
	if !strings.Contains(stderr.String(), `"msg":"shutting down`) {
		t.Errorf("no JSON shutdown log:\n%s", stderr.String())
	}

	// A second --load-fixtures into the same database is refused, with the way to a token.
	err = serve(context.Background(), cfg, &stdout, &stderr, nil)
	if err == nil || !strings.Contains(err.Error(), "empty database") ||
		!strings.Contains(err.Error(), "run: hpcalc token create --role admin --database-url "+cfg.store.databaseURL) {
		t.Errorf("second --load-fixtures: %v", err)
	}
}

// TestServeTellsTheWayToAToken: serve on a database without an admin token says how to
// make one, and says nothing of it once there is one.
func TestServeTellsTheWayToAToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hpcalc.db")
	run := func() string {
		t.Helper()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		cfg := serveConfig{store: storeFlags{databaseURL: db}, addr: "127.0.0.1:0", logFormat: "text"}
		var stdout, stderr bytes.Buffer
		err := serve(ctx, cfg, &stdout, &stderr, func(string) { cancel() })
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, stderr.String())
		}
		return stdout.String() + stderr.String()
	}
	const hint = "make one with: hpcalc token create --role admin --database-url "
	if out := run(); !strings.Contains(out, hint+db) {
		t.Errorf("serve without an admin token does not say how to make one:\n%s", out)
	}
	if code, out, errOut := runCLI(t, "token", "create", "--role", "admin", "--database-url", db); code != 0 {
		t.Fatalf("token create: exit %d, %q %q", code, out, errOut)
	}
	if out := run(); strings.Contains(out, "no admin token") {
		t.Errorf("serve with an admin token still says there is none:\n%s", out)
	}
}

// TestServePprof checks that the profiling listener is off unless asked for, by flag or
// environment, and that when on it serves /debug/pprof/ on its own address only.
func TestServePprof(t *testing.T) {
	t.Setenv("HPCALC_PPROF_ADDR", "")
	cfg, err := parseServe(nil, io.Discard, io.Discard)
	if err != nil || cfg.pprofAddr != "" {
		t.Fatalf("by default --pprof-addr is %q (%v), want empty", cfg.pprofAddr, err)
	}
	t.Setenv("HPCALC_PPROF_ADDR", "127.0.0.1:6061")
	if cfg, err := parseServe(nil, io.Discard, io.Discard); err != nil || cfg.pprofAddr != "127.0.0.1:6061" {
		t.Errorf("HPCALC_PPROF_ADDR gave --pprof-addr %q (%v)", cfg.pprofAddr, err)
	}
	if cfg, err := parseServe([]string{"--pprof-addr", "127.0.0.1:0"}, io.Discard, io.Discard); err != nil || cfg.pprofAddr != "127.0.0.1:0" {
		t.Errorf("--pprof-addr 127.0.0.1:0 gave %q (%v)", cfg.pprofAddr, err)
	}

	get := func(t *testing.T, url string) (int, string) {
		t.Helper()
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tt := range []struct {
		name, pprofAddr string
	}{{"off", ""}, {"on", "127.0.0.1:0"}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			cfg := serveConfig{store: storeFlags{databaseURL: filepath.Join(t.TempDir(), "hpcalc.db")}, addr: "127.0.0.1:0", logFormat: "text", pprofAddr: tt.pprofAddr}
			profiles := make(chan string, 1)
			cfg.pprofReady = func(addr string) { profiles <- addr }
			ready := make(chan string, 1)
			done := make(chan error, 1)
			go func() { done <- serve(ctx, cfg, io.Discard, io.Discard, func(addr string) { ready <- addr }) }()
			var addr string
			select {
			case addr = <-ready:
			case err := <-done:
				t.Fatalf("serve stopped: %v", err)
			case <-time.After(30 * time.Second):
				t.Fatal("serve did not start")
			}
			if code, body := get(t, "http://"+addr+"/debug/pprof/"); code == http.StatusOK || strings.Contains(body, "goroutine") {
				t.Errorf("the API's address serves profiles: %d\n%s", code, body)
			}
			select {
			case p := <-profiles:
				if tt.pprofAddr == "" {
					t.Fatalf("a profiling listener started on %s though none was asked for", p)
				}
				if code, body := get(t, "http://"+p+"/debug/pprof/"); code != http.StatusOK || !strings.Contains(body, "goroutine") {
					t.Errorf("GET /debug/pprof/ on %s: %d\n%s", p, code, body)
				}
			default:
				if tt.pprofAddr != "" {
					t.Fatal("no profiling listener started")
				}
			}
			cancel()
			if err := <-done; err != nil {
				t.Errorf("shutdown: %v", err)
			}
		})
	}
}

// TestServeCookieFlags checks --secure-cookies and --trust-proxy, by flag and by
// environment, and that a bad proxy address is refused naming it.
func TestServeCookieFlags(t *testing.T) {
	t.Setenv("HPCALC_SECURE_COOKIES", "")
	t.Setenv("HPCALC_TRUST_PROXY", "")
	cfg, err := parseServe(nil, io.Discard, io.Discard)
	if err != nil || cfg.secureCookies || cfg.trustProxy != nil {
		t.Fatalf("by default: secure %v, proxies %v (%v), want neither", cfg.secureCookies, cfg.trustProxy, err)
	}
	cfg, err = parseServe([]string{"--secure-cookies", "--trust-proxy", "10.0.0.0/8, 192.0.2.7,::1"}, io.Discard, io.Discard)
	if err != nil || !cfg.secureCookies || fmt.Sprint(cfg.trustProxy) != "[10.0.0.0/8 192.0.2.7/32 ::1/128]" {
		t.Errorf("flags: secure %v, proxies %v (%v)", cfg.secureCookies, cfg.trustProxy, err)
	}
	t.Setenv("HPCALC_SECURE_COOKIES", "1")
	t.Setenv("HPCALC_TRUST_PROXY", "172.16.0.1")
	cfg, err = parseServe(nil, io.Discard, io.Discard)
	if err != nil || !cfg.secureCookies || fmt.Sprint(cfg.trustProxy) != "[172.16.0.1/32]" {
		t.Errorf("environment: secure %v, proxies %v (%v)", cfg.secureCookies, cfg.trustProxy, err)
	}
	if _, err := parseServe([]string{"--trust-proxy", "proxy.local"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "proxy.local") {
		t.Errorf("--trust-proxy proxy.local: %v, want an error naming it", err)
	}
}
