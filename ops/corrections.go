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
// only if it is not "". Each person-year is re-settled whole, in a transaction of its own
// under its ledger lock. With apply, every difference is booked as an adjustment (cause
// store.CauseOutOfOrder, the reconciliation's id) and the ledger written; without, nothing
// is stored and the adjustments say what would be booked. A person-year already in order
// books nothing, so applying twice books nothing the second time. Errors:
// ErrInvalidPeriod; store.ErrNotFound (wrapped) for an unknown person;
// store.ErrUnavailable and the database's other errors.
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
	years, err := s.store.PersonYearsDischarged(ctx, from, to, personID)
	if err != nil {
		return Reconciliation{}, fmt.Errorf("reconcile: %w", err)
	}
	for _, py := range years {
		var adjs []store.Adjusted
		err := s.store.InPersonYear(ctx, py.PersonID, py.Year, func(tx *store.PersonYearTx) error {
			var err error
			adjs, _, err = resettle(tx, nil, store.CauseOutOfOrder, r.ID, apply)
			return err
		})
		if err != nil {
			return Reconciliation{}, fmt.Errorf("reconcile %s %d: %w", py.PersonID, py.Year, err)
		}
		r.Adjustments = append(r.Adjustments, adjs...)
		r.PersonYears++
	}
	return r, nil
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
