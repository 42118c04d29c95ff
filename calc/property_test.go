package calc_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// The property test settles random claim sequences of random persons under random (valid)
// policies through the ledger and checks, for every claim, every invariant of POLICY.md.
// The generators below are shared with the differential test.

// propSeed fixes the pseudo-random stream: a failure reproduces by rerunning the test.
const propSeed = 0x5eed_2018

// propClaimIDs are the claim ids of a sequence (at most propMaxSeq claims), made once so
// that generating claims does not format strings.
var propClaimIDs = func() []string {
	ids := make([]string, propMaxSeq)
	for i := range ids {
		ids[i] = fmt.Sprintf("C%02d", i+1)
	}
	return ids
}()

// propMaxSeq is the most claims one random sequence has.
const propMaxSeq = 12

// propYuan returns a random amount of 0 to maxYuan yuan; often a whole number of yuan or
// of hundreds of yuan, so that deductibles, band edges and caps are hit exactly.
func propYuan(r *rand.Rand, maxYuan int64) calc.Money {
	m := calc.Money(r.Int64N(maxYuan*100 + 1))
	switch r.IntN(4) {
	case 0:
		m -= m % calc.Yuan
	case 1:
		m -= m % (100 * calc.Yuan)
	}
	return m
}

// propRate returns a random rate in 0–1 with up to six decimals, biased to round figures
// (where the products of odd fen amounts tie at half a fen) and to the ends of the range.
func propRate(r *rand.Rand) calc.Rate {
	switch r.IntN(8) {
	case 0:
		return 0
	case 1:
		return calc.RateOne
	case 2:
		return calc.Rate(r.IntN(21)) * 50_000 // multiples of 5%
	case 3:
		return calc.Rate(r.IntN(101)) * 10_000 // whole percents
	case 4:
		return calc.Rate(r.IntN(10_001)) * 100 // percents with two decimals
	default:
		return calc.Rate(r.Int64N(int64(calc.RateOne) + 1)) // six decimals
	}
}

// propCap returns a random annual cap: none, zero, small, typical or large.
func propCap(r *rand.Rand) calc.Money {
	switch r.IntN(10) {
	case 0, 1:
		return calc.NoCap
	case 2:
		return 0
	case 3:
		return propYuan(r, 1_000)
	case 4, 5, 6:
		return propYuan(r, 50_000)
	default:
		return propYuan(r, 400_000)
	}
}

// propDeductible returns a random deductible, now and then beyond any claim.
func propDeductible(r *rand.Rand) calc.Money {
	switch r.IntN(50) {
	case 0:
		return calc.MaxAmount
	case 1:
		return calc.NoCap
	}
	switch r.IntN(10) {
	case 0, 1, 2:
		return 0
	case 3, 4, 5, 6:
		return propYuan(r, 2_000)
	case 7, 8:
		return propYuan(r, 20_000)
	default:
		return propYuan(r, 1_000_000)
	}
}

// propPolicy returns a random valid policy in force over 2018, now and then from mid-2017
// to mid-2019 so that a sequence of claims crosses a year.
func propPolicy(tb testing.TB, r *rand.Rand, version string) *calc.Policy {
	p := &calc.Policy{Version: version}
	p.From, p.To = calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)
	if r.IntN(5) == 0 {
		p.From, p.To = calc.NewDate(2017, 7, 1), calc.NewDate(2019, 6, 30)
	}
	for k := range calc.NumKinds {
		for l := range calc.NumLevels {
			p.Basic.Deductible[k][l] = propDeductible(r)
			p.Basic.Rate[k][l] = propRate(r)
		}
	}
	p.Basic.AnnualCap = propCap(r)
	p.Basic.ChronicAnnualCap = propCap(r)

	// Bands start at or above the deductible, which is therefore never beyond MaxAmount.
	p.Critical.Deductible = min(propDeductible(r), calc.MaxAmount)
	n := 1 + r.IntN(calc.MaxBands)
	var from calc.Money
	switch r.IntN(3) {
	case 0:
		from = 0
	case 1:
		from = min(p.Critical.Deductible, calc.MaxAmount)
	default:
		from = propYuan(r, 20_000)
	}
	from = max(from, p.Critical.Deductible)
	for range n {
		p.Critical.Bands = append(p.Critical.Bands, calc.Band{From: from, Rate: propRate(r)})
		if r.IntN(8) == 0 {
			from++ // a one-fen band
		} else {
			from += 1 + propYuan(r, 150_000)
		}
		from = min(from, calc.MaxAmount)
	}
	// Clamping at MaxAmount may have made starts equal: drop the repeats.
	p.Critical.Bands = slices.CompactFunc(p.Critical.Bands, func(a, b calc.Band) bool { return a.From == b.From })
	p.Critical.AnnualCap = propCap(r)

	p.Commercial.InPolicyRate = propRate(r)
	p.Commercial.OutOfPolicyRate = propRate(r)
	p.Commercial.AnnualCap = propCap(r)
	for _, a := range calc.AidCategories() {
		p.Aid.Rate[a] = propRate(r)
		p.Aid.AnnualCap[a] = propCap(r)
	}
	p.Backstop.OOPCeiling = propRate(r)
	if err := p.Validate(); err != nil {
		tb.Fatalf("generated an invalid policy: %v", err)
	}
	return p
}

// propPerson returns a random person "P1": registered poor or not, with or without aid.
func propPerson(r *rand.Rand) calc.Person {
	return calc.Person{
		ID:             "P1",
		HouseholdID:    "H1",
		RegisteredPoor: r.IntN(10) < 7,
		Aid:            calc.AidCategory(r.IntN(int(calc.NumAidCategories))),
	}
}

// propAmount returns a random claim total: sometimes zero, mostly small to moderate, now
// and then a few hundred thousand yuan.
func propAmount(r *rand.Rand) calc.Money {
	switch r.IntN(20) {
	case 0:
		return 0
	case 1, 2:
		return propYuan(r, 100)
	case 3, 4, 5, 6, 7, 8:
		return propYuan(r, 5_000)
	case 9, 10, 11, 12, 13, 14:
		return propYuan(r, 50_000)
	case 15, 16, 17:
		return propYuan(r, 300_000)
	default:
		return propYuan(r, 800_000)
	}
}

// propClaims appends to dst 1 to propMaxSeq random claims of person "P1" discharged within
// p's period, in discharge order.
func propClaims(dst []calc.Claim, r *rand.Rand, p *calc.Policy) []calc.Claim {
	n := 1 + r.IntN(propMaxSeq)
	dst = dst[:0]
	days := int(p.To-p.From) + 1
	for i := range n {
		c := calc.Claim{
			ID:         propClaimIDs[i],
			PersonID:   "P1",
			ProviderID: "H001",
			Level:      calc.Level(r.IntN(int(calc.NumLevels))),
			Kind:       calc.Kind(r.IntN(int(calc.NumKinds))),
			Total:      max(propAmount(r), 1), // a bill is of one fen at least
		}
		switch r.IntN(8) {
		case 0:
			c.InPolicy = 0
		case 1:
			c.InPolicy = c.Total
		default:
			c.InPolicy = calc.Money(r.Int64N(int64(c.Total) + 1))
		}
		c.DischargedOn = p.From + calc.Date(r.IntN(days))
		c.AdmittedOn = c.DischargedOn - calc.Date(r.IntN(30))
		dst = append(dst, c)
	}
	slices.SortStableFunc(dst, func(a, b calc.Claim) int { return int(a.DischargedOn - b.DischargedOn) })
	return dst
}

// propPolicyEqual reports whether p and q hold the same parameters.
func propPolicyEqual(p, q *calc.Policy) bool {
	return p.Version == q.Version && p.From == q.From && p.To == q.To && p.Basic == q.Basic &&
		p.Critical.Deductible == q.Critical.Deductible && p.Critical.AnnualCap == q.Critical.AnnualCap &&
		slices.Equal(p.Critical.Bands, q.Critical.Bands) &&
		p.Commercial == q.Commercial && p.Aid == q.Aid && p.Backstop == q.Backstop
}

// propSums are the ledger totals recomputed from the settlements of one person-year.
type propSums struct {
	claims                                   int
	basicIn, basicChronic, burden            calc.Money
	critical, commercial, aid, backstop, oop calc.Money
	total                                    calc.Money
}

func (s *propSums) ledger(year int) calc.Ledger {
	return calc.Ledger{
		Year: year, Claims: s.claims, BasicInpatient: s.basicIn, BasicChronic: s.basicChronic,
		CriticalBurden: s.burden, CriticalPaid: s.critical, CommercialPaid: s.commercial,
		AidPaid: s.aid, BackstopPaid: s.backstop, OutOfPocket: s.oop, Total: s.total,
	}
}

func TestPropertySettle(t *testing.T) {
	want := 500_000 // claims
	if testing.Short() {
		want = 20_000
	}
	r := rand.New(rand.NewPCG(propSeed, 1))
	var (
		claims  []calc.Claim
		into    calc.Settlement
		settled int
		seqs    int
	)
	for settled < want {
		seqs++
		p := propPolicy(t, r, fmt.Sprintf("prop-%d", seqs))
		snap := p.Clone()
		person := propPerson(r)
		claims = propClaims(claims, r, p)

		var ledger calc.Ledger
		var sums propSums
		for i := range claims {
			c := claims[i]
			if ledger.Claims > 0 && ledger.Year != c.DischargedOn.Year() {
				ledger, sums = calc.Ledger{}, propSums{} // a new calendar year: a fresh ledger
			}
			what := func() string {
				return fmt.Sprintf("sequence %d claim %d\npolicy %+v\nperson %+v\nledger %+v\nclaim %+v",
					seqs, i, *p, person, ledger, c)
			}
			personIn, ledgerIn, claimIn := person, ledger, c

			s, next, err := calc.Settle(p, person, ledger, c)
			if err != nil {
				t.Fatalf("%s\nSettle: %v", what(), err)
			}
			settled++

			// Settle changes none of its inputs; SettleInto agrees with it and leaves the
			// person and the claim alone.
			if person != personIn || ledger != ledgerIn || c != claimIn || !propPolicyEqual(p, snap) {
				t.Fatalf("%s\nSettle changed an input", what())
			}
			ledgerInto := ledger
			if err := calc.SettleInto(&into, p, &person, &ledgerInto, &c); err != nil {
				t.Fatalf("%s\nSettleInto: %v", what(), err)
			}
			if into != s || ledgerInto != next || person != personIn || c != claimIn || !propPolicyEqual(p, snap) {
				t.Fatalf("%s\nSettleInto disagrees with Settle:\n%+v\n%+v\nledgers\n%+v\n%+v", what(), into, s, ledgerInto, next)
			}

			if msg := propCheck(p, &person, &c, &s, &next); msg != "" {
				t.Fatalf("%s\nsettlement %+v\nnew ledger %+v\n%s", what(), s, next, msg)
			}

			// The ledger totals are the sums of the year's settlements.
			sums.claims++
			basic := s.Amount(calc.Basic)
			if c.Kind == calc.OutpatientChronic {
				sums.basicChronic += basic
			} else {
				sums.basicIn += basic
			}
			sums.burden += c.InPolicy - basic
			sums.critical += s.Amount(calc.Critical)
			sums.commercial += s.Amount(calc.Commercial)
			sums.aid += s.Amount(calc.Aid)
			sums.backstop += s.Amount(calc.Backstop)
			sums.oop += s.OutOfPocket
			sums.total += c.Total
			if got, want := next, sums.ledger(c.DischargedOn.Year()); got != want {
				t.Fatalf("%s\nledger %+v\nsums   %+v", what(), got, want)
			}

			// Reversing the claim gives back the ledger before it. A zero ledger takes the
			// year of its first claim, so reversing that claim leaves a fresh ledger of
			// that year.
			back, err := next.Reverse(&s)
			wantBack := ledger
			if wantBack == (calc.Ledger{}) {
				wantBack.Year = s.Year
			}
			if err != nil || back != wantBack {
				t.Fatalf("%s\nReverse: %v\ngot  %+v\nwant %+v", what(), err, back, wantBack)
			}

			if settled%997 == 0 { // now and then: every explanation builds
				for _, l := range calc.Lines() {
					if s.Explain(l) == "" {
						t.Fatalf("%s\nempty explanation of %s", what(), l)
					}
				}
			}
			ledger = next
		}
	}
	t.Logf("%d claims in %d sequences", settled, seqs)
}

// propCheck returns a description of the first invariant s breaks, or "". The annual caps
// are checked against next, the ledger after s.
func propCheck(p *calc.Policy, person *calc.Person, c *calc.Claim, s *calc.Settlement, next *calc.Ledger) string {
	basic, crit, comm := s.Amount(calc.Basic), s.Amount(calc.Critical), s.Amount(calc.Commercial)
	commOut := s.Lines[calc.Commercial].AmountOut
	aid, back := s.Amount(calc.Aid), s.Amount(calc.Backstop)
	oop := s.OutOfPocket

	// Everything is non-negative and sums to the total.
	for l, m := range []calc.Money{basic, crit, comm, commOut, aid, back, oop} {
		if m < 0 {
			return fmt.Sprintf("amount %d is negative: %s", l, m)
		}
	}
	if basic+crit+comm+aid+back+oop != c.Total {
		return fmt.Sprintf("lines and out-of-pocket sum to %s, total is %s", basic+crit+comm+aid+back+oop, c.Total)
	}

	// No line exceeds its base: each takes only from what the lines before it left.
	remIn, remOut := c.InPolicy, c.OutOfPolicy()
	if basic > remIn {
		return "basic exceeds the in-policy cost"
	}
	remIn -= basic
	if s.Lines[calc.Critical].Base != remIn {
		return fmt.Sprintf("critical base %s, in-policy left after basic %s", s.Lines[calc.Critical].Base, remIn)
	}
	if crit > remIn {
		return "critical exceeds the in-policy remainder"
	}
	remIn -= crit
	commIn := comm - commOut
	if commIn < 0 || commIn > remIn || commOut > remOut {
		return fmt.Sprintf("commercial %s (out-of-policy %s) exceeds its bases %s, %s", comm, commOut, remIn, remOut)
	}
	remIn, remOut = remIn-commIn, remOut-commOut
	if aid > remIn {
		return "aid exceeds the in-policy remainder"
	}
	remIn -= aid
	if back > remIn+remOut || s.Lines[calc.Backstop].AmountOut > remOut || back-s.Lines[calc.Backstop].AmountOut > remIn {
		return "backstop exceeds the patient's share"
	}
	if oop != remIn+remOut-back {
		return "out-of-pocket is not the share left after the backstop"
	}

	// Eligibility.
	if !person.RegisteredPoor && (comm != 0 || back != 0) {
		return "commercial or backstop paid a person not registered poor"
	}
	if person.Aid == calc.AidNone && aid != 0 {
		return "aid paid a person without an aid category"
	}
	// The backstop's ceiling: a registered poor patient pays at most round(ceiling × total).
	if limit := calc.MulRate(c.Total, p.Backstop.OOPCeiling); person.RegisteredPoor && oop > limit {
		return fmt.Sprintf("out-of-pocket %s above the ceiling %s", oop, limit)
	}
	// The backstop pays only what is above the ceiling: no more than needed.
	if person.RegisteredPoor && back > 0 && oop != calc.MulRate(c.Total, p.Backstop.OOPCeiling) {
		return "the backstop paid more than the share above the ceiling"
	}

	// No annual cap is exceeded.
	switch {
	case next.BasicInpatient+next.BasicChronic > p.Basic.AnnualCap:
		return "basic annual cap exceeded"
	case next.BasicChronic > p.Basic.ChronicAnnualCap:
		return "outpatient_chronic annual sub-cap exceeded"
	case next.CriticalPaid > p.Critical.AnnualCap:
		return "critical annual cap exceeded"
	case next.CommercialPaid > p.Commercial.AnnualCap:
		return "commercial annual cap exceeded"
	case next.AidPaid > p.Aid.AnnualCap[person.Aid]:
		return "aid annual cap exceeded"
	}

	// The recorded critical-illness bands lie in this claim's slice above the deductible,
	// in order, without overlap, and account for the computed amount.
	cr := s.Lines[calc.Critical]
	lo, hi := max(s.BurdenBefore, p.Critical.Deductible), s.BurdenBefore+cr.Base
	if s.NumBands < 0 || s.NumBands > calc.MaxBands {
		return "bad band count"
	}
	var covered calc.Money
	for i := range s.NumBands {
		u := s.Bands[i]
		if u.From < lo || u.To > hi || u.From >= u.To {
			return fmt.Sprintf("band use %+v outside the slice [%s, %s)", u, lo, hi)
		}
		lo = u.To
		covered += u.To - u.From
	}
	if covered > cr.Base {
		return "bands cover more than the slice"
	}
	if s.Year != c.DischargedOn.Year() || s.Kind != c.Kind || s.Level != c.Level || s.Aid != person.Aid ||
		s.Total != c.Total || s.InPolicy != c.InPolicy || s.ClaimID != c.ID || s.PersonID != person.ID ||
		s.PolicyVersion != p.Version {
		return "settlement does not describe its claim"
	}
	return ""
}
