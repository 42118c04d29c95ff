package calc_test

import (
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// pingxiang2018 returns the shipped 2018 policy of POLICY.md, built in code.
func pingxiang2018(tb testing.TB) *calc.Policy {
	tb.Helper()
	p := &calc.Policy{Version: "pingxiang-2018", From: mustDate(tb, "2018-01-01"), To: mustDate(tb, "2018-12-31")}
	deds := []string{"0", "200", "500", "800", "1000"}
	rates := []string{"0.90", "0.85", "0.65", "0.55", "0.50"}
	for l := range calc.NumLevels {
		p.Basic.Deductible[calc.Inpatient][l] = mustMoney(tb, deds[l])
		p.Basic.Rate[calc.Inpatient][l] = mustRate(tb, rates[l])
		p.Basic.Deductible[calc.OutpatientChronic][l] = 0
		p.Basic.Rate[calc.OutpatientChronic][l] = mustRate(tb, "0.80")
	}
	p.Basic.AnnualCap = mustMoney(tb, "200000")
	p.Basic.ChronicAnnualCap = mustMoney(tb, "10000")
	p.Critical.Deductible = mustMoney(tb, "3000")
	p.Critical.Bands = []calc.Band{
		{From: mustMoney(tb, "3000"), Rate: mustRate(tb, "0.60")},
		{From: mustMoney(tb, "50000"), Rate: mustRate(tb, "0.70")},
		{From: mustMoney(tb, "100000"), Rate: mustRate(tb, "0.80")},
	}
	p.Critical.AnnualCap = calc.NoCap
	p.Commercial.InPolicyRate = mustRate(tb, "0.30")
	p.Commercial.OutOfPolicyRate = mustRate(tb, "0.05")
	p.Commercial.AnnualCap = mustMoney(tb, "100000")
	p.Aid.Rate[calc.Tekun] = mustRate(tb, "1")
	p.Aid.AnnualCap[calc.Tekun] = mustMoney(tb, "30000")
	p.Aid.Rate[calc.Dibao] = mustRate(tb, "0.60")
	p.Aid.AnnualCap[calc.Dibao] = mustMoney(tb, "10000")
	p.Backstop.OOPCeiling = mustRate(tb, "0.10")
	if err := p.Validate(); err != nil {
		tb.Fatal(err)
	}
	return p
}

// mustMoney parses a yuan amount or fails the test.
func mustMoney(tb testing.TB, s string) calc.Money {
	tb.Helper()
	m, err := calc.ParseMoney(s)
	if err != nil {
		tb.Fatal(err)
	}
	return m
}

// mustRate parses a rate or fails the test.
func mustRate(tb testing.TB, s string) calc.Rate {
	tb.Helper()
	r, err := calc.ParseRate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

// mustDate parses an ISO date or fails the test.
func mustDate(tb testing.TB, s string) calc.Date {
	tb.Helper()
	d, err := calc.ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}
