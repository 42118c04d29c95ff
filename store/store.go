// Package store keeps hpcalc's state in a relational database through sqlx: PostgreSQL (lib/pq)
// in production and an embedded pure-Go SQLite by default. It owns the schema (embedded,
// versioned migrations applied at start), and it is the only package that writes SQL.
//
// One set of SQL serves both databases; where they must differ (the money column type, row
// locks) the difference is named in dialect. Money is written and read through
// shopspring/decimal, never a float. A settlement, its claim and its ledger update commit
// in one transaction or not at all, and a person's settlements never run concurrently: the
// person-year ledger row is locked (SELECT ... FOR UPDATE in PostgreSQL; SQLite takes its
// single write lock at BEGIN).
//
// store only reads and writes rows: the operations that settle in bulk (import, audit)
// are ops'. It imports calc, and policyfile to read stored policy documents back; it must
// never import ops, batch, replay, api or cmd.
package store

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"  // PostgreSQL driver "postgres"
	_ "modernc.org/sqlite" // SQLite driver "sqlite"
)

// Errors callers branch on with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

//go:embed migrations/*.sql
var migrations embed.FS

// dialect holds what differs between the two databases.
type dialect struct {
	name      string
	money     string // column type of money
	forUpdate string // row lock suffix of a SELECT inside a transaction
}

var (
	postgres = dialect{name: "postgres", money: "NUMERIC(14,2)", forUpdate: " FOR UPDATE"}
	sqlite   = dialect{name: "sqlite", money: "TEXT", forUpdate: ""}
)

// Store is a database of policies, persons, providers, claims, settlements, ledgers and
// API tokens.
type Store struct {
	db        *sqlx.DB
	dialect   dialect
	parsed    sync.Map     // policy version → *calc.Policy
	policySet atomic.Value // *calc.PolicySet last read
	tokens    sync.Map     // token hash → cachedToken
	revoked   revocations  // what Authenticate last counted of revoked tokens
	stmts     sync.Map     // query → *sqlx.Stmt, for the queries of every request
	cache     *readCache   // what quotes read
	// Now is the clock; tests replace it.
	Now func() time.Time
	log atomic.Pointer[slog.Logger]
}

// SetLogger sets where the store reports what it notices on its own, such as losing the
// connection that keeps its quote cache current; slog.Default() until set.
func (s *Store) SetLogger(l *slog.Logger) { s.log.Store(l) }

// Open connects to the database named by url: a postgres:// or postgresql:// URL selects
// PostgreSQL; anything else is a SQLite file path (created if missing). It does not
// migrate; call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	var (
		d   dialect
		dsn string
	)
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		d, dsn = postgres, url
	} else {
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			return nil, errors.New("open store: empty database path")
		}
		// One writer at a time: BEGIN IMMEDIATE takes the write lock up front, and others
		// wait up to the busy timeout for it.
		d, dsn = sqlite, "file:"+path+"?_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)"
	}
	db, err := sqlx.Open(d.name, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d.name, err)
	}
	if d.name == "sqlite" {
		// database/sql pools connections; SQLite serialises writers itself, and a single
		// connection avoids busy errors between our own connections.
		db.SetMaxOpenConns(1)
	} else {
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open %s database: %w", d.name, err)
	}
	s := &Store{db: db, dialect: d, cache: newReadCache(), Now: time.Now}
	s.revoked.count = -1
	s.cache.tokens = &s.tokens
	s.log.Store(slog.Default())
	if d.name == "sqlite" {
		s.cache.on.Store(true)
	} else {
		var schema string
		if err := db.GetContext(ctx, &schema, `SELECT COALESCE(current_schema(), '')`); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s database: %w", d.name, err)
		}
		s.cache.followOn(dsn, schema, s.log.Load)
	}
	return s, nil
}

// Close closes the database.
func (s *Store) Close() error {
	s.cache.close()
	s.stmts.Range(func(_, st any) bool { st.(*sqlx.Stmt).Close(); return true })
	return s.db.Close()
}

// Dialect names the database: "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect.name }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// stampLayout is RFC 3339 in UTC with always nine decimals of a second: stamps are
// ordered as text (a person's settlements by created_at), and RFC3339Nano drops trailing
// zeros, so that "…:05.1Z" would sort after "…:05.12Z".
const stampLayout = "2006-01-02T15:04:05.000000000Z07:00"

func (s *Store) now() string { return s.Now().UTC().Format(stampLayout) }

// Migrate applies, in order and each in its own transaction, the embedded migrations not
// yet applied, and returns their names. Shipped migrations are never edited: a change is a
// new file.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var applied []string
	for _, path := range names {
		name := strings.TrimSuffix(strings.TrimPrefix(path, "migrations/"), ".sql")
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			var n int
			if err := tx.GetContext(ctx, &n, tx.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE name = ?`), name); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			raw, err := migrations.ReadFile(path)
			if err != nil {
				return err
			}
			for _, stmt := range strings.Split(strings.ReplaceAll(string(raw), "{{money}}", s.dialect.money), ";") {
				if strings.TrimSpace(stripComments(stmt)) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			if _, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`), name, s.now()); err != nil {
				return err
			}
			applied = append(applied, name)
			return nil
		})
		if err != nil {
			return applied, fmt.Errorf("migrate: %w", err)
		}
	}
	return applied, nil
}

func stripComments(stmt string) string {
	var b strings.Builder
	for _, line := range strings.Split(stmt, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

// prepared returns query prepared once, for the queries every request makes: SQLite
// spends more time parsing such a query than running it.
func (s *Store) prepared(ctx context.Context, query string) (*sqlx.Stmt, error) {
	if st, ok := s.stmts.Load(query); ok {
		return st.(*sqlx.Stmt), nil
	}
	st, err := s.db.PreparexContext(ctx, s.db.Rebind(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sqlx.Stmt), nil
	}
	return st, nil
}

// inTx runs fn in a transaction, committing if it returns nil and rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// ScratchPostgres creates an empty schema in the PostgreSQL database at url and returns a
// URL whose connections use it, and a function that drops it. Tests and load runs use it
// to work on a database of their own without touching anything else there.
func ScratchPostgres(ctx context.Context, url string) (string, func(), error) {
	admin, err := sqlx.Open("postgres", url)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		admin.Close()
		return "", nil, err
	}
	schema := "scratch_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+schema); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create scratch schema: %w", err)
	}
	drop := func() {
		_, _ = admin.ExecContext(context.Background(), "DROP SCHEMA "+schema+" CASCADE")
		admin.Close()
	}
	sep := "?"
	if strings.Contains(url, "?") {
		sep = "&"
	}
	return url + sep + "search_path=" + schema, drop, nil
}
