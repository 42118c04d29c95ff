package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
	"github.com/shopspring/decimal"
)

// SettlementRecord is a settlement as stored: calc's Settlement, the ledger after it, and
// the row's identity. A reversal is a record of its own whose Reverses names the
// settlement it undoes; its Settlement holds the reversed workings, and Ledger the ledger
// after the reversal.
type SettlementRecord struct {
	ID        string
	Reverses  string // for a reversal, the id of the settlement it reverses
	Reason    string
	CreatedAt time.Time
	// PersonVersion is the register version of the person the claim was settled with
	// (calc.Person.Version); 0 for a settlement stored before versions were kept.
	PersonVersion int32
	Settlement    calc.Settlement
	Ledger        calc.Ledger // the person's ledger for the year after this row
	// Adjustments are, for a settlement, those booked to it since, oldest first; for a
	// reversal, those it booked to the later claims it re-settled.
	Adjustments []Adjusted
}

// Now is what a settlement has paid: its own amounts and its adjustments.
func (s *SettlementRecord) Now() calc.Amounts {
	a := calc.AmountsOf(&s.Settlement)
	if s.Reverses != "" {
		return a
	}
	for i := range s.Adjustments {
		a = a.Plus(&s.Adjustments[i].Adjustment)
	}
	return a
}

// ConflictError is the ErrConflict of a claim id sent again with another body; Fields
// names the fields that differ. Owner is the provider of the claim on file, for the API
// to decide whether the sender may learn which fields differ.
type ConflictError struct {
	ClaimID string
	Owner   string
	Fields  []string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("claim %s was already settled with other values for %v", e.ClaimID, e.Fields)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// personLedgerQuery reads a person's register versions, each with their ledger for the
// year, in one query: a quote is on the hot path.
const personLedgerQuery = `SELECT p.version, p.valid_from, p.valid_to, p.household_id, p.registered_poor, p.aid_category, l.claims,
	l.basic_inpatient, l.basic_chronic, l.critical_burden, l.critical_paid, l.commercial_paid, l.aid_paid, l.backstop_paid,
	l.out_of_pocket, l.total
	FROM person_versions p LEFT JOIN ledgers l ON l.person_id = p.person_id AND l.year = ? WHERE p.person_id = ? ORDER BY p.version`

// personLedger returns a person's register versions and their ledger for year (zero if
// they have none yet), from the read cache if it has them.
func (s *Store) personLedger(ctx context.Context, personID string, year int) (personLedger, error) {
	if pl, ok := s.cache.personLedger(personID, year); ok {
		return pl, nil
	}
	gen := s.cache.generation()
	stmt, err := s.prepared(ctx, personLedgerQuery)
	if err != nil {
		return personLedger{}, err
	}
	rows, err := stmt.QueryxContext(ctx, year, personID)
	if err != nil {
		return personLedger{}, err
	}
	defer rows.Close()
	pl := personLedger{person: calc.Person{ID: personID}, ledger: calc.Ledger{Year: year}}
	for rows.Next() {
		var (
			r      = versionRow{ID: personID}
			claims sql.NullInt64
			v      [9]decimal.NullDecimal
		)
		if err := rows.Scan(&r.Version, &r.From, &r.To, &r.HouseholdID, &r.RegisteredPoor, &r.Aid, &claims,
			&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8]); err != nil {
			return personLedger{}, err
		}
		pv, err := r.version()
		if err != nil {
			return personLedger{}, err
		}
		pl.history = append(pl.history, pv)
		if len(pl.history) > 1 {
			continue // the same ledger on every row
		}
		pl.ledger.Claims = int(claims.Int64)
		var ms moneyScanner
		for i, m := range []*calc.Money{&pl.ledger.BasicInpatient, &pl.ledger.BasicChronic, &pl.ledger.CriticalBurden, &pl.ledger.CriticalPaid,
			&pl.ledger.CommercialPaid, &pl.ledger.AidPaid, &pl.ledger.BackstopPaid, &pl.ledger.OutOfPocket, &pl.ledger.Total} {
			if v[i].Valid {
				*m = ms.fen(v[i].Decimal)
			}
		}
		if ms.err != nil {
			return personLedger{}, ms.err
		}
	}
	if err := rows.Err(); err != nil {
		return personLedger{}, err
	}
	if len(pl.history) == 0 {
		return personLedger{}, refuse(ErrNotFound, "person %s was not found", personID)
	}
	s.cache.keepPersonLedger(gen, pl)
	return pl, nil
}

// Settlement returns the stored settlement or reversal with id, or ErrNotFound.
func (s *Store) Settlement(ctx context.Context, id string) (_ SettlementRecord, err error) {
	defer s.classify(&err)
	return s.settled(ctx, s.db, bySettlementID, id)
}

// SettlementForClaim returns the settlement of a claim (not its reversal), or ErrNotFound.
func (s *Store) SettlementForClaim(ctx context.Context, claimID string) (_ SettlementRecord, err error) {
	defer s.classify(&err)
	return s.settledForClaim(ctx, s.db, claimID)
}

// Claim returns the stored claim with id as it was submitted, or ErrNotFound.
func (s *Store) Claim(ctx context.Context, id string) (_ calc.Claim, err error) {
	defer s.classify(&err)
	c, ok, err := s.claimByID(ctx, s.db, id)
	if err != nil {
		return calc.Claim{}, err
	}
	if !ok {
		return calc.Claim{}, refuse(ErrNotFound, "claim %s was not found", id)
	}
	return c, nil
}

// Reversal returns the reversal of settlement id, or ErrNotFound if it is not reversed.
func (s *Store) Reversal(ctx context.Context, id string) (_ SettlementRecord, err error) {
	defer s.classify(&err)
	return s.settled(ctx, s.db, byReverses, id)
}

// Ledger returns a person's ledger for a year; a year without claims is a fresh ledger.
// It returns ErrNotFound for an unknown person.
func (s *Store) Ledger(ctx context.Context, personID string, year int) (_ calc.Ledger, err error) {
	defer s.classify(&err)
	if _, err := person(ctx, s.db, personID); err != nil {
		return calc.Ledger{}, err
	}
	l, ok, err := s.readLedger(ctx, s.db, personID, year, "")
	if err != nil || !ok {
		return calc.Ledger{Year: year}, err
	}
	return l, nil
}

const personYearSettlementsQuery = `SELECT ` + settlementKeyColumns + ` FROM settlements WHERE person_id = ? AND year = ? ORDER BY created_at, settlement_id`

// LedgerFromSettlements recomputes a person's ledger for a year from the stored
// settlements, reversals and adjustments, to check the kept ledger against.
func (s *Store) LedgerFromSettlements(ctx context.Context, personID string, year int) (_ calc.Ledger, err error) {
	defer s.classify(&err)
	var rows []settlementKeys
	err = s.db.SelectContext(ctx, &rows, s.db.Rebind(personYearSettlementsQuery), personID, year)
	if err != nil {
		return calc.Ledger{}, err
	}
	l := calc.Ledger{Year: year}
	for _, r := range rows {
		st, _, err := r.decode()
		if err != nil {
			return calc.Ledger{}, fmt.Errorf("read settlements of %s in %d: %w", personID, year, err)
		}
		if r.Reverses.Valid {
			if l, err = l.Reverse(&st); err != nil {
				return calc.Ledger{}, err
			}
			continue
		}
		if l, err = l.Add(&st); err != nil {
			return calc.Ledger{}, err
		}
	}
	adjs, err := s.adjustments(ctx, s.db, `person_id = ? AND year = ?`, personID, year)
	if err != nil {
		return calc.Ledger{}, err
	}
	// Summed per kind before booking: a reversed claim's adjustments and the row that
	// takes them back cancel out, whatever their order.
	var sums [calc.NumKinds]calc.Adjustment
	for i := range adjs {
		a := &adjs[i].Adjustment
		sum := &sums[a.Kind]
		sum.Year, sum.Kind = a.Year, a.Kind
		for l := range calc.NumLines {
			sum.Lines[l] += a.Lines[l]
		}
		sum.OutOfPocket += a.OutOfPocket
		sum.Burden += a.Burden
	}
	for k := range sums {
		if sums[k].Zero() {
			continue
		}
		if l, err = l.Adjust(&sums[k]); err != nil {
			return calc.Ledger{}, err
		}
	}
	return l, nil
}

func newID(prefix string) string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err) // crypto/rand does not fail on supported platforms
	}
	return prefix + hex.EncodeToString(b[:])
}

// policyAt returns the published policy in force on d, or calc.ErrNoPolicy. Published
// versions never change and never overlap, so a version found in force on d stays the
// answer for d: the set read last is kept, and read again only when it covers no policy
// for d (another replica may have published one since).
func (s *Store) policyAt(ctx context.Context, q sqlx.QueryerContext, d calc.Date) (*calc.Policy, error) {
	if ps, ok := s.policySet.Load().(*calc.PolicySet); ok {
		if p := ps.At(d); p != nil {
			return p, nil
		}
	}
	ps, err := s.policies(ctx, q)
	if err != nil {
		return nil, err
	}
	s.policySet.Store(ps)
	p := ps.At(d)
	if p == nil {
		return nil, fmt.Errorf("%w on %s", calc.ErrNoPolicy, d)
	}
	return p, nil
}

const ledgerColumns = `year, claims, basic_inpatient, basic_chronic, critical_burden, critical_paid, commercial_paid, aid_paid, backstop_paid, out_of_pocket, total`

const readLedgerQuery = `SELECT ` + ledgerColumns + ` FROM ledgers WHERE person_id = ? AND year = ?`

// lockLedger returns the person-year ledger, creating its row if need be, locked until the
// transaction ends.
func (s *Store) lockLedger(ctx context.Context, tx *sqlx.Tx, personID string, year int) (calc.Ledger, error) {
	zero := dec(0)
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO ledgers (person_id, `+ledgerColumns+`) VALUES (?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (person_id, year) DO NOTHING`), personID, year, zero, zero, zero, zero, zero, zero, zero, zero, zero)
	if err != nil {
		return calc.Ledger{}, fmt.Errorf("lock ledger %s %d: %w", personID, year, err)
	}
	l, _, err := s.readLedger(ctx, tx, personID, year, s.dialect.forUpdate)
	return l, err
}

func (s *Store) readLedger(ctx context.Context, q sqlx.ExtContext, personID string, year int, suffix string) (calc.Ledger, bool, error) {
	var (
		l calc.Ledger
		v [9]decimal.Decimal
	)
	row := q.QueryRowxContext(ctx, q.Rebind(readLedgerQuery+suffix), personID, year)
	err := row.Scan(&l.Year, &l.Claims, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8])
	if errors.Is(err, sql.ErrNoRows) {
		return calc.Ledger{}, false, nil
	}
	if err != nil {
		return calc.Ledger{}, false, fmt.Errorf("read ledger %s %d: %w", personID, year, err)
	}
	var ms moneyScanner
	for i, m := range []*calc.Money{&l.BasicInpatient, &l.BasicChronic, &l.CriticalBurden, &l.CriticalPaid,
		&l.CommercialPaid, &l.AidPaid, &l.BackstopPaid, &l.OutOfPocket, &l.Total} {
		*m = ms.fen(v[i])
	}
	if ms.err != nil {
		return calc.Ledger{}, false, fmt.Errorf("read ledger %s %d: %w", personID, year, ms.err)
	}
	return l, true, nil
}

const writeLedgerQuery = `UPDATE ledgers SET claims = ?, basic_inpatient = ?, basic_chronic = ?,
		critical_burden = ?, critical_paid = ?, commercial_paid = ?, aid_paid = ?, backstop_paid = ?,
		out_of_pocket = ?, total = ? WHERE person_id = ? AND year = ?`

func (s *Store) writeLedger(ctx context.Context, tx *sqlx.Tx, personID string, l calc.Ledger) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(writeLedgerQuery),
		l.Claims, dec(l.BasicInpatient), dec(l.BasicChronic), dec(l.CriticalBurden), dec(l.CriticalPaid),
		dec(l.CommercialPaid), dec(l.AidPaid), dec(l.BackstopPaid), dec(l.OutOfPocket), dec(l.Total), personID, l.Year)
	if err != nil {
		return fmt.Errorf("write ledger %s %d: %w", personID, l.Year, err)
	}
	return nil
}

func (s *Store) insertClaim(ctx context.Context, tx *sqlx.Tx, c calc.Claim) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(`INSERT INTO claims (person_id, claim_id, provider_id, level, kind, admitted_on, discharged_on, total, in_policy, received_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`), c.PersonID, c.ID, c.ProviderID, c.Level.String(), c.Kind.String(),
		c.AdmittedOn.String(), c.DischargedOn.String(), dec(c.Total), dec(c.InPolicy), stamp(s.Now()))
	if err != nil {
		return fmt.Errorf("store claim: %w", err)
	}
	return nil
}

// insertSettled stores a settlement (sign 1) or a reversal (sign -1, amounts negated so
// that sums over the table are net of reversals).
// insertSettled stores st and adds its row to days, which the caller writes to the tally
// before it commits.
func (s *Store) insertSettled(ctx context.Context, tx *sqlx.Tx, days daySums, st *SettlementRecord, sign calc.Money, discharged calc.Date) error {
	d, err := encodeWorkings(&st.Settlement, &st.Ledger, sign < 0)
	if err != nil {
		return err
	}
	x := &st.Settlement
	var reverses any
	if st.Reverses != "" {
		reverses = st.Reverses
	}
	_, err = tx.ExecContext(ctx, tx.Rebind(`INSERT INTO settlements (person_id, settlement_id, claim_id, reverses, year, discharged_on,
		policy_version, person_version, kind, total, basic, critical, commercial, aid, backstop, out_of_pocket, burden, detail, reason, created_at, imported)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
		x.PersonID, st.ID, x.ClaimID, reverses, x.Year, discharged.String(), x.PolicyVersion, st.PersonVersion, x.Kind.String(),
		dec(sign*x.Total), dec(sign*x.Lines[calc.Basic].Amount), dec(sign*x.Lines[calc.Critical].Amount),
		dec(sign*x.Lines[calc.Commercial].Amount), dec(sign*x.Lines[calc.Aid].Amount), dec(sign*x.Lines[calc.Backstop].Amount),
		dec(sign*x.OutOfPocket), dec(sign*x.Lines[calc.Critical].Base), string(d), st.Reason, stamp(st.CreatedAt),
		x.Imported)
	if err != nil {
		return fmt.Errorf("store settlement: %w", err)
	}
	days.add(discharged, s.tallyBucket(x.PersonID), rowTally(x, sign))
	return nil
}

func (s *Store) settledForClaim(ctx context.Context, q sqlx.ExtContext, claimID string) (SettlementRecord, error) {
	return s.settled(ctx, q, byClaimSettled, claimID)
}

// The predicates settled is called with. A claim's settlement is asked for as
// claim_id = ? AND reverses IS NULL, the very predicate of the partial index
// settlements_claim_settled, so that no planner, with statistics or without, prefers
// walking the unique index on reverses (TestHotQueryPlans).
const (
	bySettlementID = `settlement_id = ?`
	byClaimSettled = `claim_id = ? AND reverses IS NULL`
	byReverses     = `reverses = ?`
)

func settledQuery(where string) string {
	return `SELECT settlement_id, reason, created_at, imported, person_version, ` + settlementKeyColumns + ` FROM settlements WHERE ` + where
}

func (s *Store) settled(ctx context.Context, q sqlx.ExtContext, where string, arg any) (SettlementRecord, error) {
	var row struct {
		ID        string `db:"settlement_id"`
		Reason    string `db:"reason"`
		CreatedAt int64  `db:"created_at"`
		Imported  bool   `db:"imported"`
		Person    int32  `db:"person_version"`
		settlementKeys
	}
	err := sqlx.GetContext(ctx, q, &row, q.Rebind(settledQuery(where)), arg)
	if errors.Is(err, sql.ErrNoRows) {
		return SettlementRecord{}, refuse(ErrNotFound, "settlement %v was not found", arg)
	}
	if err != nil {
		return SettlementRecord{}, fmt.Errorf("read settlement %v: %w", arg, err)
	}
	st, after, err := row.decode()
	if err != nil {
		return SettlementRecord{}, fmt.Errorf("read settlement %s: %w", row.ID, err)
	}
	st.Imported = row.Imported
	out := SettlementRecord{ID: row.ID, Reverses: row.Reverses.String, Reason: row.Reason, CreatedAt: stampTime(row.CreatedAt), Settlement: st, Ledger: after,
		PersonVersion: row.Person}
	if out.Reverses == "" {
		out.Adjustments, err = s.adjustments(ctx, q, `settlement_id = ?`, row.ID)
	} else {
		out.Adjustments, err = s.adjustments(ctx, q, `cause_id = ?`, row.ID)
	}
	if err != nil {
		return SettlementRecord{}, fmt.Errorf("read settlement %s: %w", row.ID, err)
	}
	return out, nil
}

const claimQuery = `SELECT person_id, claim_id, provider_id, level, kind, admitted_on, discharged_on, total, in_policy FROM claims WHERE claim_id = ?`

// claimByID returns the stored claim with id.
func (s *Store) claimByID(ctx context.Context, q sqlx.ExtContext, id string) (calc.Claim, bool, error) {
	var row struct {
		PersonID     string          `db:"person_id"`
		ClaimID      string          `db:"claim_id"`
		ProviderID   string          `db:"provider_id"`
		Level        string          `db:"level"`
		Kind         string          `db:"kind"`
		AdmittedOn   string          `db:"admitted_on"`
		DischargedOn string          `db:"discharged_on"`
		Total        decimal.Decimal `db:"total"`
		InPolicy     decimal.Decimal `db:"in_policy"`
	}
	err := sqlx.GetContext(ctx, q, &row, q.Rebind(claimQuery), id)
	if errors.Is(err, sql.ErrNoRows) {
		return calc.Claim{}, false, nil
	}
	if err != nil {
		return calc.Claim{}, false, fmt.Errorf("read claim %s: %w", id, err)
	}
	c := calc.Claim{ID: row.ClaimID, PersonID: row.PersonID, ProviderID: row.ProviderID}
	var errs [6]error
	c.Level, errs[0] = calc.ParseLevel(row.Level)
	c.Kind, errs[1] = calc.ParseKind(row.Kind)
	c.AdmittedOn, errs[2] = calc.ParseDate(row.AdmittedOn)
	c.DischargedOn, errs[3] = calc.ParseDate(row.DischargedOn)
	c.Total, errs[4] = fen(row.Total)
	c.InPolicy, errs[5] = fen(row.InPolicy)
	if err := errors.Join(errs[:]...); err != nil {
		return calc.Claim{}, false, fmt.Errorf("read claim %s: %w", id, err)
	}
	return c, true, nil
}
