package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestWhatif(t *testing.T) {
	change := filepath.Join(t.TempDir(), "raise.yaml")
	if err := os.WriteFile(change, []byte("commercial:\n  in_policy_rate: 0.50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "whatif", "--change", change, "--group-by", "aid")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`(?m)^3 commercial\s+194,600.00\s+\S+\s+\+[0-9,.]+$`,
		`(?m)^4 aid\s+133,300.00\s+\S+\s+-[0-9,.]+$`,
		`(?m)^5 backstop\s+523,200.00\s+\S+\s+-[0-9,.]+$`,
		`(?m)^  dibao\s+public`,
		`patients would pay more out of pocket`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("commercial:\n  in_policy_rate: 1.50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "whatif", "--change", bad)
	if code != 1 || out != "" || !strings.Contains(errOut, "commercial.in_policy_rate") || !strings.Contains(errOut, "outside 0–1") {
		t.Errorf("bad change: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "whatif"); code != 2 {
		t.Errorf("no --change: exit %d, want 2", code)
	}
}
