package store

import (
	"context"

	"github.com/hpcalc/hpcalc/calc"
)

// This package's tests make settlement rows through the person-year transaction as ops
// does, and cannot call ops (it imports store). settleRows settles a claim; reverseRows
// reverses a settlement without re-settling the claims after it, which is ops' rule and
// tested there: these tests are about the rows, not the rules.

func settleRows(ctx context.Context, s *Store, c calc.Claim) (SettlementRecord, error) {
	var out SettlementRecord
	err := s.InPersonYear(ctx, c.PersonID, c.DischargedOn.Year(), func(tx *PersonYearTx) error {
		policy, err := tx.PolicyAt(c.DischargedOn)
		if err != nil {
			return err
		}
		p, ledger := tx.Person(), tx.Ledger()
		out = SettlementRecord{ID: NewID("S"), CreatedAt: tx.Now()}
		if err := calc.SettleInto(&out.Settlement, policy, &p, &ledger, &c); err != nil {
			return err
		}
		out.Ledger = ledger
		if err := tx.InsertClaim(c); err != nil {
			return err
		}
		if err := tx.InsertSettlement(&out, c.DischargedOn); err != nil {
			return err
		}
		return tx.WriteLedger(ledger)
	})
	return out, err
}

func reverseRows(ctx context.Context, s *Store, id, reason string) (SettlementRecord, error) {
	orig, err := s.Settlement(ctx, id)
	if err != nil {
		return SettlementRecord{}, err
	}
	var out SettlementRecord
	err = s.InPersonYear(ctx, orig.Settlement.PersonID, orig.Settlement.Year, func(tx *PersonYearTx) error {
		c, _, err := tx.Claim(orig.Settlement.ClaimID)
		if err != nil {
			return err
		}
		out = SettlementRecord{ID: NewID("R"), Reverses: id, Reason: reason, CreatedAt: tx.Now(), Settlement: orig.Settlement}
		if err := tx.InsertSettlement(&out, c.DischargedOn); err != nil {
			return err
		}
		if out.Ledger, err = tx.Ledger().Reverse(&orig.Settlement); err != nil {
			return err
		}
		return tx.WriteLedger(out.Ledger)
	})
	return out, err
}
