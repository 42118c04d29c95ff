package store

import (
	"context"
	"errors"
	"fmt"
	"sort"
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
	settled      calc.Settlement
	standing     calc.Standing
}

// stColumns are settlementKeyColumns of the settlements row named st.
var stColumns = "st." + strings.ReplaceAll(settlementKeyColumns, ", ", ", st.")

// loadPersonYear reads the standing claims of a person-year (settled and not reversed),
// each with its policy version and the adjustments booked to it, oldest first: in two
// queries, since a reversal reads them all inside its transaction.
func (s *Store) loadPersonYear(ctx context.Context, q sqlx.ExtContext, personID string, year int) ([]*standing, error) {
	rows, err := q.QueryxContext(ctx, q.Rebind(`SELECT st.settlement_id, `+stColumns+`, st.imported, c.provider_id, c.level, c.admitted_on,
		c.discharged_on, c.in_policy
		FROM settlements st JOIN claims c ON c.claim_id = st.claim_id
		WHERE st.person_id = ? AND st.year = ? AND st.reverses IS NULL
		AND NOT EXISTS (SELECT 1 FROM settlements r WHERE r.reverses = st.settlement_id)`), personID, year)
	if err != nil {
		return nil, fmt.Errorf("read settlements of %s in %d: %w", personID, year, err)
	}
	defer rows.Close()
	var out []*standing
	byID := map[string]*standing{}
	for rows.Next() {
		var (
			id                                 string
			k                                  settlementKeys
			provider, level, admitted, dischar string
			inPolicy                           string
			imported                           bool
		)
		if err := rows.Scan(append(append([]any{&id}, k.scanArgs()...), &imported, &provider, &level, &admitted, &dischar, &inPolicy)...); err != nil {
			return nil, fmt.Errorf("read settlements of %s in %d: %w", personID, year, err)
		}
		settled, _, err := k.decode()
		if err != nil {
			return nil, fmt.Errorf("read settlement %s: %w", id, err)
		}
		settled.Imported = imported // calc.Resettle keeps what an imported claim paid
		st := &standing{settlementID: id, settled: settled}
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
		if st.standing.Policy, err = s.policyVersion(ctx, q, settled.PolicyVersion); err != nil {
			return nil, err
		}
		out = append(out, st)
		byID[id] = st
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read settlements of %s in %d: %w", personID, year, err)
	}
	rows.Close()
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

// resettle re-settles the person-year in order (calc.Resettle): the claims ordered after
// after (nil: every claim). When book is true, it stores an adjustment for every claim whose
// amounts change, with cause and causeID, and writes the ledger; the caller holds the
// ledger lock. It returns the adjustments (booked or, if book is false, that would be) and
// the ledger the person-year then adds up to.
func (s *Store) resettle(ctx context.Context, tx *sqlx.Tx, personID string, year int, after *calc.Claim, cause, causeID string, book bool) ([]Adjusted, calc.Ledger, error) {
	p, err := person(ctx, tx, personID)
	if err != nil {
		return nil, calc.Ledger{}, err
	}
	list, err := s.loadPersonYear(ctx, tx, personID, year)
	if err != nil {
		return nil, calc.Ledger{}, err
	}
	claims := make([]calc.Standing, len(list))
	bySettled := make(map[string]string, len(list)) // claim id → settlement id
	for i, st := range list {
		claims[i] = st.standing
		bySettled[st.settled.ClaimID] = st.settlementID
	}
	done, ledger, err := calc.Resettle(p, year, claims, after)
	if err != nil {
		return nil, calc.Ledger{}, err
	}
	now := s.Now().UTC()
	var out []Adjusted
	for i := range done {
		r := &done[i]
		if r.Adjustment.Zero() {
			continue
		}
		out = append(out, Adjusted{ID: newID("A"), SettlementID: bySettled[r.Claim.ID], Cause: cause, CauseID: causeID,
			DischargedOn: r.Claim.DischargedOn, CreatedAt: now, Adjustment: r.Adjustment})
	}
	if !book {
		return out, ledger, nil
	}
	if err := s.insertAdjusted(ctx, tx, out...); err != nil {
		return nil, calc.Ledger{}, err
	}
	if err := s.writeLedger(ctx, tx, personID, ledger); err != nil {
		return nil, calc.Ledger{}, err
	}
	return out, ledger, nil
}

func (s *Store) insertAdjusted(ctx context.Context, tx *sqlx.Tx, list ...Adjusted) error {
	// One statement for a reversal's adjustments, in chunks that stay under SQLite's limit
	// of bound parameters.
	const columns, chunk = 18, 50
	// The tally's sums count adjustments with their claims' discharge days, as
	// claims of none.
	days := daySums{}
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
				dec(d.Lines[calc.Backstop]), dec(d.OutOfPocket), dec(d.Burden), dec(d.Correction), a.CreatedAt.Format(stampLayout))
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return fmt.Errorf("store adjustments: %w", err)
		}
		list = list[n:]
	}
	return days.write(ctx, tx, tx.Rebind)
}

// adjustments reads the adjustments matching where, oldest first.
func (s *Store) adjustments(ctx context.Context, q sqlx.QueryerContext, where string, args ...any) ([]Adjusted, error) {
	rows, err := q.QueryxContext(ctx, sqlx.Rebind(sqlx.BindType(s.dialect.name), `SELECT adjustment_id, settlement_id, claim_id, person_id, year,
		discharged_on, kind, cause, cause_id, basic, critical, commercial, aid, backstop, out_of_pocket, burden, correction, created_at
		FROM adjustments WHERE `+where+` ORDER BY created_at, adjustment_id`), args...)
	if err != nil {
		return nil, fmt.Errorf("read adjustments: %w", err)
	}
	defer rows.Close()
	var out []Adjusted
	for rows.Next() {
		var (
			a                    Adjusted
			d                    = &a.Adjustment
			discharged, kind, at string
			v                    [8]string
		)
		if err := rows.Scan(&a.ID, &a.SettlementID, &d.ClaimID, &d.PersonID, &d.Year, &discharged, &kind, &a.Cause, &a.CauseID,
			&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &at); err != nil {
			return nil, fmt.Errorf("read adjustments: %w", err)
		}
		var errs [3]error
		a.DischargedOn, errs[0] = calc.ParseDate(discharged)
		d.Kind, errs[1] = calc.ParseKind(kind)
		a.CreatedAt, errs[2] = time.Parse(time.RFC3339Nano, at)
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
func (s *Store) Adjustments(ctx context.Context, settlementID string) ([]Adjusted, error) {
	return s.adjustments(ctx, s.db, `settlement_id = ?`, settlementID)
}

// AdjustmentsCausedBy returns the adjustments a reversal or a reconciliation booked.
func (s *Store) AdjustmentsCausedBy(ctx context.Context, causeID string) ([]Adjusted, error) {
	return s.adjustments(ctx, s.db, `cause_id = ?`, causeID)
}

// AdjustmentsDischarged returns the adjustments of claims discharged from from to to
// inclusive, oldest first.
func (s *Store) AdjustmentsDischarged(ctx context.Context, from, to calc.Date) ([]Adjusted, error) {
	return s.adjustments(ctx, s.db, `discharged_on >= ? AND discharged_on <= ?`, from.String(), to.String())
}

// reverseAdjustments books, for a settlement being reversed, one adjustment that takes
// back the sum of those booked to it, so that the claim nets to nothing in every sum.
func (s *Store) reverseAdjustments(ctx context.Context, tx *sqlx.Tx, settlementID, reversalID string) error {
	adjs, err := s.adjustments(ctx, tx, `settlement_id = ?`, settlementID)
	if err != nil || len(adjs) == 0 {
		return err
	}
	back := Adjusted{ID: newID("A"), SettlementID: settlementID, Cause: CauseReversal, CauseID: reversalID,
		DischargedOn: adjs[0].DischargedOn, CreatedAt: s.Now().UTC()}
	d := &back.Adjustment
	first := &adjs[0].Adjustment
	d.ClaimID, d.PersonID, d.Year, d.Kind = first.ClaimID, first.PersonID, first.Year, first.Kind
	for i := range adjs {
		a := &adjs[i].Adjustment
		for l := range calc.NumLines {
			d.Lines[l] -= a.Lines[l]
		}
		d.OutOfPocket -= a.OutOfPocket
		d.Burden -= a.Burden
		d.Correction -= a.Correction
	}
	if d.Zero() {
		return nil
	}
	return s.insertAdjusted(ctx, tx, back)
}

// Reconciliation is what a reconciliation found: the adjustments that settling each
// person-year in order gives, booked if Applied.
type Reconciliation struct {
	ID          string
	From, To    calc.Date
	PersonID    string // "" for every person
	Applied     bool
	PersonYears int // person-years re-settled
	Adjustments []Adjusted
}

// ErrInvalidPeriod is returned, wrapped, for a period whose end is before its start.
var ErrInvalidPeriod = errors.New("the period ends before it starts")

// Reconcile re-settles in order (POLICY.md "Order" and "Corrections") every person-year
// with a standing claim discharged from from to to inclusive, of personID only if it is
// not "". Each person-year is re-settled whole, in a transaction of its own under its
// ledger lock. With apply, every difference is booked as an adjustment (cause
// CauseOutOfOrder, the reconciliation's id) and the ledger written; without, nothing is
// stored and the adjustments say what would be booked. A person-year already in order
// books nothing, so applying twice books nothing the second time. Errors:
// ErrInvalidPeriod; ErrNotFound (wrapped) for an unknown person; the database's.
func (s *Store) Reconcile(ctx context.Context, from, to calc.Date, personID string, apply bool) (Reconciliation, error) {
	r := Reconciliation{ID: newID("C"), From: from, To: to, PersonID: personID, Applied: apply}
	if to < from {
		return Reconciliation{}, fmt.Errorf("reconcile: %w: %s to %s", ErrInvalidPeriod, from, to)
	}
	if personID != "" {
		if _, err := person(ctx, s.db, personID); err != nil {
			return Reconciliation{}, fmt.Errorf("reconcile: %w", err)
		}
	}
	query := `SELECT DISTINCT person_id, year FROM settlements WHERE reverses IS NULL AND discharged_on >= ? AND discharged_on <= ?`
	args := []any{from.String(), to.String()}
	if personID != "" {
		query += ` AND person_id = ?`
		args = append(args, personID)
	}
	var years []struct {
		PersonID string `db:"person_id"`
		Year     int    `db:"year"`
	}
	if err := s.db.SelectContext(ctx, &years, s.db.Rebind(query+` ORDER BY person_id, year`), args...); err != nil {
		return Reconciliation{}, fmt.Errorf("reconcile: %w", err)
	}
	for _, py := range years {
		err := s.inTx(ctx, func(tx *sqlx.Tx) error {
			if _, err := s.lockLedger(ctx, tx, py.PersonID, py.Year); err != nil {
				return err
			}
			adjs, _, err := s.resettle(ctx, tx, py.PersonID, py.Year, nil, CauseOutOfOrder, r.ID, apply)
			if err != nil {
				return err
			}
			r.Adjustments = append(r.Adjustments, adjs...)
			if apply && len(adjs) > 0 {
				return s.cache.notify(ctx, tx, ledgerChange(py.PersonID, py.Year))
			}
			return nil
		})
		if apply {
			s.cache.evictLedger(py.PersonID, py.Year)
		}
		if err != nil {
			return Reconciliation{}, fmt.Errorf("reconcile %s %d: %w", py.PersonID, py.Year, err)
		}
		r.PersonYears++
	}
	return r, nil
}

// Refund is what is owed back to one patient: the adjustments that lowered their share.
type Refund struct {
	PersonID    string
	Amount      calc.Money // owed, > 0
	Adjustments []Adjusted
}

// Refunds lists, per person in id order, the refunds owed for adjustments of claims
// discharged from from to to inclusive: those that lowered what the patient pays, net of
// those a reversal took back. Errors: the database's.
func (s *Store) Refunds(ctx context.Context, from, to calc.Date) ([]Refund, error) {
	adjs, err := s.AdjustmentsDischarged(ctx, from, to)
	if err != nil {
		return nil, fmt.Errorf("refunds: %w", err)
	}
	byPerson := map[string]*Refund{}
	var order []string
	for _, a := range adjs {
		if a.Adjustment.OutOfPocket == 0 {
			continue
		}
		r := byPerson[a.Adjustment.PersonID]
		if r == nil {
			r = &Refund{PersonID: a.Adjustment.PersonID}
			byPerson[a.Adjustment.PersonID] = r
			order = append(order, a.Adjustment.PersonID)
		}
		r.Amount -= a.Adjustment.OutOfPocket
		r.Adjustments = append(r.Adjustments, a)
	}
	sort.Strings(order)
	out := make([]Refund, 0, len(order))
	for _, id := range order {
		if byPerson[id].Amount > 0 {
			out = append(out, *byPerson[id])
		}
	}
	return out, nil
}
