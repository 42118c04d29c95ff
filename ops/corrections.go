package ops

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
)

// Reconciliation is what a reconciliation found: the adjustments that settling each
// person-year in order gives, booked if Applied.
type Reconciliation struct {
	ID          string
	From, To    calc.Date
	PersonID    string // "" for every person
	Applied     bool
	PersonYears int // person-years re-settled
	Adjustments []store.Adjusted
}

// ErrInvalidPeriod is returned, wrapped, for a period whose end is before its start.
var ErrInvalidPeriod = errors.New("the period ends before it starts")

// Reconcile settles again, in order (POLICY.md "Order" and "Corrections"), every
// person-year with a standing claim discharged from from to to inclusive, of personID
// only if it is not "". Each person-year is re-settled whole. Of one person, each
// person-year is read and re-settled in a transaction of its own under its ledger lock; of
// every person, the period's whole years are read in one ordered query, as an audit reads
// them, and re-settled in memory from what was paid, and only the person-years that would
// change get that transaction (reconcileAll). With apply, every difference is booked as an adjustment (cause
// store.CauseOutOfOrder, the reconciliation's id) and the ledger written; without, nothing
// is stored and the adjustments say what would be booked. A person-year already in order
// books nothing, so applying twice books nothing the second time.
//
// One transaction per person-year keeps settlements of other persons flowing while a
// long reconciliation runs, at the price of stopping part way when the database fails:
// then Reconcile returns what it did, each person-year before the one it stopped at
// re-settled and, applied, booked for good, with a *ReconcileStopped that says where it
// stopped. Running it again completes it, booking nothing twice.
//
// Errors: ErrInvalidPeriod; store.ErrNotFound (wrapped) for an unknown person; a
// *ReconcileStopped wrapping store.ErrUnavailable or the database's other errors.
func (s *Service) Reconcile(ctx context.Context, from, to calc.Date, personID string, apply bool) (Reconciliation, error) {
	r := Reconciliation{ID: store.NewID("C"), From: from, To: to, PersonID: personID, Applied: apply}
	if to < from {
		return Reconciliation{}, fmt.Errorf("reconcile: %w: %s to %s", ErrInvalidPeriod, from, to)
	}
	if personID != "" {
		if _, err := s.store.Person(ctx, personID); err != nil {
			return Reconciliation{}, fmt.Errorf("reconcile: %w", err)
		}
	}
	if personID == "" {
		return s.reconcileAll(ctx, r)
	}
	years, err := s.store.PersonYearsDischarged(ctx, from, to, personID)
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconcile: %w", err)
	}
	for _, py := range years {
		adjs, err := s.reconcileYear(ctx, py, r.ID, apply)
		if err != nil {
			return r, &ReconcileStopped{ID: r.ID, At: py, Done: r.PersonYears, Total: len(years), Applied: apply, Err: err}
		}
		r.Adjustments = append(r.Adjustments, adjs...)
		r.PersonYears++
	}
	return r, nil
}

// ReconcileStopped is the error of a reconciliation that stopped part way through: the
// Done person-years before At were re-settled and, if Applied, their adjustments booked
// and kept; At and the person-years after it were left as they were (At's transaction
// rolled back). The same reconciliation run again completes it: the person-years already
// in order book nothing.
type ReconcileStopped struct {
	ID      string // the reconciliation's id, the cause of what it booked
	At      store.PersonYear
	Done    int
	Total   int
	Applied bool
	Err     error
}

func (e *ReconcileStopped) Error() string {
	return fmt.Sprintf("reconcile: %s; because: %v", e.Report(), e.Err)
}

func (e *ReconcileStopped) Unwrap() error { return e.Err }

// Report says where the reconciliation stopped and what to do, in words fit for whoever
// ran it: it names no internal error.
func (e *ReconcileStopped) Report() string {
	done := "nothing was booked (a dry run)"
	if e.Applied {
		done = fmt.Sprintf("the adjustments of those %d are booked (cause %s) and stay", e.Done, e.ID)
	}
	return fmt.Sprintf("reconciliation %s stopped at person %s, year %d, after %d of %d person-years; %s; "+
		"run it again to complete it: nothing is booked twice", e.ID, e.At.PersonID, e.At.Year, e.Done, e.Total, done)
}

// reconcileYear re-settles one person-year in order, in a transaction under its ledger
// lock, and with apply books the differences (cause store.CauseOutOfOrder, causeID).
func (s *Service) reconcileYear(ctx context.Context, py store.PersonYear, causeID string, apply bool) ([]store.Adjusted, error) {
	var adjs []store.Adjusted
	err := s.store.InPersonYear(ctx, py.PersonID, py.Year, func(tx *store.PersonYearTx) error {
		var err error
		adjs, _, err = resettle(tx, nil, store.CauseOutOfOrder, causeID, apply)
		return err
	})
	return adjs, err
}

// Refund is what is owed back to one patient: the adjustments that lowered their share.
type Refund struct {
	PersonID    string
	Amount      calc.Money // owed, > 0
	Adjustments []store.Adjusted
}

// Refunds lists, per person in id order, the refunds owed for adjustments of claims
// discharged from from to to inclusive: those that lowered what the patient pays, net of
// those a reversal took back. Errors: store.ErrUnavailable and the database's others.
func (s *Service) Refunds(ctx context.Context, from, to calc.Date) ([]Refund, error) {
	adjs, err := s.store.AdjustmentsDischarged(ctx, from, to)
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
