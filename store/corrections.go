package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
)

// The causes of an adjustment.
const (
	CauseReversal   = "reversal"     // an earlier claim of the person-year was reversed
	CauseOutOfOrder = "out_of_order" // a reconciliation settled the person-year in order
)

// Adjusted is a stored adjustment: the correction of one settlement, why, and when.
type Adjusted struct {
	ID           string
	SettlementID string // the settlement it corrects
	Cause        string // CauseReversal or CauseOutOfOrder
	CauseID      string // the reversal's id, or the reconciliation's
	DischargedOn calc.Date
	CreatedAt    time.Time
	Adjustment   calc.Adjustment
}

// standing is a settled claim of a person-year that stands, with its adjustments.
type standing struct {
	settlementID string
	person       int32 // the register version it was settled with, 0 if not recorded
	settled      calc.Settlement
	standing     calc.Standing
}

// stColumns are settlementKeyColumns of the settlements row named st.
var stColumns = "st." + strings.ReplaceAll(settlementKeyColumns, ", ", ", st.")

// personYearStandingQuery reads the standing claims of a person-year (loadPersonYear).
// "Not a reversal" is written with COALESCE, as an empty text, rather than IS NULL:
// the latter let both databases, without statistics, walk an index of every settlement
// (PostgreSQL the partial index settlements_claim_settled, whose predicate it is; SQLite
// the unique index on reverses) and filter by person, a reversal's cost growing with the
// whole table (TestHotQueryPlans); this way only settlements_person_year fits.
var personYearStandingQuery = `SELECT st.settlement_id, st.person_version, ` + stColumns + `, st.imported, c.provider_id, c.level, c.admitted_on,
		c.discharged_on, c.in_policy
		FROM settlements st JOIN claims c ON c.claim_id = st.claim_id
		WHERE st.person_id = ? AND st.year = ? AND COALESCE(st.reverses, '') = ''
		AND NOT EXISTS (SELECT 1 FROM settlements r WHERE r.reverses = st.settlement_id)`

// loadPersonYear reads the standing claims of a person-year (settled and not reversed),
// each with its policy version and the adjustments booked to it, oldest first: in two
// queries, since a reversal reads them all inside its transaction.
func (s *Store) loadPersonYear(ctx context.Context, q sqlx.ExtContext, personID string, year int) ([]*standing, error) {
	rows, err := q.QueryxContext(ctx, q.Rebind(personYearStandingQuery), personID, year)
	if err != nil {
		return nil, fmt.Errorf("read settlements of %s in %d: %w", personID, year, err)
	}
	defer rows.Close()
	var out []*standing
	byID := map[string]*standing{}
	for rows.Next() {
		var (
			id                                 string
			version                            int32
			k                                  settlementKeys
			provider, level, admitted, dischar string
			inPolicy                           string
			imported                           bool
		)
		if err := rows.Scan(append(append([]any{&id, &version}, k.scanArgs()...), &imported, &provider, &level, &admitted, &dischar, &inPolicy)...); err != nil {
			return nil, fmt.Errorf("read settlements of %s in %d: %w", personID, year, err)
		}
		settled, _, err := k.decode()
		if err != nil {
			return nil, fmt.Errorf("read settlement %s: %w", id, err)
		}
		settled.Imported = imported // calc.Resettle keeps what an imported claim paid
		st := &standing{settlementID: id, settled: settled, person: version}
		st.standing.Settlement = &st.settled
		c := &st.standing.Claim
		c.ID, c.PersonID, c.ProviderID = settled.ClaimID, personID, provider
		c.Kind, c.Total = settled.Kind, settled.Total
		var errs [3]error
		c.Level, errs[0] = calc.ParseLevel(level)
		c.AdmittedOn, errs[1] = calc.ParseDate(admitted)
		c.DischargedOn, errs[2] = calc.ParseDate(dischar)
		var tm textMoney
		c.InPolicy = tm.fen(inPolicy)
		if err := errors.Join(append(errs[:], tm.err)...); err != nil {
			return nil, fmt.Errorf("read claim %s: %w", c.ID, err)
		}
		out = append(out, st)
		byID[id] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settlements of %s in %d: %w", personID, year, err)
	}
	rows.Close()
	// The policies are looked up once the rows are closed: one the store has not read yet
	// is read from the database, and PostgreSQL runs one query at a time on a connection.
	for _, st := range out {
		if st.standing.Policy, err = s.policyVersion(ctx, q, st.settled.PolicyVersion); err != nil {
			return nil, err
		}
	}
	adjs, err := s.adjustments(ctx, q, `person_id = ? AND year = ?`, personID, year)
	if err != nil {
		return nil, err
	}
	for _, a := range adjs {
		if st := byID[a.SettlementID]; st != nil {
			st.standing.Adjustments = append(st.standing.Adjustments, a.Adjustment)
		}
	}
	return out, nil
}

// policyVersion returns the published policy with version, or ErrNotFound.
func (s *Store) policyVersion(ctx context.Context, q sqlx.QueryerContext, version string) (*calc.Policy, error) {
	if p, ok := s.parsed.Load(version); ok {
		return p.(*calc.Policy), nil
	}
	ps, err := s.policies(ctx, q)
	if err != nil {
		return nil, err
	}
	for _, p := range ps.Policies() {
		if p.Version == version {
			return p, nil
		}
	}
	return nil, fmt.Errorf("policy %s: %w", version, ErrNotFound)
}

// insertAdjusted stores the adjustments in list and adds their amounts to days, which
// the caller writes to the tally before it commits.
func (s *Store) insertAdjusted(ctx context.Context, tx *sqlx.Tx, days daySums, list ...Adjusted) error {
	// One statement for a reversal's adjustments, in chunks that stay under SQLite's limit
	// of bound parameters.
	const columns, chunk = 18, 50
	// The tally's sums count adjustments with their claims' discharge days, as
	// claims of none.
	for i := range list {
		d := &list[i].Adjustment
		t := calc.Tally{OutOfPocket: d.OutOfPocket, Lines: d.Lines}
		days.add(list[i].DischargedOn, s.tallyBucket(d.PersonID), t)
	}
	for len(list) > 0 {
		n := min(len(list), chunk)
		var q strings.Builder
		q.WriteString(`INSERT INTO adjustments (person_id, adjustment_id, settlement_id, claim_id, year,
		discharged_on, kind, cause, cause_id, basic, critical, commercial, aid, backstop, out_of_pocket, burden, correction, created_at) VALUES `)
		args := make([]any, 0, n*columns)
		for i := range list[:n] {
			a := &list[i]
			d := &a.Adjustment
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString("(?" + strings.Repeat(", ?", columns-1) + ")")
			args = append(args, d.PersonID, a.ID, a.SettlementID, d.ClaimID, d.Year, a.DischargedOn.String(), d.Kind.String(), a.Cause, a.CauseID,
				dec(d.Lines[calc.Basic]), dec(d.Lines[calc.Critical]), dec(d.Lines[calc.Commercial]), dec(d.Lines[calc.Aid]),
				dec(d.Lines[calc.Backstop]), dec(d.OutOfPocket), dec(d.Burden), dec(d.Correction), stamp(a.CreatedAt))
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("store adjustments: %w", err)
		}
		list = list[n:]
	}
	return nil
}

func adjustmentsQuery(where string) string {
	return `SELECT adjustment_id, settlement_id, claim_id, person_id, year,
		discharged_on, kind, cause, cause_id, basic, critical, commercial, aid, backstop, out_of_pocket, burden, correction, created_at
		FROM adjustments WHERE ` + where + ` ORDER BY created_at, adjustment_id`
}

// adjustments reads the adjustments matching where, oldest first.
func (s *Store) adjustments(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) ([]Adjusted, error) {
	rows, err := q.QueryxContext(ctx, sqlx.Rebind(sqlx.BindType(s.dialect.name), adjustmentsQuery(where)), args...)
	if err != nil {
		return nil, fmt.Errorf("read adjustments: %w", err)
	}
	defer rows.Close()
	var out []Adjusted
	for rows.Next() {
		var (
			a                Adjusted
			d                = &a.Adjustment
			discharged, kind string
			at               int64
			v                [8]string
		)
		if err := rows.Scan(&a.ID, &a.SettlementID, &d.ClaimID, &d.PersonID, &d.Year, &discharged, &kind, &a.Cause, &a.CauseID,
			&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &at); err != nil {
			return nil, fmt.Errorf("read adjustments: %w", err)
		}
		var errs [2]error
		a.DischargedOn, errs[0] = calc.ParseDate(discharged)
		d.Kind, errs[1] = calc.ParseKind(kind)
		a.CreatedAt = stampTime(at)
		var tm textMoney
		for l := range calc.NumLines {
			d.Lines[l] = tm.fen(v[l])
		}
		d.OutOfPocket, d.Burden, d.Correction = tm.fen(v[5]), tm.fen(v[6]), tm.fen(v[7])
		if err := errors.Join(append(errs[:], tm.err)...); err != nil {
			return nil, fmt.Errorf("read adjustment %s: %w", a.ID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Adjustments returns the adjustments of settlement id, oldest first.
func (s *Store) Adjustments(ctx context.Context, settlementID string) (_ []Adjusted, err error) {
	defer s.classify(&err)
	return s.adjustments(ctx, s.db, `settlement_id = ?`, settlementID)
}

// AdjustmentsCausedBy returns the adjustments a reversal or a reconciliation booked.
func (s *Store) AdjustmentsCausedBy(ctx context.Context, causeID string) (_ []Adjusted, err error) {
	defer s.classify(&err)
	return s.adjustments(ctx, s.db, `cause_id = ?`, causeID)
}

// AdjustmentsDischarged returns the adjustments of claims discharged from from to to
// inclusive, oldest first.
func (s *Store) AdjustmentsDischarged(ctx context.Context, from, to calc.Date) (_ []Adjusted, err error) {
	defer s.classify(&err)
	return s.adjustments(ctx, s.db, `discharged_on >= ? AND discharged_on <= ?`, from.String(), to.String())
}
