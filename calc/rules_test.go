package calc_test

import (
	"errors"
	"reflect"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

var (
	poorNone  = calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true}
	poorDibao = calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao}
	poorTekun = calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun}
	notPoor   = calc.Person{ID: "P1", HouseholdID: "H1"}
	notPoorDb = calc.Person{ID: "P1", HouseholdID: "H1", Aid: calc.Dibao}
)

// ruleClaim is a claim of P1 discharged on 2018-06-01.
func ruleClaim(tb testing.TB, level calc.Level, kind calc.Kind, total, inPolicy string) calc.Claim {
	tb.Helper()
	d := mustDate(tb, "2018-06-01")
	return calc.Claim{ID: "C1", PersonID: "P1", ProviderID: "X", Level: level, Kind: kind,
		AdmittedOn: d - 3, DischargedOn: d, Total: mustMoney(tb, total), InPolicy: mustMoney(tb, inPolicy)}
}

// amounts lists the five lines' amounts and out-of-pocket, as yuan strings.
type amounts [6]string

func amountsOf(s *calc.Settlement) amounts {
	var a amounts
	for l := range calc.NumLines {
		a[l] = s.Lines[l].Amount.String()
	}
	a[5] = s.OutOfPocket.String()
	return a
}

// TestSettleRules has one row per rule of POLICY.md, with the arithmetic worked by hand.
func TestSettleRules(t *testing.T) {
	p := pingxiang2018(t)
	capped := pingxiang2018(t)
	capped.Critical.AnnualCap = mustMoney(t, "1000")
	y := calc.Ledger{Year: 2018, Claims: 1} // a ledger of 2018 that has seen a claim
	with := func(f func(l *calc.Ledger)) calc.Ledger { l := y; f(&l); return l }

	tests := []struct {
		name   string
		policy *calc.Policy
		person calc.Person
		ledger calc.Ledger
		claim  calc.Claim
		want   amounts // basic, critical, commercial, aid, backstop, out-of-pocket
	}{
		// basic 85% × (5000 − 200) = 4080; remIn 920 < 3000: no critical; commercial
		// 30% × 920 + 5% × 1000 = 326; share 644 + 950 = 1594 − ceiling 600 = 994.
		{"CountyWithDeductible", p, poorNone, calc.Ledger{}, ruleClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			amounts{"4080.00", "0.00", "326.00", "0.00", "994.00", "600.00"}},
		// basic 90% × 900 = 810; commercial 30% × 90 + 5% × 100 = 32; share 63 + 95 = 158 − 100 = 58.
		{"TownshipNoDeductible", p, poorNone, calc.Ledger{}, ruleClaim(t, calc.Township, calc.Inpatient, "1000", "900"),
			amounts{"810.00", "0.00", "32.00", "0.00", "58.00", "100.00"}},
		// in-policy 600 under the provincial deductible 800: basic 0; commercial 180 + 5 = 185;
		// share 420 + 95 = 515 − 70 = 445.
		{"DeductibleAboveInPolicy", p, poorNone, calc.Ledger{}, ruleClaim(t, calc.Provincial, calc.Inpatient, "700", "600"),
			amounts{"0.00", "0.00", "185.00", "0.00", "445.00", "70.00"}},
		// 90% × 5 fen = 4.5 fen rounds half-up to 5 fen; the ceiling 10% × 5 fen = 0.5 → 1 fen.
		{"BasicRoundsHalfUp", p, poorNone, calc.Ledger{}, ruleClaim(t, calc.Township, calc.Inpatient, "0.05", "0.05"),
			amounts{"0.05", "0.00", "0.00", "0.00", "0.00", "0.00"}},
		// 90% × 6 fen = 5.4 fen rounds down to 5; 1 fen left, commercial 0.3 fen → 0; ceiling 1 fen.
		{"BasicRoundsDownBelowHalf", p, poorNone, calc.Ledger{}, ruleClaim(t, calc.Township, calc.Inpatient, "0.06", "0.06"),
			amounts{"0.05", "0.00", "0.00", "0.00", "0.00", "0.01"}},
		// commercial 5% × 10 fen = 0.5 fen → 1 fen; share 9 fen − ceiling 1 fen = 8 fen.
		{"CommercialOutRoundsHalfUp", p, poorNone, calc.Ledger{}, ruleClaim(t, calc.Township, calc.Inpatient, "0.10", "0"),
			amounts{"0.00", "0.00", "0.01", "0.00", "0.08", "0.01"}},
		// basic 90% × 50 = 45; commercial 30% × 5 = 1.50 + 5% × 50.05 = 2.5025 → 2.50;
		// ceiling 10% × 100.05 = 10.005 → 10.01; share 3.50 + 47.55 = 51.05 − 10.01 = 41.04.
		{"CeilingRoundsHalfUp", p, poorNone, calc.Ledger{}, ruleClaim(t, calc.Township, calc.Inpatient, "100.05", "50"),
			amounts{"45.00", "0.00", "4.00", "0.00", "41.04", "10.01"}},
		// basic 85% × 19800 = 16830; burden 0 → 3170 crosses the deductible: 60% × 170 = 102;
		// commercial 30% × 3068 = 920.40; share 2147.60 − 2000 = 147.60.
		{"CriticalStraddlesDeductible", p, poorNone, calc.Ledger{}, ruleClaim(t, calc.County, calc.Inpatient, "20000", "20000"),
			amounts{"16830.00", "102.00", "920.40", "0.00", "147.60", "2000.00"}},
		// basic 55% × 9200 = 5060; burden 48000 → 52940: 60% × 2000 + 70% × 2940 = 3258;
		// commercial 30% × 1682 = 504.60; share 1177.40 − 1000 = 177.40.
		{"CriticalStraddlesBand", p, poorNone, with(func(l *calc.Ledger) { l.CriticalBurden = mustMoney(t, "48000") }),
			ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			amounts{"5060.00", "3258.00", "504.60", "0.00", "177.40", "1000.00"}},
		// burden 99000 → 103940: 70% × 1000 + 80% × 3940 = 3852; commercial 30% × 1088 =
		// 326.40; share 761.60 within the ceiling 1000.
		{"CriticalStraddlesTopBand", p, poorNone, with(func(l *calc.Ledger) { l.CriticalBurden = mustMoney(t, "99000") }),
			ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			amounts{"5060.00", "3852.00", "326.40", "0.00", "0.00", "761.60"}},
		// burden 150000 → 154940, all at 80%: 3952; commercial 296.40; share 691.60.
		{"CriticalAllInTopBand", p, poorNone, with(func(l *calc.Ledger) { l.CriticalBurden = mustMoney(t, "150000") }),
			ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			amounts{"5060.00", "3952.00", "296.40", "0.00", "0.00", "691.60"}},
		// basic 90% × 20 fen = 18 fen; burden 49999.99 → 50000.01: 60% × 1 fen + 70% × 1 fen =
		// 1.3 fen → 1 fen, rounded once (each band rounded alone would give 2 fen).
		{"CriticalBandsRoundedOnce", p, poorNone, with(func(l *calc.Ledger) { l.CriticalBurden = mustMoney(t, "49999.99") }),
			ruleClaim(t, calc.Township, calc.Inpatient, "0.20", "0.20"),
			amounts{"0.18", "0.01", "0.00", "0.00", "0.00", "0.01"}},
		// a policy with a critical cap of 1000, 600 already paid: 60% × 4940 = 2964 → 400;
		// commercial 30% × 4540 = 1362; share 3178 − 1000 = 2178.
		{"CriticalCap", capped, poorNone, with(func(l *calc.Ledger) {
			l.CriticalBurden, l.CriticalPaid = mustMoney(t, "10000"), mustMoney(t, "600")
		}), ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			amounts{"5060.00", "400.00", "1362.00", "0.00", "2178.00", "1000.00"}},
		// basic would be 5060 but only 1000 is left under the 200000 cap; burden 0 → 9000:
		// 60% × 6000 = 3600; commercial 30% × 5400 = 1620; share 3780 − 1000 = 2780.
		{"BasicCapExceeded", p, poorNone, with(func(l *calc.Ledger) { l.BasicInpatient = mustMoney(t, "199000") }),
			ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			amounts{"1000.00", "3600.00", "1620.00", "0.00", "2780.00", "1000.00"}},
		// the cap is reached exactly: basic 0; burden 10000: 60% × 7000 = 4200; commercial
		// 30% × 5800 = 1740; share 4060 − 1000 = 3060.
		{"BasicCapReached", p, poorNone, with(func(l *calc.Ledger) { l.BasicInpatient = mustMoney(t, "200000") }),
			ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			amounts{"0.00", "4200.00", "1740.00", "0.00", "3060.00", "1000.00"}},
		// chronic 80% × 2000 = 1600; the chronic sub-cap leaves 6000 but the annual cap of both
		// kinds only 1000; commercial 300; share 700 − 200 = 500.
		{"ChronicUnderAnnualCap", p, poorNone, with(func(l *calc.Ledger) {
			l.BasicInpatient, l.BasicChronic = mustMoney(t, "195000"), mustMoney(t, "4000")
		}), ruleClaim(t, calc.Township, calc.OutpatientChronic, "2000", "2000"),
			amounts{"1000.00", "0.00", "300.00", "0.00", "500.00", "200.00"}},
		// chronic 80% × 1000 = 800, sub-cap room 500; commercial 150; share 350 − 100 = 250.
		{"ChronicSubCap", p, poorNone, with(func(l *calc.Ledger) { l.BasicChronic = mustMoney(t, "9500") }),
			ruleClaim(t, calc.Township, calc.OutpatientChronic, "1000", "1000"),
			amounts{"500.00", "0.00", "150.00", "0.00", "250.00", "100.00"}},
		// commercial room 100: in-policy first, 30% × 3416 = 1024.80 → 100, out-of-policy 0.
		// basic 55% × 7200 = 3960; burden 4040: 60% × 1040 = 624; share 3316 + 2000 − 1000 = 4316.
		{"CommercialCapInPolicyFirst", p, poorNone, with(func(l *calc.Ledger) { l.CommercialPaid = mustMoney(t, "99900") }),
			ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			amounts{"3960.00", "624.00", "100.00", "0.00", "4316.00", "1000.00"}},
		// as CountyWithDeductible, then dibao aid 60% × 644 = 386.40; share 257.60 + 950 − 600.
		{"AidDibao", p, poorDibao, calc.Ledger{}, ruleClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			amounts{"4080.00", "0.00", "326.00", "386.40", "607.60", "600.00"}},
		// tekun aid 100% × 644; share 950 − 600 = 350.
		{"AidTekun", p, poorTekun, calc.Ledger{}, ruleClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			amounts{"4080.00", "0.00", "326.00", "644.00", "350.00", "600.00"}},
		// dibao aid room 100 of the 10000 cap; share 544 + 950 − 600 = 894.
		{"AidCap", p, poorDibao, with(func(l *calc.Ledger) { l.AidPaid = mustMoney(t, "9900") }),
			ruleClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			amounts{"4080.00", "0.00", "326.00", "100.00", "894.00", "600.00"}},
		// tekun with a small out-of-policy part: aid takes all of remIn; share 95 within 100.
		{"TekunUnderCeiling", p, poorTekun, calc.Ledger{}, ruleClaim(t, calc.Township, calc.Inpatient, "1000", "900"),
			amounts{"810.00", "0.00", "32.00", "63.00", "0.00", "95.00"}},
		// not registered poor: no commercial, no backstop.
		{"NotRegisteredPoor", p, notPoor, calc.Ledger{}, ruleClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			amounts{"4080.00", "0.00", "0.00", "0.00", "0.00", "1920.00"}},
		// not registered poor but on dibao: aid 60% × 920 = 552.
		{"NotPoorWithAid", p, notPoorDb, calc.Ledger{}, ruleClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			amounts{"4080.00", "0.00", "0.00", "552.00", "0.00", "1368.00"}},
		{"ZeroClaim", p, poorDibao, calc.Ledger{}, ruleClaim(t, calc.County, calc.Inpatient, "0", "0"),
			amounts{"0.00", "0.00", "0.00", "0.00", "0.00", "0.00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := calc.Settle(tt.policy, tt.person, tt.ledger, tt.claim)
			if err != nil {
				t.Fatal(err)
			}
			if got := amountsOf(&s); got != tt.want {
				t.Errorf("got  %v\nwant %v", got, tt.want)
			}
			var sum calc.Money
			for l := range calc.NumLines {
				sum += s.Lines[l].Amount
			}
			if sum+s.OutOfPocket != tt.claim.Total {
				t.Errorf("lines %s + out-of-pocket %s ≠ total %s", sum, s.OutOfPocket, tt.claim.Total)
			}
		})
	}
}

func TestSettleWorkings(t *testing.T) {
	p := pingxiang2018(t)
	s, l, err := calc.Settle(p, poorDibao, calc.Ledger{}, ruleClaim(t, calc.County, calc.Inpatient, "6000", "5000"))
	if err != nil {
		t.Fatal(err)
	}
	b := s.Lines[calc.Basic]
	if b.Base != mustMoney(t, "5000") || b.Deductible != mustMoney(t, "200") || b.Rate != mustRate(t, "0.85") || b.CapRoom != mustMoney(t, "200000") {
		t.Errorf("basic workings %+v", b)
	}
	co := s.Lines[calc.Commercial]
	if co.Base != mustMoney(t, "920") || co.BaseOut != mustMoney(t, "1000") || co.AmountOut != mustMoney(t, "50") {
		t.Errorf("commercial workings %+v", co)
	}
	// The backstop takes the in-policy remainder (257.60) first, then 350 of out-of-policy.
	if bs := s.Lines[calc.Backstop]; bs.Base != mustMoney(t, "1207.60") || bs.Deductible != mustMoney(t, "600") || bs.AmountOut != mustMoney(t, "350") {
		t.Errorf("backstop workings %+v", bs)
	}
	if s.Lines[calc.Critical].Base != mustMoney(t, "920") || s.NumBands != 0 {
		t.Errorf("critical workings %+v, %d bands", s.Lines[calc.Critical], s.NumBands)
	}
	want := calc.Ledger{Year: 2018, Claims: 1, BasicInpatient: mustMoney(t, "4080"), CriticalBurden: mustMoney(t, "920"),
		CommercialPaid: mustMoney(t, "326"), AidPaid: mustMoney(t, "386.40"), BackstopPaid: mustMoney(t, "607.60"),
		OutOfPocket: mustMoney(t, "600"), Total: mustMoney(t, "6000")}
	if l != want {
		t.Errorf("ledger\n got %+v\nwant %+v", l, want)
	}
}

// TestSettleSequence follows one person's year through the ledger: the burden accumulates
// across claims, caps bind across claims, and a reversal gives back what a claim took.
func TestSettleSequence(t *testing.T) {
	p := pingxiang2018(t)
	var l calc.Ledger
	steps := []struct {
		claim   calc.Claim
		want    amounts
		burden  string
		chronic string
	}{
		// basic 55% × 7200 = 3960; burden 4040: 60% × 1040 = 624; commercial 30% × 3416 +
		// 5% × 2000 = 1124.80; aid 60% × 2391.20 = 1434.72; share 956.48 + 1900 − 1000 = 1856.48.
		{ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			amounts{"3960.00", "624.00", "1124.80", "1434.72", "1856.48", "1000.00"}, "4040.00", "0.00"},
		// chronic 80% × 1000 = 800; burden 4040 → 4240, all above the deductible: 60% × 200 =
		// 120; commercial 30% × 80 = 24; aid 60% × 56 = 33.60; share 22.40 within 100.
		{ruleClaim(t, calc.Township, calc.OutpatientChronic, "1000", "1000"),
			amounts{"800.00", "120.00", "24.00", "33.60", "0.00", "22.40"}, "4240.00", "800.00"},
		// basic 55% × 99200 = 54560; burden 4240 → 49680: 60% × 45440 = 27264; commercial
		// 30% × 18176 = 5452.80; aid 60% × 12723.20 = 7633.92 (8531.68 left under its cap);
		// share 5089.28 within the ceiling 10000.
		{ruleClaim(t, calc.Provincial, calc.Inpatient, "100000", "100000"),
			amounts{"54560.00", "27264.00", "5452.80", "7633.92", "0.00", "5089.28"}, "49680.00", "800.00"},
	}
	var settled []calc.Settlement
	for i, st := range steps {
		st.claim.ID = string(rune('A' + i))
		s, next, err := calc.Settle(p, poorDibao, l, st.claim)
		if err != nil {
			t.Fatal(err)
		}
		if got := amountsOf(&s); got != st.want {
			t.Errorf("claim %d: got  %v\n          want %v", i, got, st.want)
		}
		if next.CriticalBurden.String() != st.burden || next.BasicChronic.String() != st.chronic {
			t.Errorf("claim %d: burden %s, chronic basic %s; want %s, %s", i, next.CriticalBurden, next.BasicChronic, st.burden, st.chronic)
		}
		settled = append(settled, s)
		l = next
	}
	// Reverse the second claim: everything it took comes back.
	back, err := l.Reverse(&settled[1])
	if err != nil {
		t.Fatal(err)
	}
	if back.BasicChronic != 0 || back.CriticalBurden != mustMoney(t, "49480") || back.Claims != 2 ||
		back.AidPaid != l.AidPaid-mustMoney(t, "33.60") || back.Total != l.Total-mustMoney(t, "1000") {
		t.Errorf("after reversal %+v", back)
	}
	if _, err := back.Reverse(&settled[1]); !errors.Is(err, calc.ErrLedgerNegate) {
		t.Errorf("reversing the same claim twice: %v, want ErrLedgerNegate", err)
	}
	other := settled[0]
	other.Year = 2019
	if _, err := l.Reverse(&other); !errors.Is(err, calc.ErrLedgerYear) {
		t.Errorf("reversing a claim of another year: %v, want ErrLedgerYear", err)
	}
}

func TestSettleErrors(t *testing.T) {
	p := pingxiang2018(t)
	good := ruleClaim(t, calc.County, calc.Inpatient, "6000", "5000")
	tests := []struct {
		name   string
		person calc.Person
		ledger calc.Ledger
		claim  func(c calc.Claim) calc.Claim
		want   error
		field  string
	}{
		{"InPolicyOverTotal", poorNone, calc.Ledger{}, func(c calc.Claim) calc.Claim { c.InPolicy = c.Total + 1; return c }, calc.ErrInvalid, "in_policy"},
		{"NegativeTotal", poorNone, calc.Ledger{}, func(c calc.Claim) calc.Claim { c.Total, c.InPolicy = -1, 0; return c }, calc.ErrInvalid, "total"},
		{"OverMaxAmount", poorNone, calc.Ledger{}, func(c calc.Claim) calc.Claim { c.Total = calc.MaxAmount + 1; return c }, calc.ErrInvalid, "total"},
		{"DischargeBeforeAdmission", poorNone, calc.Ledger{}, func(c calc.Claim) calc.Claim { c.AdmittedOn = c.DischargedOn + 1; return c }, calc.ErrInvalid, "discharged_on"},
		{"UnknownLevel", poorNone, calc.Ledger{}, func(c calc.Claim) calc.Claim { c.Level = calc.NumLevels; return c }, calc.ErrInvalid, "level"},
		{"UnknownKind", poorNone, calc.Ledger{}, func(c calc.Claim) calc.Claim { c.Kind = calc.NumKinds; return c }, calc.ErrInvalid, "kind"},
		{"WrongPerson", calc.Person{ID: "P2", RegisteredPoor: true}, calc.Ledger{}, func(c calc.Claim) calc.Claim { return c }, calc.ErrWrongPerson, ""},
		{"NoPolicy", poorNone, calc.Ledger{}, func(c calc.Claim) calc.Claim { c.DischargedOn = mustDate(t, "2019-01-01"); return c }, calc.ErrNoPolicy, ""},
		{"LedgerYear", poorNone, calc.Ledger{Year: 2017, Claims: 1}, func(c calc.Claim) calc.Claim { return c }, calc.ErrLedgerYear, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, l, err := calc.Settle(p, tt.person, tt.ledger, tt.claim(good))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			if s != (calc.Settlement{}) || l != tt.ledger {
				t.Errorf("on error: settlement %+v, ledger %+v; want zero and unchanged", s, l)
			}
			if tt.field != "" {
				var ve *calc.ValidationError
				if !errors.As(err, &ve) || len(ve.Fields) == 0 || ve.Fields[0].Field != tt.field {
					t.Errorf("error %v does not name field %s", err, tt.field)
				}
			}
		})
	}
}

func TestSettleDoesNotChangeInputs(t *testing.T) {
	p := pingxiang2018(t)
	before := p.Clone()
	ledger := calc.Ledger{Year: 2018, Claims: 2, CriticalBurden: mustMoney(t, "48000"), BasicInpatient: mustMoney(t, "1000")}
	keep := ledger
	c := ruleClaim(t, calc.Provincial, calc.Inpatient, "10000", "9000")
	keepClaim := c
	if _, _, err := calc.Settle(p, poorDibao, ledger, c); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p, before) || ledger != keep || c != keepClaim {
		t.Error("Settle changed its inputs")
	}
}

func TestPolicyValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(p *calc.Policy)
		field  string
	}{
		{"RateOverOne", func(p *calc.Policy) { p.Basic.Rate[calc.Inpatient][calc.County] = calc.RateOne + 1 }, "basic.inpatient.rate.county"},
		{"RateNegative", func(p *calc.Policy) { p.Commercial.OutOfPolicyRate = -1 }, "commercial.out_of_policy_rate"},
		{"NegativeDeductible", func(p *calc.Policy) { p.Basic.Deductible[calc.OutpatientChronic][calc.Township] = -1 }, "basic.outpatient_chronic.deductible.township"},
		{"NegativeCap", func(p *calc.Policy) { p.Aid.AnnualCap[calc.Tekun] = -100 }, "aid.tekun.annual_cap"},
		{"CapTooLarge", func(p *calc.Policy) { p.Basic.AnnualCap = calc.MaxAmount + 1 }, "basic.annual_cap"},
		{"BandsNotIncreasing", func(p *calc.Policy) { p.Critical.Bands[2].From = p.Critical.Bands[1].From }, "critical.bands[2].from"},
		{"NoBands", func(p *calc.Policy) { p.Critical.Bands = nil }, "critical.bands"},
		{"TooManyBands", func(p *calc.Policy) {
			for i := range calc.MaxBands {
				p.Critical.Bands = append(p.Critical.Bands, calc.Band{From: calc.Money(200_000_00 + i), Rate: calc.RateOne})
			}
		}, "critical.bands"},
		{"BandRate", func(p *calc.Policy) { p.Critical.Bands[0].Rate = 2 * calc.RateOne }, "critical.bands[0].rate"},
		{"EmptyVersion", func(p *calc.Policy) { p.Version = " " }, "version"},
		{"PeriodBackwards", func(p *calc.Policy) { p.To = p.From - 1 }, "effective.to"},
		{"AidForNone", func(p *calc.Policy) { p.Aid.Rate[calc.AidNone] = 1 }, "aid.none"},
		{"Ceiling", func(p *calc.Policy) { p.Backstop.OOPCeiling = calc.RateOne * 3 / 2 }, "backstop.oop_ceiling"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := pingxiang2018(t)
			tt.change(p)
			err := p.Validate()
			var ve *calc.ValidationError
			if !errors.As(err, &ve) || !errors.Is(err, calc.ErrInvalid) {
				t.Fatalf("Validate() = %v, want a *ValidationError", err)
			}
			found := false
			for _, f := range ve.Fields {
				found = found || f.Field == tt.field
			}
			if !found {
				t.Errorf("Validate() = %v, want a problem with %s", err, tt.field)
			}
		})
	}
	if err := pingxiang2018(t).Validate(); err != nil {
		t.Errorf("the 2018 policy: %v", err)
	}
}

func TestPolicySet(t *testing.T) {
	a := pingxiang2018(t)
	b := pingxiang2018(t)
	b.Version, b.From, b.To = "2019", mustDate(t, "2019-01-01"), mustDate(t, "2019-12-31")
	s, err := calc.NewPolicySet(b, a) // adjacent periods, given out of order
	if err != nil {
		t.Fatal(err)
	}
	for day, want := range map[string]string{"2018-01-01": "pingxiang-2018", "2018-12-31": "pingxiang-2018", "2019-01-01": "2019", "2019-12-31": "2019"} {
		if got := s.At(mustDate(t, day)); got == nil || got.Version != want {
			t.Errorf("At(%s) = %v, want %s", day, got, want)
		}
	}
	if got := s.At(mustDate(t, "2020-01-01")); got != nil {
		t.Errorf("At(2020-01-01) = %s, want none", got.Version)
	}
	b.From = mustDate(t, "2018-12-31")
	if _, err := calc.NewPolicySet(a, b); !errors.Is(err, calc.ErrOverlap) {
		t.Errorf("overlapping periods: %v, want ErrOverlap", err)
	}
	bad := pingxiang2018(t)
	bad.Backstop.OOPCeiling = -1
	if _, err := calc.NewPolicySet(bad); !errors.Is(err, calc.ErrInvalid) {
		t.Errorf("invalid policy: %v, want ErrInvalid", err)
	}
}
