package store

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"math"
	"slices"
	"strings"
	"sync"
	"time"
)

// An Observer times every statement a store runs, when the store is opened with
// OpenObserved: the soak (hpcalc loadtest --soak) reports, each interval, which statements
// took the time and whether one grows with the tables. A store opened otherwise has none
// and pays nothing for it.
//
// A statement's time runs from the call to the database until its rows are closed (so a
// query's includes reading its rows), and BEGIN, COMMIT and ROLLBACK are timed as
// statements of their own: on SQLite a commit is where the WAL is written and synced, and
// on PostgreSQL where the commit waits for its fsync.
type Observer struct {
	mu    sync.Mutex
	stmts map[string]*stmtHist
}

// NewObserver returns an Observer with nothing observed.
func NewObserver() *Observer { return &Observer{stmts: map[string]*stmtHist{}} }

// StatementTime is what an Observer saw of one statement since it was last taken.
type StatementTime struct {
	Statement string // its text, runs of spaces collapsed
	Count     int64
	Total     time.Duration
	P50, P99  time.Duration // within an eighth of an octave (9%)
	Max       time.Duration
}

// Mean is the statement's mean time.
func (t StatementTime) Mean() time.Duration {
	if t.Count == 0 {
		return 0
	}
	return t.Total / time.Duration(t.Count)
}

// Times are a histogram's buckets: an eighth of an octave each, from 1 µs to about 4,000 s
// (a statement outside is counted in the first or last).
const (
	histPerOctave = 8
	histBuckets   = 32 * histPerOctave
)

type stmtHist struct {
	n          int64
	total, max time.Duration
	buckets    [histBuckets]uint32
}

func histBucket(d time.Duration) int {
	if d <= time.Microsecond {
		return 0
	}
	b := int(histPerOctave * math.Log2(float64(d)/float64(time.Microsecond)))
	return min(b, histBuckets-1)
}

// histValue is the middle of bucket b.
func histValue(b int) time.Duration {
	return time.Duration(float64(time.Microsecond) * math.Exp2((float64(b)+0.5)/histPerOctave))
}

func (o *Observer) observe(query string, d time.Duration) {
	o.mu.Lock()
	h := o.stmts[query]
	if h == nil {
		h = &stmtHist{}
		o.stmts[query] = h
	}
	h.n++
	h.total += d
	h.max = max(h.max, d)
	h.buckets[histBucket(d)]++
	o.mu.Unlock()
}

// Take returns what was observed since the last Take, the statements that took the most
// time in all first, and starts afresh.
func (o *Observer) Take() []StatementTime {
	o.mu.Lock()
	stmts := o.stmts
	o.stmts = make(map[string]*stmtHist, len(stmts))
	o.mu.Unlock()
	out := make([]StatementTime, 0, len(stmts))
	for q, h := range stmts {
		t := StatementTime{Statement: strings.Join(strings.Fields(q), " "), Count: h.n, Total: h.total, Max: h.max}
		t.P50, t.P99 = h.percentile(0.50), h.percentile(0.99)
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b StatementTime) int {
		return cmp.Or(cmp.Compare(b.Total, a.Total), cmp.Compare(a.Statement, b.Statement))
	})
	return out
}

func (h *stmtHist) percentile(p float64) time.Duration {
	rank := int64(math.Ceil(p * float64(h.n)))
	var seen int64
	for b, n := range h.buckets {
		seen += int64(n)
		if seen >= rank && n > 0 {
			return min(histValue(b), h.max)
		}
	}
	return h.max
}

// DBStats are the connection pool's statistics: connections open and in use, and how
// often and how long callers waited for one (on SQLite, which has one connection, the
// time requests queued for the database).
func (s *Store) DBStats() sql.DBStats { return s.db.Stats() }

// OpenObserved is Open with every statement timed by o.
func OpenObserved(ctx context.Context, url string, o *Observer) (*Store, error) {
	wrap := func(c driver.Conn) driver.Conn { return &observedConn{Conn: c, o: o} }
	if strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://") {
		return OpenPostgresWith(ctx, url, wrap)
	}
	return OpenSQLiteWith(ctx, strings.TrimPrefix(url, "sqlite:"), wrap)
}

// observedConn times every statement run on the connection it wraps. It passes on every
// optional interface database/sql uses of SQLite's and lib/pq's connections, so that a
// statement takes the same path (no extra prepare) as it would unobserved.
type observedConn struct {
	driver.Conn
	o *Observer
}

var (
	_ driver.ConnBeginTx        = (*observedConn)(nil)
	_ driver.ConnPrepareContext = (*observedConn)(nil)
	_ driver.ExecerContext      = (*observedConn)(nil)
	_ driver.QueryerContext     = (*observedConn)(nil)
	_ driver.NamedValueChecker  = (*observedConn)(nil)
	_ driver.Pinger             = (*observedConn)(nil)
	_ driver.SessionResetter    = (*observedConn)(nil)
	_ driver.Validator          = (*observedConn)(nil)
)

func (c *observedConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *observedConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	var (
		st  driver.Stmt
		err error
	)
	if p, ok := c.Conn.(driver.ConnPrepareContext); ok {
		st, err = p.PrepareContext(ctx, query)
	} else {
		st, err = c.Conn.Prepare(query)
	}
	if err != nil {
		return nil, err
	}
	return &observedStmt{Stmt: st, o: c.o, query: query}, nil
}

func (c *observedConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

func (c *observedConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	t0 := time.Now()
	var (
		tx  driver.Tx
		err error
	)
	if b, ok := c.Conn.(driver.ConnBeginTx); ok {
		tx, err = b.BeginTx(ctx, opts)
	} else {
		tx, err = c.Conn.Begin() //lint:ignore SA1019 the fallback database/sql takes too
	}
	c.o.observe("BEGIN", time.Since(t0))
	if err != nil {
		return nil, err
	}
	return &observedTx{Tx: tx, o: c.o}, nil
}

func (c *observedConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	e, ok := c.Conn.(driver.ExecerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	t0 := time.Now()
	r, err := e.ExecContext(ctx, query, args)
	c.o.observe(query, time.Since(t0))
	return r, err
}

func (c *observedConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := c.Conn.(driver.QueryerContext)
	if !ok {
		return nil, driver.ErrSkip
	}
	t0 := time.Now()
	rows, err := q.QueryContext(ctx, query, args)
	if err != nil {
		c.o.observe(query, time.Since(t0))
		return nil, err
	}
	return &observedRows{Rows: rows, o: c.o, query: query, t0: t0}, nil
}

func (c *observedConn) CheckNamedValue(nv *driver.NamedValue) error {
	if n, ok := c.Conn.(driver.NamedValueChecker); ok {
		return n.CheckNamedValue(nv)
	}
	return driver.ErrSkip
}

func (c *observedConn) Ping(ctx context.Context) error {
	if p, ok := c.Conn.(driver.Pinger); ok {
		return p.Ping(ctx)
	}
	return nil
}

func (c *observedConn) ResetSession(ctx context.Context) error {
	if r, ok := c.Conn.(driver.SessionResetter); ok {
		return r.ResetSession(ctx)
	}
	return nil
}

func (c *observedConn) IsValid() bool {
	if v, ok := c.Conn.(driver.Validator); ok {
		return v.IsValid()
	}
	return true
}

type observedTx struct {
	driver.Tx
	o *Observer
}

func (t *observedTx) Commit() error {
	t0 := time.Now()
	err := t.Tx.Commit()
	t.o.observe("COMMIT", time.Since(t0))
	return err
}

func (t *observedTx) Rollback() error {
	t0 := time.Now()
	err := t.Tx.Rollback()
	t.o.observe("ROLLBACK", time.Since(t0))
	return err
}

type observedStmt struct {
	driver.Stmt
	o     *Observer
	query string
}

func (s *observedStmt) Exec(args []driver.Value) (driver.Result, error) {
	t0 := time.Now()
	r, err := s.Stmt.Exec(args) //lint:ignore SA1019 the fallback database/sql takes too
	s.o.observe(s.query, time.Since(t0))
	return r, err
}

func (s *observedStmt) Query(args []driver.Value) (driver.Rows, error) {
	t0 := time.Now()
	rows, err := s.Stmt.Query(args) //lint:ignore SA1019 the fallback database/sql takes too
	if err != nil {
		s.o.observe(s.query, time.Since(t0))
		return nil, err
	}
	return &observedRows{Rows: rows, o: s.o, query: s.query, t0: t0}, nil
}

func (s *observedStmt) ExecContext(ctx context.Context, args []driver.NamedValue) (driver.Result, error) {
	e, ok := s.Stmt.(driver.StmtExecContext)
	if !ok {
		v, err := namedToValues(args)
		if err != nil {
			return nil, err
		}
		return s.Exec(v)
	}
	t0 := time.Now()
	r, err := e.ExecContext(ctx, args)
	s.o.observe(s.query, time.Since(t0))
	return r, err
}

func (s *observedStmt) QueryContext(ctx context.Context, args []driver.NamedValue) (driver.Rows, error) {
	q, ok := s.Stmt.(driver.StmtQueryContext)
	if !ok {
		v, err := namedToValues(args)
		if err != nil {
			return nil, err
		}
		return s.Query(v)
	}
	t0 := time.Now()
	rows, err := q.QueryContext(ctx, args)
	if err != nil {
		s.o.observe(s.query, time.Since(t0))
		return nil, err
	}
	return &observedRows{Rows: rows, o: s.o, query: s.query, t0: t0}, nil
}

func namedToValues(named []driver.NamedValue) ([]driver.Value, error) {
	v := make([]driver.Value, len(named))
	for i, n := range named {
		if n.Name != "" {
			return nil, driver.ErrSkip
		}
		v[i] = n.Value
	}
	return v, nil
}

// observedRows times a query until its rows are closed.
type observedRows struct {
	driver.Rows
	o     *Observer
	query string
	t0    time.Time
	done  bool
}

func (r *observedRows) Close() error {
	err := r.Rows.Close()
	if !r.done {
		r.done = true
		r.o.observe(r.query, time.Since(r.t0))
	}
	return err
}
