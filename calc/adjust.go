package calc

import (
	"fmt"
	"slices"
)

// Amounts is what a settled claim has paid so far: each line, the patient, and the slice
// of the critical-illness burden it holds. A settlement's own amounts are its original
// amounts; adjustments move them.
type Amounts struct {
	Lines       [NumLines]Money
	OutOfPocket Money
	Burden      Money // the claim's slice of the annual critical-illness burden
}

// AmountsOf returns the amounts a settlement paid.
func AmountsOf(s *Settlement) Amounts {
	a := Amounts{OutOfPocket: s.OutOfPocket, Burden: s.Lines[Critical].Base}
	for l := range NumLines {
		a.Lines[l] = s.Lines[l].Amount
	}
	return a
}

// Plus returns a with adjustment d booked.
func (a Amounts) Plus(d *Adjustment) Amounts {
	for l := range NumLines {
		a.Lines[l] += d.Lines[l]
	}
	a.OutOfPocket += d.OutOfPocket
	a.Burden += d.Burden
	return a
}

// Adjustment is the correction of a settled claim (POLICY.md "Corrections"): what each
// line, the patient and the claim's burden slice change by when the claim's person-year is
// re-settled. Settlements are never edited; adjustments are added to them.
type Adjustment struct {
	ClaimID  string
	PersonID string
	Year     int
	Kind     Kind
	Lines    [NumLines]Money
	// OutOfPocket is never above zero: a rise in the patient's share is paid by the
	// backstop; a fall, -OutOfPocket, is a refund owed to the patient.
	OutOfPocket Money
	Burden      Money
	// Correction is the rise in the patient's share that re-settling gave and that the
	// backstop pays instead, part of Lines[Backstop]; 0 if the share did not rise.
	Correction Money
}

// Zero reports whether the adjustment changes nothing.
func (d *Adjustment) Zero() bool {
	return d.Lines == [NumLines]Money{} && d.OutOfPocket == 0 && d.Burden == 0
}

// Refund is what is owed back to the patient.
func (d *Adjustment) Refund() Money { return -d.OutOfPocket }

// Correct returns the adjustment that takes a claim that has paid now to what its
// re-settlement s pays, except that the patient never pays more after discharge: a rise
// in the patient's share goes to the backstop, as a correction. The result is Zero when
// nothing changes; in particular correcting twice to the same s gives Zero the second time.
func Correct(now Amounts, s *Settlement) Adjustment {
	d := Adjustment{ClaimID: s.ClaimID, PersonID: s.PersonID, Year: s.Year, Kind: s.Kind}
	for l := range NumLines {
		d.Lines[l] = s.Lines[l].Amount - now.Lines[l]
	}
	d.Burden = s.Lines[Critical].Base - now.Burden
	if rise := s.OutOfPocket - now.OutOfPocket; rise > 0 {
		d.Lines[Backstop] += rise
		d.Correction = rise
	} else {
		d.OutOfPocket = rise
	}
	return d
}

// Adjust returns the ledger with adjustment d booked. It returns an error wrapping
// ErrLedgerYear if d is from another year, or ErrLedgerNegate if a total would go negative.
func (l Ledger) Adjust(d *Adjustment) (Ledger, error) {
	if d.Year != l.Year {
		return l, fmt.Errorf("adjust claim %s of %d: %w (%d)", d.ClaimID, d.Year, ErrLedgerYear, l.Year)
	}
	n := l
	if d.Kind == OutpatientChronic {
		n.BasicChronic += d.Lines[Basic]
	} else {
		n.BasicInpatient += d.Lines[Basic]
	}
	n.CriticalBurden += d.Burden
	n.CriticalPaid += d.Lines[Critical]
	n.CommercialPaid += d.Lines[Commercial]
	n.AidPaid += d.Lines[Aid]
	n.BackstopPaid += d.Lines[Backstop]
	n.OutOfPocket += d.OutOfPocket
	if n.BasicInpatient < 0 || n.BasicChronic < 0 || n.CriticalBurden < 0 || n.CriticalPaid < 0 ||
		n.CommercialPaid < 0 || n.AidPaid < 0 || n.BackstopPaid < 0 || n.OutOfPocket < 0 {
		return l, fmt.Errorf("adjust claim %s: %w", d.ClaimID, ErrLedgerNegate)
	}
	return n, nil
}

// Standing is a settled claim that stands (it was not reversed), as a re-settlement reads
// it: the claim, the policy version it was settled under, its settlement and the
// adjustments booked to it since, oldest first.
type Standing struct {
	Claim       Claim
	Policy      *Policy
	Person      *Person // the register version it was settled with; nil: Resettle's person
	Settlement  *Settlement
	Adjustments []Adjustment
}

// Now is what the claim has paid: its settlement and its adjustments.
func (s *Standing) Now() Amounts {
	a := AmountsOf(s.Settlement)
	for i := range s.Adjustments {
		a = a.Plus(&s.Adjustments[i])
	}
	return a
}

// Resettled is one claim's outcome in Resettle.
type Resettled struct {
	Claim      *Claim
	Settlement Settlement // what settling the claim in order gives now
	Adjustment Adjustment // Zero when the claim keeps what it paid
}

// Resettle settles one person-year again as if only the standing claims existed, in the
// order of CompareClaims (POLICY.md "Order" and "Corrections"). Claims ordered at or
// before after (nil: none) keep what they paid and are booked as they stand, and so do
// imported claims (Settlement.Imported) wherever they fall: what the system before hpcalc
// paid is history that no re-settlement here can change. Every later
// claim is re-settled under its own policy version against the ledger the claims before
// it leave, and corrected (Correct) to what that gives. It sorts claims in place and
// returns, for each re-settled claim in order, its settlement and adjustment, and the
// ledger that the settlements, reversals and adjustments then add up to. Its errors are
// those of Settle and of booking to a ledger.
func Resettle(person Person, year int, claims []Standing, after *Claim) ([]Resettled, Ledger, error) {
	slices.SortFunc(claims, func(a, b Standing) int { return CompareClaims(&a.Claim, &b.Claim) })
	ledger := Ledger{Year: year}
	var out []Resettled
	for i := range claims {
		c := &claims[i]
		if c.Claim.DischargedOn.Year() != year {
			return nil, Ledger{}, fmt.Errorf("resettle claim %s: %w: discharged %s, year %d", c.Claim.ID, ErrLedgerYear, c.Claim.DischargedOn, year)
		}
		if !c.Settlement.Imported && (after == nil || CompareClaims(&c.Claim, after) > 0) {
			r := Resettled{Claim: &c.Claim}
			before := ledger
			who := &person
			if c.Person != nil {
				who = c.Person
			}
			if err := SettleInto(&r.Settlement, c.Policy, who, &before, &c.Claim); err != nil {
				return nil, Ledger{}, fmt.Errorf("resettle: %w", err)
			}
			r.Adjustment = Correct(c.Now(), &r.Settlement)
			out = append(out, r)
		}
		var err error
		if ledger, err = ledger.Add(c.Settlement); err != nil {
			return nil, Ledger{}, fmt.Errorf("resettle: %w", err)
		}
		adjs := c.Adjustments
		if len(out) > 0 && out[len(out)-1].Claim == &c.Claim {
			adjs = append(adjs[:len(adjs):len(adjs)], out[len(out)-1].Adjustment)
		}
		for j := range adjs {
			if ledger, err = ledger.Adjust(&adjs[j]); err != nil {
				return nil, Ledger{}, fmt.Errorf("resettle: %w", err)
			}
		}
	}
	return out, ledger, nil
}
