package ops

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
)

// Settle settles claim c at discharge and stores the claim, its settlement and the
// person's ledger in one transaction, under the person-year's ledger lock; sent again with
// the same values it stores nothing and returns the stored settlement with created false.
// Errors: a *store.ConflictError (store.ErrConflict) when the claim id was settled with
// other values; store.ErrNotFound (wrapped) for an unknown person; calc.ErrInvalid (a
// *calc.ValidationError) for an invalid claim; calc.ErrNoPolicy for a discharge day no
// published policy covers; store.ErrUnavailable and the database's other errors.
func (s *Service) Settle(ctx context.Context, c calc.Claim) (st store.SettlementRecord, created bool, err error) {
	out, created, err := s.settle(ctx, c)
	if err != nil && !errors.Is(err, store.ErrConflict) {
		// The same claim id sent at once for two persons takes two ledger locks and meets
		// at the claims table's key; the second attempt sees the first's claim.
		if _, lookErr := s.store.Claim(ctx, c.ID); lookErr == nil {
			return s.settle(ctx, c)
		}
	}
	return out, created, err
}

func (s *Service) settle(ctx context.Context, c calc.Claim) (store.SettlementRecord, bool, error) {
	var (
		out     store.SettlementRecord
		created bool
	)
	err := s.store.InPersonYear(ctx, c.PersonID, c.DischargedOn.Year(), func(tx *store.PersonYearTx) error {
		out, created = store.SettlementRecord{}, false
		policy, err := tx.PolicyAt(c.DischargedOn)
		if err != nil {
			return err
		}
		if err := c.Validate(); err != nil {
			return err
		}
		// Checked under the ledger lock, so that the same claim sent twice at once is
		// settled once.
		if prev, ok, err := tx.Claim(c.ID); err != nil {
			return err
		} else if ok {
			if diff := claimDiff(prev, c); len(diff) > 0 {
				return &store.ConflictError{ClaimID: c.ID, Owner: prev.ProviderID, Fields: diff}
			}
			out, err = tx.SettlementForClaim(c.ID)
			return err
		}
		// The person as the register had them on the discharge day.
		person, err := tx.PersonOn(c.DischargedOn)
		if err != nil {
			return err
		}
		ledger := tx.Ledger()
		var st calc.Settlement
		if err := calc.SettleInto(&st, policy, &person, &ledger, &c); err != nil {
			return err
		}
		rec := store.SettlementRecord{ID: store.NewID("S"), CreatedAt: tx.Now(), Settlement: st, Ledger: ledger, PersonVersion: person.Version}
		if err := tx.InsertClaim(c); err != nil {
			return err
		}
		if err := tx.InsertSettlement(&rec, c.DischargedOn); err != nil {
			return err
		}
		if err := tx.WriteLedger(ledger); err != nil {
			return err
		}
		out, created = rec, true
		return nil
	})
	if err != nil {
		return store.SettlementRecord{}, false, fmt.Errorf("settle claim %s: %w", c.ID, err)
	}
	return out, created, nil
}

// claimDiff names the fields in which two claims with the same id differ. The level is
// not one of them: it is read from the provider's record when the claim arrives, never
// sent, so that a provider moved to another level since does not make an unchanged claim
// sent again a conflict.
func claimDiff(a, b calc.Claim) []string {
	var d []string
	for _, f := range []struct {
		name string
		same bool
	}{
		{"person_id", a.PersonID == b.PersonID}, {"provider_id", a.ProviderID == b.ProviderID},
		{"kind", a.Kind == b.Kind},
		{"admitted_on", a.AdmittedOn == b.AdmittedOn}, {"discharged_on", a.DischargedOn == b.DischargedOn},
		{"total", a.Total == b.Total}, {"in_policy", a.InPolicy == b.InPolicy},
	} {
		if !f.same {
			d = append(d, f.name)
		}
	}
	return d
}

// Quote computes what claim c would settle to now, against the person's ledger as it
// stands, and stores nothing. It returns the settlement and the ledger after it. It reads
// the person and the ledger from the store's quote cache when it has them: a settlement
// never does. Errors: those of Settle but ErrConflict.
func (s *Service) Quote(ctx context.Context, c calc.Claim) (calc.Settlement, calc.Ledger, error) {
	var q Quoted
	err := s.QuoteInto(ctx, &q, c)
	return q.Settlement, q.Ledger, err
}

// Quoted is a quote: what a claim would settle to now.
type Quoted struct {
	Settlement calc.Settlement
	Ledger     calc.Ledger // after the claim
	// PersonVersion is the register version of the person the quote used, the one in force
	// on the discharge day: what a settlement made now would record.
	PersonVersion int32
}

// QuoteInto is Quote writing into *q, with the person's register version: the API's
// answer names it as a stored settlement's does. On error *q is zero.
func (s *Service) QuoteInto(ctx context.Context, q *Quoted, c calc.Claim) error {
	if err := s.quote(ctx, q, &c); err != nil {
		*q = Quoted{}
		return fmt.Errorf("quote claim %s: %w", c.ID, err)
	}
	return nil
}

func (s *Service) quote(ctx context.Context, q *Quoted, c *calc.Claim) error {
	policy, err := s.store.PolicyAt(ctx, c.DischargedOn)
	if err != nil {
		return err
	}
	person, ledger, err := s.store.PersonAndLedger(ctx, c.PersonID, c.DischargedOn)
	if err != nil {
		return err
	}
	if err := calc.SettleInto(&q.Settlement, policy, &person, &ledger, c); err != nil {
		return err
	}
	q.Ledger, q.PersonVersion = ledger, person.Version
	return nil
}

// Reverse reverses settlement id, once, for reason: a new stored row takes the claim out,
// and in the same transaction, under the person-year's ledger lock, every later standing
// claim of the person-year is re-settled in order under its own policy version, each change
// booked as an adjustment caused by the reversal (POLICY.md "Corrections"); what the
// reversed settlement was adjusted by is taken back with it. It returns the reversal with
// the adjustments it booked and the ledger after it. Errors: store.ErrNotFound (wrapped)
// for an unknown settlement; store.ErrConflict (wrapped) for a settlement already reversed
// or a reversal; store.ErrUnavailable and the database's other errors.
func (s *Service) Reverse(ctx context.Context, id, reason string) (store.SettlementRecord, error) {
	out, err := s.reverse(ctx, id, reason)
	if err != nil {
		return store.SettlementRecord{}, fmt.Errorf("reverse settlement %s: %w", id, err)
	}
	return out, nil
}

func (s *Service) reverse(ctx context.Context, id, reason string) (store.SettlementRecord, error) {
	// Rows are never edited: what the settlement holds can be read before the lock.
	orig, err := s.store.Settlement(ctx, id)
	if err != nil {
		return store.SettlementRecord{}, err
	}
	if orig.Reverses != "" {
		return store.SettlementRecord{}, refuse(store.ErrConflict, "%s is itself a reversal; only a settlement can be reversed", id)
	}
	var out store.SettlementRecord
	err = s.store.InPersonYear(ctx, orig.Settlement.PersonID, orig.Settlement.Year, func(tx *store.PersonYearTx) error {
		out = store.SettlementRecord{}
		if _, err := tx.Reversal(id); err == nil {
			return refuse(store.ErrConflict, "settlement %s is already reversed", id)
		} else if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		claim, ok, err := tx.Claim(orig.Settlement.ClaimID)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("settlement %s: its claim %s is not on file", id, orig.Settlement.ClaimID)
		}
		rev := store.SettlementRecord{ID: store.NewID("R"), Reverses: id, Reason: reason, CreatedAt: tx.Now(), Settlement: orig.Settlement,
			PersonVersion: orig.PersonVersion}
		// The person-year is re-settled without the reversed claim before the reversal is
		// stored, so that the reversal's row keeps the ledger that follows it (the one the
		// re-settling leads to), as every other row keeps its own.
		list, err := tx.Standing()
		if err != nil {
			return err
		}
		kept := list[:0]
		for _, c := range list {
			if c.SettlementID != id {
				kept = append(kept, c)
			}
		}
		var adjusted []store.Adjusted
		if adjusted, rev.Ledger, err = planResettle(tx, kept, &claim, store.CauseReversal, rev.ID); err != nil {
			return err
		}
		if err := tx.InsertSettlement(&rev, claim.DischargedOn); err != nil {
			return err
		}
		// What the reversed settlement was adjusted by goes with it: its rows stand, and
		// the reversal takes back its original amounts, so its adjustments are reversed
		// too, as one row of the opposite sign.
		adjs, err := tx.Adjustments(id)
		if err != nil {
			return err
		}
		if back, ok := takeBack(adjs, rev.ID, tx.Now()); ok {
			if err := tx.InsertAdjustments(back); err != nil {
				return err
			}
		}
		if err := tx.InsertAdjustments(adjusted...); err != nil {
			return err
		}
		if err := tx.WriteLedger(rev.Ledger); err != nil {
			return err
		}
		rev.Adjustments = adjusted
		out = rev
		return nil
	})
	return out, err
}

// takeBack returns the adjustment that takes back the sum of adjs, those booked to one
// settlement being reversed, so that its claim nets to nothing in every sum; false if
// they sum to nothing.
func takeBack(adjs []store.Adjusted, reversalID string, now time.Time) (store.Adjusted, bool) {
	if len(adjs) == 0 {
		return store.Adjusted{}, false
	}
	back := store.Adjusted{ID: store.NewID("A"), SettlementID: adjs[0].SettlementID, Cause: store.CauseReversal, CauseID: reversalID,
		DischargedOn: adjs[0].DischargedOn, CreatedAt: now}
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
	return back, !d.Zero()
}

// resettle re-settles the locked person-year in order (calc.Resettle): the claims ordered
// after after (nil: every claim). With book, it stores an adjustment for every claim whose
// amounts change, with cause and causeID, and writes the ledger. It returns the
// adjustments (booked or, without book, that would be) and the ledger the person-year
// then adds up to.
func resettle(tx *store.PersonYearTx, after *calc.Claim, cause, causeID string, book bool) ([]store.Adjusted, calc.Ledger, error) {
	list, err := tx.Standing()
	if err != nil {
		return nil, calc.Ledger{}, err
	}
	out, ledger, err := planResettle(tx, list, after, cause, causeID)
	if err != nil || !book {
		return out, ledger, err
	}
	if err := tx.InsertAdjustments(out...); err != nil {
		return nil, calc.Ledger{}, err
	}
	if err := tx.WriteLedger(ledger); err != nil {
		return nil, calc.Ledger{}, err
	}
	return out, ledger, nil
}

// planResettle re-settles list, the standing claims of the locked person-year, in order
// (calc.Resettle): those ordered after after (nil: every claim). It returns an adjustment,
// not yet stored, for every claim whose amounts change, with cause and causeID, and the
// ledger the person-year then adds up to.
func planResettle(tx *store.PersonYearTx, list []store.StandingClaim, after *calc.Claim, cause, causeID string) ([]store.Adjusted, calc.Ledger, error) {
	claims := make([]calc.Standing, len(list))
	bySettled := make(map[string]string, len(list)) // claim id → settlement id
	for i := range list {
		claims[i] = list[i].Standing
		bySettled[list[i].Claim.ID] = list[i].SettlementID
	}
	done, ledger, err := calc.Resettle(tx.Person(), tx.Ledger().Year, claims, after)
	if err != nil {
		return nil, calc.Ledger{}, err
	}
	now := tx.Now()
	var out []store.Adjusted
	for i := range done {
		r := &done[i]
		if r.Adjustment.Zero() {
			continue
		}
		out = append(out, store.Adjusted{ID: store.NewID("A"), SettlementID: bySettled[r.Claim.ID], Cause: cause, CauseID: causeID,
			DischargedOn: r.Claim.DischargedOn, CreatedAt: now, Adjustment: r.Adjustment})
	}
	return out, ledger, nil
}

// refuse is a refusal told to whoever asked (a *store.Refused of kind).
func refuse(kind error, format string, args ...any) error {
	return &store.Refused{Kind: kind, Reason: fmt.Sprintf(format, args...)}
}
