package calc

import "time"

// PaidClaim is a claim as it was settled and stored: which settlement paid it, under
// which policy version and when, what each line and the patient paid (adjustments
// included), and whether it has been reversed since. An audit compares a replay with it.
type PaidClaim struct {
	Claim         Claim
	SettlementID  string
	PolicyVersion string
	PersonVersion int32 // the register version of the person it was settled with; 0 if not recorded
	SettledAt     time.Time
	Paid          [NumLines]Money
	OutOfPocket   Money
	Burden        Money // the claim's slice of the critical-illness burden, adjusted too
	Reversed      bool  // the settlement has been reversed
	// Adjusted says Paid and OutOfPocket include adjustments (POLICY.md "Corrections"):
	// the backstop may then pay a rise in the patient's share that re-settling gave.
	Adjusted bool
	// Imported says the claim was paid by the system before hpcalc and imported with what
	// it paid (SettlePaid).
	Imported bool
}
