package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
)

// The hot queries, exactly as the store runs them, for TestHotQueryPlans.
var (
	SettlementByIDQuery       = settledQuery(bySettlementID)
	SettlementForClaimQuery   = settledQuery(byClaimSettled)
	ReversalQuery             = settledQuery(byReverses)
	ClaimQuery                = claimQuery
	PersonQuery               = personQuery
	PersonLedgerQuery         = personLedgerQuery
	ReadLedgerQuery           = readLedgerQuery
	WriteLedgerQuery          = writeLedgerQuery
	TallyQuery                = tallyQuery
	AddToDayZeroQuery         = addToDayZeroQuery
	StoredClaimsQuery         = storedClaimsQuery
	PersonYearSettlementQuery = personYearSettlementsQuery
	ProviderDayQuery          = providerDayQuery
	PersonYearStandingQuery   = personYearStandingQuery
	SettlementAdjustmentQuery = adjustmentsQuery(`settlement_id = ?`)
	ReversalAdjustmentQuery   = adjustmentsQuery(`cause_id = ?`)
	PersonYearAdjustmentQuery = adjustmentsQuery(`person_id = ? AND year = ?`)
)

// Analyze has the database gather its statistics of every table, as SQLite's PRAGMA
// optimize and PostgreSQL's autovacuum do in time.
func (s *Store) Analyze(ctx context.Context) error {
	_, err := s.db.ExecContext(ctx, "ANALYZE")
	return err
}

// Plan returns the database's plan of query with args, one line per step: EXPLAIN QUERY
// PLAN's details in SQLite, EXPLAIN's lines in PostgreSQL.
func (s *Store) Plan(ctx context.Context, query string, args ...any) ([]string, error) {
	prefix := "EXPLAIN "
	if s.dialect.name == "sqlite" {
		prefix = "EXPLAIN QUERY PLAN "
	}
	lines, err := s.explain(ctx, prefix+query, args...)
	if err != nil {
		return nil, fmt.Errorf("plan: %w", err)
	}
	for i, l := range lines {
		lines[i] = strings.TrimSpace(l)
	}
	return lines, nil
}

// TallyFromSettlements is the tally as the store computed it before tally_days: every
// settlements row of the period read and added up in Go. Tests check Tally against it.
func (s *Store) TallyFromSettlements(ctx context.Context, from, to calc.Date) (calc.Tally, error) {
	rows, err := s.db.QueryxContext(ctx, s.db.Rebind(`SELECT reverses, total, basic, critical, commercial, aid, backstop, out_of_pocket
		FROM settlements WHERE discharged_on >= ? AND discharged_on <= ?`), from.String(), to.String())
	if err != nil {
		return calc.Tally{}, err
	}
	defer rows.Close()
	var t calc.Tally
	for rows.Next() {
		var (
			reverses sql.NullString
			v        [7]decimal.Decimal
		)
		if err := rows.Scan(&reverses, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
			return calc.Tally{}, err
		}
		var ms moneyScanner
		if reverses.Valid {
			t.Claims--
		} else {
			t.Claims++
		}
		t.Total += ms.fen(v[0])
		for l := range calc.NumLines {
			t.Lines[l] += ms.fen(v[1+int(l)])
		}
		t.OutOfPocket += ms.fen(v[6])
		if ms.err != nil {
			return calc.Tally{}, ms.err
		}
	}
	if err := rows.Err(); err != nil {
		return calc.Tally{}, err
	}
	// Adjustments count too, with no claims.
	adjs, err := s.AdjustmentsDischarged(ctx, from, to)
	if err != nil {
		return calc.Tally{}, err
	}
	for _, a := range adjs {
		for l := range calc.NumLines {
			t.Lines[l] += a.Adjustment.Lines[l]
		}
		t.OutOfPocket += a.Adjustment.OutOfPocket
	}
	return t, nil
}

// TallyRows returns how many rows tally_sums has, and for how many days.
func (s *Store) TallyRows(ctx context.Context) (rows, days int, err error) {
	err = s.db.QueryRowxContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT day) FROM tally_sums`).Scan(&rows, &days)
	return rows, days, err
}

// SplitTally moves half of every day's sums in bucket 0 to the other buckets, as writers
// that met on PostgreSQL leave them, so that tests see a tally read and a migration add
// up a day of many rows.
func (s *Store) SplitTally(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		var days []int64
		if err := tx.SelectContext(ctx, &days, `SELECT day FROM tally_sums WHERE bucket = 0 ORDER BY day`); err != nil {
			return err
		}
		for _, day := range days {
			var t calc.Tally
			var v [7]int64
			if err := tx.QueryRowxContext(ctx, tx.Rebind(`SELECT `+tallyColumns+` FROM tally_sums WHERE day = ? AND bucket = 0`), day).
				Scan(&t.Claims, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
				return err
			}
			// Half, rounded down, to bucket 1 + day mod 15; the rest stays.
			half := calc.Tally{Claims: t.Claims / 2, Total: calc.Money(v[0] / 2), OutOfPocket: calc.Money(v[6] / 2)}
			for l := range calc.NumLines {
				half.Lines[l] = calc.Money(v[1+int(l)] / 2)
			}
			neg := calc.Tally{Claims: -half.Claims, Total: -half.Total, OutOfPocket: -half.OutOfPocket}
			for l := range calc.NumLines {
				neg.Lines[l] = -half.Lines[l]
			}
			if err := addToTally(ctx, tx, tx.Rebind(addToDayQuery), tallyKey{calc.Date(day), 0}, &neg); err != nil {
				return err
			}
			if err := addToTally(ctx, tx, tx.Rebind(addToDayQuery), tallyKey{calc.Date(day), 1 + int(day%(tallyBuckets-1))}, &half); err != nil {
				return err
			}
		}
		return nil
	})
}

// UndoTallyBuckets puts the database back as it was before migration 0014, so that
// Migrate converts it again (0014, then 0017): tally_days as 0006 made it, summed from
// the stored settlements as migration 0007 did and then from the adjustments (which came
// after 0007), tally_sums dropped and versions 14 and 17 not recorded.
func (s *Store) UndoTallyBuckets(ctx context.Context) error {
	return s.inTx(ctx, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE tally_days (discharged_on TEXT PRIMARY KEY, claims BIGINT NOT NULL,
			total_fen BIGINT NOT NULL, basic_fen BIGINT NOT NULL, critical_fen BIGINT NOT NULL, commercial_fen BIGINT NOT NULL,
			aid_fen BIGINT NOT NULL, backstop_fen BIGINT NOT NULL, out_of_pocket_fen BIGINT NOT NULL)`); err != nil {
			return err
		}
		if err := fillTallyDays(ctx, s, tx.Tx); err != nil {
			return err
		}
		adjs, err := s.adjustments(ctx, tx, `1 = 1`)
		if err != nil {
			return err
		}
		days := daySums{}
		for _, a := range adjs {
			days.add(a.DischargedOn, -1, calc.Tally{Lines: a.Adjustment.Lines, OutOfPocket: a.Adjustment.OutOfPocket})
		}
		if err := days.writeQuery(ctx, tx, tx.Rebind(tallyDaysAddQuery)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DROP TABLE tally_sums`); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DROP INDEX adjustments_cause`); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `DELETE FROM `+versionTable+` WHERE version_id IN (14, 17)`)
		return err
	})
}

// DB is the store's database handle, for benchmarks that shape their data with SQL.
func (s *Store) DB() *sqlx.DB { return s.db }

// EvictAll empties the read cache, for benchmarks that put tables back behind it.
func (s *Store) EvictAll() { s.cache.flush() }

// MigrateWithout applies every migration but the one of version skip, as a database
// migrated by a hpcalc that shipped the later ones first (see openRawWithout).
func (s *Store) MigrateWithout(ctx context.Context, skip int64) error {
	return s.migrateWithout(ctx, skip)
}

// HoldRevocationCount makes s look as if a request were counting the revoked tokens and
// the count were due, until release is called.
func (s *Store) HoldRevocationCount() (release func()) {
	s.revoked.mu.Lock()
	s.revoked.due.Store(0)
	return s.revoked.mu.Unlock
}
