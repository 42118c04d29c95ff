package store_test

import (
	"context"
	"database/sql/driver"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
)

// countingConn counts the statements prepared on a SQLite connection, by text.
type countingConn struct {
	driver.Conn
	mu       *sync.Mutex
	prepared map[string]int
}

func (c *countingConn) Prepare(query string) (driver.Stmt, error) {
	return c.PrepareContext(context.Background(), query)
}

func (c *countingConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	c.mu.Lock()
	c.prepared[query]++
	c.mu.Unlock()
	return c.Conn.(driver.ConnPrepareContext).PrepareContext(ctx, query)
}

func (c *countingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	return c.Conn.(driver.ConnBeginTx).BeginTx(ctx, opts)
}

// TestSQLiteKeepsStatementsPrepared settles claims on SQLite and checks that each
// statement of a settlement was prepared once, not once a settlement, and that a query
// run again while its rows are open (a read inside a loop over a query's rows) is
// prepared on its own and answers.
func TestSQLiteKeepsStatementsPrepared(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	prepared := map[string]int{}
	s, err := store.OpenSQLiteWith(ctx, filepath.Join(t.TempDir(), "hpcalc.db"), func(c driver.Conn) driver.Conn {
		return &countingConn{Conn: c, mu: &mu, prepared: prepared}
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.ReadPolicy = policyfile.Parse
	if _, err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d := loadShipped(t, s)
	mu.Lock()
	clear(prepared)
	mu.Unlock()
	const n = 20
	for _, c := range d.Claims.Claims[:n] {
		if _, _, err := ops.New(s).Settle(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	mu.Lock()
	for q, times := range prepared {
		if times > 1 {
			t.Errorf("prepared %d times for %d settlements: %.120s", times, n, q)
		}
	}
	if len(prepared) == 0 {
		t.Error("nothing prepared: the settlements ran no statement through the connection?")
	}
	mu.Unlock()

	// A query run again, in one transaction, while its rows are open.
	const q = `SELECT person_id FROM persons ORDER BY person_id LIMIT 3`
	tx, err := s.DB().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	n2 := 0
	for rows.Next() {
		var id, first string
		if err := rows.Scan(&id); err != nil {
			t.Fatal(err)
		}
		if err := tx.QueryRowContext(ctx, q).Scan(&first); err != nil || first > id {
			t.Fatalf("inside the rows of %s: %q, %v", id, first, err)
		}
		n2++
	}
	if err := rows.Close(); err != nil || n2 != 3 {
		t.Fatalf("%d rows, %v", n2, err)
	}
	mu.Lock()
	if got := prepared[q]; got != 1+n2 {
		t.Errorf("the query was prepared %d times, want %d: once kept, and each time it ran while that was busy", got, 1+n2)
	}
	mu.Unlock()
	var first string
	if err := tx.QueryRowContext(ctx, q).Scan(&first); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if got := prepared[q]; got != 1+n2 {
		t.Errorf("after its rows closed, the query was prepared again (%d times)", got)
	}
	mu.Unlock()
}
