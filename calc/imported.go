package calc

import "fmt"

// SettlePaid books a claim that the system before hpcalc settled, with the amounts it
// actually paid on each line and the patient's share, into *s and *ledger, as SettleInto
// books a claim the cascade settles: it is how a county going live in the middle of a
// year opens each person-year's ledger (deductibles met, caps used) from its history.
//
// The settlement is marked Imported and holds the amounts without workings: every line
// paid what was paid, applies if it paid anything, has no cap room and computed what it
// paid. Its critical-illness base, the slice of the annual burden the claim adds, is
// what the cascade would take as the burden given the amount basic insurance paid: the
// in-policy cost less it (never below zero). When the amounts are those the cascade
// gives, the settlement books the ledger exactly as settling the claim would have, so
// that claims settled after it continue the year as if it had been settled here.
// policyVersion is the version in force on the discharge day, which an audit compares
// the claim under.
//
// Errors: the claim's *ValidationError (ErrInvalid); a negative amount, or amounts that do
// not sum to the claim's total (ErrInvalid); ErrWrongPerson; ErrLedgerYear if the ledger
// is for another year than the discharge (a zero Ledger is fresh for any year). On error
// *ledger is unchanged and *s is zero.
func SettlePaid(s *Settlement, policyVersion string, person *Person, ledger *Ledger, c *Claim, lines [NumLines]Money, oop Money) error {
	*s = Settlement{}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.PersonID != person.ID {
		return fmt.Errorf("book paid claim %s: %w: claim is for %s, person is %s", c.ID, ErrWrongPerson, c.PersonID, person.ID)
	}
	sum := oop
	if oop < 0 {
		return fmt.Errorf("book paid claim %s: %w: out_of_pocket %s is negative", c.ID, ErrInvalid, oop)
	}
	for l := range NumLines {
		if lines[l] < 0 {
			return fmt.Errorf("book paid claim %s: %w: %s %s is negative", c.ID, ErrInvalid, l, lines[l])
		}
		sum += lines[l]
	}
	if sum != c.Total {
		return fmt.Errorf("book paid claim %s: %w: the amounts paid sum to %s, the total is %s", c.ID, ErrInvalid, sum, c.Total)
	}
	year := c.DischargedOn.Year()
	if ledger.Year == 0 && ledger.Claims == 0 {
		ledger.Year = year
	}
	if ledger.Year != year {
		return fmt.Errorf("book paid claim %s: %w: ledger %d, discharge %s", c.ID, ErrLedgerYear, ledger.Year, c.DischargedOn)
	}
	s.ClaimID, s.PersonID, s.PolicyVersion = c.ID, c.PersonID, policyVersion
	s.Year, s.Kind, s.Level, s.Aid = year, c.Kind, c.Level, person.Aid
	s.Total, s.InPolicy, s.OutOfPocket = c.Total, c.InPolicy, oop
	s.Imported = true
	s.BurdenBefore = ledger.CriticalBurden
	for l := range NumLines {
		r := &s.Lines[l]
		r.Applies, r.Amount, r.Computed, r.CapRoom = lines[l] > 0, lines[l], lines[l], NoCap
	}
	s.Lines[Critical].Base = max(c.InPolicy-lines[Basic], 0)
	ledger.apply(s, 1)
	return nil
}
