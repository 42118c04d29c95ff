package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// PersonYearTx is one transaction on one person-year, under its ledger lock: the rows
// that settling, reversing and reconciling read and write. It decides nothing: which
// rows to write, and what they hold, is the caller's (package ops). It is valid only
// inside the function InPersonYear gives it to, and is not safe for concurrent use.
type PersonYearTx struct {
	s      *Store
	ctx    context.Context
	tx     *sqlx.Tx
	person calc.Person  // as the register now stands (History.Last)
	hist   calc.History // the person's register versions
	ledger calc.Ledger  // the ledger as it was locked
	wrote  bool         // a write was attempted: others must hear of it, and the cache forget it
	// days are the tally's sums of the rows written, added to the tally last, just
	// before the commit: a writer holds a day's tally row from its write until it
	// commits, and every other writer of that day meanwhile writes another bucket.
	days daySums
}

// maxPersonYearAttempts bounds how often InPersonYear runs a transaction that PostgreSQL
// aborted as a deadlock victim or for a serialization failure: either says that running
// it again may well succeed.
const maxPersonYearAttempts = 3

// InPersonYear runs fn in one transaction on the person-year of personID and year: it
// reads the person, takes the person-year's ledger lock (creating the ledger row if need
// be; SELECT ... FOR UPDATE in PostgreSQL, SQLite's write lock taken at BEGIN), and calls
// fn, committing if fn returns nil and rolling back otherwise. Everything fn writes commits
// together or not at all, and two calls on one person-year never overlap. A transaction
// PostgreSQL aborts as a deadlock victim or a serialization failure is run again from the
// start, fn included, so fn must keep nothing of a failed attempt. Once something is
// written, other replicas are told (NOTIFY) and this store's quote cache forgets the
// ledger, even if the commit fails (it may still have committed).
//
// Errors: ErrNotFound (a *Refused) for an unknown person; fn's error as it returned it;
// ErrUnavailable when the database cannot serve; the database's others.
func (s *Store) InPersonYear(ctx context.Context, personID string, year int, fn func(tx *PersonYearTx) error) (err error) {
	defer s.classify(&err)
	for attempt := 1; ; attempt++ {
		err = s.inPersonYear(ctx, personID, year, fn)
		if err == nil || attempt == maxPersonYearAttempts || !retryable(err) || ctx.Err() != nil {
			return err
		}
	}
}

func (s *Store) inPersonYear(ctx context.Context, personID string, year int, fn func(tx *PersonYearTx) error) error {
	py := &PersonYearTx{s: s, ctx: ctx, days: daySums{}}
	err := s.inTx(ctx, func(tx *sqlx.Tx) error {
		h, err := history(ctx, tx, personID)
		if err != nil {
			return err
		}
		if len(h) == 0 {
			return refuse(ErrNotFound, "person %s was not found", personID)
		}
		l, err := s.lockLedger(ctx, tx, personID, year)
		if err != nil {
			return err
		}
		py.tx, py.person, py.hist, py.ledger = tx, *h.Last(), h, l
		if err := fn(py); err != nil {
			return err
		}
		if !py.wrote {
			return nil
		}
		if err := s.cache.notify(ctx, tx, ledgerChange(personID, year)); err != nil {
			return err
		}
		return py.days.write(ctx, tx)
	})
	if py.wrote {
		s.cache.evictLedger(personID, year)
	}
	py.tx = nil
	return err
}

// retryable reports whether PostgreSQL aborted a transaction that may succeed when run
// again: serialization_failure (40001) or deadlock_detected (40P01).
func retryable(err error) bool {
	var pe *pq.Error
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// Person returns the person as the register now stands (the attributes in force on the
// last day of their timeline), as read under the lock. A claim is settled with PersonOn.
func (t *PersonYearTx) Person() calc.Person { return t.person }

// PersonOn returns the person as the register had them on day d: the version in force
// (calc.History.At), whose Version a settlement records. Errors: calc.ErrNotRegistered
// when no version holds on d.
func (t *PersonYearTx) PersonOn(d calc.Date) (calc.Person, error) {
	return personAt(t.hist, t.person.ID, d)
}

// Ledger returns the person-year's kept ledger as it was when the lock was taken; a
// person-year without one yet has a fresh ledger.
func (t *PersonYearTx) Ledger() calc.Ledger { return t.ledger }

// Now is the store's clock, in UTC: the time rows written now are stamped with.
func (t *PersonYearTx) Now() time.Time { return t.s.Now().UTC() }

// PolicyAt returns the published policy in force on d, or calc.ErrNoPolicy.
func (t *PersonYearTx) PolicyAt(d calc.Date) (*calc.Policy, error) {
	return t.s.policyAt(t.ctx, t.tx, d)
}

// Claim returns the stored claim with id, and whether there is one (of any person).
func (t *PersonYearTx) Claim(id string) (calc.Claim, bool, error) {
	return t.s.claimByID(t.ctx, t.tx, id)
}

// SettlementForClaim returns the settlement of a claim (not its reversal), with its
// adjustments, or ErrNotFound.
func (t *PersonYearTx) SettlementForClaim(claimID string) (SettlementRecord, error) {
	return t.s.settledForClaim(t.ctx, t.tx, claimID)
}

// Reversal returns the reversal of settlement id, or ErrNotFound if it is not reversed.
func (t *PersonYearTx) Reversal(id string) (SettlementRecord, error) {
	return t.s.settled(t.ctx, t.tx, byReverses, id)
}

// Adjustments returns the adjustments booked to settlement id, oldest first.
func (t *PersonYearTx) Adjustments(settlementID string) ([]Adjusted, error) {
	return t.s.adjustments(t.ctx, t.tx, `settlement_id = ?`, settlementID)
}

// StandingClaim is a settled claim of the person-year that stands (it was not reversed):
// its settlement's id, and the claim, its policy version, its settlement and its
// adjustments as calc re-settles them.
type StandingClaim struct {
	SettlementID string
	calc.Standing
}

// Standing returns the person-year's standing claims, each with the published policy it
// was settled under, the person as the register version it was settled with had them
// (the version in force on its discharge day for a settlement stored before versions
// were kept) and the adjustments booked to it, oldest first; in no particular order of
// claims. Re-settled with the version it was settled with, as under its policy version,
// a claim's correction books what a reversal changes, not a register change since: that
// is the audit's to report.
func (t *PersonYearTx) Standing() ([]StandingClaim, error) {
	list, err := t.s.loadPersonYear(t.ctx, t.tx, t.person.ID, t.ledger.Year)
	if err != nil {
		return nil, err
	}
	out := make([]StandingClaim, len(list))
	for i, st := range list {
		out[i] = StandingClaim{SettlementID: st.settlementID, Standing: st.standing}
		if v := t.hist.Version(st.person); v != nil {
			out[i].Person = &v.Person
			continue
		}
		p, err := personAt(t.hist, t.person.ID, st.standing.Claim.DischargedOn)
		if err != nil {
			return nil, err
		}
		out[i].Person = &p
	}
	return out, nil
}

// InsertClaim stores claim c as submitted, stamped received now.
func (t *PersonYearTx) InsertClaim(c calc.Claim) error {
	if err := t.mine(c.PersonID, c.DischargedOn.Year()); err != nil {
		return err
	}
	t.wrote = true
	return t.s.insertClaim(t.ctx, t.tx, c)
}

// InsertSettlement stores r, a settlement, or a reversal if r.Reverses is set (its
// amounts stored negated, so that sums over the table are net of reversals), of a claim
// discharged on discharged, and adds it to the tally of that day. r.Ledger is stored in
// its workings as the ledger after the row. r.Adjustments are not stored: see
// InsertAdjustments.
func (t *PersonYearTx) InsertSettlement(r *SettlementRecord, discharged calc.Date) error {
	if err := t.mine(r.Settlement.PersonID, r.Settlement.Year); err != nil {
		return err
	}
	if r.ID == "" {
		return fmt.Errorf("store settlement of claim %s: no id", r.Settlement.ClaimID)
	}
	sign := calc.Money(1)
	if r.Reverses != "" {
		sign = -1
	}
	t.wrote = true
	return t.s.insertSettled(t.ctx, t.tx, t.days, r, sign, discharged)
}

// InsertAdjustments stores adjustments, each of a settlement of this person-year, and
// adds their amounts to the tally of their claims' discharge days (as claims of none).
func (t *PersonYearTx) InsertAdjustments(list ...Adjusted) error {
	for i := range list {
		a := &list[i]
		if err := t.mine(a.Adjustment.PersonID, a.Adjustment.Year); err != nil {
			return err
		}
		if a.ID == "" || a.SettlementID == "" {
			return fmt.Errorf("store adjustment of claim %s: no id or settlement", a.Adjustment.ClaimID)
		}
	}
	if len(list) == 0 {
		return nil
	}
	t.wrote = true
	return t.s.insertAdjusted(t.ctx, t.tx, t.days, list...)
}

// WriteLedger replaces the person-year's kept ledger with l; a ledger equal to the kept
// one is not written again.
func (t *PersonYearTx) WriteLedger(l calc.Ledger) error {
	if err := t.mine(t.person.ID, l.Year); err != nil {
		return err
	}
	if l == t.ledger {
		return nil
	}
	t.wrote = true
	if err := t.s.writeLedger(t.ctx, t.tx, t.person.ID, l); err != nil {
		return err
	}
	t.ledger = l
	return nil
}

// errOtherPersonYear is a caller's mistake: a row of another person-year than the one
// locked. It is never the database's.
var errOtherPersonYear = errors.New("a row of another person-year than the one locked")

func (t *PersonYearTx) mine(personID string, year int) error {
	if t.tx == nil {
		return errors.New("the person-year transaction has ended")
	}
	if personID != t.person.ID || year != t.ledger.Year {
		return fmt.Errorf("%w: %s %d, locked %s %d", errOtherPersonYear, personID, year, t.person.ID, t.ledger.Year)
	}
	return nil
}

// NewID returns a new random row id beginning with prefix: S a settlement, R a reversal,
// A an adjustment, C a reconciliation.
func NewID(prefix string) string { return newID(prefix) }

// PolicyAt returns the published policy in force on d, or calc.ErrNoPolicy.
func (s *Store) PolicyAt(ctx context.Context, d calc.Date) (_ *calc.Policy, err error) {
	defer s.classify(&err)
	return s.policyAt(ctx, s.db, d)
}

// PersonAndLedger returns a person as the register had them on day (the version in
// force) and their kept ledger for day's year (a fresh one if they have none yet), from
// the quote cache if it has them: what a quote reads, on the hot path, in one query.
// Errors: ErrNotFound for an unknown person; calc.ErrNotRegistered when no version of
// the person holds on day; the database's.
func (s *Store) PersonAndLedger(ctx context.Context, personID string, day calc.Date) (_ calc.Person, _ calc.Ledger, err error) {
	defer s.classify(&err)
	pl, err := s.personLedger(ctx, personID, day.Year())
	if err != nil {
		return calc.Person{}, calc.Ledger{}, err
	}
	p, err := personAt(pl.history, personID, day)
	return p, pl.ledger, err
}

// PersonYear names one person-year.
type PersonYear struct {
	PersonID string `db:"person_id"`
	Year     int    `db:"year"`
}

// PersonYearsDischarged returns the person-years with a settlement of a claim discharged
// from from to to inclusive (of personID only, if not ""), in person and year order.
func (s *Store) PersonYearsDischarged(ctx context.Context, from, to calc.Date, personID string) (_ []PersonYear, err error) {
	defer s.classify(&err)
	query := `SELECT DISTINCT person_id, year FROM settlements WHERE reverses IS NULL AND discharged_on >= ? AND discharged_on <= ?`
	args := []any{from.String(), to.String()}
	if personID != "" {
		query += ` AND person_id = ?`
		args = append(args, personID)
	}
	var out []PersonYear
	if err := s.db.SelectContext(ctx, &out, s.db.Rebind(query+` ORDER BY person_id, year`), args...); err != nil {
		return nil, fmt.Errorf("read person-years from %s to %s: %w", from, to, err)
	}
	return out, nil
}
