package policyfile_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/policyfile"
)

func TestMerge(t *testing.T) {
	base, err := os.ReadFile("../fixtures/policies/pingxiang-2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	orig, err := policyfile.Parse("base", base)
	if err != nil {
		t.Fatal(err)
	}
	p, _, err := policyfile.Merge(base, "raise.yaml", []byte("commercial:\n  in_policy_rate: 0.50\nbackstop: {oop_ceiling: 8%}\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := orig.Clone()
	want.Version = "pingxiang-2018.whatif"
	want.Commercial.InPolicyRate = 500_000
	want.Backstop.OOPCeiling = 80_000
	if p.Version != want.Version || p.Commercial != want.Commercial || p.Backstop != want.Backstop || p.Basic != want.Basic || p.Aid != want.Aid {
		t.Errorf("merged policy %+v, want %+v", p, want)
	}
	// A list replaces the base's list.
	p, _, err = policyfile.Merge(base, "bands.yaml", []byte("version: flat\ncritical:\n  bands: [{from: 3000, rate: 0.9}]\n"))
	if err != nil || p.Version != "flat" || len(p.Critical.Bands) != 1 || p.Critical.Bands[0].Rate != 900_000 {
		t.Errorf("bands replaced: %+v, %v", p, err)
	}
	for _, bad := range []string{"commercial: {in_policy_rate: 1.5}", "commercial: {in_policy_rat: 0.5}", "- 1\n- 2\n", "basic: [1, 2]"} {
		_, _, err := policyfile.Merge(base, "bad.yaml", []byte(bad))
		if !errors.Is(err, calc.ErrInvalid) || !strings.Contains(err.Error(), "bad.yaml") {
			t.Errorf("change %q: %v, want a policy error naming bad.yaml", bad, err)
		}
	}
}

// TestMergePositionsInTheChange: a problem of a change is reported at its place in the
// change, never at a line of the base document the user did not write.
func TestMergePositionsInTheChange(t *testing.T) {
	base, err := os.ReadFile("../fixtures/policies/pingxiang-2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ change, want string }{
		{"commercial:\n  foo: 0.5\n", `bad.yaml:2:3: commercial.foo: unknown field "foo"`},
		{"commercial:\n  in_policy_rate: 1.5\n", "bad.yaml:2:19: commercial.in_policy_rate: "},
		{"backstop: {oop_ceiling: 8%}\nbasic:\n  inpatient:\n    rate: {county: 2}\n", "bad.yaml:4:20: basic.inpatient.rate.county: "},
		{"critical:\n  bands:\n  - {from: 3000, rate: 0.9}\n  - {from: 1000, rate: 7}\n", "bad.yaml:4:24: critical.bands[1].rate: "},
		{"basic: [1, 2]\n", "bad.yaml:1:8: basic: want a mapping"},
	} {
		_, _, err := policyfile.Merge(base, "bad.yaml", []byte(tt.change))
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("change %q: %v, want it to begin %q", tt.change, err, tt.want)
		}
	}
	// A rule of the merged policy about a value the change does not hold has no position.
	_, _, err = policyfile.Merge(base, "bad.yaml", []byte("effective: {from: 2030-01-01}\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "bad.yaml: ") && !strings.HasPrefix(err.Error(), "bad.yaml:1:") {
		t.Errorf("a period made backwards: %v, want no position or one on line 1", err)
	}
}

// TestCheckParameter: every parameter the shipped policy lists is one a sweep can vary;
// a wrong path is refused naming the part that is wrong.
func TestCheckParameter(t *testing.T) {
	base, err := os.ReadFile("../fixtures/policies/pingxiang-2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	params, err := policyfile.Parameters(base)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range params {
		if err := policyfile.CheckParameter(p.Path); err != nil {
			t.Errorf("%s: %v", p.Path, err)
		}
	}
	for field, want := range map[string]string{
		"backstop.oop_ceil":          `unknown parameter "oop_ceil" (the parameters under backstop are oop_ceiling)`,
		"backstp.oop_ceiling":        `unknown parameter "backstp" (the sections are `,
		"backstop":                   "backstop is a section, not a parameter (its parameters are oop_ceiling)",
		"basic.inpatient.rate":       "basic.inpatient.rate has one value per provider level",
		"basic.inpatient.rate.moon":  `unknown provider level "moon" under basic.inpatient.rate`,
		"backstop.oop_ceiling.x":     `backstop.oop_ceiling is a single value, with no "x" under it`,
		"critical.bands":             "critical.bands is not a number",
		"commercial.in_policy_rate.": "want a dotted path",
	} {
		err := policyfile.CheckParameter(field)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("CheckParameter(%q): %v, want it to begin %q", field, err, want)
		}
	}
}
