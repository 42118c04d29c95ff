// Package ops owns the operations that the JSON API (api), the command (cmd/hpcalc) and
// the coming browser console share — settle and quote, reverse, audit, what-if and sweep,
// import of settled data — and the meaning of their transactions. It calls store for rows
// and batch and calc for arithmetic, so that each operation is written once, whoever asks
// for it.
//
// ops must never import api, cmd or console: they call it, each declaring the small
// interface it needs where it uses it.
package ops

import (
	"context"
	"errors"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
)

// ErrUnknownVersion is returned, wrapped, for a policy version that is not published.
var ErrUnknownVersion = errors.New("no such published policy version")

// Service runs the operations on one store. It holds no state of its own: any number of
// goroutines may call it at once.
type Service struct {
	store *store.Store
}

// New returns the operations on st.
func New(st *store.Store) *Service { return &Service{store: st} }

// Settle settles claim c at discharge and stores the claim, its settlement and the
// person's ledger in one transaction, under the person-year's ledger lock; sent again with
// the same values it stores nothing and returns the stored settlement with created false.
// Errors: a *store.ConflictError (store.ErrConflict) when the claim id was settled with
// other values; store.ErrNotFound (wrapped) for an unknown person; calc.ErrInvalid (a
// *calc.ValidationError) for an invalid claim; calc.ErrNoPolicy for a discharge day no
// published policy covers; the database's errors.
func (s *Service) Settle(ctx context.Context, c calc.Claim) (st store.SettlementRecord, created bool, err error) {
	return s.store.Settle(ctx, c)
}

// Quote computes what claim c would settle to now, against the person's ledger as it
// stands, and stores nothing. It returns the settlement and the ledger after it. Errors:
// those of Settle but ErrConflict.
func (s *Service) Quote(ctx context.Context, c calc.Claim) (calc.Settlement, calc.Ledger, error) {
	return s.store.Quote(ctx, c)
}

// Reverse reverses settlement id, once, for reason: a new stored row takes the claim out,
// and in the same transaction every later standing claim of the person-year is
// re-settled in order, each change booked as an adjustment caused by the reversal
// (POLICY.md "Corrections"). It returns the reversal with the adjustments it booked.
// Errors: store.ErrNotFound (wrapped) for an unknown settlement; store.ErrConflict
// (wrapped) for a settlement already reversed or a reversal; the database's errors.
func (s *Service) Reverse(ctx context.Context, id, reason string) (store.SettlementRecord, error) {
	return s.store.Reverse(ctx, id, reason)
}

// Reconcile settles again, in order, every person-year with a standing claim discharged
// from from to to inclusive (of personID only, if not ""), and with apply books an
// adjustment for every difference (cause out of order); without apply it stores nothing
// and says what it would book. Errors: store.ErrInvalidPeriod and store.ErrNotFound
// (wrapped); the database's.
func (s *Service) Reconcile(ctx context.Context, from, to calc.Date, personID string, apply bool) (store.Reconciliation, error) {
	return s.store.Reconcile(ctx, from, to, personID, apply)
}

// Refunds lists per person the refunds owed for adjustments of claims discharged from
// from to to inclusive. Errors: the database's.
func (s *Service) Refunds(ctx context.Context, from, to calc.Date) ([]store.Refund, error) {
	return s.store.Refunds(ctx, from, to)
}
