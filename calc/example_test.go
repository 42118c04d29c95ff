package calc_test

import (
	"fmt"
	"time"

	"github.com/hpcalc/hpcalc/calc"
)

// A registered poor person on dibao is discharged from a county hospital with a bill of
// 6,000.00 yuan, 5,000.00 of it in-policy, under the rules of pingxiang-2018. Basic
// insurance pays 85% above the county deductible of 200; the 920.00 left stays under the
// critical-illness deductible of 3,000; commercial insurance pays 30% of the in-policy and 5%
// of the out-of-policy remainder; dibao aid 60% of the in-policy rest; and the backstop
// brings the patient's share down to 10% of the bill.
func ExampleSettle() {
	yuan := func(s string) calc.Money {
		m, err := calc.ParseMoney(s)
		if err != nil {
			panic(err)
		}
		return m
	}
	rate := func(s string) calc.Rate {
		r, err := calc.ParseRate(s)
		if err != nil {
			panic(err)
		}
		return r
	}

	p := &calc.Policy{Version: "pingxiang-2018",
		From: calc.NewDate(2018, time.January, 1), To: calc.NewDate(2018, time.December, 31)}
	for l, v := range []struct{ deductible, rate string }{
		calc.Township: {"0", "90%"}, calc.County: {"200", "85%"}, calc.Municipal: {"500", "65%"},
		calc.Provincial: {"800", "55%"}, calc.OutOfProvince: {"1000", "50%"},
	} {
		p.Basic.Deductible[calc.Inpatient][l] = yuan(v.deductible)
		p.Basic.Rate[calc.Inpatient][l] = rate(v.rate)
		p.Basic.Rate[calc.OutpatientChronic][l] = rate("80%")
	}
	p.Basic.AnnualCap, p.Basic.ChronicAnnualCap = yuan("200000"), yuan("10000")
	p.Critical.Deductible = yuan("3000")
	p.Critical.Bands = []calc.Band{
		{From: yuan("3000"), Rate: rate("60%")},
		{From: yuan("50000"), Rate: rate("70%")},
		{From: yuan("100000"), Rate: rate("80%")},
	}
	p.Critical.AnnualCap = calc.NoCap
	p.Commercial.InPolicyRate, p.Commercial.OutOfPolicyRate = rate("30%"), rate("5%")
	p.Commercial.AnnualCap = yuan("100000")
	p.Aid.Rate[calc.Dibao], p.Aid.AnnualCap[calc.Dibao] = rate("60%"), yuan("10000")
	p.Aid.Rate[calc.Tekun], p.Aid.AnnualCap[calc.Tekun] = rate("100%"), yuan("30000")
	p.Backstop.OOPCeiling = rate("10%")
	if err := p.Validate(); err != nil {
		panic(err)
	}

	person := calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao}
	claim := calc.Claim{ID: "C1", PersonID: "P1", ProviderID: "CTY01", Level: calc.County, Kind: calc.Inpatient,
		AdmittedOn: calc.NewDate(2018, time.May, 2), DischargedOn: calc.NewDate(2018, time.May, 9),
		Total: yuan("6000"), InPolicy: yuan("5000")}
	s, ledger, err := calc.Settle(p, person, calc.Ledger{}, claim)
	if err != nil {
		panic(err)
	}
	for _, l := range calc.Lines() {
		fmt.Printf("%10s  %s\n", s.Amount(l).Grouped(), s.Explain(l))
	}
	fmt.Printf("%10s  patient pays\n", s.OutOfPocket.Grouped())
	fmt.Printf("%10s  total\n", s.Total.Grouped())
	fmt.Println("critical-illness burden of", ledger.Year, "so far:", ledger.CriticalBurden.Grouped())
	// Output:
	//   4,080.00  basic: 85% × (5,000.00 − 200.00) = 4,080.00
	//       0.00  critical: burden 0.00 → 920.00 stays under the annual deductible 3,000.00 = 0.00
	//     326.00  commercial: 30% × 920.00 + 5% × 1,000.00 = 326.00
	//     386.40  aid (dibao): 60% × 644.00 = 386.40
	//     607.60  backstop: share 1,207.60 − ceiling 10% × 6,000.00 (600.00) = 607.60
	//     600.00  patient pays
	//   6,000.00  total
	// critical-illness burden of 2018 so far: 920.00
}
