package console_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain says, without -v and whatever else passes, when the browser tests cannot run;
// under CI (the CI variable set, as .ci/run sets it) a missing browser fails the package
// instead: there the console must be tested in a browser.
func TestMain(m *testing.M) {
	flag.Parse()
	missing := chromium() == ""
	if missing {
		shout(noBrowser)
	}
	code := m.Run()
	if missing && os.Getenv("CI") != "" {
		fmt.Fprintln(os.Stderr, "hpcalc/console: FAIL: CI is set and there is no browser: the console was not tested in one.")
		code = 1
	}
	os.Exit(code)
}

// TestBrowserPresence looks, inside the run that go test records, at what TestMain
// decided on: the browser and the CI variable, so that a change of either runs the tests
// again rather than answering from go test's cache. Without a browser it reads a file of
// the module written a moment before (testdata/.no-browser, ignored by git), and go test
// never caches a run that read so new a file: a cached "ok" would not print the banner.
func TestBrowserPresence(t *testing.T) {
	if p := chromium(); p != "" {
		t.Logf("browser tests run with %s", p)
		return
	}
	stamp := filepath.Join("testdata", ".no-browser")
	_ = os.MkdirAll("testdata", 0o755)
	if err := os.WriteFile(stamp, []byte(time.Now().String()), 0o644); err == nil {
		_, _ = os.ReadFile(stamp)
	}
	if os.Getenv("CI") != "" {
		t.Fatal("CI is set and there is no chromium: the console must be tested in a browser here")
	}
	t.Log(noBrowser)
}

const noBrowser = "\n" +
	"************************************************************************\n" +
	"*  hpcalc/console: BROWSER TESTS DID NOT RUN: no chromium found.       *\n" +
	"*  The console was NOT tested in a browser (sign-in, slip, desks,      *\n" +
	"*  downloads, timings). Install Debian's chromium package, or set      *\n" +
	"*  HPCALC_CHROMIUM to a Chromium binary.                               *\n" +
	"************************************************************************\n"

// shout writes msg where the person running the tests sees it. `go test ./...` shows a
// passing package's output only with -v, so without -v the message goes to the go
// command's own standard error as well (through Linux's /proc; elsewhere it is seen with
// -v or on failure).
func shout(msg string) {
	fmt.Fprint(os.Stderr, msg)
	if testing.Verbose() {
		return
	}
	ppid := os.Getppid()
	if comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", ppid)); err != nil || strings.TrimSpace(string(comm)) != "go" {
		return
	}
	if f, err := os.OpenFile(fmt.Sprintf("/proc/%d/fd/2", ppid), os.O_WRONLY|os.O_APPEND, 0); err == nil {
		fmt.Fprint(f, msg)
		f.Close()
	}
}
