package storetest

import (
	"context"
	"database/sql/driver"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
)

// Fault makes a Faulty store's database fail: while an error is set, every statement,
// transaction and ping the store starts returns it, as a database that is restarting or
// unreachable does.
type Fault struct {
	err atomic.Pointer[error]
	on  atomic.Pointer[matchFault]
	// Before, if set, is called with each statement's text before it runs: a test may
	// stop there (a crash test kills the process while it waits).
	Before func(query string)
}

// Wrap returns c failing as f says: give it to store.OpenSQLiteWith or
// store.OpenPostgresWith.
func (f *Fault) Wrap(c driver.Conn) driver.Conn { return &faultyConn{Conn: c, f: f} }

// matchFault fails the statements whose text holds match, once after of them have run.
type matchFault struct {
	match string
	after atomic.Int64
	err   error
}

// SetOn makes the database fail with err every statement whose text contains match,
// once after such statements have run; SetOn("", 0, nil) ends it. It fails an operation
// part way through, as a database that goes away in the middle of a long job does.
func (f *Fault) SetOn(match string, after int, err error) {
	if err == nil {
		f.on.Store(nil)
		return
	}
	m := &matchFault{match: match, err: err}
	m.after.Store(int64(after))
	f.on.Store(m)
}

// getFor is the error a statement with text query is to fail with, or nil.
func (f *Fault) getFor(query string) error {
	if f.Before != nil {
		f.Before(query)
	}
	if err := f.get(); err != nil {
		return err
	}
	m := f.on.Load()
	if m == nil || !strings.Contains(query, m.match) {
		return nil
	}
	if m.after.Add(-1) >= 0 {
		return nil
	}
	return m.err
}

// Set makes the database fail with err from now on; nil makes it work again.
func (f *Fault) Set(err error) {
	if err == nil {
		f.err.Store(nil)
		return
	}
	f.err.Store(&err)
}

func (f *Fault) get() error {
	if p := f.err.Load(); p != nil {
		return *p
	}
	return nil
}

// Faulty opens a migrated store on a new SQLite file whose connections fail, when told
// to through the Fault, with the error given.
func Faulty(tb testing.TB) (*store.Store, *Fault) {
	tb.Helper()
	f := &Fault{}
	s, err := store.OpenSQLiteWith(context.Background(), filepath.Join(tb.TempDir(), "hpcalc.db"),
		func(c driver.Conn) driver.Conn { return &faultyConn{Conn: c, f: f} })
	if err != nil {
		tb.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	tb.Cleanup(func() { s.Close() })
	if _, err := s.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return s, f
}

// faultyConn passes everything to SQLite's connection unless the Fault is set. It
// implements only what database/sql needs to route every query through it.
type faultyConn struct {
	driver.Conn
	f *Fault
}

func (c *faultyConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *faultyConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if err := c.f.get(); err != nil {
		return nil, err
	}
	st, err := c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	return &faultyStmt{Stmt: st, f: c.f, query: query}, nil
}

func (c *faultyConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if err := c.f.get(); err != nil {
		return nil, err
	}
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

func (c *faultyConn) Ping(ctx context.Context) error {
	if err := c.f.get(); err != nil {
		return err
	}
	return c.Conn.(driver.Pinger).Ping(ctx)
}

// faultyStmt fails a statement prepared before the Fault was set, as the store keeps some.
type faultyStmt struct {
	driver.Stmt
	f     *Fault
	query string
}

func (s *faultyStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	if err := s.f.getFor(s.query); err != nil {
		return nil, err
	}
	return s.Stmt.(driver.StmtExecContext).ExecContext(ctx, args)
}

func (s *faultyStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	if err := s.f.getFor(s.query); err != nil {
		return nil, err
	}
	return s.Stmt.(driver.StmtQueryContext).QueryContext(ctx, args)
}
