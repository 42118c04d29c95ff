package store_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/jmoiron/sqlx"
)

// TestTokenScopesCarriedOver: a database whose tokens kept their providers comma-joined
// (migrations 0001 and 0002) is migrated to providers as rows, each token keeping exactly
// the providers it was read to have, in order; and a provider id can no longer be read as
// two.
func TestTokenScopesCarriedOver(t *testing.T) {
	ctx := context.Background()
	for _, db := range []struct{ name, driver, url string }{
		{"sqlite", "sqlite", filepath.Join(t.TempDir(), "old.db")},
		{"postgres", "postgres", ""},
	} {
		t.Run(db.name, func(t *testing.T) {
			url := db.url
			if db.driver == "postgres" {
				scratch, drop, err := store.ScratchPostgres(ctx, storetest.PostgresURL(t))
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(drop)
				url = scratch
			}
			// The schema as 0001 and 0002 left it, with tokens on file.
			raw, err := sqlx.Open(db.driver, url)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			money := map[string]string{"sqlite": "TEXT", "postgres": "NUMERIC(14,2)"}[db.driver]
			for _, name := range []string{"0001_init", "0002_token_revocation"} {
				sql, err := os.ReadFile(filepath.Join("migrations", name+".sql"))
				if err != nil {
					t.Fatal(err)
				}
				for _, stmt := range strings.Split(strings.ReplaceAll(string(sql), "{{money}}", money), ";") {
					if strings.TrimSpace(withoutComments(stmt)) != "" {
						raw.MustExec(stmt)
					}
				}
			}
			raw.MustExec(`CREATE TABLE schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`)
			raw.MustExec(raw.Rebind(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?), (?, ?)`),
				"0001_init", "2018-01-01T00:00:00Z", "0002_token_revocation", "2018-01-01T00:00:00Z")
			for _, tok := range []struct{ hash, role, providers string }{
				{strings.Repeat("a", 64), "clinic", "TWN01,CTY03,MUN01"},
				{strings.Repeat("b", 64), "clinic", "TWN02"},
				{strings.Repeat("c", 64), "admin", ""},
				{strings.Repeat("d", 64), "clinic", "TWN01,TWN01"},
			} {
				raw.MustExec(raw.Rebind(`INSERT INTO api_tokens (token_hash, role, providers, note, created_at) VALUES (?, ?, ?, '', ?)`),
					tok.hash, tok.role, tok.providers, "2018-01-01T00:00:00.000000000Z")
			}

			s, err := store.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			s.ReadPolicy = policyfile.Parse
			defer s.Close()
			if _, err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			tokens, err := s.Tokens(ctx)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, tok := range tokens {
				got[tok.ID[:1]] = tok.Providers
			}
			for id, want := range map[string][]string{"a": {"TWN01", "CTY03", "MUN01"}, "b": {"TWN02"}, "c": nil, "d": {"TWN01"}} {
				if !slices.Equal(got[id], want) {
					t.Errorf("token %s: providers %q, want %q", id, got[id], want)
				}
			}
		})
	}
}

func withoutComments(stmt string) string {
	var b strings.Builder
	for _, line := range strings.Split(stmt, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}
