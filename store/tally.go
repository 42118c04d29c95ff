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

// The tally reads tally_sums, the settlements rows summed per discharge day, so that its
// cost grows with the days of the period and not with the claims settled in it. Every
// transaction that inserts into settlements adds the rows to their days (daySums.write,
// addToDay), and so does every one that inserts into adjustments (amounts only, no
// claims): a person-year's transaction last, just before it commits, so that it holds a
// day's row for as short a time as it can. The sums are integers of fen, which both
// databases add exactly. A day is its number (calc.Date, days since 1970-01-01), which the tally's
// range compares as an integer.
//
// A day's sums are kept in bucket 0 and, on PostgreSQL only, in buckets 1 to
// tallyBuckets-1 when bucket 0 was taken. A writer holds the row it adds to until it
// commits (its fsync included), so with one row a day every settlement of a day waited for
// the one before it to commit. So a writer adds to bucket 0 if no other transaction holds
// it (FOR UPDATE SKIP LOCKED: it never waits for bucket 0), and otherwise to its person's
// bucket (tallyBucket), waiting there if it must: a person's settlements wait for each
// other at the ledger anyway, and persons of other buckets do not wait. A day thus has one
// row unless writers of that day met, and a year's tally reads about 365 rows however the
// settlements were made (migration 0014's buckets, chosen by the person always, made it
// read 16 rows a day). A transaction waits only for rows of one person's bucket (bucket 0
// it takes without waiting or not at all), in the order of days (a reversal's own day,
// then its adjustments' days, sorted by daySums.write), so two transactions cannot wait
// for each other's tally rows in a cycle.

// tallyBuckets is how many rows a day's sums may be split into on PostgreSQL: bucket 0
// and the persons' buckets 1 to tallyBuckets-1. SQLite writes one transaction at a time,
// so its writers never wait for a row, and it keeps every day in bucket 0.
const tallyBuckets = 16

// tallyBucket is the bucket of a person's settlements when bucket 0 is taken: on
// PostgreSQL 1 + FNV-1a of the id modulo tallyBuckets-1, spelled out so that the hot path
// does not allocate a hash; on SQLite 0.
func (s *Store) tallyBucket(personID string) int {
	if s.dialect.name != "postgres" {
		return 0
	}
	h := uint32(2166136261)
	for i := 0; i < len(personID); i++ {
		h ^= uint32(personID[i])
		h *= 16777619
	}
	return 1 + int(h%(tallyBuckets-1))
}

const tallyColumns = `claims, total_fen, basic_fen, critical_fen, commercial_fen, aid_fen, backstop_fen, out_of_pocket_fen`

// addToDayQuery adds one settlements row (or many, summed) to a day's bucket. ON
// CONFLICT DO UPDATE adds in the database, so that two transactions of one bucket never
// lose each other's sums; in PostgreSQL the second waits for the first's row lock.
var addToDayQuery = `INSERT INTO tally_sums (day, bucket, ` + tallyColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (day, bucket) DO UPDATE SET ` + addExcluded("tally_sums")

// addToDayZeroQuery adds the sums to the day's bucket 0 if no other transaction holds it
// (PostgreSQL), and says whether it did and whether the day has a bucket 0: if it has
// none, the writer makes it (addToDayQuery, bucket 0); if another transaction holds it,
// the writer adds to its person's bucket instead.
var addToDayZeroQuery = func() string {
	var set []string
	for i, c := range strings.Split(tallyColumns, ", ") {
		set = append(set, fmt.Sprintf("%s = t.%s + $%d", c, c, i+2))
	}
	return `WITH z AS (SELECT day, bucket FROM tally_sums WHERE day = $1 AND bucket = 0 FOR UPDATE SKIP LOCKED),
	u AS (UPDATE tally_sums t SET ` + strings.Join(set, ", ") + ` FROM z WHERE t.day = z.day AND t.bucket = z.bucket RETURNING 1)
	SELECT EXISTS (SELECT 1 FROM u), EXISTS (SELECT 1 FROM tally_sums WHERE day = $1 AND bucket = 0)`
}()

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
	FROM tally_sums WHERE day >= ? AND day <= ?`

// addToDay adds t, the sums of settlements rows discharged on day (Claims counting a
// reversal -1, amounts already negative for reversals), to the day's bucket 0, or if
// another transaction holds it to bucket (tallyBucket of their person).
func addToDay(ctx context.Context, tx *sqlx.Tx, day calc.Date, bucket int, t *calc.Tally) error {
	k := tallyKey{day, bucket}
	if bucket > 0 { // PostgreSQL
		var added, exists bool
		args := tallyArgs(k, t)
		args = append(args[:1], args[2:]...)
		if err := tx.QueryRowContext(ctx, addToDayZeroQuery, args...).Scan(&added, &exists); err != nil {
			return fmt.Errorf("add to the tally of %s: %w", day, err)
		}
		if added {
			return nil
		}
		if !exists {
			k.bucket = 0
		}
	}
	return addToTally(ctx, tx, tx.Rebind(addToDayQuery), k, t)
}

// tallyArgs are the arguments of addToDayQuery: the day, the bucket and the sums.
func tallyArgs(k tallyKey, t *calc.Tally) []any {
	return []any{int64(k.day), k.bucket, t.Claims, int64(t.Total),
		int64(t.Lines[calc.Basic]), int64(t.Lines[calc.Critical]), int64(t.Lines[calc.Commercial]),
		int64(t.Lines[calc.Aid]), int64(t.Lines[calc.Backstop]), int64(t.OutOfPocket)}
}

// addToTally runs query, addToDayQuery or (bucket < 0) tallyDaysAddQuery, rebound.
func addToTally(ctx context.Context, tx sqlx.ExecerContext, query string, k tallyKey, t *calc.Tally) error {
	args := tallyArgs(k, t)
	if k.bucket < 0 {
		args = append([]any{k.day.String()}, args[2:]...)
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
// of reversals. It reads a row per day of the period, and one more for each bucket
// written while bucket 0 was taken.
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
	if err := stmt.QueryRowxContext(ctx, int64(from), int64(to)).Scan(&t.Claims, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
		return calc.Tally{}, fmt.Errorf("tally: %w", err)
	}
	t.Total = calc.Money(v[0])
	for l := range calc.NumLines {
		t.Lines[l] = calc.Money(v[1+int(l)])
	}
	t.OutOfPocket = calc.Money(v[6])
	return t, nil
}

// tallyKey is a row of tally_sums: a day and a bucket, or bucket -1 for tally_days.
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

// write adds every row's sums to tally_sums (addToDay), in the order of days and
// buckets.
func (d daySums) write(ctx context.Context, tx *sqlx.Tx) error {
	for _, k := range d.keys() {
		if err := addToDay(ctx, tx, k.day, k.bucket, d[k]); err != nil {
			return err
		}
	}
	return nil
}

// keys are d's rows in the order of days and buckets.
func (d daySums) keys() []tallyKey {
	keys := make([]tallyKey, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b tallyKey) int { return cmp.Or(cmp.Compare(a.day, b.day), cmp.Compare(a.bucket, b.bucket)) })
	return keys
}

// writeQuery adds every row's sums with query (tallyDaysAddQuery), in the order of days.
func (d daySums) writeQuery(ctx context.Context, tx sqlx.ExecerContext, query string) error {
	for _, k := range d.keys() {
		if err := addToTally(ctx, tx, query, k, d[k]); err != nil {
			return err
		}
	}
	return nil
}

// tallySumsFromBuckets is migration 0017: tally_sums, keyed by the day's number, replaces
// tally_buckets (0014), keyed by the day's text, and holds each day's sums in bucket 0
// (see the top of this file). A year's tally read 16 rows a day from tally_buckets and
// compared two strings for each (PostgreSQL compares text by its collation, not by
// bytes); it now reads about one a day and compares integers.
func tallySumsFromBuckets(ctx context.Context, s *Store, tx *sql.Tx) error {
	if _, err := tx.ExecContext(ctx, `CREATE TABLE tally_sums (
		day               INTEGER NOT NULL, -- the discharge day, days since 1970-01-01 (calc.Date)
		bucket            INTEGER NOT NULL,
		claims            BIGINT NOT NULL,
		total_fen         BIGINT NOT NULL,
		basic_fen         BIGINT NOT NULL,
		critical_fen      BIGINT NOT NULL,
		commercial_fen    BIGINT NOT NULL,
		aid_fen           BIGINT NOT NULL,
		backstop_fen      BIGINT NOT NULL,
		out_of_pocket_fen BIGINT NOT NULL,
		PRIMARY KEY (day, bucket))`); err != nil {
		return fmt.Errorf("create tally_sums: %w", err)
	}
	rows, err := tx.QueryContext(ctx, `SELECT discharged_on, `+tallyColumns+` FROM tally_buckets`)
	if err != nil {
		return fmt.Errorf("read tally_buckets: %w", err)
	}
	defer rows.Close()
	sums := daySums{}
	for rows.Next() {
		var (
			day string
			t   calc.Tally
			v   [7]int64
		)
		if err := rows.Scan(&day, &t.Claims, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]); err != nil {
			return fmt.Errorf("read tally_buckets: %w", err)
		}
		d, err := calc.ParseDate(day)
		if err != nil {
			return fmt.Errorf("read tally_buckets: %w", err)
		}
		t.Total, t.OutOfPocket = calc.Money(v[0]), calc.Money(v[6])
		for l := range calc.NumLines {
			t.Lines[l] = calc.Money(v[1+int(l)])
		}
		sums.add(d, 0, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("read tally_buckets: %w", err)
	}
	rows.Close()
	insert := s.rebind(addToDayQuery)
	for _, k := range sums.keys() {
		if _, err := tx.ExecContext(ctx, insert, tallyArgs(k, sums[k])...); err != nil {
			return fmt.Errorf("fill tally_sums: %w", err)
		}
	}
	if _, err := tx.ExecContext(ctx, `DROP TABLE tally_buckets`); err != nil {
		return fmt.Errorf("drop tally_buckets: %w", err)
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
