package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/jmoiron/sqlx"
)

// freshDB is an empty database of one kind: its URL for store.Open, and the driver name
// and data source name to reach it directly, as the runner before goose did.
type freshDB struct {
	url, driver, dsn string
	money            string
}

// forEachFreshDB runs test on an empty SQLite file and on an empty PostgreSQL schema.
func forEachFreshDB(t *testing.T, test func(t *testing.T, db freshDB)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "hpcalc.db")
		test(t, freshDB{url: path, driver: "sqlite", dsn: "file:" + path + "?_pragma=busy_timeout(10000)", money: "TEXT"})
	})
	t.Run("postgres", func(t *testing.T) {
		url := storetest.PostgresURL(t)
		scratch, drop, err := store.ScratchPostgres(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		test(t, freshDB{url: scratch, driver: "postgres", dsn: scratch, money: "NUMERIC(14,2)"})
	})
}

func openStore(t *testing.T, url string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	t.Cleanup(func() { s.Close() })
	return s
}

// TestMigrateConcurrently starts four Migrate calls at once on one fresh database, as
// four replicas of serve starting together would: all succeed, each migration is applied
// by exactly one of them, and the schema is the one a single Migrate makes.
func TestMigrateConcurrently(t *testing.T) {
	forEachFreshDB(t, func(t *testing.T, db freshDB) {
		ctx := context.Background()
		stores := make([]*store.Store, 4)
		for i := range stores {
			stores[i] = openStore(t, db.url)
		}
		var (
			wg      sync.WaitGroup
			applied = make([][]string, len(stores))
			errs    = make([]error, len(stores))
		)
		for i, s := range stores {
			wg.Go(func() { applied[i], errs[i] = s.Migrate(ctx) })
		}
		wg.Wait()
		var all []string
		for i := range stores {
			if errs[i] != nil {
				t.Errorf("Migrate %d: %v", i, errs[i])
			}
			all = append(all, applied[i]...)
		}
		slices.Sort(all)
		want := referenceMigrations(t)
		if !slices.Equal(all, want) {
			t.Errorf("applied together %v, want each of %v once", all, want)
		}
		if again, err := stores[0].Migrate(ctx); err != nil || len(again) > 0 {
			t.Errorf("Migrate after them applied %v, %v; want nothing", again, err)
		}
		checkVersions(t, db, len(want))
		s, err := store.OpenExisting(ctx, db.url)
		if err != nil {
			t.Fatalf("OpenExisting after the migrations: %v", err)
		}
		s.Close()
	})
}

// referenceMigrations returns the names Migrate applies to a fresh SQLite database.
func referenceMigrations(t *testing.T) []string {
	t.Helper()
	s := openStore(t, filepath.Join(t.TempDir(), "reference.db"))
	names, err := s.Migrate(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 2 {
		t.Fatalf("a fresh database got migrations %v", names)
	}
	return names
}

// checkVersions checks that goose's table records version 0 and n migrations, each once.
func checkVersions(t *testing.T, db freshDB, n int) {
	t.Helper()
	raw := sqlx.MustOpen(db.driver, db.dsn)
	defer raw.Close()
	var versions []int64
	if err := raw.Select(&versions, `SELECT version_id FROM goose_db_version ORDER BY version_id`); err != nil {
		t.Fatal(err)
	}
	if len(versions) != n+1 || versions[0] != 0 || len(slices.Compact(slices.Clone(versions))) != len(versions) {
		t.Errorf("goose_db_version holds %v; want 0 and %d distinct versions", versions, n)
	}
}

// oldMigrate is hpcalc's migration runner before goose, as it was: the names of applied
// migrations in schema_migrations, each file split at semicolons. It applies the named
// migrations only, those that runner shipped.
func oldMigrate(t *testing.T, db freshDB, names ...string) {
	t.Helper()
	raw := sqlx.MustOpen(db.driver, db.dsn)
	defer raw.Close()
	raw.MustExec(`CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`)
	for _, name := range names {
		text, err := os.ReadFile(filepath.Join("migrations", name+".sql"))
		if err != nil {
			t.Fatal(err)
		}
		tx := raw.MustBegin()
		for _, stmt := range strings.Split(strings.ReplaceAll(string(text), "{{money}}", db.money), ";") {
			var code []string
			for _, line := range strings.Split(stmt, "\n") {
				if !strings.HasPrefix(strings.TrimSpace(line), "--") {
					code = append(code, line)
				}
			}
			if strings.TrimSpace(strings.Join(code, "\n")) == "" {
				continue
			}
			if _, err := tx.Exec(stmt); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		tx.MustExec(tx.Rebind(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`), name, "2026-11-30T00:00:00.000000000Z")
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateFromOldRunner builds a database with the runner before goose, with a token
// on it, and migrates it: the migrations that runner applied are not applied again, the
// others are, the token is still there, and the old bookkeeping is gone. Four at once, as
// a rolling upgrade of replicas would.
func TestMigrateFromOldRunner(t *testing.T) {
	forEachFreshDB(t, func(t *testing.T, db freshDB) {
		ctx := context.Background()
		oldMigrate(t, db, "0001_init", "0002_token_revocation")
		old := openStore(t, db.url)
		if _, err := store.OpenExisting(ctx, db.url); !errors.Is(err, store.ErrSchemaBehind) {
			t.Errorf("OpenExisting before the upgrade: %v, want ErrSchemaBehind", err)
		}
		raw := sqlx.MustOpen(db.driver, db.dsn)
		defer raw.Close()
		// A token as the schema of 0002 holds it.
		raw.MustExec(raw.Rebind(`INSERT INTO api_tokens (token_hash, role, providers, note, created_at) VALUES (?, 'admin', '', 'from before', ?)`),
			strings.Repeat("a", 64), "2026-11-30T00:00:00.000000000Z")
		stores := []*store.Store{old, openStore(t, db.url), openStore(t, db.url), openStore(t, db.url)}
		var (
			wg      sync.WaitGroup
			applied = make([][]string, len(stores))
			errs    = make([]error, len(stores))
		)
		for i, s := range stores {
			wg.Go(func() { applied[i], errs[i] = s.Migrate(ctx) })
		}
		wg.Wait()
		var all []string
		for i := range stores {
			if errs[i] != nil {
				t.Errorf("Migrate %d: %v", i, errs[i])
			}
			all = append(all, applied[i]...)
		}
		slices.Sort(all)
		want := slices.DeleteFunc(referenceMigrations(t), func(n string) bool { return n <= "0002_token_revocation" })
		if !slices.Equal(all, want) {
			t.Errorf("upgrade applied %v, want %v", all, want)
		}
		checkVersions(t, db, len(want)+2)
		tokens, err := old.Tokens(ctx)
		if err != nil || len(tokens) != 1 || tokens[0].Note != "from before" {
			t.Errorf("tokens after the upgrade: %+v, %v", tokens, err)
		}
		var n int
		if err := raw.Get(&n, `SELECT COUNT(*) FROM schema_migrations`); err == nil {
			t.Errorf("schema_migrations still there, %d rows", n)
		}
		s, err := store.OpenExisting(ctx, db.url)
		if err != nil {
			t.Fatalf("OpenExisting after the upgrade: %v", err)
		}
		s.Close()
	})
}

// TestMigrateRefusesNewerHistory: a database whose old bookkeeping names a migration this
// hpcalc does not ship is left alone.
func TestMigrateRefusesNewerHistory(t *testing.T) {
	forEachFreshDB(t, func(t *testing.T, db freshDB) {
		oldMigrate(t, db, "0001_init")
		raw := sqlx.MustOpen(db.driver, db.dsn)
		defer raw.Close()
		raw.MustExec(`INSERT INTO schema_migrations (name, applied_at) VALUES ('9999_from_the_future', 'x')`)
		s := openStore(t, db.url)
		if applied, err := s.Migrate(context.Background()); !errors.Is(err, store.ErrUnknownMigration) {
			t.Errorf("Migrate: %v, %v; want ErrUnknownMigration", applied, err)
		}
		var n int
		if err := raw.Get(&n, `SELECT COUNT(*) FROM schema_migrations`); err != nil || n != 2 {
			t.Errorf("schema_migrations after the refusal: %d rows, %v", n, err)
		}
	})
}

// TestOpenExisting: the store of reading commands creates no database and refuses one
// without this hpcalc's schema, naming it.
func TestOpenExisting(t *testing.T) {
	ctx := context.Background()
	t.Run("sqlite missing", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "typo.db")
		_, err := store.OpenExisting(ctx, path)
		if !errors.Is(err, store.ErrNoDatabase) || !strings.Contains(err.Error(), path) {
			t.Errorf("OpenExisting(%s): %v; want ErrNoDatabase naming the path", path, err)
		}
		entries, _ := os.ReadDir(filepath.Dir(path))
		if len(entries) > 0 {
			t.Errorf("files created: %v", entries)
		}
	})
	forEachFreshDB(t, func(t *testing.T, db freshDB) {
		if db.driver == "sqlite" {
			openStore(t, db.url) // creates the file, with no schema
		}
		_, err := store.OpenExisting(ctx, db.url)
		name := db.url
		if db.driver == "postgres" {
			name = name[strings.LastIndex(name, "scratch_"):]
		}
		if !errors.Is(err, store.ErrNoSchema) || !strings.Contains(err.Error(), name) {
			t.Errorf("OpenExisting on a database without schema: %v; want ErrNoSchema naming %s", err, name)
		}
		s := openStore(t, db.url)
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		r, err := store.OpenExisting(ctx, db.url)
		if err != nil {
			t.Fatalf("OpenExisting after Migrate: %v", err)
		}
		if _, err := r.Tokens(ctx); err != nil {
			t.Errorf("reading through OpenExisting: %v", err)
		}
		r.Close()
	})
}

// TestMigratePersonVersions: migration 0013 makes every person on file one register
// version holding always, numbered 1, which settling then uses.
func TestMigratePersonVersions(t *testing.T) {
	forEachFreshDB(t, func(t *testing.T, db freshDB) {
		ctx := context.Background()
		oldMigrate(t, db, "0001_init", "0002_token_revocation")
		raw := sqlx.MustOpen(db.driver, db.dsn)
		defer raw.Close()
		raw.MustExec(raw.Rebind(`INSERT INTO persons (person_id, household_id, registered_poor, aid_category) VALUES (?, ?, ?, ?), (?, ?, ?, ?)`),
			"P1", "H1", true, "dibao", "P2", "H1", false, "none")
		s := openStore(t, db.url)
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		for _, want := range []calc.Person{
			{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao, Version: 1},
			{ID: "P2", HouseholdID: "H1", Version: 1},
		} {
			h, err := s.PersonHistory(ctx, want.ID)
			if err != nil || len(h) != 1 || h[0].Person != want || h[0].From != calc.Beginning || h[0].To != calc.End {
				t.Errorf("%s after 0013: %+v, %v; want %+v holding always", want.ID, h, err, want)
			}
			if p, err := s.Person(ctx, want.ID); err != nil || p != want {
				t.Errorf("Person(%s) after 0013: %+v, %v; want %+v", want.ID, p, err, want)
			}
		}
	})
}
