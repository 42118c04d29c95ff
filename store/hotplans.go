package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
)

// HotPlan is the database's plan of one query that requests run, as ExplainHot asks for
// it.
type HotPlan struct {
	Name  string
	Lines []string
}

// ExplainHot asks the database how it runs the queries that requests run on every
// settlement, resubmission, reversal, quote and read, with arguments from the data at
// hand: the claim claimID and its settlement settlementID, of person personID in year,
// and a tally from from to to. PostgreSQL runs each (EXPLAIN (ANALYZE, BUFFERS), reads
// only), so that its plan says how many rows and pages it read at the tables' size;
// SQLite tells its plan (EXPLAIN QUERY PLAN): which index each table is searched by, or
// that it is scanned. The soak asks at its end, on the tables it grew.
func (s *Store) ExplainHot(ctx context.Context, claimID, settlementID, personID string, year int, from, to calc.Date) ([]HotPlan, error) {
	queries := []struct {
		name  string
		query string
		args  []any
	}{
		{"a claim's settlement (resubmission, read)", settledQuery(byClaimSettled), []any{claimID}},
		{"a settlement by id (reversal)", settledQuery(bySettlementID), []any{settlementID}},
		{"a settlement's reversal", settledQuery(byReverses), []any{settlementID}},
		{"a claim", claimQuery, []any{claimID}},
		{"a person and their ledger (quote)", personLedgerQuery, []any{year, personID}},
		{"a ledger (settlement, under its lock)", readLedgerQuery, []any{personID, year}},
		{"a person-year's standing claims (reversal)", personYearStandingQuery, []any{personID, year}},
		{"a settlement's adjustments", adjustmentsQuery(`settlement_id = ?`), []any{settlementID}},
		{"a reversal's adjustments", adjustmentsQuery(`cause_id = ?`), []any{settlementID}},
		{"a person-year's adjustments", adjustmentsQuery(`person_id = ? AND year = ?`), []any{personID, year}},
		{"the tally", tallyQuery, []any{int64(from), int64(to)}},
	}
	prefix := "EXPLAIN (ANALYZE, BUFFERS) "
	if s.dialect.name == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	var out []HotPlan
	for _, q := range queries {
		lines, err := s.explain(ctx, prefix+q.query, q.args...)
		if err != nil {
			return nil, fmt.Errorf("explain %s: %w", q.name, err)
		}
		out = append(out, HotPlan{Name: q.name, Lines: lines})
	}
	return out, nil
}

// explain runs an EXPLAIN and returns its lines: the last column of each row (SQLite's
// detail, PostgreSQL's only one).
func (s *Store) explain(ctx context.Context, query string, args ...any) ([]string, error) {
	rows, err := s.db.QueryContext(ctx, s.db.Rebind(query), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var lines []string
	for rows.Next() {
		v := make([]any, len(cols))
		for i := range v {
			v[i] = new(sql.RawBytes)
		}
		if err := rows.Scan(v...); err != nil {
			return nil, err
		}
		lines = append(lines, strings.TrimRight(string(*v[len(v)-1].(*sql.RawBytes)), " "))
	}
	return lines, rows.Err()
}
