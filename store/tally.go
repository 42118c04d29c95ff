package store

import (
	"context"
	"database/sql"
	"fmt"
	"sort"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
)

// The tally reads tally_days, the settlements rows summed per discharge day, so that its
// cost grows with the days of the period and not with the claims settled in it. Every
// statement that inserts into settlements adds the row to its day in the same
// transaction (addToDay), and so does every statement that inserts into adjustments
// (insertAdjusted: amounts only, no claims); the sums are integers of fen, which both
// databases add exactly.

const tallyDaysColumns = `discharged_on, claims, total_fen, basic_fen, critical_fen, commercial_fen, aid_fen, backstop_fen, out_of_pocket_fen`

// addToDayQuery adds one settlements row (or many, summed) to its day. ON CONFLICT DO
// UPDATE adds in the database, so that two transactions of one day never lose each
// other's sums; in PostgreSQL the second waits for the first's row lock.
const addToDayQuery = `INSERT INTO tally_days (` + tallyDaysColumns + `) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
	ON CONFLICT (discharged_on) DO UPDATE SET claims = tally_days.claims + excluded.claims,
	total_fen = tally_days.total_fen + excluded.total_fen, basic_fen = tally_days.basic_fen + excluded.basic_fen,
	critical_fen = tally_days.critical_fen + excluded.critical_fen, commercial_fen = tally_days.commercial_fen + excluded.commercial_fen,
	aid_fen = tally_days.aid_fen + excluded.aid_fen, backstop_fen = tally_days.backstop_fen + excluded.backstop_fen,
	out_of_pocket_fen = tally_days.out_of_pocket_fen + excluded.out_of_pocket_fen`

const tallyQuery = `SELECT COALESCE(SUM(claims), 0), COALESCE(SUM(total_fen), 0), COALESCE(SUM(basic_fen), 0),
	COALESCE(SUM(critical_fen), 0), COALESCE(SUM(commercial_fen), 0), COALESCE(SUM(aid_fen), 0),
	COALESCE(SUM(backstop_fen), 0), COALESCE(SUM(out_of_pocket_fen), 0)
	FROM tally_days WHERE discharged_on >= ? AND discharged_on <= ?`

// addToDay adds t, the sums of settlements rows discharged on day (Claims counting a
// reversal -1, amounts already negative for reversals), to the day's sums.
func addToDay(ctx context.Context, tx sqlx.ExecerContext, rebind func(string) string, day calc.Date, t *calc.Tally) error {
	_, err := tx.ExecContext(ctx, rebind(addToDayQuery), day.String(), t.Claims, int64(t.Total),
		int64(t.Lines[calc.Basic]), int64(t.Lines[calc.Critical]), int64(t.Lines[calc.Commercial]),
		int64(t.Lines[calc.Aid]), int64(t.Lines[calc.Backstop]), int64(t.OutOfPocket))
	if err != nil {
		return fmt.Errorf("add to the tally of %s: %w", day, err)
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

// daySums accumulates settlements rows per discharge day, for writing many at once.
type daySums map[calc.Date]*calc.Tally

func (d daySums) add(day calc.Date, t calc.Tally) {
	sum := d[day]
	if sum == nil {
		sum = &calc.Tally{}
		d[day] = sum
	}
	sum.Merge(t)
}

// write adds every day's sums to tally_days, days in order; rebind is the statement
// rebinding of the database.
func (d daySums) write(ctx context.Context, tx sqlx.ExecerContext, rebind func(string) string) error {
	days := make([]calc.Date, 0, len(d))
	for day := range d {
		days = append(days, day)
	}
	sort.Slice(days, func(i, j int) bool { return days[i] < days[j] })
	for _, day := range days {
		if err := addToDay(ctx, tx, rebind, day, d[day]); err != nil {
			return err
		}
	}
	return nil
}

// fillTallyDays is migration 0007: it sums the settlements stored before 0006 created
// tally_days into it. It reads amounts as text and parses them exactly.
func fillTallyDays(ctx context.Context, s *Store, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT discharged_on, reverses, total, basic, critical, commercial, aid, backstop, out_of_pocket FROM settlements`)
	if err != nil {
		return fmt.Errorf("sum settlements per day: %w", err)
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
			return fmt.Errorf("sum settlements per day: %w", err)
		}
		d, err := calc.ParseDate(day)
		if err != nil {
			return fmt.Errorf("sum settlements per day: %w", err)
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
			return fmt.Errorf("sum settlements per day: %w", tm.err)
		}
		sums.add(d, t)
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sum settlements per day: %w", err)
	}
	rows.Close()
	return sums.write(ctx, tx, s.rebind)
}

// rebind turns a query's ? placeholders into this database's.
func (s *Store) rebind(query string) string { return sqlx.Rebind(sqlx.BindType(s.dialect.name), query) }
