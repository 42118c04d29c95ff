package calc_test

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/hpcalc/hpcalc/calc"
)

// The differential test settles random claim sequences through calc and through ref, an
// independent implementation of POLICY.md on shopspring/decimal: yuan amounts and rates are
// decimals, each product is rounded half away from zero to two places by Decimal.Round(2)
// (which adds ±0.5 at the next place and truncates toward zero: half-up away from zero),
// the banded critical-illness payment is the difference of a cumulative band function,
// and "no cap" is an absent cap rather than a large number. Values cross from calc to ref
// only through their String forms.

// refAmount is one amount of money in yuan.
type refAmount = decimal.Decimal

var refZero = decimal.Zero

// refCap is an annual cap; an absent cap limits nothing.
type refCap struct {
	set   bool
	limit refAmount
}

// refRoom is what is left under a cap after paid: nil-like (unlimited) for no cap, never
// negative otherwise.
type refRoom struct {
	unlimited bool
	left      refAmount
}

func (c refCap) room(paid refAmount) refRoom {
	if !c.set {
		return refRoom{unlimited: true}
	}
	left := c.limit.Sub(paid)
	if left.IsNegative() {
		left = refZero
	}
	return refRoom{left: left}
}

// within is x limited by the room.
func (r refRoom) within(x refAmount) refAmount {
	if r.unlimited || x.LessThanOrEqual(r.left) {
		return x
	}
	return r.left
}

func (r refRoom) tighter(o refRoom) refRoom {
	switch {
	case r.unlimited:
		return o
	case o.unlimited:
		return r
	case o.left.LessThan(r.left):
		return o
	}
	return r
}

// refBand is the burden interval [start, end) paid at rate; the last band has no end.
type refBand struct {
	start  refAmount
	end    refAmount
	hasEnd bool
	rate   refAmount
}

// refPolicy is POLICY.md's parameter table, keyed by the names the table uses.
type refPolicy struct {
	deductible map[string]refAmount // "inpatient/county"
	rate       map[string]refAmount
	basicCap   refCap
	chronicCap refCap
	critDeduct refAmount
	bands      []refBand
	critCap    refCap
	comInRate  refAmount
	comOutRate refAmount
	comCap     refCap
	aidRate    map[string]refAmount // "dibao", "tekun"
	aidCap     map[string]refCap
	oopCeiling refAmount
}

type refPerson struct {
	poor bool
	aid  string // "", "dibao" or "tekun"
}

type refClaim struct {
	kind, level string
	year        int
	total       refAmount
	inPolicy    refAmount
}

// refLedger is one person's running totals for one calendar year.
type refLedger struct {
	year                       int
	claims                     int
	basicInpatient, basicChron refAmount
	burden                     refAmount
	critical, commercial, aid  refAmount
	backstop, outOfPocket      refAmount
	total                      refAmount
}

// refResult is what each line paid and what the patient pays.
type refResult struct {
	basic, critical, commercial, commercialOut, aid, backstop, backstopOut refAmount
	outOfPocket                                                            refAmount
}

func refMoney(m calc.Money) refAmount { return decimal.RequireFromString(m.String()) }

func refRate(r calc.Rate) refAmount {
	// Rate.String is a percentage such as "62.5%".
	s, ok := strings.CutSuffix(r.String(), "%")
	if !ok {
		panic("rate " + s + " is not a percentage")
	}
	return decimal.RequireFromString(s).Shift(-2)
}

func refCapOf(m calc.Money) refCap {
	if m == calc.NoCap {
		return refCap{}
	}
	return refCap{set: true, limit: refMoney(m)}
}

func refPolicyOf(p *calc.Policy) *refPolicy {
	q := &refPolicy{
		deductible: map[string]refAmount{},
		rate:       map[string]refAmount{},
		aidRate:    map[string]refAmount{},
		aidCap:     map[string]refCap{},
	}
	for _, k := range calc.Kinds() {
		for _, l := range calc.Levels() {
			q.deductible[k.String()+"/"+l.String()] = refMoney(p.Basic.Deductible[k][l])
			q.rate[k.String()+"/"+l.String()] = refRate(p.Basic.Rate[k][l])
		}
	}
	q.basicCap = refCapOf(p.Basic.AnnualCap)
	q.chronicCap = refCapOf(p.Basic.ChronicAnnualCap)
	q.critDeduct = refMoney(p.Critical.Deductible)
	for i, b := range p.Critical.Bands {
		rb := refBand{start: refMoney(b.From), rate: refRate(b.Rate)}
		if i+1 < len(p.Critical.Bands) {
			rb.end, rb.hasEnd = refMoney(p.Critical.Bands[i+1].From), true
		}
		q.bands = append(q.bands, rb)
	}
	q.critCap = refCapOf(p.Critical.AnnualCap)
	q.comInRate = refRate(p.Commercial.InPolicyRate)
	q.comOutRate = refRate(p.Commercial.OutOfPolicyRate)
	q.comCap = refCapOf(p.Commercial.AnnualCap)
	for _, a := range calc.AidCategories() {
		q.aidRate[a.String()] = refRate(p.Aid.Rate[a])
		q.aidCap[a.String()] = refCapOf(p.Aid.AnnualCap[a])
	}
	q.oopCeiling = refRate(p.Backstop.OOPCeiling)
	return q
}

func refPersonOf(p calc.Person) refPerson {
	rp := refPerson{poor: p.RegisteredPoor}
	if p.Aid != calc.AidNone {
		rp.aid = p.Aid.String()
	}
	return rp
}

func refClaimOf(c calc.Claim) refClaim {
	// The ledger year is the calendar year of the ISO discharge date.
	year, err := strconv.Atoi(c.DischargedOn.String()[:4])
	if err != nil {
		panic(err)
	}
	return refClaim{
		kind: c.Kind.String(), level: c.Level.String(), year: year,
		total: refMoney(c.Total), inPolicy: refMoney(c.InPolicy),
	}
}

func refLedgerOf(l calc.Ledger) refLedger {
	return refLedger{
		year: l.Year, claims: l.Claims,
		basicInpatient: refMoney(l.BasicInpatient), basicChron: refMoney(l.BasicChronic),
		burden: refMoney(l.CriticalBurden), critical: refMoney(l.CriticalPaid),
		commercial: refMoney(l.CommercialPaid), aid: refMoney(l.AidPaid),
		backstop: refMoney(l.BackstopPaid), outOfPocket: refMoney(l.OutOfPocket),
		total: refMoney(l.Total),
	}
}

// refFen rounds a yuan amount half away from zero to the fen.
func refFen(x refAmount) refAmount { return x.Round(2) }

func refPositivePart(x refAmount) refAmount {
	if x.IsNegative() {
		return refZero
	}
	return x
}

// refPaying is the critical-illness payment rate integrated over the burden from 0 to x:
// Σ over bands of rate × the length of [max(band start, deductible), min(band end, x)).
// A claim's slice [before, after) is then paid refPaying(after) − refPaying(before).
func (p *refPolicy) refPaying(x refAmount) refAmount {
	sum := refZero
	for _, b := range p.bands {
		lo := decimal.Max(b.start, p.critDeduct)
		hi := x
		if b.hasEnd && b.end.LessThan(hi) {
			hi = b.end
		}
		if lo.LessThan(hi) {
			sum = sum.Add(b.rate.Mul(hi.Sub(lo)))
		}
	}
	return sum
}

// refSettle settles c for who through POLICY.md's cascade and updates led.
func refSettle(p *refPolicy, who refPerson, led *refLedger, c refClaim) refResult {
	var res refResult
	key := c.kind + "/" + c.level
	remIn := c.inPolicy
	remOut := c.total.Sub(c.inPolicy)

	// 1. Basic: rate × (in_policy − deductible)⁺, within the annual cap (both kinds) and,
	// for chronic outpatient bills, the chronic sub-cap.
	pay1 := refFen(p.rate[key].Mul(refPositivePart(remIn.Sub(p.deductible[key]))))
	room1 := p.basicCap.room(led.basicInpatient.Add(led.basicChron))
	if c.kind == "outpatient_chronic" {
		room1 = room1.tighter(p.chronicCap.room(led.basicChron))
	}
	pay1 = room1.within(pay1)
	res.basic = pay1
	remIn = remIn.Sub(pay1)

	// 2. Critical illness: the slice [burden, burden + remIn) of the annual burden.
	before := led.burden
	after := before.Add(remIn)
	pay2 := refFen(p.refPaying(after).Sub(p.refPaying(before)))
	pay2 = p.critCap.room(led.critical).within(pay2)
	res.critical = pay2
	burdenSlice := remIn
	remIn = remIn.Sub(pay2)

	// 3. Commercial, registered poor: in-policy first within the annual cap.
	if who.poor {
		payIn := refFen(p.comInRate.Mul(remIn))
		payOut := refFen(p.comOutRate.Mul(remOut))
		room := p.comCap.room(led.commercial)
		payIn = room.within(payIn)
		if !room.unlimited {
			room.left = room.left.Sub(payIn)
		}
		payOut = room.within(payOut)
		res.commercial, res.commercialOut = payIn.Add(payOut), payOut
		remIn, remOut = remIn.Sub(payIn), remOut.Sub(payOut)
	}

	// 4. Civil-affairs aid by category.
	res.aid = refZero
	if who.aid != "" {
		pay4 := refFen(p.aidRate[who.aid].Mul(remIn))
		pay4 = p.aidCap[who.aid].room(led.aid).within(pay4)
		res.aid = pay4
		remIn = remIn.Sub(pay4)
	}

	// 5. Backstop, registered poor: the share above round(ceiling × total), in-policy first.
	share := remIn.Add(remOut)
	if who.poor {
		limit := refFen(p.oopCeiling.Mul(c.total))
		pay5 := refPositivePart(share.Sub(limit))
		res.backstop = pay5
		res.backstopOut = refPositivePart(pay5.Sub(remIn))
		share = share.Sub(pay5)
	}
	res.outOfPocket = share

	if led.claims == 0 && led.year == 0 {
		led.year = c.year
	}
	led.claims++
	if c.kind == "outpatient_chronic" {
		led.basicChron = led.basicChron.Add(res.basic)
	} else {
		led.basicInpatient = led.basicInpatient.Add(res.basic)
	}
	led.burden = led.burden.Add(burdenSlice)
	led.critical = led.critical.Add(res.critical)
	led.commercial = led.commercial.Add(res.commercial)
	led.aid = led.aid.Add(res.aid)
	led.backstop = led.backstop.Add(res.backstop)
	led.outOfPocket = led.outOfPocket.Add(res.outOfPocket)
	led.total = led.total.Add(c.total)
	return res
}

// refSame reports whether the yuan amount x is m fen.
func refSame(x refAmount, m calc.Money) bool { return x.Equal(decimal.New(int64(m), -2)) }

// refDiff lists the fields where calc's settlement and ledger disagree with ref's.
func refDiff(s *calc.Settlement, l *calc.Ledger, r *refResult, rl *refLedger) []string {
	var d []string
	check := func(name string, x refAmount, m calc.Money) {
		if !refSame(x, m) {
			d = append(d, fmt.Sprintf("%s: calc %s, ref %s", name, m, x.StringFixed(2)))
		}
	}
	check("basic", r.basic, s.Amount(calc.Basic))
	check("critical", r.critical, s.Amount(calc.Critical))
	check("commercial", r.commercial, s.Amount(calc.Commercial))
	check("commercial out-of-policy part", r.commercialOut, s.Lines[calc.Commercial].AmountOut)
	check("aid", r.aid, s.Amount(calc.Aid))
	check("backstop", r.backstop, s.Amount(calc.Backstop))
	check("backstop out-of-policy part", r.backstopOut, s.Lines[calc.Backstop].AmountOut)
	check("out-of-pocket", r.outOfPocket, s.OutOfPocket)
	if l.Year != rl.year || l.Claims != rl.claims {
		d = append(d, fmt.Sprintf("ledger year/claims: calc %d/%d, ref %d/%d", l.Year, l.Claims, rl.year, rl.claims))
	}
	check("ledger basic inpatient", rl.basicInpatient, l.BasicInpatient)
	check("ledger basic chronic", rl.basicChron, l.BasicChronic)
	check("ledger critical burden", rl.burden, l.CriticalBurden)
	check("ledger critical", rl.critical, l.CriticalPaid)
	check("ledger commercial", rl.commercial, l.CommercialPaid)
	check("ledger aid", rl.aid, l.AidPaid)
	check("ledger backstop", rl.backstop, l.BackstopPaid)
	check("ledger out-of-pocket", rl.outOfPocket, l.OutOfPocket)
	check("ledger total", rl.total, l.Total)
	return d
}

// refStartLedger returns, now and then, a ledger of year already carrying earlier claims,
// its totals drawn at random and possibly beyond the caps (as after a policy change
// mid-year), so that the cap rooms reach zero; otherwise a zero ledger.
func refStartLedger(r *rand.Rand, year int) calc.Ledger {
	if r.IntN(4) != 0 {
		return calc.Ledger{}
	}
	return calc.Ledger{
		Year: year, Claims: 1 + r.IntN(20),
		BasicInpatient: propYuan(r, 150_000), BasicChronic: propYuan(r, 15_000),
		CriticalBurden: propYuan(r, 200_000), CriticalPaid: propYuan(r, 100_000),
		CommercialPaid: propYuan(r, 120_000), AidPaid: propYuan(r, 40_000),
		BackstopPaid: propYuan(r, 50_000), OutOfPocket: propYuan(r, 50_000),
		Total: propYuan(r, 900_000),
	}
}

// diffSeed and a sequence's number give that sequence's random stream.
const diffSeed = 0xd1ff_2018

func TestDifferentialDecimal(t *testing.T) {
	sequences := 120_000
	if testing.Short() {
		sequences = 10_000
	}
	const shards = 2
	var claimsSettled atomic.Int64
	t.Run("group", func(t *testing.T) {
		for shard := range shards {
			t.Run(fmt.Sprintf("shard%d", shard), func(t *testing.T) {
				t.Parallel()
				var claims []calc.Claim
				var s calc.Settlement
				failures := 0
				for seq := shard; seq < sequences; seq += shards {
					r := rand.New(rand.NewPCG(diffSeed, uint64(seq)))
					p := propPolicy(t, r, fmt.Sprintf("diff-%d", seq))
					rp := refPolicyOf(p)
					person := propPerson(r)
					who := refPersonOf(person)
					claims = propClaims(claims, r, p)
					ledger := refStartLedger(r, claims[0].DischargedOn.Year())
					rl := refLedgerOf(ledger)
					for i := range claims {
						c := &claims[i]
						rc := refClaimOf(*c)
						if ledger.Claims > 0 && ledger.Year != rc.year {
							ledger, rl = calc.Ledger{}, refLedger{}
						}
						if rl.claims > 0 && rl.year != rc.year {
							t.Fatalf("sequence %d: ledgers disagree on the year: calc %d, ref %d", seq, ledger.Year, rl.year)
						}
						before := ledger
						if err := calc.SettleInto(&s, p, &person, &ledger, c); err != nil {
							t.Fatalf("sequence %d claim %d: %v", seq, i, err)
						}
						res := refSettle(rp, who, &rl, rc)
						if d := refDiff(&s, &ledger, &res, &rl); len(d) > 0 {
							t.Errorf("sequence %d (rand.NewPCG(%#x, %d)) claim %d disagrees:\n  %s\npolicy %+v\nperson %+v\nledger %+v\nclaim %+v\nsettlement %+v",
								seq, uint64(diffSeed), seq, i, strings.Join(d, "\n  "), *p, person, before, *c, s)
							if failures++; failures >= 3 {
								t.FailNow()
							}
							break
						}
					}
					claimsSettled.Add(int64(len(claims)))
				}
			})
		}
	})
	t.Logf("%d sequences, %d claims agree to the fen", sequences, claimsSettled.Load())
}

// TestRefRounding pins the reference's rounding to POLICY.md's: half-up, away from zero at
// half a fen, and its conversions.
func TestRefRounding(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"0.005", "0.01"}, {"0.00499999", "0"}, {"1.125", "1.13"}, {"1.135", "1.14"},
		{"2.5", "2.5"}, {"-0.005", "-0.01"}, {"-1.125", "-1.13"}, {"0.0149999", "0.01"},
	} {
		if got := refFen(decimal.RequireFromString(tc.in)); !got.Equal(decimal.RequireFromString(tc.want)) {
			t.Errorf("refFen(%s) = %s, want %s", tc.in, got, tc.want)
		}
	}
	for _, r := range []calc.Rate{0, 1, 5, 50_000, 125_000, 333_333, 625_000, 999_999, calc.RateOne} {
		if got := refRate(r); !got.Equal(decimal.New(int64(r), -6)) {
			t.Errorf("refRate(%d ppm) = %s", r, got)
		}
	}
	for _, m := range []calc.Money{0, 1, 99, 100, 123_456_789, calc.MaxAmount, calc.NoCap} {
		if !refSame(refMoney(m), m) {
			t.Errorf("refMoney(%d fen) = %s", m, refMoney(m))
		}
	}
	for _, tc := range []struct {
		fen  calc.Money
		rate calc.Rate
	}{{1, 500_000}, {3, 500_000}, {5, 100_000}, {15, 100_000}, {25, 900_000}, {1, 499_999}, {1, 500_001}} {
		want := refFen(refMoney(tc.fen).Mul(refRate(tc.rate)))
		if got := calc.MulRate(tc.fen, tc.rate); !refSame(want, got) {
			t.Errorf("MulRate(%d fen, %d ppm) = %d fen, ref %s", tc.fen, tc.rate, got, want)
		}
	}
}
