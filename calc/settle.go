package calc

import "fmt"

// Line is one of the five safety lines, in cascade order.
type Line uint8

// The five lines.
const (
	Basic      Line = iota // 基本医疗保险
	Critical               // 大病保险
	Commercial             // 商业补充保险
	Aid                    // 民政医疗救助
	Backstop               // 政府兜底
	NumLines
)

var lineNames = [NumLines]string{"basic", "critical", "commercial", "aid", "backstop"}

func (l Line) String() string {
	if l < NumLines {
		return lineNames[l]
	}
	return fmt.Sprintf("Line(%d)", uint8(l))
}

// Lines lists the five lines in cascade order.
func Lines() []Line { return []Line{Basic, Critical, Commercial, Aid, Backstop} }

// Ledger is one person's running totals for one calendar year; deductibles and caps read
// it. The zero Ledger is a fresh ledger for whatever year its first claim is in.
type Ledger struct {
	Year           int
	Claims         int
	BasicInpatient Money // basic paid on inpatient claims
	BasicChronic   Money // basic paid on outpatient_chronic claims
	CriticalBurden Money // accumulated burden: in-policy cost left after basic
	CriticalPaid   Money
	CommercialPaid Money
	AidPaid        Money
	BackstopPaid   Money
	OutOfPocket    Money
	Total          Money
}

// BasicPaid is what basic insurance paid this year, both kinds together.
func (l *Ledger) BasicPaid() Money { return l.BasicInpatient + l.BasicChronic }

// ForYear returns the ledger that a claim discharged in year settles against, given l, the
// ledger the person's previous claim left: l itself in the same year, otherwise a fresh
// ledger for year, since deductibles and caps run per calendar year.
func (l Ledger) ForYear(year int) Ledger {
	if l.Year == year {
		return l
	}
	return Ledger{Year: year}
}

// Add returns the ledger with what s took from it booked, exactly as settling s booked
// it: for rebuilding a ledger from stored settlements. A zero Ledger takes s's year. It
// returns an error wrapping ErrLedgerYear if s is from another year than the ledger.
func (l Ledger) Add(s *Settlement) (Ledger, error) {
	if l.Year == 0 && l.Claims == 0 {
		l.Year = s.Year
	}
	if s.Year != l.Year {
		return l, fmt.Errorf("add claim %s of %d: %w (%d)", s.ClaimID, s.Year, ErrLedgerYear, l.Year)
	}
	l.apply(s, 1)
	return l, nil
}

// Reverse returns the ledger with everything s took from it given back: a reversal. It
// returns an error wrapping ErrLedgerYear if s is from another year, or ErrLedgerNegate if
// s is not part of this ledger (a total would go negative).
func (l Ledger) Reverse(s *Settlement) (Ledger, error) {
	if s.Year != l.Year {
		return l, fmt.Errorf("reverse claim %s of %d: %w (%d)", s.ClaimID, s.Year, ErrLedgerYear, l.Year)
	}
	n := l
	n.apply(s, -1)
	if n.Claims < 0 || n.BasicInpatient < 0 || n.BasicChronic < 0 || n.CriticalBurden < 0 ||
		n.CriticalPaid < 0 || n.CommercialPaid < 0 || n.AidPaid < 0 || n.BackstopPaid < 0 ||
		n.OutOfPocket < 0 || n.Total < 0 {
		return l, fmt.Errorf("reverse claim %s: %w", s.ClaimID, ErrLedgerNegate)
	}
	return n, nil
}

// apply adds (sign 1) or removes (sign -1) the settlement's takings.
func (l *Ledger) apply(s *Settlement, sign Money) {
	l.Claims += int(sign)
	basic := sign * s.Lines[Basic].Amount
	if s.Kind == OutpatientChronic {
		l.BasicChronic += basic
	} else {
		l.BasicInpatient += basic
	}
	l.CriticalBurden += sign * s.Lines[Critical].Base
	l.CriticalPaid += sign * s.Lines[Critical].Amount
	l.CommercialPaid += sign * s.Lines[Commercial].Amount
	l.AidPaid += sign * s.Lines[Aid].Amount
	l.BackstopPaid += sign * s.Lines[Backstop].Amount
	l.OutOfPocket += sign * s.OutOfPocket
	l.Total += sign * s.Total
}

// LineResult is what one line did with one claim, with everything needed to explain it.
// The meaning of Base, Deductible and Rate per line:
//
//	basic       Base in-policy cost; Deductible the per-bill deductible; Rate the rate
//	critical    Base this claim's slice of the annual burden, [BurdenBefore, +Base);
//	            Deductible the annual deductible; the bands used are Settlement.Bands
//	commercial  Base the in-policy remainder at Rate, BaseOut the out-of-policy remainder
//	            at RateOut; AmountOut the part of Amount paid on BaseOut
//	aid         Base the in-policy remainder; Rate the category's rate
//	backstop    Base the patient's share; Deductible the ceiling round(Rate × total) the
//	            patient pays at most; AmountOut the part of Amount taken from out-of-policy
type LineResult struct {
	Applies    bool // the person is eligible for this line
	Base       Money
	BaseOut    Money
	Deductible Money
	Rate       Rate
	RateOut    Rate
	Computed   Money // the amount before the cap
	CapRoom    Money // room under the annual cap before this claim; NoCap when uncapped
	Amount     Money
	AmountOut  Money
}

// Capped reports whether the annual cap cut this line's amount.
func (r *LineResult) Capped() bool { return r.Amount < r.Computed }

// BandUse is the part of a claim's critical-illness slice that fell in one band.
type BandUse struct {
	From, To Money // burden range [From, To) inside the band and above the deductible
	Rate     Rate
}

// Settlement is the outcome of settling one claim: every line's amount and workings, and
// what the patient pays. Its amounts are non-negative and sum with OutOfPocket to Total.
type Settlement struct {
	ClaimID       string
	PersonID      string
	PolicyVersion string
	Year          int
	Kind          Kind
	Level         Level
	Aid           AidCategory
	Total         Money
	InPolicy      Money
	Lines         [NumLines]LineResult
	BurdenBefore  Money // critical-illness burden accumulated before this claim
	NumBands      int
	Bands         [MaxBands]BandUse
	OutOfPocket   Money
	// Imported says the amounts are what the system before hpcalc paid (SettlePaid), not
	// the cascade's: the lines hold amounts without workings.
	Imported bool
}

// Amount is what line l paid.
func (s *Settlement) Amount(l Line) Money { return s.Lines[l].Amount }

// Settle settles claim c of person under policy p, given the person's ledger for the
// claim's discharge year, and returns the settlement and the updated ledger. It never
// changes its inputs. Errors: the claim's *ValidationError (ErrInvalid); ErrWrongPerson;
// ErrNoPolicy if p is not in force on the discharge day; ErrLedgerYear if the ledger is for
// another year than the discharge (a zero Ledger is fresh for any year).
func Settle(p *Policy, person Person, ledger Ledger, c Claim) (Settlement, Ledger, error) {
	var s Settlement
	err := SettleInto(&s, p, &person, &ledger, &c)
	return s, ledger, err
}

// SettleInto is Settle writing the settlement into *s and updating *ledger in place, for
// callers that settle millions of claims and reuse their buffers. It returns the errors of
// Settle; on error *ledger is unchanged and *s is zero.
func SettleInto(s *Settlement, p *Policy, person *Person, ledger *Ledger, c *Claim) error {
	*s = Settlement{}
	if err := c.Validate(); err != nil {
		return err
	}
	if c.PersonID != person.ID {
		return fmt.Errorf("settle claim %s: %w: claim is for %s, person is %s", c.ID, ErrWrongPerson, c.PersonID, person.ID)
	}
	if len(p.Critical.Bands) > MaxBands {
		// Only a policy that skipped Validate gets here; refuse it rather than index past
		// the settlement's band record.
		return fmt.Errorf("settle claim %s: policy %s: %w: %d critical-illness bands, at most %d", c.ID, p.Version, ErrInvalid, len(p.Critical.Bands), MaxBands)
	}
	if !p.Covers(c.DischargedOn) {
		return fmt.Errorf("settle claim %s: %w: policy %s runs %s to %s, discharge is %s",
			c.ID, ErrNoPolicy, p.Version, p.From, p.To, c.DischargedOn)
	}
	year := c.DischargedOn.Year()
	if ledger.Year == 0 && ledger.Claims == 0 {
		ledger.Year = year
	}
	if ledger.Year != year {
		return fmt.Errorf("settle claim %s: %w: ledger %d, discharge %s", c.ID, ErrLedgerYear, ledger.Year, c.DischargedOn)
	}
	cascade(s, p, person, ledger, c)
	ledger.apply(s, 1)
	return nil
}

// cascade runs the five lines of POLICY.md in order. Inputs are valid.
func cascade(s *Settlement, p *Policy, person *Person, l *Ledger, c *Claim) {
	s.ClaimID, s.PersonID, s.PolicyVersion = c.ID, c.PersonID, p.Version
	s.Year, s.Kind, s.Level, s.Aid = l.Year, c.Kind, c.Level, person.Aid
	s.Total, s.InPolicy = c.Total, c.InPolicy
	remIn, remOut := c.InPolicy, c.Total-c.InPolicy

	// 1. Basic medical insurance: rate on in-policy cost above the per-bill deductible.
	b := &s.Lines[Basic]
	b.Applies = true
	b.Base = c.InPolicy
	b.Deductible = p.Basic.Deductible[c.Kind][c.Level]
	b.Rate = p.Basic.Rate[c.Kind][c.Level]
	b.Computed = MulRate(max(b.Base-b.Deductible, 0), b.Rate)
	b.CapRoom = max(p.Basic.AnnualCap-l.BasicPaid(), 0)
	if c.Kind == OutpatientChronic {
		b.CapRoom = min(b.CapRoom, max(p.Basic.ChronicAnnualCap-l.BasicChronic, 0))
	}
	b.Amount = min(b.Computed, b.CapRoom)
	remIn -= b.Amount

	// 2. Critical-illness insurance: bands on the annual burden above the annual deductible.
	cr := &s.Lines[Critical]
	cr.Applies = true
	cr.Base = remIn
	cr.Deductible = p.Critical.Deductible
	s.BurdenBefore = l.CriticalBurden
	lo, hi := max(l.CriticalBurden, p.Critical.Deductible), l.CriticalBurden+remIn
	var exact int64 // Σ rate × overlap in fen·ppm, rounded once below
	bands := p.Critical.Bands
	for i := 0; i < len(bands) && lo < hi; i++ {
		bandHi := NoCap
		if i+1 < len(bands) {
			bandHi = bands[i+1].From
		}
		from, to := max(lo, bands[i].From), min(hi, bandHi)
		if from >= to {
			continue
		}
		exact += int64(to-from) * int64(bands[i].Rate)
		s.Bands[s.NumBands] = BandUse{From: from, To: to, Rate: bands[i].Rate}
		s.NumBands++
	}
	cr.Computed = Money(roundDiv(exact, int64(RateOne)))
	cr.CapRoom = max(p.Critical.AnnualCap-l.CriticalPaid, 0)
	cr.Amount = min(cr.Computed, cr.CapRoom)
	remIn -= cr.Amount

	// 3. Commercial supplementary insurance, registered poor only: in-policy first under the cap.
	co := &s.Lines[Commercial]
	co.Base, co.BaseOut = remIn, remOut
	co.Rate, co.RateOut = p.Commercial.InPolicyRate, p.Commercial.OutOfPolicyRate
	co.CapRoom = max(p.Commercial.AnnualCap-l.CommercialPaid, 0)
	if person.RegisteredPoor {
		co.Applies = true
		payIn, payOut := MulRate(remIn, co.Rate), MulRate(remOut, co.RateOut)
		co.Computed = payIn + payOut
		payIn = min(payIn, co.CapRoom)
		payOut = min(payOut, co.CapRoom-payIn)
		co.Amount, co.AmountOut = payIn+payOut, payOut
		remIn -= payIn
		remOut -= payOut
	}

	// 4. Civil-affairs medical aid, by aid category, on the in-policy remainder.
	a := &s.Lines[Aid]
	a.Base = remIn
	if person.Aid != AidNone && person.Aid < NumAidCategories {
		a.Applies = true
		a.Rate = p.Aid.Rate[person.Aid]
		a.Computed = MulRate(remIn, a.Rate)
		a.CapRoom = max(p.Aid.AnnualCap[person.Aid]-l.AidPaid, 0)
		a.Amount = min(a.Computed, a.CapRoom)
		remIn -= a.Amount
	}

	// 5. Government backstop, registered poor only: the share above the claim's ceiling,
	// taken from the in-policy remainder first.
	bs := &s.Lines[Backstop]
	bs.Base = remIn + remOut
	bs.Rate = p.Backstop.OOPCeiling
	bs.Deductible = MulRate(c.Total, bs.Rate)
	bs.CapRoom = NoCap
	if person.RegisteredPoor {
		bs.Applies = true
		bs.Computed = max(bs.Base-bs.Deductible, 0)
		bs.Amount = bs.Computed
		bs.AmountOut = max(bs.Amount-remIn, 0)
	}
	s.OutOfPocket = bs.Base - bs.Amount
}
