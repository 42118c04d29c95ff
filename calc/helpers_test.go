package calc_test

import (
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// This file is shared by every test file of package calc_test: it defines exactly
// pingxiang2018, mustMoney, mustRate and mustDate. Helpers of one test file are prefixed
// with that file's own prefix (tbl, prop, ref, bench, …) so that none can clash.

// pingxiang2018 returns the policy pingxiang-2018 of POLICY.md ("Parameters of
// pingxiang-2018"), built in code and validated. Each call returns a fresh copy that the
// caller may change.
func pingxiang2018(tb testing.TB) *calc.Policy {
	tb.Helper()
	p := &calc.Policy{
		Version: "pingxiang-2018",
		From:    mustDate(tb, "2018-01-01"),
		To:      mustDate(tb, "2018-12-31"),
	}

	// 1 basic: inpatient deductible per admission and rate, per level.
	inpatient := [calc.NumLevels]struct{ deductible, rate string }{
		calc.Township:      {"0", "90%"},
		calc.County:        {"200", "85%"},
		calc.Municipal:     {"500", "65%"},
		calc.Provincial:    {"800", "55%"},
		calc.OutOfProvince: {"1000", "50%"},
	}
	for _, l := range calc.Levels() {
		p.Basic.Deductible[calc.Inpatient][l] = mustMoney(tb, inpatient[l].deductible)
		p.Basic.Rate[calc.Inpatient][l] = mustRate(tb, inpatient[l].rate)
		// outpatient_chronic: deductible 0 at every level, rate 80%.
		p.Basic.Deductible[calc.OutpatientChronic][l] = mustMoney(tb, "0")
		p.Basic.Rate[calc.OutpatientChronic][l] = mustRate(tb, "80%")
	}
	p.Basic.ChronicAnnualCap = mustMoney(tb, "10000") // outpatient_chronic sub-cap
	p.Basic.AnnualCap = mustMoney(tb, "200000")       // both kinds together

	// 2 critical: annual deductible 3,000; bands on the accumulated burden; no cap.
	p.Critical.Deductible = mustMoney(tb, "3000")
	p.Critical.Bands = []calc.Band{
		{From: mustMoney(tb, "3000"), Rate: mustRate(tb, "60%")},
		{From: mustMoney(tb, "50000"), Rate: mustRate(tb, "70%")},
		{From: mustMoney(tb, "100000"), Rate: mustRate(tb, "80%")},
	}
	p.Critical.AnnualCap = calc.NoCap

	// 3 commercial: in-policy remainder 30%, out-of-policy 5%, annual cap 100,000.
	p.Commercial.InPolicyRate = mustRate(tb, "30%")
	p.Commercial.OutOfPolicyRate = mustRate(tb, "5%")
	p.Commercial.AnnualCap = mustMoney(tb, "100000")

	// 4 civil aid: tekun 100% up to 30,000 a year; dibao 60% up to 10,000.
	p.Aid.Rate[calc.Tekun] = mustRate(tb, "100%")
	p.Aid.AnnualCap[calc.Tekun] = mustMoney(tb, "30000")
	p.Aid.Rate[calc.Dibao] = mustRate(tb, "60%")
	p.Aid.AnnualCap[calc.Dibao] = mustMoney(tb, "10000")

	// 5 backstop: the patient pays at most 10% of the claim's total cost.
	p.Backstop.OOPCeiling = mustRate(tb, "10%")

	if err := p.Validate(); err != nil {
		tb.Fatalf("pingxiang-2018: %v", err)
	}
	return p
}

// mustMoney parses a yuan amount such as "1234.50" or fails the test.
func mustMoney(tb testing.TB, s string) calc.Money {
	tb.Helper()
	m, err := calc.ParseMoney(s)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// mustRate parses a rate such as "0.85" or "85%" or fails the test.
func mustRate(tb testing.TB, s string) calc.Rate {
	tb.Helper()
	r, err := calc.ParseRate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// mustDate parses an ISO 8601 date such as "2018-03-07" or fails the test.
func mustDate(tb testing.TB, s string) calc.Date {
	tb.Helper()
	d, err := calc.ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
