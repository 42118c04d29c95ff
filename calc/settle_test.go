package calc_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// The persons of the settle tables; every claim of the tables belongs to P1.
var (
	tblPoor         = calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true}
	tblPoorDibao    = calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao}
	tblPoorTekun    = calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun}
	tblNotPoor      = calc.Person{ID: "P1", HouseholdID: "H1"}
	tblNotPoorDibao = calc.Person{ID: "P1", HouseholdID: "H1", Aid: calc.Dibao}
)

// tblClaim returns claim C1 of P1 discharged on 2018-06-01; total and inPolicy are yuan.
func tblClaim(tb testing.TB, level calc.Level, kind calc.Kind, total, inPolicy string) calc.Claim {
	tb.Helper()
	return tblClaimOn(tb, "C1", "2018-06-01", level, kind, total, inPolicy)
}

// tblClaimOn returns claim id of P1, admitted three days before it is discharged.
func tblClaimOn(tb testing.TB, id, discharged string, level calc.Level, kind calc.Kind, total, inPolicy string) calc.Claim {
	tb.Helper()
	d := mustDate(tb, discharged)
	return calc.Claim{ID: id, PersonID: "P1", ProviderID: "H-" + level.String(), Level: level, Kind: kind,
		AdmittedOn: d - 3, DischargedOn: d, Total: mustMoney(tb, total), InPolicy: mustMoney(tb, inPolicy)}
}

// tblWant is what a settlement pays, as yuan strings: the five lines, out-of-pocket, and
// the parts of commercial and backstop paid on the out-of-policy cost (AmountOut).
type tblWant struct {
	basic, critical, commercial, aid, backstop, oop string
	commercialOut, backstopOut                      string
}

func tblGot(s *calc.Settlement) tblWant {
	return tblWant{
		basic:         s.Amount(calc.Basic).String(),
		critical:      s.Amount(calc.Critical).String(),
		commercial:    s.Amount(calc.Commercial).String(),
		aid:           s.Amount(calc.Aid).String(),
		backstop:      s.Amount(calc.Backstop).String(),
		oop:           s.OutOfPocket.String(),
		commercialOut: s.Lines[calc.Commercial].AmountOut.String(),
		backstopOut:   s.Lines[calc.Backstop].AmountOut.String(),
	}
}

// tblCapped lists the lines whose annual cap cut the amount.
func tblCapped(s *calc.Settlement) []calc.Line {
	var capped []calc.Line
	for _, l := range calc.Lines() {
		if s.Lines[l].Capped() {
			capped = append(capped, l)
		}
	}
	return capped
}

// tblCheckSettlement checks what POLICY.md requires of every settlement: amounts ≥ 0
// summing to the total, out-of-pocket within the ceiling for registered poor persons, the
// lines applying to whom they should, the burden growing by the in-policy cost left after
// basic, and the ledger growing by exactly what the settlement took, within every cap.
func tblCheckSettlement(tb testing.TB, p *calc.Policy, person calc.Person, before calc.Ledger, c calc.Claim, s *calc.Settlement, after calc.Ledger) {
	tb.Helper()
	sum := s.OutOfPocket
	if s.OutOfPocket < 0 {
		tb.Errorf("out-of-pocket %s < 0", s.OutOfPocket)
	}
	for _, l := range calc.Lines() {
		r := s.Lines[l]
		if r.Amount < 0 || r.AmountOut < 0 || r.AmountOut > r.Amount {
			tb.Errorf("%s: amount %s, of it out-of-policy %s", l, r.Amount, r.AmountOut)
		}
		if !r.Applies && r.Amount != 0 {
			tb.Errorf("%s does not apply but pays %s", l, r.Amount)
		}
		sum += r.Amount
	}
	if sum != c.Total {
		tb.Errorf("lines and out-of-pocket sum to %s, want the total %s", sum, c.Total)
	}
	if got, want := s.Lines[calc.Commercial].Applies, person.RegisteredPoor; got != want {
		tb.Errorf("commercial applies %v, want %v", got, want)
	}
	if got, want := s.Lines[calc.Backstop].Applies, person.RegisteredPoor; got != want {
		tb.Errorf("backstop applies %v, want %v", got, want)
	}
	if got, want := s.Lines[calc.Aid].Applies, person.Aid != calc.AidNone; got != want {
		tb.Errorf("aid applies %v, want %v", got, want)
	}
	if limit := calc.MulRate(c.Total, p.Backstop.OOPCeiling); person.RegisteredPoor && s.OutOfPocket > limit {
		tb.Errorf("out-of-pocket %s over the ceiling %s", s.OutOfPocket, limit)
	}
	if got, want := s.Lines[calc.Critical].Base, c.InPolicy-s.Amount(calc.Basic); got != want {
		tb.Errorf("burden slice %s, want in-policy less basic %s", got, want)
	}

	want := before
	want.Year = c.DischargedOn.Year()
	want.Claims++
	if c.Kind == calc.OutpatientChronic {
		want.BasicChronic += s.Amount(calc.Basic)
	} else {
		want.BasicInpatient += s.Amount(calc.Basic)
	}
	want.CriticalBurden += c.InPolicy - s.Amount(calc.Basic)
	want.CriticalPaid += s.Amount(calc.Critical)
	want.CommercialPaid += s.Amount(calc.Commercial)
	want.AidPaid += s.Amount(calc.Aid)
	want.BackstopPaid += s.Amount(calc.Backstop)
	want.OutOfPocket += s.OutOfPocket
	want.Total += c.Total
	if after != want {
		tb.Errorf("ledger after\n got %+v\nwant %+v", after, want)
	}
	if after.BasicPaid() > max(p.Basic.AnnualCap, before.BasicPaid()) ||
		after.BasicChronic > max(p.Basic.ChronicAnnualCap, before.BasicChronic) ||
		after.CriticalPaid > max(p.Critical.AnnualCap, before.CriticalPaid) ||
		after.CommercialPaid > max(p.Commercial.AnnualCap, before.CommercialPaid) ||
		after.AidPaid > max(p.Aid.AnnualCap[person.Aid], before.AidPaid) {
		tb.Errorf("ledger after %+v exceeds a cap", after)
	}
}

// TestSettleRules has a row for every rule of POLICY.md under pingxiang-2018 (or a variant
// of it where 2018 has no such parameter), with the arithmetic worked by hand in the
// comment above each row. Claims are discharged on 2018-06-01. "share" is the patient's
// share before the backstop (remIn + remOut) and "limit" its ceiling, round(10% × total).
func TestSettleRules(t *testing.T) {
	p := pingxiang2018(t)
	// 2018 has no critical-illness cap: a variant with an annual cap of 1,000.
	critCap := pingxiang2018(t)
	critCap.Critical.AnnualCap = mustMoney(t, "1000")
	// Bands that start above the deductible: 5,000 / 50,000 / 100,000.
	bandsAbove := pingxiang2018(t)
	bandsAbove.Critical.Bands[0].From = mustMoney(t, "5000")
	// A deductible of 4,000, where the first band starts.
	dedAbove := pingxiang2018(t)
	dedAbove.Critical.Deductible = mustMoney(t, "4000")
	dedAbove.Critical.Bands[0].From = dedAbove.Critical.Deductible
	for _, v := range []*calc.Policy{critCap, bandsAbove, dedAbove} {
		if err := v.Validate(); err != nil {
			t.Fatal(err)
		}
	}

	yuan := func(s string) calc.Money { t.Helper(); return mustMoney(t, s) }
	// led returns P1's 2018 ledger after one earlier claim, changed by f.
	led := func(f func(l *calc.Ledger)) calc.Ledger {
		l := calc.Ledger{Year: 2018, Claims: 1}
		f(&l)
		return l
	}
	fresh := calc.Ledger{}

	tests := []struct {
		name   string
		policy *calc.Policy
		person calc.Person
		ledger calc.Ledger
		claim  calc.Claim
		want   tblWant // basic, critical, commercial, aid, backstop, oop; commercialOut, backstopOut
		capped []calc.Line
		check  func(t *testing.T, s *calc.Settlement) // further workings, if any
	}{
		// ---- 1 basic: rate and deductible per level and kind ----

		// basic 90% × 8000 = 7200; remIn 800 stays under 3000: critical 0; commercial
		// 30% × 800 = 240 + 5% × 2000 = 100 → 340; share 560 + 1900 = 2460 − limit 1000 =
		// 1460, of it 1460 − 560 = 900 out-of-policy.
		{name: "BasicTownshipInpatient", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "10000", "8000"),
			want:  tblWant{"7200.00", "0.00", "340.00", "0.00", "1460.00", "1000.00", "100.00", "900.00"}},
		// basic 85% × (8000 − 200) = 6630; remIn 1370: critical 0; commercial 411 + 100 = 511;
		// share 959 + 1900 = 2859 − 1000 = 1859 (900 out).
		{name: "BasicCountyInpatient", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "10000", "8000"),
			want:  tblWant{"6630.00", "0.00", "511.00", "0.00", "1859.00", "1000.00", "100.00", "900.00"}},
		// basic 65% × (8000 − 500) = 4875; burden 0 → 3125: 60% × 125 = 75; commercial
		// 30% × 3050 = 915 + 100 = 1015; share 2135 + 1900 = 4035 − 1000 = 3035 (900 out).
		{name: "BasicMunicipalInpatient", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Municipal, calc.Inpatient, "10000", "8000"),
			want:  tblWant{"4875.00", "75.00", "1015.00", "0.00", "3035.00", "1000.00", "100.00", "900.00"}},
		// basic 55% × (8000 − 800) = 3960; burden 0 → 4040: 60% × 1040 = 624; commercial
		// 30% × 3416 = 1024.80 + 100 = 1124.80; share 2391.20 + 1900 − 1000 = 3291.20 (900 out).
		{name: "BasicProvincialInpatient", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:  tblWant{"3960.00", "624.00", "1124.80", "0.00", "3291.20", "1000.00", "100.00", "900.00"}},
		// basic 50% × (8000 − 1000) = 3500; burden 0 → 4500: 60% × 1500 = 900; commercial
		// 30% × 3600 = 1080 + 100 = 1180; share 2520 + 1900 − 1000 = 3420 (900 out).
		{name: "BasicOutOfProvinceInpatient", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.OutOfProvince, calc.Inpatient, "10000", "8000"),
			want:  tblWant{"3500.00", "900.00", "1180.00", "0.00", "3420.00", "1000.00", "100.00", "900.00"}},
		// outpatient_chronic, every level alike: 80% × 900 = 720, no deductible; commercial
		// 30% × 180 = 54 + 5% × 100 = 5 → 59; share 126 + 95 = 221 − 100 = 121, all of it
		// in-policy (remIn 126 ≥ 121).
		{name: "ChronicTownship", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.OutpatientChronic, "1000", "900"),
			want:  tblWant{"720.00", "0.00", "59.00", "0.00", "121.00", "100.00", "5.00", "0.00"}},
		{name: "ChronicCounty", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.OutpatientChronic, "1000", "900"),
			want:  tblWant{"720.00", "0.00", "59.00", "0.00", "121.00", "100.00", "5.00", "0.00"}},
		{name: "ChronicMunicipal", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Municipal, calc.OutpatientChronic, "1000", "900"),
			want:  tblWant{"720.00", "0.00", "59.00", "0.00", "121.00", "100.00", "5.00", "0.00"}},
		{name: "ChronicProvincial", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Provincial, calc.OutpatientChronic, "1000", "900"),
			want:  tblWant{"720.00", "0.00", "59.00", "0.00", "121.00", "100.00", "5.00", "0.00"}},
		{name: "ChronicOutOfProvince", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.OutOfProvince, calc.OutpatientChronic, "1000", "900"),
			want:  tblWant{"720.00", "0.00", "59.00", "0.00", "121.00", "100.00", "5.00", "0.00"}},
		// in-policy 600 under the provincial deductible 800: basic 0; commercial 30% × 600 =
		// 180 + 5% × 100 = 5 → 185; share 420 + 95 = 515 − 70 = 445, 25 of it out-of-policy.
		{name: "DeductibleAboveInPolicy", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Provincial, calc.Inpatient, "700", "600"),
			want:  tblWant{"0.00", "0.00", "185.00", "0.00", "445.00", "70.00", "5.00", "25.00"},
			check: func(t *testing.T, s *calc.Settlement) {
				if b := s.Lines[calc.Basic]; b.Computed != 0 || b.Deductible != mustMoney(t, "800") {
					t.Errorf("basic workings %+v", b)
				}
			}},
		// in-policy equal to the county deductible 200: basic 0; commercial 60; share 140 − 20 = 120.
		{name: "InPolicyEqualsDeductible", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "200", "200"),
			want:  tblWant{"0.00", "0.00", "60.00", "0.00", "120.00", "20.00", "0.00", "0.00"}},
		// one fen above the deductible: 85% × 0.01 = 0.85 fen → 0.01; remIn 200.00;
		// commercial 60.00; limit 10% × 200.01 = 20.001 → 20.00; share 140 − 20 = 120.
		{name: "OneFenAboveDeductible", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "200.01", "200.01"),
			want:  tblWant{"0.01", "0.00", "60.00", "0.00", "120.00", "20.00", "0.00", "0.00"}},
		// 90% × 0.05 = 4.5 fen → 5 fen; nothing left.
		{name: "BasicRoundsHalfUp", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "0.05", "0.05"),
			want:  tblWant{"0.05", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00", "0.00"}},
		// 90% × 0.06 = 5.4 fen → 5 fen; remIn 1 fen: commercial 0.3 fen → 0; limit 0.6 fen →
		// 1 fen: the patient pays 0.01.
		{name: "BasicRoundsDownBelowHalf", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "0.06", "0.06"),
			want:  tblWant{"0.05", "0.00", "0.00", "0.00", "0.00", "0.01", "0.00", "0.00"}},

		// ---- 1 basic: annual cap (200,000, both kinds) and outpatient_chronic sub-cap (10,000) ----

		// 196040 paid: room 3960 = 55% × 7200 exactly, so the cap is reached, not cut; the
		// rest as BasicProvincialInpatient.
		{name: "BasicCapReachedExactly", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicInpatient = yuan("196040") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:   tblWant{"3960.00", "624.00", "1124.80", "0.00", "3291.20", "1000.00", "100.00", "900.00"}},
		// 199000 paid: basic 3960 cut to the room 1000; burden 0 → 7000: 60% × 4000 = 2400;
		// commercial 30% × 4600 = 1380 + 100 = 1480; share 3220 + 1900 − 1000 = 4120 (900 out).
		{name: "BasicCapExceeded", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicInpatient = yuan("199000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:   tblWant{"1000.00", "2400.00", "1480.00", "0.00", "4120.00", "1000.00", "100.00", "900.00"},
			capped: []calc.Line{calc.Basic}},
		// the cap is already reached: basic 0; burden 0 → 8000: 60% × 5000 = 3000; commercial
		// 1500 + 100 = 1600; share 3500 + 1900 − 1000 = 4400 (900 out).
		{name: "BasicCapAlreadyReached", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicInpatient = yuan("200000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:   tblWant{"0.00", "3000.00", "1600.00", "0.00", "4400.00", "1000.00", "100.00", "900.00"},
			capped: []calc.Line{calc.Basic}},
		// chronic basic counts against the annual cap too: 189000 + 10000 paid, room 1000;
		// as BasicCapExceeded.
		{name: "BasicCapCountsChronic", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicInpatient, l.BasicChronic = yuan("189000"), yuan("10000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:   tblWant{"1000.00", "2400.00", "1480.00", "0.00", "4120.00", "1000.00", "100.00", "900.00"},
			capped: []calc.Line{calc.Basic}},
		// chronic 80% × 1000 = 800, sub-cap room 10000 − 9500 = 500; commercial 30% × 500 =
		// 150; share 350 − 100 = 250.
		{name: "ChronicSubCapExceeded", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicChronic = yuan("9500") }),
			claim:  tblClaim(t, calc.Township, calc.OutpatientChronic, "1000", "1000"),
			want:   tblWant{"500.00", "0.00", "150.00", "0.00", "250.00", "100.00", "0.00", "0.00"},
			capped: []calc.Line{calc.Basic}},
		// chronic 800 = sub-cap room 10000 − 9200 exactly; commercial 60; share 140 − 100 = 40.
		{name: "ChronicSubCapReachedExactly", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicChronic = yuan("9200") }),
			claim:  tblClaim(t, calc.Township, calc.OutpatientChronic, "1000", "1000"),
			want:   tblWant{"800.00", "0.00", "60.00", "0.00", "40.00", "100.00", "0.00", "0.00"}},
		// sub-cap used up: basic 0; commercial 300; share 700 − 100 = 600.
		{name: "ChronicSubCapAlreadyReached", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicChronic = yuan("10000") }),
			claim:  tblClaim(t, calc.Township, calc.OutpatientChronic, "1000", "1000"),
			want:   tblWant{"0.00", "0.00", "300.00", "0.00", "600.00", "100.00", "0.00", "0.00"},
			capped: []calc.Line{calc.Basic}},
		// the chronic sub-cap does not limit inpatient claims: 90% × 1000 = 900; commercial
		// 30; share 70 within the limit 100.
		{name: "InpatientIgnoresChronicSubCap", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicChronic = yuan("10000") }),
			claim:  tblClaim(t, calc.Township, calc.Inpatient, "1000", "1000"),
			want:   tblWant{"900.00", "0.00", "30.00", "0.00", "0.00", "70.00", "0.00", "0.00"}},
		// both caps: sub-cap room 6000, annual room 200000 − 199000 = 1000, the tighter:
		// chronic 80% × 2000 = 1600 → 1000; commercial 300; share 700 − 200 = 500.
		{name: "ChronicAnnualCapTighter", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicInpatient, l.BasicChronic = yuan("195000"), yuan("4000") }),
			claim:  tblClaim(t, calc.Township, calc.OutpatientChronic, "2000", "2000"),
			want:   tblWant{"1000.00", "0.00", "300.00", "0.00", "500.00", "200.00", "0.00", "0.00"},
			capped: []calc.Line{calc.Basic},
			check: func(t *testing.T, s *calc.Settlement) {
				if got, want := s.Lines[calc.Basic].CapRoom, mustMoney(t, "1000"); got != want {
					t.Errorf("basic cap room %s, want %s", got, want)
				}
			}},
		// both caps: annual room 40500, sub-cap room 500, the tighter: 1600 → 500; commercial
		// 30% × 1500 = 450; share 1050 − 200 = 850.
		{name: "ChronicSubCapTighter", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.BasicInpatient, l.BasicChronic = yuan("150000"), yuan("9500") }),
			claim:  tblClaim(t, calc.Township, calc.OutpatientChronic, "2000", "2000"),
			want:   tblWant{"500.00", "0.00", "450.00", "0.00", "850.00", "200.00", "0.00", "0.00"},
			capped: []calc.Line{calc.Basic},
			check: func(t *testing.T, s *calc.Settlement) {
				if got, want := s.Lines[calc.Basic].CapRoom, mustMoney(t, "500"); got != want {
					t.Errorf("basic cap room %s, want %s", got, want)
				}
			}},

		// ---- 2 critical illness: annual deductible 3,000 and bands on the burden ----

		// burden 2000 → 2100 stays under 3000: critical 0; not poor: the patient pays 100.
		{name: "CriticalBelowDeductible", policy: p, person: tblNotPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("2000") }),
			claim:  tblClaim(t, calc.Township, calc.Inpatient, "1000", "1000"),
			want:   tblWant{"900.00", "0.00", "0.00", "0.00", "0.00", "100.00", "0.00", "0.00"}},
		// burden 2900 → 3000 ends at the deductible: critical 0.
		{name: "CriticalSliceEndsAtDeductible", policy: p, person: tblNotPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("2900") }),
			claim:  tblClaim(t, calc.Township, calc.Inpatient, "1000", "1000"),
			want:   tblWant{"900.00", "0.00", "0.00", "0.00", "0.00", "100.00", "0.00", "0.00"}},
		// burden 3000 → 3100 starts at the deductible: 60% × 100 = 60; the patient pays 40.
		{name: "CriticalSliceStartsAtDeductible", policy: p, person: tblNotPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("3000") }),
			claim:  tblClaim(t, calc.Township, calc.Inpatient, "1000", "1000"),
			want:   tblWant{"900.00", "60.00", "0.00", "0.00", "0.00", "40.00", "0.00", "0.00"}},
		// basic 85% × 19800 = 16830; burden 0 → 3170 straddles the deductible: 60% × 170 =
		// 102; commercial 30% × 3068 = 920.40; share 2147.60 − 2000 = 147.60.
		{name: "CriticalStraddlesDeductible", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "20000", "20000"),
			want:  tblWant{"16830.00", "102.00", "920.40", "0.00", "147.60", "2000.00", "0.00", "0.00"}},
		// basic 55% × 9200 = 5060; burden 48000 → 52940: 60% × 2000 + 70% × 2940 = 1200 +
		// 2058 = 3258; commercial 30% × 1682 = 504.60; share 1177.40 − 1000 = 177.40.
		{name: "CriticalStraddles50000", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("48000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			want:   tblWant{"5060.00", "3258.00", "504.60", "0.00", "177.40", "1000.00", "0.00", "0.00"}},
		// burden 99000 → 103940: 70% × 1000 + 80% × 3940 = 700 + 3152 = 3852; commercial
		// 30% × 1088 = 326.40; share 761.60 within the limit 1000.
		{name: "CriticalStraddles100000", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("99000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			want:   tblWant{"5060.00", "3852.00", "326.40", "0.00", "0.00", "761.60", "0.00", "0.00"}},
		// burden 60000 → 64940, all at 70%: 3458; commercial 30% × 1482 = 444.60; share
		// 1037.40 − 1000 = 37.40.
		{name: "CriticalInMiddleBand", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("60000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			want:   tblWant{"5060.00", "3458.00", "444.60", "0.00", "37.40", "1000.00", "0.00", "0.00"}},
		// burden 150000 → 154940, all at 80%: 3952; commercial 30% × 988 = 296.40; share
		// 691.60 within the limit.
		{name: "CriticalInTopBand", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("150000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			want:   tblWant{"5060.00", "3952.00", "296.40", "0.00", "0.00", "691.60", "0.00", "0.00"}},
		// one stay over every band: basic 55% × 299200 = 164560; burden 0 → 135440:
		// 60% × 47000 + 70% × 50000 + 80% × 35440 = 28200 + 35000 + 28352 = 91552;
		// commercial 30% × 43888 = 13166.40; dibao 60% × 30721.60 = 18432.96 cut to the cap
		// 10000; share 20721.60 within the limit 30000.
		{name: "CriticalCrossesEveryBand", policy: p, person: tblPoorDibao, ledger: fresh,
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "300000", "300000"),
			want:   tblWant{"164560.00", "91552.00", "13166.40", "10000.00", "0.00", "20721.60", "0.00", "0.00"},
			capped: []calc.Line{calc.Aid},
			check: func(t *testing.T, s *calc.Settlement) {
				want := []calc.BandUse{
					{From: mustMoney(t, "3000"), To: mustMoney(t, "50000"), Rate: mustRate(t, "60%")},
					{From: mustMoney(t, "50000"), To: mustMoney(t, "100000"), Rate: mustRate(t, "70%")},
					{From: mustMoney(t, "100000"), To: mustMoney(t, "135440"), Rate: mustRate(t, "80%")},
				}
				if got := s.Bands[:s.NumBands]; !slices.Equal(got, want) {
					t.Errorf("bands %+v, want %+v", got, want)
				}
			}},
		// rounded once, down: basic 90% × 0.20 = 0.18; burden 49999.99 → 50000.01:
		// 60% × 0.01 + 70% × 0.01 = 0.6 + 0.7 = 1.3 fen → 0.01 (each band rounded alone: 1 + 1
		// = 0.02); commercial 30% × 0.01 → 0; limit 10% × 0.20 = 0.02; the patient pays 0.01.
		{name: "CriticalBandsRoundedOnceDown", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("49999.99") }),
			claim:  tblClaim(t, calc.Township, calc.Inpatient, "0.20", "0.20"),
			want:   tblWant{"0.18", "0.01", "0.00", "0.00", "0.00", "0.01", "0.00", "0.00"}},
		// rounded once, up: basic 90% × 0.60 = 0.54; burden 49999.96 → 50000.02:
		// 60% × 0.04 + 70% × 0.02 = 2.4 + 1.4 = 3.8 fen → 0.04 (each band rounded alone: 2 + 1
		// = 0.03); commercial 30% × 0.02 = 0.6 fen → 0.01; limit 0.06; the patient pays 0.01.
		{name: "CriticalBandsRoundedOnceUp", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("49999.96") }),
			claim:  tblClaim(t, calc.Township, calc.Inpatient, "0.60", "0.60"),
			want:   tblWant{"0.54", "0.04", "0.01", "0.00", "0.00", "0.01", "0.00", "0.00"}},
		// variant cap 1000, 600 paid: burden 10000 → 14940: 60% × 4940 = 2964 cut to 400;
		// commercial 30% × 4540 = 1362; share 3178 − 1000 = 2178.
		{name: "CriticalCapLimits", policy: critCap, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden, l.CriticalPaid = yuan("10000"), yuan("600") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			want:   tblWant{"5060.00", "400.00", "1362.00", "0.00", "2178.00", "1000.00", "0.00", "0.00"},
			capped: []calc.Line{calc.Critical}},
		// variant cap 1000, all paid: critical 0, yet the burden still grows by 4940;
		// commercial 30% × 4940 = 1482; share 3458 − 1000 = 2458.
		{name: "CriticalCapExhausted", policy: critCap, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden, l.CriticalPaid = yuan("10000"), yuan("1000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			want:   tblWant{"5060.00", "0.00", "1482.00", "0.00", "2458.00", "1000.00", "0.00", "0.00"},
			capped: []calc.Line{calc.Critical}},
		// variant bands from 5000: burden 0 → 4040 is above the deductible but in no band:
		// critical 0; commercial 30% × 4040 = 1212 + 100 = 1312; share 2828 + 1900 − 1000 = 3728.
		{name: "BandsStartAboveDeductible", policy: bandsAbove, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:  tblWant{"3960.00", "0.00", "1312.00", "0.00", "3728.00", "1000.00", "100.00", "900.00"}},
		// variant deductible 4000 over bands from 3000: burden 0 → 4040: 60% × 40 = 24;
		// commercial 30% × 4016 = 1204.80 + 100 = 1304.80; share 2811.20 + 1900 − 1000 = 3711.20.
		{name: "DeductibleAboveFirstBand", policy: dedAbove, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:  tblWant{"3960.00", "24.00", "1304.80", "0.00", "3711.20", "1000.00", "100.00", "900.00"}},

		// ---- 3 commercial: registered poor only, 30% in-policy, 5% out, cap 100,000 ----

		// basic 90% × 0.50 = 0.45; commercial 30% × 0.05 = 1.5 fen → 0.02; limit 0.05;
		// the patient pays 0.03.
		{name: "CommercialInPolicyRoundsHalfUp", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "0.50", "0.50"),
			want:  tblWant{"0.45", "0.00", "0.02", "0.00", "0.00", "0.03", "0.00", "0.00"}},
		// commercial 5% × 0.10 = 0.5 fen → 0.01; limit 10% × 0.10 = 0.01; share 0.09 − 0.01.
		{name: "CommercialOutRoundsHalfUp", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "0.10", "0"),
			want:  tblWant{"0.00", "0.00", "0.01", "0.00", "0.08", "0.01", "0.01", "0.08"}},
		// commercial 5% × 0.09 = 0.45 fen → 0; limit 0.9 fen → 0.01; share 0.09 − 0.01.
		{name: "CommercialOutRoundsDown", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "0.09", "0"),
			want:  tblWant{"0.00", "0.00", "0.00", "0.00", "0.08", "0.01", "0.00", "0.08"}},
		// room 100: in-policy first, 30% × 3416 = 1024.80 → 100, out-of-policy 0;
		// share 3316 + 2000 − 1000 = 4316, of it 1000 out-of-policy.
		{name: "CommercialCapInPolicyFirst", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CommercialPaid = yuan("99900") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:   tblWant{"3960.00", "624.00", "100.00", "0.00", "4316.00", "1000.00", "0.00", "1000.00"},
			capped: []calc.Line{calc.Commercial}},
		// room 1100: in-policy 1024.80 whole, out-of-policy 100 cut to 75.20; share 2391.20 +
		// 1924.80 − 1000 = 3316, of it 3316 − 2391.20 = 924.80 out-of-policy.
		{name: "CommercialCapSplit", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CommercialPaid = yuan("98900") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:   tblWant{"3960.00", "624.00", "1100.00", "0.00", "3316.00", "1000.00", "75.20", "924.80"},
			capped: []calc.Line{calc.Commercial}},
		// cap used up: commercial 0; share 3416 + 2000 − 1000 = 4416.
		{name: "CommercialCapExhausted", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CommercialPaid = yuan("100000") }),
			claim:  tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"),
			want:   tblWant{"3960.00", "624.00", "0.00", "0.00", "4416.00", "1000.00", "0.00", "1000.00"},
			capped: []calc.Line{calc.Commercial}},

		// ---- 4 civil aid: on the in-policy remainder after commercial ----
		// The county claim of the Example: basic 85% × 4800 = 4080; remIn 920, no critical;
		// commercial 30% × 920 = 276 + 5% × 1000 = 50 → 326; remIn 644, remOut 950; limit 600.

		// no aid category: share 644 + 950 = 1594 − 600 = 994 (350 out).
		{name: "AidNone", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			want:  tblWant{"4080.00", "0.00", "326.00", "0.00", "994.00", "600.00", "50.00", "350.00"}},
		// dibao 60% × 644 = 386.40; share 257.60 + 950 − 600 = 607.60 (350 out).
		{name: "AidDibao", policy: p, person: tblPoorDibao, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			want:  tblWant{"4080.00", "0.00", "326.00", "386.40", "607.60", "600.00", "50.00", "350.00"}},
		// tekun 100% × 644; share 950 − 600 = 350, all out-of-policy.
		{name: "AidTekun", policy: p, person: tblPoorTekun, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			want:  tblWant{"4080.00", "0.00", "326.00", "644.00", "350.00", "600.00", "50.00", "350.00"}},
		// dibao room 10000 − 9900 = 100; share 544 + 950 − 600 = 894.
		{name: "AidDibaoCap", policy: p, person: tblPoorDibao,
			ledger: led(func(l *calc.Ledger) { l.AidPaid = yuan("9900") }),
			claim:  tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			want:   tblWant{"4080.00", "0.00", "326.00", "100.00", "894.00", "600.00", "50.00", "350.00"},
			capped: []calc.Line{calc.Aid}},
		// dibao cap used up: aid 0, as AidNone.
		{name: "AidDibaoCapExhausted", policy: p, person: tblPoorDibao,
			ledger: led(func(l *calc.Ledger) { l.AidPaid = yuan("10000") }),
			claim:  tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			want:   tblWant{"4080.00", "0.00", "326.00", "0.00", "994.00", "600.00", "50.00", "350.00"},
			capped: []calc.Line{calc.Aid}},
		// tekun room 30000 − 29800 = 200; share 444 + 950 − 600 = 794.
		{name: "AidTekunCap", policy: p, person: tblPoorTekun,
			ledger: led(func(l *calc.Ledger) { l.AidPaid = yuan("29800") }),
			claim:  tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			want:   tblWant{"4080.00", "0.00", "326.00", "200.00", "794.00", "600.00", "50.00", "350.00"},
			capped: []calc.Line{calc.Aid}},
		// tekun room 30000 − 29356 = 644 exactly: reached, not cut.
		{name: "AidTekunCapReachedExactly", policy: p, person: tblPoorTekun,
			ledger: led(func(l *calc.Ledger) { l.AidPaid = yuan("29356") }),
			claim:  tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			want:   tblWant{"4080.00", "0.00", "326.00", "644.00", "350.00", "600.00", "50.00", "350.00"}},
		// dibao but not registered poor: no commercial, aid 60% × 920 = 552, no backstop;
		// the patient pays 368 + 1000 = 1368.
		{name: "AidWithoutRegisteredPoor", policy: p, person: tblNotPoorDibao, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"),
			want:  tblWant{"4080.00", "0.00", "0.00", "552.00", "0.00", "1368.00", "0.00", "0.00"}},

		// ---- 5 backstop: registered poor only, ceiling round(10% × total) ----

		// basic 90% × 50 = 45; commercial 30% × 5 = 1.50 + 5% × 50.05 = 2.5025 → 2.50;
		// limit 10% × 100.05 = 10.005 → 10.01; share 3.50 + 47.55 = 51.05 − 10.01 = 41.04,
		// of it 41.04 − 3.50 = 37.54 out-of-policy.
		{name: "BackstopCeilingRoundsHalfUp", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "100.05", "50"),
			want:  tblWant{"45.00", "0.00", "4.00", "0.00", "41.04", "10.01", "2.50", "37.54"}},
		// as above with total 100.04: out 5% × 50.04 = 2.502 → 2.50; limit 10.004 → 10.00;
		// share 3.50 + 47.54 = 51.04 − 10.00 = 41.04 (37.54 out).
		{name: "BackstopCeilingRoundsDown", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "100.04", "50"),
			want:  tblWant{"45.00", "0.00", "4.00", "0.00", "41.04", "10.00", "2.50", "37.54"}},
		// all in-policy: basic 5060; burden 0 → 4940: 60% × 1940 = 1164; commercial
		// 30% × 3776 = 1132.80; share 2643.20 − 1000 = 1643.20, all from remIn.
		{name: "BackstopFromInPolicyOnly", policy: p, person: tblPoor, ledger: fresh,
			claim: tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"),
			want:  tblWant{"5060.00", "1164.00", "1132.80", "0.00", "1643.20", "1000.00", "0.00", "0.00"}},
		// tekun: basic 90% × 1700 = 1530; commercial 30% × 170 = 51 + 5% × 200 = 10 → 61;
		// aid 119; share 190 = limit 10% × 1900: backstop 0.
		{name: "BackstopShareEqualsLimit", policy: p, person: tblPoorTekun, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "1900", "1700"),
			want:  tblWant{"1530.00", "0.00", "61.00", "119.00", "0.00", "190.00", "10.00", "0.00"}},
		// one fen more out-of-policy: basic 90% × 1699.99 = 1529.991 → 1529.99; remIn 170;
		// commercial 51 + 5% × 200.01 = 10.0005 → 10.00; aid 119; share 190.01 − 190 = 0.01.
		{name: "BackstopOneFenOverLimit", policy: p, person: tblPoorTekun, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "1900", "1699.99"),
			want:  tblWant{"1529.99", "0.00", "61.00", "119.00", "0.01", "190.00", "10.00", "0.01"}},
		// not registered poor: no commercial, no backstop. basic 55% × 4200 = 2310; burden
		// 2690 under 3000; the patient pays 2690 + 5000 = 7690, 76.9% of the total.
		{name: "NotRegisteredPoor", policy: p, person: tblNotPoor, ledger: fresh,
			claim: tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "5000"),
			want:  tblWant{"2310.00", "0.00", "0.00", "0.00", "0.00", "7690.00", "0.00", "0.00"}},

		// ---- edges ----

		// nothing in-policy: commercial 5% × 5000 = 250; aid 60% × 0 = 0; share 4750 − 500 = 4250.
		{name: "InPolicyZero", policy: p, person: tblPoorDibao, ledger: fresh,
			claim: tblClaim(t, calc.County, calc.Inpatient, "5000", "0"),
			want:  tblWant{"0.00", "0.00", "250.00", "0.00", "4250.00", "500.00", "250.00", "4250.00"}},
		// nothing in-policy, burden 4000 already above the deductible: the slice is empty,
		// critical 0; commercial 5% × 800 = 40; share 760 − 80 = 680.
		{name: "InPolicyZeroBurdenAboveDeductible", policy: p, person: tblPoor,
			ledger: led(func(l *calc.Ledger) { l.CriticalBurden = yuan("4000") }),
			claim:  tblClaim(t, calc.Township, calc.Inpatient, "800", "0"),
			want:   tblWant{"0.00", "0.00", "40.00", "0.00", "680.00", "80.00", "40.00", "680.00"}},
		// all in-policy, tekun: basic 900; commercial 30; aid 70; the patient pays nothing.
		{name: "InPolicyEqualsTotal", policy: p, person: tblPoorTekun, ledger: fresh,
			claim: tblClaim(t, calc.Township, calc.Inpatient, "1000", "1000"),
			want:  tblWant{"900.00", "0.00", "30.00", "70.00", "0.00", "0.00", "0.00", "0.00"}},
		// the largest claim: basic 50% × 99999000 cut to the cap 200000; burden 0 → 99800000:
		// 28200 + 35000 + 80% × 99700000 = 79823200; commercial 30% × 19976800 cut to 100000;
		// tekun aid cut to 30000; share 19846800 − limit 10000000 = 9846800.
		{name: "MaxAmountClaim", policy: p, person: tblPoorTekun, ledger: fresh,
			claim:  tblClaim(t, calc.OutOfProvince, calc.Inpatient, "100000000", "100000000"),
			want:   tblWant{"200000.00", "79823200.00", "100000.00", "30000.00", "9846800.00", "10000000.00", "0.00", "0.00"},
			capped: []calc.Line{calc.Basic, calc.Commercial, calc.Aid}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, after, err := calc.Settle(tt.policy, tt.person, tt.ledger, tt.claim)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := tblGot(&s), tt.want; got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if got, want := tblCapped(&s), tt.capped; !slices.Equal(got, want) {
				t.Errorf("capped lines %v, want %v", got, want)
			}
			tblCheckSettlement(t, tt.policy, tt.person, tt.ledger, tt.claim, &s, after)
			if tt.check != nil {
				tt.check(t, &s)
			}

			// SettleInto into a dirty buffer agrees with Settle.
			into := calc.Settlement{ClaimID: "junk", NumBands: 2, OutOfPocket: 1}
			l, person, c := tt.ledger, tt.person, tt.claim
			if err := calc.SettleInto(&into, tt.policy, &person, &l, &c); err != nil {
				t.Fatal(err)
			}
			if into != s || l != after {
				t.Errorf("SettleInto gives\n %+v, %+v\nSettle gives\n %+v, %+v", into, l, s, after)
			}
		})
	}
}

// TestSettleWorkings checks what a settlement records for its explanation, on the claim
// of the Example (county, 6,000.00 total, 5,000.00 in-policy, dibao).
func TestSettleWorkings(t *testing.T) {
	p := pingxiang2018(t)
	s, _, err := calc.Settle(p, tblPoorDibao, calc.Ledger{}, tblClaim(t, calc.County, calc.Inpatient, "6000", "5000"))
	if err != nil {
		t.Fatal(err)
	}
	m := func(s string) calc.Money { t.Helper(); return mustMoney(t, s) }
	r := func(s string) calc.Rate { t.Helper(); return mustRate(t, s) }
	want := [calc.NumLines]calc.LineResult{
		calc.Basic: {Applies: true, Base: m("5000"), Deductible: m("200"), Rate: r("85%"),
			Computed: m("4080"), CapRoom: m("200000"), Amount: m("4080")},
		calc.Critical: {Applies: true, Base: m("920"), Deductible: m("3000"), CapRoom: calc.NoCap},
		calc.Commercial: {Applies: true, Base: m("920"), BaseOut: m("1000"), Rate: r("30%"), RateOut: r("5%"),
			Computed: m("326"), CapRoom: m("100000"), Amount: m("326"), AmountOut: m("50")},
		calc.Aid: {Applies: true, Base: m("644"), Rate: r("60%"), Computed: m("386.40"),
			CapRoom: m("10000"), Amount: m("386.40")},
		// share 257.60 + 950 = 1207.60; ceiling 600; 607.60 of which 350 out-of-policy.
		calc.Backstop: {Applies: true, Base: m("1207.60"), Deductible: m("600"), Rate: r("10%"),
			Computed: m("607.60"), CapRoom: calc.NoCap, Amount: m("607.60"), AmountOut: m("350")},
	}
	for _, l := range calc.Lines() {
		if got := s.Lines[l]; got != want[l] {
			t.Errorf("%s workings\n got %+v\nwant %+v", l, got, want[l])
		}
	}
	if s.ClaimID != "C1" || s.PersonID != "P1" || s.PolicyVersion != "pingxiang-2018" || s.Year != 2018 ||
		s.Kind != calc.Inpatient || s.Level != calc.County || s.Aid != calc.Dibao ||
		s.Total != m("6000") || s.InPolicy != m("5000") || s.BurdenBefore != 0 || s.NumBands != 0 {
		t.Errorf("settlement header %+v", s)
	}
}

// TestSettleErrors checks every refusal of Settle and that a refusal settles nothing.
func TestSettleErrors(t *testing.T) {
	p := pingxiang2018(t)
	good := tblClaim(t, calc.County, calc.Inpatient, "6000", "5000")
	change := func(f func(c *calc.Claim)) calc.Claim { c := good; f(&c); return c }
	tests := []struct {
		name       string
		person     calc.Person
		ledger     calc.Ledger
		claim      calc.Claim
		wantErr    error
		wantFields []string // the ValidationError's fields, in order
	}{
		{name: "EmptyClaimID", person: tblPoor, claim: change(func(c *calc.Claim) { c.ID = "" }),
			wantErr: calc.ErrInvalid, wantFields: []string{"claim_id"}},
		{name: "EmptyPersonID", person: tblPoor, claim: change(func(c *calc.Claim) { c.PersonID = "" }),
			wantErr: calc.ErrInvalid, wantFields: []string{"person_id"}},
		{name: "UnknownLevel", person: tblPoor, claim: change(func(c *calc.Claim) { c.Level = calc.NumLevels }),
			wantErr: calc.ErrInvalid, wantFields: []string{"level"}},
		{name: "UnknownKind", person: tblPoor, claim: change(func(c *calc.Claim) { c.Kind = calc.NumKinds }),
			wantErr: calc.ErrInvalid, wantFields: []string{"kind"}},
		// a negative total is also below in_policy 0.
		{name: "NegativeTotal", person: tblPoor, claim: change(func(c *calc.Claim) { c.Total, c.InPolicy = -1, 0 }),
			wantErr: calc.ErrInvalid, wantFields: []string{"total", "in_policy"}},
		{name: "NegativeInPolicy", person: tblPoor, claim: change(func(c *calc.Claim) { c.InPolicy = -1 }),
			wantErr: calc.ErrInvalid, wantFields: []string{"in_policy"}},
		{name: "InPolicyOverTotal", person: tblPoor, claim: change(func(c *calc.Claim) { c.InPolicy = c.Total + 1 }),
			wantErr: calc.ErrInvalid, wantFields: []string{"in_policy"}},
		{name: "TotalOverMaxAmount", person: tblPoor, claim: change(func(c *calc.Claim) { c.Total = calc.MaxAmount + 1 }),
			wantErr: calc.ErrInvalid, wantFields: []string{"total"}},
		{name: "BothOverMaxAmount", person: tblPoor,
			claim:   change(func(c *calc.Claim) { c.Total, c.InPolicy = calc.MaxAmount+1, calc.MaxAmount+1 }),
			wantErr: calc.ErrInvalid, wantFields: []string{"total", "in_policy"}},
		{name: "ZeroTotal", person: tblPoor, claim: change(func(c *calc.Claim) { c.Total, c.InPolicy = 0, 0 }),
			wantErr: calc.ErrInvalid, wantFields: []string{"total"}},
		{name: "AdmittedInYear1", person: tblPoor, claim: change(func(c *calc.Claim) { c.AdmittedOn = mustDate(t, "0001-01-01") }),
			wantErr: calc.ErrInvalid, wantFields: []string{"admitted_on"}},
		{name: "AdmittedIn1900", person: tblPoor, claim: change(func(c *calc.Claim) { c.AdmittedOn = mustDate(t, "1900-06-01") }),
			wantErr: calc.ErrInvalid, wantFields: []string{"admitted_on"}},
		{name: "ChronicBillOf364Days", person: tblPoor, claim: change(func(c *calc.Claim) {
			c.Kind, c.AdmittedOn = calc.OutpatientChronic, c.DischargedOn-364
		}), wantErr: calc.ErrInvalid, wantFields: []string{"admitted_on"}},
		{name: "DischargeBeforeAdmission", person: tblPoor, claim: change(func(c *calc.Claim) { c.AdmittedOn = c.DischargedOn + 1 }),
			wantErr: calc.ErrInvalid, wantFields: []string{"discharged_on"}},
		{name: "EverythingWrong", person: tblPoor, claim: calc.Claim{Level: 9, Kind: 9, Total: -5, InPolicy: 0,
			AdmittedOn: mustDate(t, "2018-06-02"), DischargedOn: mustDate(t, "2018-06-01")},
			wantErr:    calc.ErrInvalid,
			wantFields: []string{"claim_id", "person_id", "level", "kind", "total", "in_policy", "discharged_on"}},
		{name: "WrongPerson", person: calc.Person{ID: "P2", RegisteredPoor: true}, claim: good,
			wantErr: calc.ErrWrongPerson},
		{name: "DischargedBeforePolicy", person: tblPoor,
			claim: change(func(c *calc.Claim) {
				c.AdmittedOn, c.DischargedOn = mustDate(t, "2017-12-20"), mustDate(t, "2017-12-31")
			}),
			wantErr: calc.ErrNoPolicy},
		{name: "DischargedAfterPolicy", person: tblPoor,
			claim:   change(func(c *calc.Claim) { c.DischargedOn = mustDate(t, "2019-01-01") }),
			wantErr: calc.ErrNoPolicy},
		{name: "LedgerOfAnotherYear", person: tblPoor, ledger: calc.Ledger{Year: 2017, Claims: 3}, claim: good,
			wantErr: calc.ErrLedgerYear},
		{name: "UnusedLedgerOfAnotherYear", person: tblPoor, ledger: calc.Ledger{Year: 2019}, claim: good,
			wantErr: calc.ErrLedgerYear},
		{name: "LedgerWithoutYear", person: tblPoor, ledger: calc.Ledger{Claims: 1}, claim: good,
			wantErr: calc.ErrLedgerYear},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, after, err := calc.Settle(p, tt.person, tt.ledger, tt.claim)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Settle error %v, want %v", err, tt.wantErr)
			}
			if s != (calc.Settlement{}) || after != tt.ledger {
				t.Errorf("on error: settlement %+v, ledger %+v; want zero and unchanged", s, after)
			}
			var ve *calc.ValidationError
			isVE := errors.As(err, &ve)
			if tt.wantFields == nil {
				if isVE {
					t.Errorf("error %v is a ValidationError", err)
				}
			} else {
				var got []string
				if isVE {
					for _, f := range ve.Fields {
						got = append(got, f.Field)
					}
				}
				if !slices.Equal(got, tt.wantFields) {
					t.Errorf("error %v names fields %q, want %q", err, got, tt.wantFields)
				}
				if got, want := ve.What, "claim "+tt.claim.ID; got != want {
					t.Errorf("ValidationError.What = %q, want %q", got, want)
				}
			}

			// SettleInto leaves the ledger alone and zeroes the settlement.
			into := calc.Settlement{ClaimID: "junk", OutOfPocket: 1}
			l, person, c := tt.ledger, tt.person, tt.claim
			if err := calc.SettleInto(&into, p, &person, &l, &c); !errors.Is(err, tt.wantErr) {
				t.Fatalf("SettleInto error %v, want %v", err, tt.wantErr)
			}
			if into != (calc.Settlement{}) || l != tt.ledger {
				t.Errorf("SettleInto on error: settlement %+v, ledger %+v; want zero and unchanged", into, l)
			}
		})
	}
}

// TestSettleLedgerYear checks that a fresh ledger takes the discharge year, on its first
// and last day, and that a ledger of that year is used as it is.
func TestSettleLedgerYear(t *testing.T) {
	p := pingxiang2018(t)
	tests := []struct {
		name   string
		ledger calc.Ledger
		date   string
	}{
		{"FreshOnJanuary1", calc.Ledger{}, "2018-01-01"},
		{"FreshOnDecember31", calc.Ledger{}, "2018-12-31"},
		{"Unused2018", calc.Ledger{Year: 2018}, "2018-12-31"},
		{"Used2018", calc.Ledger{Year: 2018, Claims: 4}, "2018-01-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := tblClaimOn(t, "C1", tt.date, calc.Township, calc.Inpatient, "100", "100")
			s, after, err := calc.Settle(p, tblPoor, tt.ledger, c)
			if err != nil {
				t.Fatal(err)
			}
			if s.Year != 2018 || after.Year != 2018 || after.Claims != tt.ledger.Claims+1 {
				t.Errorf("settlement year %d, ledger %+v; want 2018 and %d claims", s.Year, after, tt.ledger.Claims+1)
			}
		})
	}
}

// TestSettleDoesNotChangeInputs checks that Settle changes neither the policy (nor its
// Bands slice), nor the ledger, person or claim it is given.
func TestSettleDoesNotChangeInputs(t *testing.T) {
	p := pingxiang2018(t)
	keepPolicy := p.Clone()
	bands := p.Critical.Bands
	keepBands := slices.Clone(bands)
	ledger := calc.Ledger{Year: 2018, Claims: 2, CriticalBurden: mustMoney(t, "48000"), BasicInpatient: mustMoney(t, "1000")}
	keepLedger := ledger
	person := tblPoorDibao
	c := tblClaim(t, calc.Provincial, calc.Inpatient, "300000", "250000")
	keepClaim := c

	s, after, err := calc.Settle(p, person, ledger, c)
	if err != nil {
		t.Fatal(err)
	}
	if s.NumBands != 3 || after == ledger {
		t.Fatalf("the claim should cross bands and change the ledger: %d bands, ledger %+v", s.NumBands, after)
	}
	if !reflect.DeepEqual(p, keepPolicy) {
		t.Errorf("Settle changed the policy:\n got %+v\nwant %+v", p, keepPolicy)
	}
	if !slices.Equal(bands, keepBands) || len(p.Critical.Bands) != len(keepBands) || &p.Critical.Bands[0] != &bands[0] {
		t.Errorf("Settle changed the policy's bands: %+v, want %+v", p.Critical.Bands, keepBands)
	}
	if ledger != keepLedger || person != tblPoorDibao || c != keepClaim {
		t.Errorf("Settle changed its arguments: ledger %+v, person %+v, claim %+v", ledger, person, c)
	}
}

// tblSequence is one person's 2018 under pingxiang-2018: P1, registered poor on dibao.
// Each step has the settlement's amounts and the whole ledger after it, worked by hand.
func tblSequence(tb testing.TB) []struct {
	claim calc.Claim
	want  tblWant
	after calc.Ledger
} {
	tb.Helper()
	m := func(s string) calc.Money { tb.Helper(); return mustMoney(tb, s) }
	return []struct {
		claim calc.Claim
		want  tblWant
		after calc.Ledger
	}{
		// basic 55% × 7200 = 3960; burden 0 → 4040: 60% × 1040 = 624; commercial
		// 30% × 3416 = 1024.80 + 5% × 2000 = 100 → 1124.80; aid 60% × 2391.20 = 1434.72;
		// share 956.48 + 1900 − 1000 = 1856.48 (900 out).
		{tblClaimOn(tb, "S1", "2018-02-01", calc.Provincial, calc.Inpatient, "10000", "8000"),
			tblWant{"3960.00", "624.00", "1124.80", "1434.72", "1856.48", "1000.00", "100.00", "900.00"},
			calc.Ledger{Year: 2018, Claims: 1, BasicInpatient: m("3960"), CriticalBurden: m("4040"), CriticalPaid: m("624"),
				CommercialPaid: m("1124.80"), AidPaid: m("1434.72"), BackstopPaid: m("1856.48"), OutOfPocket: m("1000"), Total: m("10000")}},
		// chronic 80% × 1000 = 800; burden 4040 → 4240, above the deductible from the first
		// fen: 60% × 200 = 120; commercial 30% × 80 = 24; aid 60% × 56 = 33.60; share 22.40
		// within the limit 100.
		{tblClaimOn(tb, "S2", "2018-03-01", calc.Township, calc.OutpatientChronic, "1000", "1000"),
			tblWant{"800.00", "120.00", "24.00", "33.60", "0.00", "22.40", "0.00", "0.00"},
			calc.Ledger{Year: 2018, Claims: 2, BasicInpatient: m("3960"), BasicChronic: m("800"), CriticalBurden: m("4240"), CriticalPaid: m("744"),
				CommercialPaid: m("1148.80"), AidPaid: m("1468.32"), BackstopPaid: m("1856.48"), OutOfPocket: m("1022.40"), Total: m("11000")}},
		// basic 55% × 99200 = 54560; burden 4240 → 49680: 60% × 45440 = 27264; commercial
		// 30% × 18176 = 5452.80; aid 60% × 12723.20 = 7633.92 (room 8531.68); share 5089.28
		// within the limit 10000.
		{tblClaimOn(tb, "S3", "2018-05-01", calc.Provincial, calc.Inpatient, "100000", "100000"),
			tblWant{"54560.00", "27264.00", "5452.80", "7633.92", "0.00", "5089.28", "0.00", "0.00"},
			calc.Ledger{Year: 2018, Claims: 3, BasicInpatient: m("58520"), BasicChronic: m("800"), CriticalBurden: m("49680"), CriticalPaid: m("28008"),
				CommercialPaid: m("6601.60"), AidPaid: m("9102.24"), BackstopPaid: m("1856.48"), OutOfPocket: m("6111.68"), Total: m("111000")}},
		// basic 55% × 279200 = 153560 cut to the room 200000 − 59320 = 140680; remIn 139320;
		// burden 49680 → 189000: 60% × 320 + 70% × 50000 + 80% × 89000 = 192 + 35000 + 71200 =
		// 106392; remIn 32928; commercial 30% × 32928 = 9878.40 + 5% × 20000 = 1000 →
		// 10878.40 (room 93398.40); aid 60% × 23049.60 = 13829.76 cut to the room 897.76;
		// share 22151.84 + 19000 = 41151.84 − limit 30000 = 11151.84, all in-policy.
		{tblClaimOn(tb, "S4", "2018-08-01", calc.Provincial, calc.Inpatient, "300000", "280000"),
			tblWant{"140680.00", "106392.00", "10878.40", "897.76", "11151.84", "30000.00", "1000.00", "0.00"},
			calc.Ledger{Year: 2018, Claims: 4, BasicInpatient: m("199200"), BasicChronic: m("800"), CriticalBurden: m("189000"), CriticalPaid: m("134400"),
				CommercialPaid: m("17480"), AidPaid: m("10000"), BackstopPaid: m("13008.32"), OutOfPocket: m("36111.68"), Total: m("411000")}},
		// the annual basic cap is used up (199200 + 800): chronic basic 0 although its
		// sub-cap has room; burden 189000 → 189500: 80% × 500 = 400; commercial 30% × 100 =
		// 30; aid cap used up: 0; share 70 − limit 50 = 20.
		{tblClaimOn(tb, "S5", "2018-10-01", calc.Township, calc.OutpatientChronic, "500", "500"),
			tblWant{"0.00", "400.00", "30.00", "0.00", "20.00", "50.00", "0.00", "0.00"},
			calc.Ledger{Year: 2018, Claims: 5, BasicInpatient: m("199200"), BasicChronic: m("800"), CriticalBurden: m("189500"), CriticalPaid: m("134800"),
				CommercialPaid: m("17510"), AidPaid: m("10000"), BackstopPaid: m("13028.32"), OutOfPocket: m("36161.68"), Total: m("411500")}},
	}
}

// tblSettleSequence settles the steps of tblSequence and returns the settlements and the
// ledgers: ledgers[0] is fresh, ledgers[i+1] the one after settlement i.
func tblSettleSequence(t *testing.T, p *calc.Policy) ([]calc.Settlement, []calc.Ledger) {
	t.Helper()
	ledgers := []calc.Ledger{{}}
	var settled []calc.Settlement
	for _, st := range tblSequence(t) {
		s, next, err := calc.Settle(p, tblPoorDibao, ledgers[len(ledgers)-1], st.claim)
		if err != nil {
			t.Fatalf("claim %s: %v", st.claim.ID, err)
		}
		settled = append(settled, s)
		ledgers = append(ledgers, next)
	}
	return settled, ledgers
}

// TestSettleSequence follows one person's year claim by claim: the burden accumulates
// across claims and bands, the basic annual cap and the aid cap bind across claims, and
// every ledger total is checked after every step.
func TestSettleSequence(t *testing.T) {
	p := pingxiang2018(t)
	steps := tblSequence(t)
	settled, ledgers := tblSettleSequence(t, p)
	for i, st := range steps {
		t.Run(st.claim.ID, func(t *testing.T) {
			s := &settled[i]
			if got, want := tblGot(s), st.want; got != want {
				t.Errorf("got  %+v\nwant %+v", got, want)
			}
			if got, want := ledgers[i+1], st.after; got != want {
				t.Errorf("ledger after\n got %+v\nwant %+v", got, want)
			}
			if got, want := s.BurdenBefore, ledgers[i].CriticalBurden; got != want {
				t.Errorf("burden before %s, want %s", got, want)
			}
			tblCheckSettlement(t, p, tblPoorDibao, ledgers[i], st.claim, s, ledgers[i+1])
		})
	}
}

// TestLedgerReverse checks that a reversal gives back exactly what the reversed claim took
// from each ledger total, and refuses what is not in the ledger.
func TestLedgerReverse(t *testing.T) {
	p := pingxiang2018(t)
	m := func(s string) calc.Money { t.Helper(); return mustMoney(t, s) }
	settled, ledgers := tblSettleSequence(t, p)
	final := ledgers[len(ledgers)-1]

	t.Run("LastGivesBackPreviousLedger", func(t *testing.T) {
		for i := range settled {
			got, err := ledgers[i+1].Reverse(&settled[i])
			if err != nil {
				t.Fatalf("reverse %s: %v", settled[i].ClaimID, err)
			}
			want := ledgers[i]
			want.Year = 2018 // the fresh ledger took the year from the first claim
			if got != want {
				t.Errorf("reverse %s:\n got %+v\nwant %+v", settled[i].ClaimID, got, want)
			}
		}
	})
	t.Run("Middle", func(t *testing.T) {
		// S3 took basic 54560 (inpatient), burden 45440, critical 27264, commercial
		// 5452.80, aid 7633.92, backstop 0, out-of-pocket 5089.28, total 100000.
		got, err := final.Reverse(&settled[2])
		if err != nil {
			t.Fatal(err)
		}
		want := calc.Ledger{Year: 2018, Claims: 4, BasicInpatient: m("144640"), BasicChronic: m("800"),
			CriticalBurden: m("144060"), CriticalPaid: m("107536"), CommercialPaid: m("12057.20"),
			AidPaid: m("2366.08"), BackstopPaid: m("13028.32"), OutOfPocket: m("31072.40"), Total: m("311500")}
		if got != want {
			t.Errorf("\n got %+v\nwant %+v", got, want)
		}
	})
	t.Run("Chronic", func(t *testing.T) {
		// S2 is outpatient_chronic: its basic 800 comes off BasicChronic, not BasicInpatient.
		got, err := final.Reverse(&settled[1])
		if err != nil {
			t.Fatal(err)
		}
		if got.BasicChronic != 0 || got.BasicInpatient != final.BasicInpatient || got.CriticalBurden != m("189300") {
			t.Errorf("after reversing S2: %+v", got)
		}
	})
	t.Run("AllInAnyOrder", func(t *testing.T) {
		for _, order := range [][]int{{4, 3, 2, 1, 0}, {0, 1, 2, 3, 4}, {2, 0, 4, 1, 3}} {
			l := final
			for _, i := range order {
				var err error
				if l, err = l.Reverse(&settled[i]); err != nil {
					t.Fatalf("order %v, reverse %s: %v", order, settled[i].ClaimID, err)
				}
			}
			if got, want := l, (calc.Ledger{Year: 2018}); got != want {
				t.Errorf("order %v: %+v, want %+v", order, got, want)
			}
		}
	})
	t.Run("ResettleAfterReversal", func(t *testing.T) {
		back, err := final.Reverse(&settled[4])
		if err != nil {
			t.Fatal(err)
		}
		s, again, err := calc.Settle(p, tblPoorDibao, back, tblSequence(t)[4].claim)
		if err != nil {
			t.Fatal(err)
		}
		if s != settled[4] || again != final {
			t.Errorf("settling S5 again differs:\n got %+v\nwant %+v", s, settled[4])
		}
	})
	t.Run("Twice", func(t *testing.T) {
		back, err := final.Reverse(&settled[2])
		if err != nil {
			t.Fatal(err)
		}
		// aid 2366.08 − 7633.92 would be negative.
		got, err := back.Reverse(&settled[2])
		if !errors.Is(err, calc.ErrLedgerNegate) {
			t.Errorf("reversing S3 twice: %v, want ErrLedgerNegate", err)
		}
		if got != back {
			t.Errorf("a refused reversal changed the ledger: %+v", got)
		}
	})
	t.Run("NotInLedger", func(t *testing.T) {
		// S4 is larger than all S1 took.
		got, err := ledgers[1].Reverse(&settled[3])
		if !errors.Is(err, calc.ErrLedgerNegate) || got != ledgers[1] {
			t.Errorf("reverse S4 from the ledger after S1: %+v, %v; want ErrLedgerNegate", got, err)
		}
		unused := calc.Ledger{Year: 2018}
		if got, err := unused.Reverse(&settled[0]); !errors.Is(err, calc.ErrLedgerNegate) || got != unused {
			t.Errorf("reverse from an unused ledger: %+v, %v; want ErrLedgerNegate", got, err)
		}
	})
	t.Run("AnotherYear", func(t *testing.T) {
		p19 := pingxiang2018(t)
		p19.Version, p19.From, p19.To = "test-2019", mustDate(t, "2019-01-01"), mustDate(t, "2019-12-31")
		c := tblClaimOn(t, "N1", "2019-02-01", calc.County, calc.Inpatient, "600", "500")
		s19, _, err := calc.Settle(p19, tblPoorDibao, calc.Ledger{}, c)
		if err != nil {
			t.Fatal(err)
		}
		got, err := final.Reverse(&s19)
		if !errors.Is(err, calc.ErrLedgerYear) || got != final {
			t.Errorf("reverse a 2019 claim from the 2018 ledger: %+v, %v; want ErrLedgerYear", got, err)
		}
		if _, err := (calc.Ledger{}).Reverse(&settled[0]); !errors.Is(err, calc.ErrLedgerYear) {
			t.Errorf("reverse from a zero ledger: %v, want ErrLedgerYear", err)
		}
	})
}

// TestExplain pins the explanation of each line in each of its forms.
func TestExplain(t *testing.T) {
	p := pingxiang2018(t)
	critCap := pingxiang2018(t)
	critCap.Critical.AnnualCap = mustMoney(t, "1000")
	bandsAbove := pingxiang2018(t)
	bandsAbove.Critical.Bands[0].From = mustMoney(t, "5000")
	yuan := func(s string) calc.Money { t.Helper(); return mustMoney(t, s) }
	led := func(f func(l *calc.Ledger)) calc.Ledger {
		l := calc.Ledger{Year: 2018, Claims: 1}
		f(&l)
		return l
	}
	example := tblClaim(t, calc.County, calc.Inpatient, "6000", "5000")
	tests := []struct {
		name   string
		policy *calc.Policy
		person calc.Person
		ledger calc.Ledger
		claim  calc.Claim
		line   calc.Line
		want   string
	}{
		{"Basic", p, tblPoorDibao, calc.Ledger{}, example, calc.Basic,
			"basic: 85% × (5,000.00 − 200.00) = 4,080.00"},
		{"BasicNoDeductible", p, tblPoor, calc.Ledger{}, tblClaim(t, calc.Township, calc.Inpatient, "1000", "900"), calc.Basic,
			"basic: 90% × 900.00 = 810.00"},
		{"BasicUnderDeductible", p, tblPoor, calc.Ledger{}, tblClaim(t, calc.Provincial, calc.Inpatient, "700", "600"), calc.Basic,
			"basic: in-policy 600.00 is under the deductible 800.00 = 0.00"},
		{"BasicChronicCapped", p, tblPoor, led(func(l *calc.Ledger) { l.BasicChronic = yuan("9500") }),
			tblClaim(t, calc.Township, calc.OutpatientChronic, "1000", "1000"), calc.Basic,
			"basic (outpatient_chronic): 80% × 1,000.00 = 800.00, limited to the cap room 500.00"},
		{"BasicCapUsedUp", p, tblPoor, led(func(l *calc.Ledger) { l.BasicInpatient = yuan("200000") }),
			tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"), calc.Basic,
			"basic: 55% × (8,000.00 − 800.00) = 3,960.00, limited to the cap room 0.00"},
		{"CriticalUnderDeductible", p, tblPoorDibao, calc.Ledger{}, example, calc.Critical,
			"critical: burden 0.00 → 920.00 stays under the annual deductible 3,000.00 = 0.00"},
		{"CriticalCrossesDeductible", p, tblPoor, calc.Ledger{}, tblClaim(t, calc.County, calc.Inpatient, "20000", "20000"), calc.Critical,
			"critical: burden 0.00 → 3,170.00 crosses the annual deductible 3,000.00; 60% × 170.00 = 102.00"},
		{"CriticalTwoBands", p, tblPoor, led(func(l *calc.Ledger) { l.CriticalBurden = yuan("48000") }),
			tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"), calc.Critical,
			"critical: burden 48,000.00 → 52,940.00; 60% × 2,000.00 + 70% × 2,940.00 = 3,258.00"},
		{"CriticalCapped", critCap, tblPoor, led(func(l *calc.Ledger) { l.CriticalBurden, l.CriticalPaid = yuan("10000"), yuan("600") }),
			tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "10000"), calc.Critical,
			"critical: burden 10,000.00 → 14,940.00; 60% × 4,940.00 = 2,964.00, limited to the cap room 400.00"},
		{"CriticalNothingAdded", p, tblPoor, led(func(l *calc.Ledger) { l.CriticalBurden = yuan("4000") }),
			tblClaim(t, calc.Township, calc.Inpatient, "800", "0"), calc.Critical,
			"critical: burden 4,000.00 → 4,000.00, no in-policy cost left after basic = 0.00"},
		{"CriticalNoPayingBand", bandsAbove, tblPoor, calc.Ledger{}, tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"), calc.Critical,
			"critical: burden 0.00 → 4,040.00 falls in no paying band = 0.00"},
		{"Commercial", p, tblPoorDibao, calc.Ledger{}, example, calc.Commercial,
			"commercial: 30% × 920.00 + 5% × 1,000.00 = 326.00"},
		{"CommercialCapped", p, tblPoor, led(func(l *calc.Ledger) { l.CommercialPaid = yuan("99900") }),
			tblClaim(t, calc.Provincial, calc.Inpatient, "10000", "8000"), calc.Commercial,
			"commercial: 30% × 3,416.00 + 5% × 2,000.00 = 1,124.80, limited to the cap room 100.00"},
		{"CommercialNotPoor", p, tblNotPoor, calc.Ledger{}, example, calc.Commercial,
			"commercial: not registered poor = 0.00"},
		{"AidDibao", p, tblPoorDibao, calc.Ledger{}, example, calc.Aid,
			"aid (dibao): 60% × 644.00 = 386.40"},
		{"AidTekunCapped", p, tblPoorTekun, led(func(l *calc.Ledger) { l.AidPaid = yuan("29800") }), example, calc.Aid,
			"aid (tekun): 100% × 644.00 = 644.00, limited to the cap room 200.00"},
		{"AidNone", p, tblPoor, calc.Ledger{}, example, calc.Aid,
			"aid: no aid category = 0.00"},
		{"Backstop", p, tblPoorDibao, calc.Ledger{}, example, calc.Backstop,
			"backstop: share 1,207.60 − ceiling 10% × 6,000.00 (600.00) = 607.60"},
		{"BackstopWithinCeiling", p, tblPoorTekun, calc.Ledger{}, tblClaim(t, calc.Township, calc.Inpatient, "1900", "1700"), calc.Backstop,
			"backstop: share 190.00 is within the ceiling 10% × 1,900.00 = 190.00: pays 0.00"},
		{"BackstopNotPoor", p, tblNotPoor, calc.Ledger{}, example, calc.Backstop,
			"backstop: not registered poor = 0.00; patient pays 1,920.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _, err := calc.Settle(tt.policy, tt.person, tt.ledger, tt.claim)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.Explain(tt.line); got != tt.want {
				t.Errorf("Explain(%s)\n got %q\nwant %q", tt.line, got, tt.want)
			}
		})
	}
}

// TestSettleRefusesUnvalidatedPolicy: a policy that skipped Validate with too many bands
// is refused with an error, not a panic.
func TestSettleRefusesUnvalidatedPolicy(t *testing.T) {
	p := pingxiang2018(t)
	for i := range calc.MaxBands {
		p.Critical.Bands = append(p.Critical.Bands, calc.Band{From: calc.Money(200_000_00 + i), Rate: calc.RateOne})
	}
	c := calc.Claim{ID: "C1", PersonID: "P1", Level: calc.Provincial, AdmittedOn: mustDate(t, "2018-03-01"),
		DischargedOn: mustDate(t, "2018-03-02"), Total: calc.MaxAmount, InPolicy: calc.MaxAmount}
	if _, _, err := calc.Settle(p, calc.Person{ID: "P1", RegisteredPoor: true}, calc.Ledger{}, c); !errors.Is(err, calc.ErrInvalid) {
		t.Errorf("Settle with %d bands: %v, want ErrInvalid", len(p.Critical.Bands), err)
	}
}

// TestClaimPeriod: a claim spans at most LongestPeriod days of its kind, from admission
// to discharge; one day more is refused on admitted_on.
func TestClaimPeriod(t *testing.T) {
	discharged := mustDate(t, "2018-12-31")
	for _, tt := range []struct {
		kind calc.Kind
		days int
		ok   bool
	}{
		{calc.Inpatient, 0, true},
		{calc.Inpatient, calc.MaxStayDays, true},
		{calc.Inpatient, calc.MaxStayDays + 1, false},
		{calc.OutpatientChronic, 0, true},
		{calc.OutpatientChronic, calc.MaxBillingDays, true},
		{calc.OutpatientChronic, calc.MaxBillingDays + 1, false},
		{calc.OutpatientChronic, 364, false},
	} {
		c := tblClaim(t, calc.County, tt.kind, "6000", "5000")
		c.DischargedOn, c.AdmittedOn = discharged, discharged-calc.Date(tt.days)
		err := c.Validate()
		var ve *calc.ValidationError
		switch {
		case tt.ok && err != nil:
			t.Errorf("%s over %d days: %v, want valid", tt.kind, tt.days, err)
		case !tt.ok && (!errors.As(err, &ve) || len(ve.Fields) != 1 || ve.Fields[0].Field != "admitted_on"):
			t.Errorf("%s over %d days: %v, want one error on admitted_on", tt.kind, tt.days, err)
		}
	}
}
