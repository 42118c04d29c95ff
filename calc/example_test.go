package calc_test

import (
	"fmt"
	"time"

	"github.com/hpcalc/hpcalc/calc"
)

// A registered poor person on dibao is discharged from a county hospital with a bill of
// 6,000.00 yuan, 5,000.00 of it in-policy: each line's share and why.
func ExampleSettle() {
	policy := &calc.Policy{Version: "example", From: calc.NewDate(2018, time.January, 1), To: calc.NewDate(2018, time.December, 31)}
	policy.Basic.Deductible[calc.Inpatient][calc.County] = 200 * calc.Yuan
	policy.Basic.Rate[calc.Inpatient][calc.County] = 850_000 // 85%
	policy.Basic.AnnualCap = 200_000 * calc.Yuan
	policy.Basic.ChronicAnnualCap = 10_000 * calc.Yuan
	policy.Critical.Deductible = 3_000 * calc.Yuan
	policy.Critical.Bands = []calc.Band{{From: 3_000 * calc.Yuan, Rate: 600_000}, {From: 50_000 * calc.Yuan, Rate: 700_000}, {From: 100_000 * calc.Yuan, Rate: 800_000}}
	policy.Critical.AnnualCap = calc.NoCap
	policy.Commercial.InPolicyRate, policy.Commercial.OutOfPolicyRate = 300_000, 50_000
	policy.Commercial.AnnualCap = 100_000 * calc.Yuan
	policy.Aid.Rate[calc.Dibao], policy.Aid.AnnualCap[calc.Dibao] = 600_000, 10_000*calc.Yuan
	policy.Backstop.OOPCeiling = 100_000 // 10%

	person := calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao}
	claim := calc.Claim{ID: "C1", PersonID: "P1", ProviderID: "CTY01", Level: calc.County, Kind: calc.Inpatient,
		AdmittedOn: calc.NewDate(2018, time.May, 2), DischargedOn: calc.NewDate(2018, time.May, 9),
		Total: 6_000 * calc.Yuan, InPolicy: 5_000 * calc.Yuan}
	s, ledger, err := calc.Settle(policy, person, calc.Ledger{}, claim)
	if err != nil {
		panic(err)
	}
	for _, l := range calc.Lines() {
		fmt.Println(s.Explain(l))
	}
	fmt.Println("patient pays", s.OutOfPocket.Grouped(), "; burden this year", ledger.CriticalBurden.Grouped())
	// Output:
	// basic: 85% × (5,000.00 − 200.00) = 4,080.00
	// critical: burden 0.00 → 920.00 stays under the annual deductible 3,000.00 = 0.00
	// commercial: 30% × 920.00 + 5% × 1,000.00 = 326.00
	// aid (dibao): 60% × 644.00 = 386.40
	// backstop: share 1,207.60 − ceiling 10% × 6,000.00 (600.00) = 607.60
	// patient pays 600.00 ; burden this year 920.00
}
