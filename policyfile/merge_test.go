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
