package store

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"

	"github.com/jmoiron/sqlx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/database"
	"github.com/pressly/goose/v3/lock"
)

// Errors of Migrate and OpenExisting that callers branch on with errors.Is.
var (
	// ErrNoDatabase: OpenExisting was given a SQLite path where there is no file.
	ErrNoDatabase = errors.New("no such database")
	// ErrNoSchema: the database (or PostgreSQL schema) holds no hpcalc schema: no migration
	// was ever applied to it.
	ErrNoSchema = errors.New("no hpcalc schema in this database (hpcalc migrate or serve creates it)")
	// ErrSchemaBehind: migrations this hpcalc ships are not applied to the database yet.
	ErrSchemaBehind = errors.New("the database schema is older than this hpcalc (run hpcalc migrate)")
	// ErrUnknownMigration: the database records a migration this hpcalc does not ship; a
	// newer hpcalc migrated it.
	ErrUnknownMigration = errors.New("the database was migrated by a newer hpcalc")
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

const (
	// versionTable is goose's record of the applied migrations, by version number.
	versionTable = "goose_db_version"
	// legacyTable is where hpcalc's own runner, before goose, kept the names of the
	// migrations it had applied. Migrate carries it over into versionTable once.
	legacyTable = "schema_migrations"
)

// errApplied is what a migration's transaction fails with when, under it, the migration
// turns out to be applied already: another process applied it after this one read the
// versions. Migrate reads them again and goes on.
var errApplied = errors.New("migration applied meanwhile by another process")

// Migrate applies, in order and each in its own transaction, the embedded migrations not
// yet applied, and returns their names. Shipped migrations are never changed in meaning: a
// change is a new file (or a Go migration, for what SQL cannot do alone).
//
// Migrations run through goose (github.com/pressly/goose/v3). Several processes may
// migrate one database at once (replicas of serve starting together): on PostgreSQL they
// take turns under a session advisory lock, one per schema; on SQLite, whose writers
// already take turns, a migration's transaction checks, under the write lock, that no
// other process applied it meanwhile, and if one did it rolls back and Migrate reads the
// versions again. A database migrated by hpcalc's runner before goose (a
// schema_migrations table of names) is recognised and its history carried over, so
// nothing is applied twice. Errors: ErrUnknownMigration when the database records a
// migration this hpcalc does not ship; the failing migration's error otherwise.
func (s *Store) Migrate(ctx context.Context) (_ []string, err error) {
	defer s.classify(&err)
	locker, err := s.migrationLocker(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := s.carryHistoryLocked(ctx, locker); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	p, err := s.migrator(locker)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var applied []string
	for attempt := 0; ; attempt++ {
		res, err := p.Up(ctx)
		var partial *goose.PartialError
		if errors.As(err, &partial) {
			res = partial.Applied
		}
		for _, r := range res {
			applied = append(applied, s.migrationName(r.Source))
		}
		if err == nil {
			if s.dialect.name == "sqlite" && slices.ContainsFunc(applied, func(name string) bool { return slices.Contains(vacuumAfter, name) }) {
				// The conversion leaves the old rows' pages free; SQLite gives them back to
				// the file system only on VACUUM, which cannot run inside a migration's
				// transaction. The migration has committed: a failure here is not its.
				if _, err := s.db.ExecContext(ctx, "VACUUM"); err != nil {
					s.log.Load().Warn("migrate: VACUUM after converting the settlements failed", "err", err)
				}
			}
			return applied, nil
		}
		if attempt < 100 && (errors.Is(err, errApplied) || partial != nil && s.versionApplied(ctx, partial.Failed.Source.Version)) {
			// Another process applied the migration after this one read the versions; this
			// one's transaction was rolled back.
			continue
		}
		return applied, fmt.Errorf("migrate: %w", err)
	}
}

// versionApplied reports whether goose's table records version as applied.
func (s *Store) versionApplied(ctx context.Context, version int64) bool {
	var n int
	err := s.db.GetContext(ctx, &n, s.db.Rebind(`SELECT COUNT(*) FROM `+versionTable+` WHERE version_id = ?`), version)
	return err == nil && n > 0
}

// migrationLocker returns the lock migrations take turns under: on PostgreSQL a session
// advisory lock of the current schema; on SQLite none (nil), see Migrate.
func (s *Store) migrationLocker(ctx context.Context) (lock.SessionLocker, error) {
	if s.dialect.name != "postgres" {
		return nil, nil
	}
	// One lock per schema: tests and load runs migrate schemas of their own in one
	// database at once, and a schema's migrations concern no other schema.
	var schema string
	if err := s.db.GetContext(ctx, &schema, `SELECT COALESCE(current_schema(), '')`); err != nil {
		return nil, err
	}
	h := fnv.New64a()
	io.WriteString(h, "hpcalc migrations "+schema)
	// A long migration (converting a million settlements) keeps others waiting: wait up to
	// 30 minutes, trying every second.
	return lock.NewPostgresSessionLocker(lock.WithLockID(int64(h.Sum64()>>1)), lock.WithLockTimeout(1, 1800))
}

// carryHistoryLocked runs carryHistory holding locker, if any.
func (s *Store) carryHistoryLocked(ctx context.Context, locker lock.SessionLocker) (err error) {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	if locker != nil {
		if err := locker.SessionLock(ctx, conn); err != nil {
			return err
		}
		defer func() { err = errors.Join(err, locker.SessionUnlock(context.WithoutCancel(ctx), conn)) }()
	}
	return s.carryHistory(ctx, conn)
}

// migrator returns the goose provider of this store's migrations, taking locker if any.
func (s *Store) migrator(locker lock.SessionLocker) (*goose.Provider, error) {
	base, err := database.NewStore(s.gooseDialect(), versionTable)
	if err != nil {
		return nil, err
	}
	opts := []goose.ProviderOption{
		goose.WithStore(onceStore{Store: base, bind: sqlx.BindType(s.dialect.name)}),
		goose.WithGoMigrations(s.goMigrations()...),
		goose.WithDisableGlobalRegistry(true),
		// Migrations written on branches at once land in any order (0005 before 0003): a
		// database migrated in between must take the late one as the runner before goose
		// did, rather than refuse it.
		goose.WithAllowOutofOrder(true),
	}
	if locker != nil {
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(database.DialectCustom, s.db.DB, s.migrationFS(), opts...)
}

// goMigration is a migration written in Go, for what SQL cannot do alone.
type goMigration struct {
	version int64
	name    string
	up      func(ctx context.Context, s *Store, tx *sql.Tx) error
}

// goMigrationList holds the Go migrations; their versions are shared with the SQL files.
var goMigrationList = []goMigration{
	{version: 7, name: "0007_tally_days_from_settlements", up: fillTallyDays},
	{version: 8, name: "0008_settlement_workings", up: convertWorkings},
	{version: 10, name: "0010_workings_v3", up: workingsV3},
	{version: 11, name: "0011_integer_stamps", up: integerStamps},
	{version: 17, name: "0017_tally_sums", up: tallySumsFromBuckets},
}

// vacuumAfter are the migrations that rewrite or drop much of the settlements: SQLite
// keeps the pages they free until VACUUM.
var vacuumAfter = []string{"0008_settlement_workings", "0010_workings_v3", "0011_integer_stamps"}

func (s *Store) goMigrations() []*goose.Migration {
	var out []*goose.Migration
	for _, m := range goMigrationList {
		up := m.up
		out = append(out, goose.NewGoMigration(m.version,
			&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error { return up(ctx, s, tx) }}, nil))
	}
	return out
}

// migrationName is the name Migrate reports for a migration: its file name without .sql,
// or a Go migration's name.
func (s *Store) migrationName(src *goose.Source) string {
	if src.Path != "" {
		return strings.TrimSuffix(path.Base(src.Path), ".sql")
	}
	for _, m := range goMigrationList {
		if m.version == src.Version {
			return m.name
		}
	}
	return fmt.Sprint(src.Version)
}

// migrationVersions maps each shipped migration's name to its version.
func migrationVersions() (map[string]int64, error) {
	names, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	for _, p := range names {
		v, err := goose.NumericComponent(path.Base(p))
		if err != nil {
			return nil, err
		}
		out[strings.TrimSuffix(path.Base(p), ".sql")] = v
	}
	for _, m := range goMigrationList {
		out[m.name] = m.version
	}
	return out, nil
}

// migrationFS is the migrations directory with {{money}} replaced by the column type of
// money in this database.
func (s *Store) migrationFS() fs.FS {
	sub, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		panic(err) // the directory is embedded
	}
	return moneyFS{FS: sub, money: s.dialect.money}
}

type moneyFS struct {
	fs.FS
	money string
}

func (m moneyFS) Open(name string) (fs.File, error) {
	f, err := m.FS.Open(name)
	if err != nil || !strings.HasSuffix(name, ".sql") {
		return f, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, err
	}
	body := bytes.ReplaceAll(raw, []byte("{{money}}"), []byte(m.money))
	return &memFile{Reader: bytes.NewReader(body), info: info, size: int64(len(body))}, nil
}

type memFile struct {
	*bytes.Reader
	info fs.FileInfo
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return memInfo{f.info, f.size}, nil }
func (f *memFile) Close() error               { return nil }

type memInfo struct {
	fs.FileInfo
	size int64
}

func (i memInfo) Size() int64 { return i.size }

// onceStore is goose's version table, refusing to record a version twice: the check runs
// in the migration's own transaction, so on SQLite, where that transaction holds the
// write lock, a migration applied meanwhile by another process is rolled back whole.
type onceStore struct {
	database.Store
	bind int
}

func (o onceStore) Insert(ctx context.Context, db database.DBTxConn, req database.InsertRequest) error {
	if req.Version > 0 {
		var n int
		q := sqlx.Rebind(o.bind, `SELECT COUNT(*) FROM `+versionTable+` WHERE version_id = ?`)
		if err := db.QueryRowContext(ctx, q, req.Version).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("version %d: %w", req.Version, errApplied)
		}
	}
	return o.Store.Insert(ctx, db, req)
}

// carryHistory records in goose's version table the migrations that hpcalc's runner
// before goose applied, and drops that runner's table, in one transaction; on a database
// that has goose's table already, or neither table, it does nothing. On SQLite the
// transaction holds the write lock from its start, so two processes cannot both carry.
func (s *Store) carryHistory(ctx context.Context, conn *sql.Conn) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if ok, err := s.tableExists(ctx, tx, versionTable); err != nil || ok {
		return err
	}
	if ok, err := s.tableExists(ctx, tx, legacyTable); err != nil || !ok {
		return err
	}
	rows, err := tx.QueryContext(ctx, `SELECT name FROM `+legacyTable)
	if err != nil {
		return fmt.Errorf("read %s: %w", legacyTable, err)
	}
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return err
		}
		names = append(names, n)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	known, err := migrationVersions()
	if err != nil {
		return err
	}
	versions := []int64{0} // goose's table starts with version 0
	for _, n := range names {
		v, ok := known[n]
		if !ok {
			return fmt.Errorf("%s records migration %q: %w", legacyTable, n, ErrUnknownMigration)
		}
		versions = append(versions, v)
	}
	slices.Sort(versions)
	vs, err := database.NewStore(s.gooseDialect(), versionTable)
	if err != nil {
		return err
	}
	if err := vs.CreateVersionTable(ctx, tx); err != nil {
		return fmt.Errorf("carry over %s: %w", legacyTable, err)
	}
	for _, v := range versions {
		if err := vs.Insert(ctx, tx, database.InsertRequest{Version: v}); err != nil {
			return fmt.Errorf("carry over %s: %w", legacyTable, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE `+legacyTable); err != nil {
		return fmt.Errorf("carry over %s: %w", legacyTable, err)
	}
	return tx.Commit()
}

func (s *Store) gooseDialect() database.Dialect {
	if s.dialect.name == "postgres" {
		return database.DialectPostgres
	}
	return database.DialectSQLite3
}

// tableExists reports whether table is in the database (PostgreSQL: in the current schema).
func (s *Store) tableExists(ctx context.Context, q interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}, table string) (bool, error) {
	query := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?`
	if s.dialect.name == "postgres" {
		query = `SELECT COUNT(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1`
	}
	var n int
	if err := q.QueryRowContext(ctx, query, table).Scan(&n); err != nil {
		return false, fmt.Errorf("look for table %s: %w", table, err)
	}
	return n > 0, nil
}

// checkSchema returns nil if every shipped migration is applied to the database, and
// otherwise ErrNoSchema, ErrSchemaBehind or ErrUnknownMigration. It writes nothing.
func (s *Store) checkSchema(ctx context.Context) error {
	ok, err := s.tableExists(ctx, s.db, versionTable)
	if err != nil {
		return err
	}
	if !ok {
		if legacy, err := s.tableExists(ctx, s.db, legacyTable); err != nil {
			return err
		} else if legacy {
			return ErrSchemaBehind
		}
		return ErrNoSchema
	}
	var have []int64
	if err := s.db.SelectContext(ctx, &have, `SELECT version_id FROM `+versionTable); err != nil {
		return fmt.Errorf("read %s: %w", versionTable, err)
	}
	known, err := migrationVersions()
	if err != nil {
		return err
	}
	want := map[int64]bool{}
	for _, v := range known {
		want[v] = true
	}
	applied := map[int64]bool{}
	for _, v := range have {
		if v > 0 && !want[v] {
			return fmt.Errorf("version %d: %w", v, ErrUnknownMigration)
		}
		applied[v] = true
	}
	if len(applied) == 1 && applied[0] || len(applied) == 0 {
		return ErrNoSchema
	}
	for v := range want {
		if !applied[v] {
			return ErrSchemaBehind
		}
	}
	return nil
}
