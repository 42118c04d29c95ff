package main

import (
	"os"
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
		t.Errorf("token without a command: exit %d, want 2", code)
	}
	if code, _, _ := runCLI(t, "token", "burn"); code != 2 {
		t.Errorf("token burn: exit %d, want 2", code)
	}

	// list shows the token by id, not the token; revoke revokes it once.
	code, out, errOut = runCLI(t, "token", "list", "--database-url", db)
	row := regexp.MustCompile(`(?m)^([0-9a-f]{16})\s+auditor\s+audit office\s+\S+\s+-$`).FindStringSubmatch(out)
	if code != 0 || row == nil || strings.Contains(out, "hp_") {
		t.Fatalf("token list: exit %d, %q %q", code, out, errOut)
	}
	code, out, errOut = runCLI(t, "token", "revoke", "--database-url", db, row[1])
	if code != 0 || !strings.HasPrefix(out, "Revoked token "+row[1]+" (auditor) at ") {
		t.Errorf("token revoke: exit %d, %q %q", code, out, errOut)
	}
	if code, out, _ = runCLI(t, "token", "list", "--database-url", db); code != 0 || strings.Contains(out, " -\n") {
		t.Errorf("token list after revoke: exit %d, %q", code, out)
	}
	code, _, errOut = runCLI(t, "token", "revoke", "--database-url", db, row[1])
	if code != 1 || !strings.Contains(errOut, "already revoked") {
		t.Errorf("second revoke: exit %d, %q", code, errOut)
	}
	if code, _, errOut = runCLI(t, "token", "revoke", "--database-url", db); code == 0 || !strings.Contains(errOut, "one token ID") {
		t.Errorf("revoke without an id: exit %d, %q", code, errOut)
	}
}

// TestTokenCreateRefusesBadProviders: --provider takes one id, once.
func TestTokenCreateRefusesBadProviders(t *testing.T) {
	db := filepath.Join(t.TempDir(), "hpcalc.db")
	if code, _, errOut := runCLI(t, "serve", "--database-url", db, "--load-fixtures", "--addr", "256.0.0.1:1"); code == 0 {
		t.Fatalf("serve on a bad address ran: %s", errOut)
	}
	for _, tt := range []struct {
		providers []string
		want      string
	}{
		{[]string{"TWN01,CTY03"}, `"TWN01,CTY03" is not an id`},
		{[]string{"TWN01", "CTY01", "TWN01"}, "provider TWN01 is listed more than once"},
	} {
		args := []string{"token", "create", "--database-url", db, "--role", "clinic"}
		for _, p := range tt.providers {
			args = append(args, "--provider", p)
		}
		if code, out, errOut := runCLI(t, args...); code != 1 || !strings.Contains(errOut, tt.want) || out != "" {
			t.Errorf("--provider %q: exit %d, %q %q; want %q", tt.providers, code, out, errOut, tt.want)
		}
	}
}

// TestReadingCommandsCreateNothing: the commands that only read refuse a database that
// does not exist, naming it, and leave no file behind; and one that has no schema.
func TestReadingCommandsCreateNothing(t *testing.T) {
	dir := t.TempDir()
	typo := filepath.Join(dir, "typo.db")
	empty := filepath.Join(dir, "empty.db")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"audit", []string{"audit", "--from", "2018-01-01", "--to", "2018-12-31"}},
		{"token list", []string{"token", "list"}},
		{"token revoke", []string{"token", "revoke", "0123456789abcdef"}},
	} {
		for _, db := range []struct{ path, says string }{{typo, "no such database"}, {empty, "no hpcalc schema"}} {
			t.Run(c.name+" "+filepath.Base(db.path), func(t *testing.T) {
				code, out, errOut := runCLI(t, append(c.args, "--database-url", db.path)...)
				if code != 1 || !strings.Contains(errOut, db.path) || !strings.Contains(errOut, db.says) {
					t.Errorf("exit %d, stdout %q, stderr %q; want 1 and an error naming %s: %s", code, out, errOut, db.path, db.says)
				}
				entries, err := os.ReadDir(dir)
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					if e.Name() != "empty.db" {
						t.Errorf("%s was created", e.Name())
					}
				}
			})
		}
	}
}
