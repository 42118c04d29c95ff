package store

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The stamps of the tables that grow with every claim (when a claim was received, when a
// settlement, reversal or adjustment was made) are kept since migration 0011 as integers
// of nanoseconds since 1970-01-01 UTC, BIGINT in both databases: 8 bytes rather than the
// 30 of RFC 3339 text, in the rows and in settlements_person_year, and ordered as the
// times are. stamp and stampTime are the one place that writes and reads them. The
// stamps of the few rows of tokens, sessions and policies stay text (stampLayout).

// stamp is t as those tables keep it.
func stamp(t time.Time) int64 { return t.UnixNano() }

// stampTime is the time of a stamp those tables keep, in UTC, as stamps were read when
// they were text ("…Z").
func stampTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// parseStamp is stampTime of a stamp the database gave as text (concat_ws).
func parseStamp(s string) (time.Time, error) {
	ns, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("stamp %q: %w", s, err)
	}
	return stampTime(ns), nil
}

// textStamps are the stamps 0011 turns from text into integers.
var textStamps = []struct{ table, column string }{
	{"claims", "received_at"},
	{"settlements", "created_at"},
	{"adjustments", "created_at"},
}

// integerStamps is migration 0011: the stamps of textStamps as integers (see stamp), and
// the uniqueness of settlements.reverses kept by a partial unique index, WHERE reverses
// IS NOT NULL, rather than a UNIQUE constraint whose index holds an entry for every
// settlement although nearly none is a reversal. The text stamps must all be of the form
// the store wrote, RFC 3339 in UTC with 0 to 9 decimals ("2018-03-07T08:00:05.1Z"); the
// migration refuses, naming the row's stamp, a database holding another, and changes
// nothing. SQLite cannot change a column's type or drop a constraint: its three tables
// are rebuilt, with whatever columns and indexes they have by then.
func integerStamps(ctx context.Context, s *Store, tx *sql.Tx) error {
	for _, c := range textStamps {
		if err := checkTextStamps(ctx, s, tx, c.table, c.column); err != nil {
			return err
		}
	}
	if s.dialect.name == "postgres" {
		return integerStampsPostgres(ctx, tx)
	}
	return integerStampsSQLite(ctx, tx)
}

// checkTextStamps refuses a column holding a stamp that is not RFC 3339 in UTC with at
// most nine decimals.
func checkTextStamps(ctx context.Context, s *Store, tx *sql.Tx, table, column string) error {
	query := `SELECT ` + column + ` FROM ` + table + ` WHERE ` + column + ` !~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$' LIMIT 1`
	if s.dialect.name == "sqlite" {
		const secs = `[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]`
		query = `SELECT ` + column + ` FROM ` + table + ` WHERE typeof(` + column + `) <> 'text' OR NOT (` + column + ` GLOB '` + secs + `Z'
			OR ` + column + ` GLOB '` + secs + `.[0-9]*Z' AND length(` + column + `) <= 30
			AND substr(` + column + `, 21, length(` + column + `) - 21) NOT GLOB '*[^0-9]*') LIMIT 1`
	}
	var bad string
	switch err := tx.QueryRowContext(ctx, query).Scan(&bad); err {
	case sql.ErrNoRows:
		return nil
	case nil:
		return fmt.Errorf("%s.%s holds %q, not a stamp of the form 2018-03-07T08:00:05.123456789Z: nothing converted", table, column, bad)
	default:
		return fmt.Errorf("check %s.%s: %w", table, column, err)
	}
}

// stampNanosSQLite and stampNanosPostgres are the nanoseconds of a text stamp column c
// that checkTextStamps accepted: whole seconds from the date and time, and the decimals
// padded to nine digits. No floating point: seconds and decimals are integers apart.
func stampNanosSQLite(c string) string {
	return `CAST(strftime('%s', substr(` + c + `, 1, 19)) AS INTEGER) * 1000000000 + CASE WHEN length(` + c + `) > 20
		THEN CAST(substr(substr(` + c + `, 21, length(` + c + `) - 21) || '00000000', 1, 9) AS INTEGER) ELSE 0 END`
}

func stampNanosPostgres(c string) string {
	return `CAST(EXTRACT(EPOCH FROM CAST(substr(` + c + `, 1, 19) AS TIMESTAMP)) AS BIGINT) * 1000000000
		+ CAST(rpad(COALESCE(substring(` + c + ` FROM '\.(\d+)Z$'), ''), 9, '0') AS BIGINT)`
}

func integerStampsPostgres(ctx context.Context, tx *sql.Tx) error {
	var constraint string
	err := tx.QueryRowContext(ctx, `SELECT conname FROM pg_constraint
		WHERE conrelid = 'settlements'::regclass AND contype = 'u' AND pg_get_constraintdef(oid) = 'UNIQUE (reverses)'`).Scan(&constraint)
	if err != nil {
		return fmt.Errorf("find the unique constraint on settlements.reverses: %w", err)
	}
	stmts := []string{`ALTER TABLE settlements DROP CONSTRAINT ` + constraint}
	for _, c := range textStamps {
		stmts = append(stmts, `ALTER TABLE `+c.table+` ALTER COLUMN `+c.column+` TYPE BIGINT USING `+stampNanosPostgres(c.column))
	}
	stmts = append(stmts, reversesIndex)
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%.60s: %w", q, err)
		}
	}
	return nil
}

// reversesIndex keeps a settlement reversed at most once, with entries for reversals only.
const reversesIndex = `CREATE UNIQUE INDEX settlements_reverses ON settlements (reverses) WHERE reverses IS NOT NULL`

func integerStampsSQLite(ctx context.Context, tx *sql.Tx) error {
	for _, c := range textStamps {
		edits := []columnEdit{{
			re:   regexp.MustCompile(`\b(` + c.column + `\s+)TEXT\b`),
			with: "${1}BIGINT",
		}}
		if c.table == "settlements" {
			edits = append(edits, columnEdit{re: regexp.MustCompile(`\b(reverses\s+TEXT)\s+UNIQUE\b`), with: "${1}"})
		}
		if err := rebuildSQLite(ctx, tx, c.table, edits, map[string]string{c.column: stampNanosSQLite(c.column)}); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, reversesIndex); err != nil {
		return fmt.Errorf("create settlements_reverses: %w", err)
	}
	return nil
}

// columnEdit is a change of a SQLite table's CREATE TABLE statement; re must match once.
type columnEdit struct {
	re   *regexp.Regexp
	with string
}

// rebuildSQLite rebuilds table as SQLite advises for changes ALTER TABLE cannot make
// (sqlite.org/lang_altertable.html, "Making Other Kinds Of Table Schema Changes"), inside
// the caller's transaction: a new table from the table's CREATE statement as it is now
// (SQLite keeps it up to date with every column added since) with edits made, every row
// copied (a column of convert through its expression), the old table dropped, the new one
// renamed, and the table's indexes and triggers created again as they were.
func rebuildSQLite(ctx context.Context, tx *sql.Tx, table string, edits []columnEdit, convert map[string]string) error {
	fail := func(err error) error { return fmt.Errorf("rebuild %s: %w", table, err) }
	var create string
	if err := tx.QueryRowContext(ctx, `SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?`, table).Scan(&create); err != nil {
		return fail(err)
	}
	head := regexp.MustCompile(`^CREATE TABLE\s+"?` + table + `"?\s*\(`)
	if !head.MatchString(create) {
		return fail(fmt.Errorf("unexpected statement %q", create))
	}
	temp := table + "_rebuilt"
	create = head.ReplaceAllLiteralString(create, "CREATE TABLE "+temp+" (")
	for _, e := range edits {
		if n := len(e.re.FindAllStringIndex(create, -1)); n != 1 {
			return fail(fmt.Errorf("%s matches %d times in %q, not once", e.re, n, create))
		}
		create = e.re.ReplaceAllString(create, e.with)
	}
	var columns []string
	rows, err := tx.QueryContext(ctx, `SELECT name FROM pragma_table_info(?) ORDER BY cid`, table)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			rows.Close()
			return fail(err)
		}
		columns = append(columns, c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	exprs := make([]string, len(columns))
	for i, c := range columns {
		exprs[i] = c
		if e, ok := convert[c]; ok {
			exprs[i] = e
		}
	}
	var others []string
	rows, err = tx.QueryContext(ctx, `SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') AND sql IS NOT NULL`, table)
	if err != nil {
		return fail(err)
	}
	for rows.Next() {
		var q string
		if err := rows.Scan(&q); err != nil {
			rows.Close()
			return fail(err)
		}
		others = append(others, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fail(err)
	}
	stmts := append([]string{
		create,
		`INSERT INTO ` + temp + ` (` + strings.Join(columns, ", ") + `) SELECT ` + strings.Join(exprs, ", ") + ` FROM ` + table,
		`DROP TABLE ` + table,
		`ALTER TABLE ` + temp + ` RENAME TO ` + table,
	}, others...)
	for _, q := range stmts {
		if _, err := tx.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("%.60s: %w", q, err))
		}
	}
	return nil
}
