package policyfile_test

import (
	"reflect"
	"testing"

	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/policyfile"
)

// TestParameters: every parameter of the shipped policy is listed with its value, its
// section's source and its note, and setting any of them to its own value through Change
// gives the same policy back.
func TestParameters(t *testing.T) {
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	params, err := policyfile.Parameters(doc)
	if err != nil {
		t.Fatal(err)
	}
	byPath := map[string]policyfile.Parameter{}
	for _, p := range params {
		byPath[p.Path] = p
	}
	for path, want := range map[string]string{"backstop.oop_ceiling": "0.10", "basic.inpatient.rate.county": "0.85",
		"commercial.annual_cap": "100000.00", "critical.annual_cap": "none", "aid.dibao.rate": "0.60", "critical.deductible": "3000.00"} {
		if p, ok := byPath[path]; !ok || p.Value != want || p.Source == "" {
			t.Errorf("%s: %+v, want value %s and a source", path, p, want)
		}
	}
	if n := byPath["commercial.in_policy_rate"].Note; n != "modelled: share of the in-policy remainder" {
		t.Errorf("note %q", n)
	}
	if n := byPath["basic.inpatient.deductible.county"].Note; n != "modelled: per admission, rising with the provider level" {
		t.Errorf("a level's deductible has the note %q, want its mapping's", n)
	}
	for _, skip := range []string{"version", "effective.from", "basic.source", "critical.bands"} {
		if _, ok := byPath[skip]; ok {
			t.Errorf("%s listed as a parameter", skip)
		}
	}
	for _, p := range params {
		base, _, err := policyfile.Merge(doc, p.Path, []byte("{}"))
		if err != nil {
			t.Fatal(err)
		}
		got, _, err := policyfile.Merge(doc, p.Path, policyfile.Change(p.Path, p.Value))
		if err != nil {
			t.Errorf("%s = %s: %v", p.Path, p.Value, err)
			continue
		}
		if !reflect.DeepEqual(got, base) {
			t.Errorf("%s set to its own value changes the policy", p.Path)
		}
	}
	if _, err := policyfile.Parameters([]byte("- a\n- b\n")); err == nil {
		t.Error("a list is not a policy document")
	}
}
