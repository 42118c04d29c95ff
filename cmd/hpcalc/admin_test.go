package main

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestMigrateAndToken(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hpcalc.db")
	code, out, errOut := runCLI(t, "migrate", "--database-url", db)
	if code != 0 || !strings.Contains(out, "Applied 0001_init.") {
		t.Fatalf("migrate: exit %d, %q %q", code, out, errOut)
	}
	code, out, _ = runCLI(t, "migrate", "--database-url", db)
	if code != 0 || !strings.Contains(out, "up to date") {
		t.Errorf("second migrate: exit %d, %q", code, out)
	}
	code, out, errOut = runCLI(t, "token", "create", "--database-url", db, "--role", "auditor", "--note", "audit office")
	if code != 0 || !regexp.MustCompile(`^hp_[A-Za-z0-9_-]{40,}\n$`).MatchString(out) {
		t.Errorf("token create: exit %d, %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, "token", "create", "--database-url", db, "--role", "clinic")
	if code != 1 || !strings.Contains(errOut, "needs at least one provider") {
		t.Errorf("clinic token without provider: exit %d, %q", code, errOut)
	}
	if code, _, _ := runCLI(t, "token"); code != 2 {
		t.Errorf("token without create: exit %d, want 2", code)
	}
}
