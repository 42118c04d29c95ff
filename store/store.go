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
// store only reads and writes rows, and settles nothing: what a settlement, a reversal
// or a reconciliation writes is ops' to decide, inside the transaction InPersonYear runs
// under the person-year's ledger lock; the operations that settle in bulk (import, audit)
// are ops' too. Of hpcalc's packages it imports calc only: the policy documents it keeps are
// read back by the Store.ReadPolicy its opener gives it.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	neturl "net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"               // PostgreSQL driver "postgres"
	sqlitedriver "modernc.org/sqlite" // SQLite driver "sqlite"
)

// Errors callers branch on with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict")
)

// Refused is a refusal told to whoever asked: Reason says what was refused and why, in
// their words, free of the context the error gathers on its way up (the API answers with
// it). errors.Is(err, Kind) holds; Kind is ErrNotFound or ErrConflict. Cause, if not nil,
// is the error that led to it, which errors.Is sees too.
type Refused struct {
	Kind   error
	Reason string
	Cause  error
}

func (e *Refused) Error() string { return e.Reason }

func (e *Refused) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Cause}
}

func refuse(kind error, format string, args ...any) error {
	return &Refused{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}

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
	name      string       // the database as errors name it: a path, or a URL without password
	parsed    sync.Map     // policy version → *calc.Policy
	policySet atomic.Value // *calc.PolicySet last read
	tokens    sync.Map     // token hash → cachedToken
	revoked   revocations  // what Authenticate last counted of revoked tokens
	stmts     sync.Map     // query → *sqlx.Stmt, for the queries of every request
	cache     *readCache   // what quotes read
	closed    atomic.Bool  // Close was called: every error after is ErrUnavailable
	// Now is the clock; tests replace it.
	Now func() time.Time
	// ReadPolicy reads a published policy document back into a policy; whoever opens the
	// store sets it (to policyfile.Parse) before policies are read, so that store knows
	// no file format. Published documents never change, so each is read once.
	ReadPolicy func(name string, document []byte) (*calc.Policy, error)
	log        atomic.Pointer[slog.Logger]

	stopOptimize chan struct{} // closed by Close: stop optimizing
	optimized    chan struct{} // closed when the optimizing goroutine has stopped
	closeOnce    sync.Once
}

// SetLogger sets where the store reports what it notices on its own, such as losing the
// connection that keeps its quote cache current; slog.Default() until set.
func (s *Store) SetLogger(l *slog.Logger) { s.log.Store(l) }

// Open connects to the database named by url: a postgres:// or postgresql:// URL selects
// PostgreSQL; anything else is a SQLite file path (created if missing). It does not
// migrate; call Migrate.
func Open(ctx context.Context, url string) (*Store, error) {
	return open(ctx, url, false)
}

// OpenExisting opens the database named by url, as Open does, for commands that only
// read: it creates nothing, and refuses a database whose schema is not this hpcalc's.
// Errors, each naming the database: ErrNoDatabase for a SQLite path with no file (none is
// created); ErrNoSchema for a database (PostgreSQL: the URL's schema) no migration was
// applied to; ErrSchemaBehind when shipped migrations are not applied yet;
// ErrUnknownMigration when a newer hpcalc migrated it.
func OpenExisting(ctx context.Context, url string) (*Store, error) {
	s, err := open(ctx, url, true)
	if err != nil {
		return nil, err
	}
	if err := s.checkSchema(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("%s: %w", s.name, err)
	}
	return s, nil
}

func open(ctx context.Context, url string, existing bool) (*Store, error) {
	var (
		d    dialect
		dsn  string
		name string
	)
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		d, dsn, name = postgres, url, redact(url)
	} else {
		path := strings.TrimPrefix(url, "sqlite:")
		if path == "" {
			return nil, errors.New("open store: empty database path")
		}
		name = path
		mode := "rwc"
		if existing {
			// mode=rw makes SQLite itself refuse to create the file; the Stat says why.
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("%s: %w", path, ErrNoDatabase)
			}
			mode = "rw"
		}
		dsn = sqliteDSN(path, mode)
		c := wrapConnector{drv: &sqlitedriver.Driver{}, dsn: dsn, wrap: newCachingConn}
		return start(ctx, sqlite, sqlx.NewDb(sql.OpenDB(c), sqlite.name), dsn, name)
	}
	db, err := sqlx.Open(d.name, dsn)
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", d.name, err)
	}
	return start(ctx, d, db, dsn, name)
}

// sqliteDSN is the data source name of the SQLite file at path, opened in mode (rw, rwc).
func sqliteDSN(path, mode string) string {
	// One writer at a time: BEGIN IMMEDIATE takes the write lock up front, and others
	// wait up to the busy timeout for it.
	// cache_size: SQLite's default page cache is 2 MiB a connection; a soak's file passes
	// 300 MiB in five minutes, and the leaves of the indexes with random keys (settlement
	// and adjustment ids) that every insert reads then come from the operating system
	// (pread) rather than the cache. The store has one connection, which may keep up to
	// SQLiteCacheKiB of pages.
	return "file:" + path + "?mode=" + mode + "&_txlock=immediate&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=analysis_limit(1000)" +
		"&_pragma=cache_size(-" + strconv.Itoa(SQLiteCacheKiB) + ")"
}

// SQLiteCacheKiB is the most a SQLite connection of the store keeps of the file's pages
// in memory, in KiB (PRAGMA cache_size): 32 MiB. The pure-Go SQLite's allocator gives a
// cached page (4 KiB and its header) a block of 8 KiB, so a full cache is about 60 MiB
// of resident memory (measured: 58 MiB); 64 MiB of pages would have been about 115.
const SQLiteCacheKiB = 32 << 10

// OpenSQLiteWith is Open of the SQLite file at path with every connection passed through
// wrap, a driver.Conn of the caller's around SQLite's: tests use it to make the database
// fail as a real one does (see storetest.Faulty). Everything else opens with Open.
func OpenSQLiteWith(ctx context.Context, path string, wrap func(driver.Conn) driver.Conn) (*Store, error) {
	c := wrapConnector{drv: &sqlitedriver.Driver{}, dsn: sqliteDSN(path, "rwc"), wrap: func(c driver.Conn) driver.Conn { return newCachingConn(wrap(c)) }}
	return start(ctx, sqlite, sqlx.NewDb(sql.OpenDB(c), sqlite.name), c.dsn, path)
}

// OpenPostgresWith is Open of the PostgreSQL database at url with every connection passed
// through wrap, as OpenSQLiteWith: tests use it to stop a process in the middle of a
// transaction. Everything else opens with Open.
func OpenPostgresWith(ctx context.Context, url string, wrap func(driver.Conn) driver.Conn) (*Store, error) {
	pc, err := pq.NewConnector(url)
	if err != nil {
		return nil, fmt.Errorf("open postgres database: %w", err)
	}
	c := wrapConnector{drv: pc.Driver(), connect: pc.Connect, wrap: wrap}
	return start(ctx, postgres, sqlx.NewDb(sql.OpenDB(c), postgres.name), url, redact(url))
}

type wrapConnector struct {
	drv     driver.Driver
	dsn     string
	connect func(context.Context) (driver.Conn, error) // if not nil, instead of drv.Open(dsn)
	wrap    func(driver.Conn) driver.Conn
}

func (c wrapConnector) Connect(ctx context.Context) (driver.Conn, error) {
	var (
		conn driver.Conn
		err  error
	)
	if c.connect != nil {
		conn, err = c.connect(ctx)
	} else {
		conn, err = c.drv.Open(c.dsn)
	}
	if err != nil {
		return nil, err
	}
	return c.wrap(conn), nil
}

func (c wrapConnector) Driver() driver.Driver { return c.drv }

// start makes the store of an opened database.
func start(ctx context.Context, d dialect, db *sqlx.DB, dsn, name string) (*Store, error) {
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
	s := &Store{db: db, dialect: d, name: name, cache: newReadCache(), Now: time.Now, stopOptimize: make(chan struct{}), optimized: make(chan struct{})}
	s.revoked.count = -1
	s.cache.tokens = &s.tokens
	s.log.Store(slog.Default())
	if d.name == "sqlite" {
		s.cache.on.Store(true)
		// SQLite keeps no statistics unless asked. analysis_limit (set on the connection)
		// bounds what an ANALYZE reads of each index, so that optimizing a large file takes
		// milliseconds; 0x10002 looks at every table, as SQLite advises at open.
		if err := s.optimize(ctx, `PRAGMA optimize = 0x10002`); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s database: %w", d.name, err)
		}
		go s.optimizeEvery(OptimizeInterval)
	} else {
		close(s.optimized)
		var schema string
		if err := db.GetContext(ctx, &schema, `SELECT COALESCE(current_schema(), '')`); err != nil {
			db.Close()
			return nil, fmt.Errorf("open %s database: %w", d.name, err)
		}
		s.name += " (schema " + schema + ")"
		s.cache.followOn(dsn, schema, s.log.Load)
	}
	return s, nil
}

// OptimizeInterval is how often an open SQLite store runs PRAGMA optimize, which
// analyzes the tables whose statistics have drifted since the last run.
var OptimizeInterval = time.Hour

func (s *Store) optimize(ctx context.Context, pragma string) error {
	if _, err := s.db.ExecContext(ctx, pragma); err != nil {
		return fmt.Errorf("%s: %w", pragma, err)
	}
	return nil
}

// optimizeEvery runs PRAGMA optimize every interval until Close.
func (s *Store) optimizeEvery(interval time.Duration) {
	defer close(s.optimized)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-s.stopOptimize:
			return
		case <-t.C:
			if err := s.optimize(context.Background(), `PRAGMA optimize`); err != nil {
				s.log.Load().Warn("store: optimize failed", "err", err)
			}
		}
	}
}

// Close closes the database; a SQLite store runs PRAGMA optimize first, as SQLite advises
// before a connection closes.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.closeOnce.Do(func() {
		close(s.stopOptimize)
		<-s.optimized
		if s.dialect.name == "sqlite" {
			if err := s.optimize(context.Background(), `PRAGMA optimize`); err != nil {
				s.log.Load().Warn("store: optimize failed", "err", err)
			}
		}
	})
	s.cache.close()
	s.stmts.Range(func(_, st any) bool { st.(*sqlx.Stmt).Close(); return true })
	return s.db.Close()
}

// Dialect names the database: "postgres" or "sqlite".
func (s *Store) Dialect() string { return s.dialect.name }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) (err error) {
	defer s.classify(&err)
	return s.db.PingContext(ctx)
}

// stampLayout is RFC 3339 in UTC with always nine decimals of a second, for the text
// stamps of tokens, sessions and policies (those of claims, settlements and adjustments
// are integers since 0011, see stamp): they are ordered as text (tokens by created_at),
// and RFC3339Nano drops trailing zeros, so that "…:05.1Z" would sort after "…:05.12Z".
const stampLayout = "2006-01-02T15:04:05.000000000Z07:00"

func (s *Store) now() string { return s.Now().UTC().Format(stampLayout) }

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

// redact returns a PostgreSQL URL without its password, to name the database in errors.
func redact(raw string) string {
	u, err := neturl.Parse(raw)
	if err != nil {
		return "the PostgreSQL database"
	}
	return u.Redacted()
}
