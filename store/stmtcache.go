package store

import (
	"context"
	"database/sql/driver"
)

// stmtCacheSize bounds the statements a SQLite connection keeps prepared. The store runs
// a few dozen distinct statements; those built for a number of rows (a reversal's
// adjustments in chunks, IN lists) are many more, and past the bound are prepared each
// time as before.
const stmtCacheSize = 256

// cachingConn is a SQLite connection that keeps prepared every statement it is given as
// text (ExecContext, QueryContext), by that text, and runs it again from there. SQLite
// parses and plans a statement each time it is prepared, and the store runs most of its
// statements inside transactions as text: in a soak, parsing was a fifth of the
// process's CPU, spent while the one connection was held. Statements prepared through
// database/sql (Store.prepared) are its own and pass through.
//
// database/sql never uses a connection from two goroutines at once; a statement whose
// rows are still open (busy) is not run again until they are closed: a second run of
// its text meanwhile is prepared on its own.
type cachingConn struct {
	driver.Conn
	stmts map[string]*cachedStmt
}

type cachedStmt struct {
	st   driver.Stmt
	busy bool
}

func newCachingConn(c driver.Conn) driver.Conn {
	return &cachingConn{Conn: c, stmts: map[string]*cachedStmt{}}
}

var (
	_ driver.ConnBeginTx        = (*cachingConn)(nil)
	_ driver.ConnPrepareContext = (*cachingConn)(nil)
	_ driver.ExecerContext      = (*cachingConn)(nil)
	_ driver.QueryerContext     = (*cachingConn)(nil)
	_ driver.NamedValueChecker  = (*cachingConn)(nil)
	_ driver.Pinger             = (*cachingConn)(nil)
	_ driver.SessionResetter    = (*cachingConn)(nil)
	_ driver.Validator          = (*cachingConn)(nil)
)

// stmt returns the statement of query kept prepared, preparing it if need be, and
// whether it is kept (false: the caller closes it).
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, bool, error) {
	if cs := c.stmts[query]; cs != nil && !cs.busy {
		return cs, true, nil
	}
	st, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, false, err
	}
	cs := &cachedStmt{st: st}
	if _, taken := c.stmts[query]; taken || len(c.stmts) >= stmtCacheSize {
		return cs, false, nil
	}
	c.stmts[query] = cs
	return cs, true, nil
}

func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	cs, kept, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if !kept {
		defer cs.st.Close()
	}
	e, ok := cs.st.(driver.StmtExecContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	return e.ExecContext(ctx, args)
}

func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, kept, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	q, ok := cs.st.(driver.StmtQueryContext)
	if !ok {
		if !kept {
			cs.st.Close()
		}
		return nil, driver.ErrSkip
	}
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		if !kept {
			cs.st.Close()
		}
		return nil, err
	}
	cs.busy = true
	return &cachedRows{Rows: rows, cs: cs, kept: kept}, nil
}

// cachedRows frees its statement for the next run when closed, or closes it if it is
// not kept.
type cachedRows struct {
	driver.Rows
	cs     *cachedStmt
	kept   bool
	closed bool
}

func (r *cachedRows) Close() error {
	err := r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.cs.busy = false
		if !r.kept {
			if e := r.cs.st.Close(); err == nil {
				err = e
			}
		}
	}
	return err
}

// Close closes the statements kept, then the connection.
func (c *cachingConn) Close() error {
	for q, cs := range c.stmts {
		_ = cs.st.Close()
		delete(c.stmts, q)
	}
	return c.Conn.Close()
}

func (c *cachingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *cachingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		return p.PrepareContext(ctx, query)
	}
	return c.Conn.Prepare(query)
}

func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		return b.BeginTx(ctx, opts)
	}
	return c.Conn.Begin() //lint:ignore SA1019 the fallback database/sql takes too
}

func (c *cachingConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *cachingConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *cachingConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *cachingConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}
