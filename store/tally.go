package store

import (
	"cmp"
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
)

// The tally reads tally_buckets, the settlements rows summed per discharge day and bucket,
// so that its cost grows with the days of the period and not with the claims settled in
// it. Every statement that inserts into settlements adds the row to its day in the same
// transaction (addToDay), and so does every statement that inserts into adjustments
// (insertAdjusted: amounts only, no claims); the sums are integers of fen, which both
// databases add exactly.
//
// A day is split into tallyBuckets rows, the bucket chosen by the person id: a writer
// holds its row's lock until it commits (PostgreSQL), so with one row a day every
// settlement of a day waited for the one before it to commit. A person's settlements
// wait for each other at the ledger anyway, so they may share a bucket; persons of other
// buckets do not wait. A transaction writes one person's rows, so one bucket, in the order
// of days (a reversal's own day, then its adjustments' days, sorted by daySums.write),
// and two transactions cannot wait for each other's tally rows in a cycle.

// tallyBuckets is how many rows a day's sums are split into on PostgreSQL. A year's tally
// reads at most 365 × tallyBuckets rows. SQLite writes one transaction at a time, so
// its writers never wait for a row, and it keeps every day in bucket 0: its tally reads
// one row a day.
const tallyBuckets = 16

// tallyBucket is the bucket of a person's settlements: on PostgreSQL FNV-1a of the id,
// spelled out so that the hot path does not allocate a hash.
func (s *Store) tallyBucket(personID string) int {
	if s.dialect.name != "postgres" {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(personID); i++ {
		h ^= uint32(personID[i])
		h *= 16777619
	}
	return int(h % tallyBuckets)
}

const tallyColumns = `claims, total_fen, basic_fen, critical_fen, commercial_fen, aid_fen, backstop_fen, out_of_pocket_fen`

// addToDayQuery adds one settlements row (or many, summed) to its day's bucket. ON
// CONFLICT DO UPDATE adds in the database, so that two transactions of one bucket never
// lose each other's sums; in PostgreSQL the second waits for the first's row lock.
var addToDayQuery = `INSERT INTO tally_buckets (discharged_on, bucket, ` + tallyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (discharged_on, bucket) DO UPDATE SET ` + addExcluded("tally_buckets")

// tallyDaysAddQuery is addToDayQuery for tally_days, the one row a day of migrations 0006
// to 0013, which migration 0007 fills.
var tallyDaysAddQuery = `INSERT INTO tally_days (discharged_on, ` + tallyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (discharged_on) DO UPDATE SET ` + addExcluded("tally_days")

// addExcluded is the SET list of an upsert that adds the excluded row's sums to table's.
func addExcluded(table string) string {
	var set []string
	for _, c := range strings.Split(tallyColumns, ", ") {
		set = append(set, c+" = "+table+"."+c+" + excluded."+c)
	}
	return strings.Join(set, ", ")
}

const tallyQuery = `SELECT COALESCE(SUM(claims), 0), COALESCE(SUM(total_fen), 0), COALESCE(SUM(basic_fen), 0),
	COALESCE(SUM(critical_fen), 0), COALESCE(SUM(commercial_fen), 0), COALESCE(SUM(aid_fen), 0),
	COALESCE(SUM(backstop_fen), 0), COALESCE(SUM(out_of_pocket_fen), 0)
	FROM tally_buckets WHERE discharged_on >= ? AND discharged_on <= ?`

// addToDay adds t, the sums of settlements rows discharged on day (Claims counting a
// reversal -1, amounts already negative for reversals), to the day's bucket (tallyBucket
// of their person).
func addToDay(ctx context.Context, tx sqlx.ExecerContext, rebind func(string) string, day calc.Date, bucket int, t *calc.Tally) error {
	return addToTally(ctx, tx, rebind(addToDayQuery), tallyKey{day, bucket}, t)
}

// addToTally runs query, addToDayQuery or (bucket < 0) tallyDaysAddQuery, rebound.
func addToTally(ctx context.Context, tx sqlx.ExecerContext, query string, k tallyKey, t *calc.Tally) error {
	args := []any{k.day.String(), k.bucket, t.Claims, int64(t.Total),
		int64(t.Lines[calc.Basic]), int64(t.Lines[calc.Critical]), int64(t.Lines[calc.Commercial]),
		int64(t.Lines[calc.Aid]), int64(t.Lines[calc.Backstop]), int64(t.OutOfPocket)}
	if k.bucket < 0 {
		args = append(args[:1], args[2:]...)
	}
	if _, err := tx.ExecContext(ctx, query, args...); err != nil {
		return fmt.Errorf("add to the tally of %s: %w", k.day, err)
	}
	return nil
}

// rowTally is one settlements row as a tally: a settlement (sign 1) counts one claim and
// adds its amounts, a reversal (sign -1) takes them away.
func rowTally(st *calc.Settlement, sign calc.Money) calc.Tally {
	t := calc.Tally{Claims: int(sign), Total: sign * st.Total, OutOfPocket: sign * st.OutOfPocket}
	for l := range calc.NumLines {
		t.Lines[l] = sign * st.Lines[l].Amount
	}
	return t
}

// Tally sums the stored settlements of claims discharged from from to to inclusive, net
// of reversals. It reads one row per day of the period.
func (s *Store) Tally(ctx context.Context, from, to calc.Date) (_ calc.Tally, err error) {
	defer s.classify(&err)
	stmt, err := s.prepared(ctx, tallyQuery)
	if err != nil {
		return calc.Tally{}, fmt.Errorf("tally: %w", err)
	}
	var (
		t calc.Tally
		v [7]int64
	)
	if err := stmt.QueryRowxContext(ctx, from.String(), to.String()).Scan(&t.Claims, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
		return calc.Tally{}, fmt.Errorf("tally: %w", err)
	}
	t.Total = calc.Money(v[0])
	for l := range calc.NumLines {
		t.Lines[l] = calc.Money(v[1+int(l)])
	}
	t.OutOfPocket = calc.Money(v[6])
	return t, nil
}

// tallyKey is a row of tally_buckets: a day and a bucket, or bucket -1 for tally_days.
type tallyKey struct {
	day    calc.Date
	bucket int
}

// daySums accumulates settlements rows per discharge day and bucket, for writing many at
// once.
type daySums map[tallyKey]*calc.Tally

// add adds t, rows discharged on day, to the sums of the day's bucket.
func (d daySums) add(day calc.Date, bucket int, t calc.Tally) {
	k := tallyKey{day, bucket}
	sum := d[k]
	if sum == nil {
		sum = &calc.Tally{}
		d[k] = sum
	}
	sum.Merge(t)
}

// write adds every row's sums to tally_buckets, in the order of days and buckets; rebind
// is the statement rebinding of the database.
func (d daySums) write(ctx context.Context, tx sqlx.ExecerContext, rebind func(string) string) error {
	return d.writeQuery(ctx, tx, rebind(addToDayQuery))
}

func (d daySums) writeQuery(ctx context.Context, tx sqlx.ExecerContext, query string) error {
	keys := make([]tallyKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b tallyKey) int { return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.bucket, b.bucket)) })
	for _, k := range keys {
		if err := addToTally(ctx, tx, query, k, d[k]); err != nil {
			return err
		}
	}
	return nil
}

// fillTallyDays is migration 0007: it sums the settlements stored before 0006 created
// tally_days into it.
func fillTallyDays(ctx context.Context, s *Store, tx *sql.Tx) error {
	sums, err := sumSettlementsPerDay(ctx, tx, -1)
	if err != nil {
		return err
	}
	return sums.writeQuery(ctx, tx, s.rebind(tallyDaysAddQuery))
}

// sumSettlementsPerDay sums every settlements row per discharge day, all in bucket. It
// reads amounts as text and parses them exactly.
func sumSettlementsPerDay(ctx context.Context, tx *sql.Tx, bucket int) (daySums, error) {
	rows, err := tx.QueryContext(ctx, `SELECT discharged_on, reverses, total, basic, critical, commercial, aid, backstop, out_of_pocket FROM settlements`)
	if err != nil {
		return nil, fmt.Errorf("sum settlements per day: %w", err)
	}
	defer rows.Close()
	sums := daySums{}
	for rows.Next() {
		var (
			day      string
			reverses sql.NullString
			v        [7]string
		)
		if err := rows.Scan(&day, &reverses, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
			return nil, fmt.Errorf("sum settlements per day: %w", err)
		}
		d, err := calc.ParseDate(day)
		if err != nil {
			return nil, fmt.Errorf("sum settlements per day: %w", err)
		}
		var tm textMoney
		t := calc.Tally{Claims: 1, Total: tm.fen(v[0]), OutOfPocket: tm.fen(v[6])}
		if reverses.Valid {
			t.Claims = -1
		}
		for l := range calc.NumLines {
			t.Lines[l] = tm.fen(v[1+int(l)])
		}
		if tm.err != nil {
			return nil, fmt.Errorf("sum settlements per day: %w", tm.err)
		}
		sums.add(d, bucket, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sum settlements per day: %w", err)
	}
	return sums, nil
}

// rebind turns a query's ? placeholders into this database's.
func (s *Store) rebind(query string) string { return sqlx.Rebind(sqlx.BindType(s.dialect.name), query) }
