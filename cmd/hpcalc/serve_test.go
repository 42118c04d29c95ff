package main

import (
	"bytes"
	"context"
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

	// A second --load-fixtures into the same database is refused.
	if err := serve(context.Background(), cfg, &stdout, &stderr, nil); err == nil || !strings.Contains(err.Error(), "empty database") {
		t.Errorf("second --load-fixtures: %v", err)
	}
}
