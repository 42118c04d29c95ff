package calc_test

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// Benchmarks of the exact cascade, of the same cascade on float64 yuan (the physical
// reference: what the rules cost without exact arithmetic), and of bulk settlement.
//
//	go test -bench 'Settle' -count 5 -run '^$' ./calc
//	go test -bench 'Bulk' -run '^$' ./calc

// benchCase is one claim to settle, with its person and the ledger before it.
type benchCase struct {
	person calc.Person
	ledger calc.Ledger
	claim  calc.Claim
}

// benchNumCases is how many varied claims the per-claim benchmarks cycle through.
const benchNumCases = 512

// benchSink keeps results alive.
var benchSink calc.Money

var benchSinkFloat float64

// benchAmount returns a typical bill: chronic outpatient bills are small, inpatient stays
// mostly moderate, a few large.
func benchAmount(r *rand.Rand, kind calc.Kind) calc.Money {
	if kind == calc.OutpatientChronic {
		return 50*calc.Yuan + calc.Money(r.Int64N(int64(3_000*calc.Yuan)))
	}
	switch n := r.IntN(100); {
	case n < 60:
		return 300*calc.Yuan + calc.Money(r.Int64N(int64(8_000*calc.Yuan)))
	case n < 95:
		return 8_000*calc.Yuan + calc.Money(r.Int64N(int64(60_000*calc.Yuan)))
	default:
		return 60_000*calc.Yuan + calc.Money(r.Int64N(int64(300_000*calc.Yuan)))
	}
}

// benchClaim returns a typical claim of person discharged on d.
func benchClaim(r *rand.Rand, id, personID string, d calc.Date) calc.Claim {
	c := calc.Claim{ID: id, PersonID: personID, ProviderID: "H001", DischargedOn: d}
	if r.IntN(10) < 4 {
		c.Kind = calc.OutpatientChronic
		c.Level = calc.Level(r.IntN(3))
		c.AdmittedOn = d
	} else {
		c.Kind = calc.Inpatient
		c.Level = []calc.Level{calc.Township, calc.Township, calc.County, calc.County, calc.County,
			calc.Municipal, calc.Municipal, calc.Provincial, calc.OutOfProvince}[r.IntN(9)]
		c.AdmittedOn = d - calc.Date(1+r.IntN(20))
	}
	c.Total = benchAmount(r, c.Kind)
	c.InPolicy = c.Total * calc.Money(70+r.IntN(31)) / 100 // 70–100% in the catalogue
	return c
}

// benchPerson returns a person: mostly registered poor, many on dibao, a few tekun.
func benchPerson(r *rand.Rand, id string) calc.Person {
	p := calc.Person{ID: id, HouseholdID: "H" + id, RegisteredPoor: r.IntN(10) < 8}
	switch n := r.IntN(100); {
	case n < 40:
		p.Aid = calc.Dibao
	case n < 45:
		p.Aid = calc.Tekun
	}
	return p
}

// benchCases builds benchNumCases claims of the 2018 policy, each with a ledger that is
// fresh or carries the person's earlier claims of the year.
func benchCases(tb testing.TB, p *calc.Policy) []benchCase {
	r := rand.New(rand.NewPCG(2018, 1))
	cases := make([]benchCase, benchNumCases)
	for i := range cases {
		id := fmt.Sprintf("P%04d", i)
		bc := benchCase{person: benchPerson(r, id)}
		// 0–5 earlier claims of the year build up the ledger.
		d := p.From + calc.Date(r.IntN(60))
		for j := range r.IntN(6) {
			_, l, err := calc.Settle(p, bc.person, bc.ledger, benchClaim(r, fmt.Sprintf("C%04d-%d", i, j), id, d))
			if err != nil {
				tb.Fatal(err)
			}
			bc.ledger = l
			d += calc.Date(1 + r.IntN(50))
		}
		bc.claim = benchClaim(r, fmt.Sprintf("C%04d", i), id, d)
		if _, _, err := calc.Settle(p, bc.person, bc.ledger, bc.claim); err != nil {
			tb.Fatal(err)
		}
		cases[i] = bc
	}
	return cases
}

func BenchmarkSettle(b *testing.B) {
	p := pingxiang2018(b)
	cases := benchCases(b, p)
	b.ReportAllocs()
	var acc calc.Money
	for i := 0; b.Loop(); i++ {
		bc := &cases[i%benchNumCases]
		s, l, err := calc.Settle(p, bc.person, bc.ledger, bc.claim)
		if err != nil {
			b.Fatal(err)
		}
		acc += s.OutOfPocket + l.Total
	}
	benchSink = acc
}

func BenchmarkSettleInto(b *testing.B) {
	p := pingxiang2018(b)
	cases := benchCases(b, p)
	b.ReportAllocs()
	var (
		acc calc.Money
		s   calc.Settlement
	)
	for i := 0; b.Loop(); i++ {
		bc := &cases[i%benchNumCases]
		l := bc.ledger
		if err := calc.SettleInto(&s, p, &bc.person, &l, &bc.claim); err != nil {
			b.Fatal(err)
		}
		acc += s.OutOfPocket + l.Total
	}
	benchSink = acc
}

func BenchmarkSettleFloat64(b *testing.B) {
	p := pingxiang2018(b)
	fp := floatPolicyOf(p)
	cases := floatCasesOf(benchCases(b, p))
	b.ReportAllocs()
	var acc float64
	for i := 0; b.Loop(); i++ {
		fc := &cases[i%benchNumCases]
		s, l, err := floatSettle(fp, fc.person, fc.ledger, fc.claim)
		if err != nil {
			b.Fatal(err)
		}
		acc += s.OutOfPocket + l.Total
	}
	benchSinkFloat = acc
}

func BenchmarkSettleIntoFloat64(b *testing.B) {
	p := pingxiang2018(b)
	fp := floatPolicyOf(p)
	cases := floatCasesOf(benchCases(b, p))
	b.ReportAllocs()
	var (
		acc float64
		s   floatSettlement
	)
	for i := 0; b.Loop(); i++ {
		fc := &cases[i%benchNumCases]
		l := fc.ledger
		if err := floatSettleInto(&s, fp, &fc.person, &l, &fc.claim); err != nil {
			b.Fatal(err)
		}
		acc += s.OutOfPocket + l.Total
	}
	benchSinkFloat = acc
}

// TestFloatReference checks that the float64 reference really settles the benchmark's
// claims like calc does (to within a fen of float noise on each amount), so that the
// comparison of their costs is a comparison of the same work.
func TestFloatReference(t *testing.T) {
	p := pingxiang2018(t)
	fp := floatPolicyOf(p)
	cases := benchCases(t, p)
	for i, bc := range cases {
		s, l, err := calc.Settle(p, bc.person, bc.ledger, bc.claim)
		if err != nil {
			t.Fatal(err)
		}
		fc := floatCasesOf(cases[i : i+1])[0]
		fs, fl, err := floatSettle(fp, fc.person, fc.ledger, fc.claim)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range calc.Lines() {
			if d := math.Abs(fs.Lines[line].Amount - float64(s.Amount(line))/100); d > 0.0101 {
				t.Errorf("case %d %s: float %.4f, exact %s", i, line, fs.Lines[line].Amount, s.Amount(line))
			}
		}
		if d := math.Abs(fl.Total - float64(l.Total)/100); d > 0.005 {
			t.Errorf("case %d: ledger total float %.4f, exact %s", i, fl.Total, l.Total)
		}
	}
}

// The float64 reference: the structures of calc with float64 yuan and float64 rates, the
// same validation, the same cascade and ledger, math.Round to the fen where POLICY.md
// rounds. Dates and the enumerations are calc's.

type floatBand struct {
	From float64
	Rate float64
}

type floatPolicy struct {
	Version string
	From    calc.Date
	To      calc.Date

	Basic struct {
		Deductible       [calc.NumKinds][calc.NumLevels]float64
		Rate             [calc.NumKinds][calc.NumLevels]float64
		AnnualCap        float64
		ChronicAnnualCap float64
	}
	Critical struct {
		Deductible float64
		Bands      []floatBand
		AnnualCap  float64
	}
	Commercial struct {
		InPolicyRate    float64
		OutOfPolicyRate float64
		AnnualCap       float64
	}
	Aid struct {
		Rate      [calc.NumAidCategories]float64
		AnnualCap [calc.NumAidCategories]float64
	}
	Backstop struct {
		OOPCeiling float64
	}
}

func (p *floatPolicy) covers(d calc.Date) bool { return p.From <= d && d <= p.To }

type floatClaim struct {
	ID           string
	PersonID     string
	ProviderID   string
	Level        calc.Level
	Kind         calc.Kind
	AdmittedOn   calc.Date
	DischargedOn calc.Date
	Total        float64
	InPolicy     float64
}

const floatMaxAmount = 100_000_000.0

var errFloatInvalid = errors.New("invalid claim")

func (c *floatClaim) validate() error {
	if c.ID != "" && c.PersonID != "" && c.Level < calc.NumLevels && c.Kind < calc.NumKinds &&
		0 <= c.InPolicy && c.InPolicy <= c.Total && c.Total <= floatMaxAmount &&
		c.AdmittedOn <= c.DischargedOn {
		return nil
	}
	return fmt.Errorf("claim %s: %w", c.ID, errFloatInvalid)
}

type floatLedger struct {
	Year           int
	Claims         int
	BasicInpatient float64
	BasicChronic   float64
	CriticalBurden float64
	CriticalPaid   float64
	CommercialPaid float64
	AidPaid        float64
	BackstopPaid   float64
	OutOfPocket    float64
	Total          float64
}

func (l *floatLedger) basicPaid() float64 { return l.BasicInpatient + l.BasicChronic }

func (l *floatLedger) apply(s *floatSettlement, sign float64) {
	l.Claims += int(sign)
	basic := sign * s.Lines[calc.Basic].Amount
	if s.Kind == calc.OutpatientChronic {
		l.BasicChronic += basic
	} else {
		l.BasicInpatient += basic
	}
	l.CriticalBurden += sign * s.Lines[calc.Critical].Base
	l.CriticalPaid += sign * s.Lines[calc.Critical].Amount
	l.CommercialPaid += sign * s.Lines[calc.Commercial].Amount
	l.AidPaid += sign * s.Lines[calc.Aid].Amount
	l.BackstopPaid += sign * s.Lines[calc.Backstop].Amount
	l.OutOfPocket += sign * s.OutOfPocket
	l.Total += sign * s.Total
}

type floatLineResult struct {
	Applies    bool
	Base       float64
	BaseOut    float64
	Deductible float64
	Rate       float64
	RateOut    float64
	Computed   float64
	CapRoom    float64
	Amount     float64
	AmountOut  float64
}

type floatBandUse struct {
	From, To float64
	Rate     float64
}

type floatSettlement struct {
	ClaimID       string
	PersonID      string
	PolicyVersion string
	Year          int
	Kind          calc.Kind
	Level         calc.Level
	Aid           calc.AidCategory
	Total         float64
	InPolicy      float64
	Lines         [calc.NumLines]floatLineResult
	BurdenBefore  float64
	NumBands      int
	Bands         [calc.MaxBands]floatBandUse
	OutOfPocket   float64
}

// floatFen rounds yuan to the fen, half away from zero.
func floatFen(x float64) float64 { return math.Round(x*100) / 100 }

func floatSettle(p *floatPolicy, person calc.Person, ledger floatLedger, c floatClaim) (floatSettlement, floatLedger, error) {
	var s floatSettlement
	err := floatSettleInto(&s, p, &person, &ledger, &c)
	return s, ledger, err
}

func floatSettleInto(s *floatSettlement, p *floatPolicy, person *calc.Person, ledger *floatLedger, c *floatClaim) error {
	*s = floatSettlement{}
	if err := c.validate(); err != nil {
		return err
	}
	if c.PersonID != person.ID {
		return fmt.Errorf("settle claim %s: claim is for %s, person is %s", c.ID, c.PersonID, person.ID)
	}
	if !p.covers(c.DischargedOn) {
		return fmt.Errorf("settle claim %s: policy %s does not cover %s", c.ID, p.Version, c.DischargedOn)
	}
	year := c.DischargedOn.Year()
	if ledger.Year == 0 && ledger.Claims == 0 {
		ledger.Year = year
	}
	if ledger.Year != year {
		return fmt.Errorf("settle claim %s: ledger %d, discharge %s", c.ID, ledger.Year, c.DischargedOn)
	}
	floatCascade(s, p, person, ledger, c)
	ledger.apply(s, 1)
	return nil
}

func floatCascade(s *floatSettlement, p *floatPolicy, person *calc.Person, l *floatLedger, c *floatClaim) {
	s.ClaimID, s.PersonID, s.PolicyVersion = c.ID, c.PersonID, p.Version
	s.Year, s.Kind, s.Level, s.Aid = l.Year, c.Kind, c.Level, person.Aid
	s.Total, s.InPolicy = c.Total, c.InPolicy
	remIn, remOut := c.InPolicy, c.Total-c.InPolicy

	b := &s.Lines[calc.Basic]
	b.Applies = true
	b.Base = c.InPolicy
	b.Deductible = p.Basic.Deductible[c.Kind][c.Level]
	b.Rate = p.Basic.Rate[c.Kind][c.Level]
	b.Computed = floatFen(max(b.Base-b.Deductible, 0) * b.Rate)
	b.CapRoom = max(p.Basic.AnnualCap-l.basicPaid(), 0)
	if c.Kind == calc.OutpatientChronic {
		b.CapRoom = min(b.CapRoom, max(p.Basic.ChronicAnnualCap-l.BasicChronic, 0))
	}
	b.Amount = min(b.Computed, b.CapRoom)
	remIn -= b.Amount

	cr := &s.Lines[calc.Critical]
	cr.Applies = true
	cr.Base = remIn
	cr.Deductible = p.Critical.Deductible
	s.BurdenBefore = l.CriticalBurden
	lo, hi := max(l.CriticalBurden, p.Critical.Deductible), l.CriticalBurden+remIn
	var exact float64
	bands := p.Critical.Bands
	for i := 0; i < len(bands) && lo < hi; i++ {
		bandHi := math.Inf(1)
		if i+1 < len(bands) {
			bandHi = bands[i+1].From
		}
		from, to := max(lo, bands[i].From), min(hi, bandHi)
		if from >= to {
			continue
		}
		exact += (to - from) * bands[i].Rate
		s.Bands[s.NumBands] = floatBandUse{From: from, To: to, Rate: bands[i].Rate}
		s.NumBands++
	}
	cr.Computed = floatFen(exact)
	cr.CapRoom = max(p.Critical.AnnualCap-l.CriticalPaid, 0)
	cr.Amount = min(cr.Computed, cr.CapRoom)
	remIn -= cr.Amount

	co := &s.Lines[calc.Commercial]
	co.Base, co.BaseOut = remIn, remOut
	co.Rate, co.RateOut = p.Commercial.InPolicyRate, p.Commercial.OutOfPolicyRate
	co.CapRoom = max(p.Commercial.AnnualCap-l.CommercialPaid, 0)
	if person.RegisteredPoor {
		co.Applies = true
		payIn, payOut := floatFen(remIn*co.Rate), floatFen(remOut*co.RateOut)
		co.Computed = payIn + payOut
		payIn = min(payIn, co.CapRoom)
		payOut = min(payOut, co.CapRoom-payIn)
		co.Amount, co.AmountOut = payIn+payOut, payOut
		remIn -= payIn
		remOut -= payOut
	}

	a := &s.Lines[calc.Aid]
	a.Base = remIn
	if person.Aid != calc.AidNone && person.Aid < calc.NumAidCategories {
		a.Applies = true
		a.Rate = p.Aid.Rate[person.Aid]
		a.Computed = floatFen(remIn * a.Rate)
		a.CapRoom = max(p.Aid.AnnualCap[person.Aid]-l.AidPaid, 0)
		a.Amount = min(a.Computed, a.CapRoom)
		remIn -= a.Amount
	}

	bs := &s.Lines[calc.Backstop]
	bs.Base = remIn + remOut
	bs.Rate = p.Backstop.OOPCeiling
	bs.Deductible = floatFen(c.Total * bs.Rate)
	bs.CapRoom = math.Inf(1)
	if person.RegisteredPoor {
		bs.Applies = true
		bs.Computed = max(bs.Base-bs.Deductible, 0)
		bs.Amount = bs.Computed
		bs.AmountOut = max(bs.Amount-remIn, 0)
	}
	s.OutOfPocket = bs.Base - bs.Amount
}

func floatMoney(m calc.Money) float64 {
	if m == calc.NoCap {
		return math.Inf(1)
	}
	return float64(m) / 100
}

func floatRate(r calc.Rate) float64 { return float64(r) / 1e6 }

func floatPolicyOf(p *calc.Policy) *floatPolicy {
	f := &floatPolicy{Version: p.Version, From: p.From, To: p.To}
	for k := range calc.NumKinds {
		for l := range calc.NumLevels {
			f.Basic.Deductible[k][l] = floatMoney(p.Basic.Deductible[k][l])
			f.Basic.Rate[k][l] = floatRate(p.Basic.Rate[k][l])
		}
	}
	f.Basic.AnnualCap = floatMoney(p.Basic.AnnualCap)
	f.Basic.ChronicAnnualCap = floatMoney(p.Basic.ChronicAnnualCap)
	f.Critical.Deductible = floatMoney(p.Critical.Deductible)
	for _, b := range p.Critical.Bands {
		f.Critical.Bands = append(f.Critical.Bands, floatBand{From: floatMoney(b.From), Rate: floatRate(b.Rate)})
	}
	f.Critical.AnnualCap = floatMoney(p.Critical.AnnualCap)
	f.Commercial.InPolicyRate = floatRate(p.Commercial.InPolicyRate)
	f.Commercial.OutOfPolicyRate = floatRate(p.Commercial.OutOfPolicyRate)
	f.Commercial.AnnualCap = floatMoney(p.Commercial.AnnualCap)
	for a := range calc.NumAidCategories {
		f.Aid.Rate[a] = floatRate(p.Aid.Rate[a])
		f.Aid.AnnualCap[a] = floatMoney(p.Aid.AnnualCap[a])
	}
	f.Backstop.OOPCeiling = floatRate(p.Backstop.OOPCeiling)
	return f
}

type floatCase struct {
	person calc.Person
	ledger floatLedger
	claim  floatClaim
}

func floatCasesOf(cases []benchCase) []floatCase {
	out := make([]floatCase, len(cases))
	for i, bc := range cases {
		l, c := bc.ledger, bc.claim
		out[i] = floatCase{
			person: bc.person,
			ledger: floatLedger{
				Year: l.Year, Claims: l.Claims,
				BasicInpatient: floatMoney(l.BasicInpatient), BasicChronic: floatMoney(l.BasicChronic),
				CriticalBurden: floatMoney(l.CriticalBurden), CriticalPaid: floatMoney(l.CriticalPaid),
				CommercialPaid: floatMoney(l.CommercialPaid), AidPaid: floatMoney(l.AidPaid),
				BackstopPaid: floatMoney(l.BackstopPaid), OutOfPocket: floatMoney(l.OutOfPocket),
				Total: floatMoney(l.Total),
			},
			claim: floatClaim{
				ID: c.ID, PersonID: c.PersonID, ProviderID: c.ProviderID, Level: c.Level, Kind: c.Kind,
				AdmittedOn: c.AdmittedOn, DischargedOn: c.DischargedOn,
				Total: floatMoney(c.Total), InPolicy: floatMoney(c.InPolicy),
			},
		}
	}
	return out
}

// Bulk settlement: a district's claims over three years.

const (
	benchBulkPersons = 100_000
	benchBulkClaims  = 1_000_000
)

// benchBulkData is the bulk benchmark's input: persons, and their claims grouped by person
// (claims[start[i]:start[i+1]] are persons[i]'s) in discharge order.
type benchBulkData struct {
	set     *calc.PolicySet
	persons []calc.Person
	claims  []calc.Claim
	start   []int
	jan1    []calc.Date // first day of each year from benchBulkFirstYear on
}

const benchBulkFirstYear = 2017

// benchBulkCache holds the bulk input between runs of the benchmark (-count).
var benchBulkCache struct {
	sync.Mutex
	data *benchBulkData
}

func benchBulk(tb testing.TB) *benchBulkData {
	benchBulkCache.Lock()
	defer benchBulkCache.Unlock()
	if benchBulkCache.data == nil {
		benchBulkCache.data = benchBulkGenerate(tb)
	}
	return benchBulkCache.data
}

// benchBulkGenerate builds 1,000,000 claims of 100,000 persons discharged from 2017 to
// 2019, settled under three yearly versions of the 2018 policy.
func benchBulkGenerate(tb testing.TB) *benchBulkData {
	p2018 := pingxiang2018(tb)
	var versions []*calc.Policy
	for _, y := range []int{2017, 2018, 2019} {
		p := p2018.Clone()
		p.Version = "pingxiang-" + strconv.Itoa(y)
		p.From, p.To = calc.NewDate(y, 1, 1), calc.NewDate(y, 12, 31)
		versions = append(versions, p)
	}
	set, err := calc.NewPolicySet(versions...)
	if err != nil {
		tb.Fatal(err)
	}
	d := &benchBulkData{set: set}
	for y := benchBulkFirstYear; y <= 2020; y++ {
		d.jan1 = append(d.jan1, calc.NewDate(y, 1, 1))
	}
	r := rand.New(rand.NewPCG(2018, 2))
	d.persons = make([]calc.Person, benchBulkPersons)
	counts := make([]int, benchBulkPersons)
	for i := range d.persons {
		d.persons[i] = benchPerson(r, fmt.Sprintf("P%06d", i))
	}
	// Spread the claims over the persons unevenly: a few persons have many claims.
	for range benchBulkClaims {
		i := r.IntN(benchBulkPersons)
		if r.IntN(4) == 0 {
			i = r.IntN(benchBulkPersons / 20)
		}
		counts[i]++
	}
	first, days := calc.NewDate(2017, 1, 1), int(calc.NewDate(2019, 12, 31)-calc.NewDate(2017, 1, 1))+1
	d.claims = make([]calc.Claim, 0, benchBulkClaims)
	d.start = make([]int, 0, benchBulkPersons+1)
	for i, n := range counts {
		d.start = append(d.start, len(d.claims))
		id := d.persons[i].ID
		for j := range n {
			day := first + calc.Date(r.IntN(days))
			d.claims = append(d.claims, benchClaim(r, id+"-"+strconv.Itoa(j), id, day))
		}
		mine := d.claims[d.start[i]:]
		slices.SortFunc(mine, func(a, b calc.Claim) int { return int(a.DischargedOn - b.DischargedOn) })
	}
	d.start = append(d.start, len(d.claims))
	return d
}

func BenchmarkBulk(b *testing.B) {
	d := benchBulk(b)
	b.ReportAllocs()
	var (
		s     calc.Settlement
		tally calc.Tally
	)
	for b.Loop() {
		tally = calc.Tally{}
		p := d.set.At(d.claims[0].DischargedOn)
		for i := range d.persons {
			person := &d.persons[i]
			var ledger calc.Ledger
			var nextYear calc.Date // first day after the ledger's year
			for j := d.start[i]; j < d.start[i+1]; j++ {
				c := &d.claims[j]
				if c.DischargedOn >= nextYear {
					ledger = calc.Ledger{}
					nextYear = d.jan1[c.DischargedOn.Year()+1-benchBulkFirstYear]
				}
				if !p.Covers(c.DischargedOn) {
					p = d.set.At(c.DischargedOn)
				}
				if err := calc.SettleInto(&s, p, person, &ledger, c); err != nil {
					b.Fatal(err)
				}
				tally.Add(&s)
			}
		}
	}
	if tally.Claims != len(d.claims) {
		b.Fatalf("settled %d claims, want %d", tally.Claims, len(d.claims))
	}
	benchSink = tally.OutOfPocket
	claims := float64(b.N) * float64(len(d.claims))
	b.ReportMetric(claims/b.Elapsed().Seconds(), "claims/s")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/claims, "ns/claim")
}
