package ops_test

import (
	"errors"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
)

// twoVersions is a base of the shipped 2018 policy and a copy of it for 2019.
func twoVersions(t *testing.T) ops.Base {
	t.Helper()
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	p18, err := policyfile.Parse("2018", doc)
	if err != nil {
		t.Fatal(err)
	}
	p19, doc19, err := policyfile.Merge(doc, "2019", []byte("version: test-2019\neffective: {from: 2019-01-01, to: 2019-12-31}"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := calc.NewPolicySet(p19, p18)
	if err != nil {
		t.Fatal(err)
	}
	return ops.Base{Policies: set, Documents: [][]byte{doc, doc19}}
}

func TestApplyChange(t *testing.T) {
	base := twoVersions(t)
	t.Run("EachVersion", func(t *testing.T) {
		got, err := ops.ApplyChange(base, "change", []byte("commercial: {in_policy_rate: 0.50}"))
		if err != nil {
			t.Fatal(err)
		}
		versions := got.Policies()
		if len(versions) != 2 {
			t.Fatalf("%d versions, want 2", len(versions))
		}
		for i, p := range versions {
			want := base.Policies.Policies()[i]
			if p.Commercial.InPolicyRate != 500_000 || p.From != want.From || p.To != want.To || p.Basic != want.Basic {
				t.Errorf("version %d: commercial rate %s, period %s to %s; want 50%% and the base's %s to %s, the rest unchanged",
					i, p.Commercial.InPolicyRate, p.From, p.To, want.From, want.To)
			}
		}
	})
	t.Run("BrokenRule", func(t *testing.T) {
		_, err := ops.ApplyChange(base, "change", []byte("commercial: {in_policy_rate: 1.50}"))
		var ce *ops.ChangeError
		if !errors.As(err, &ce) || ce.Version != "pingxiang-2018" || !errors.Is(err, calc.ErrInvalid) {
			t.Errorf("%v, want a ChangeError of the first version, ErrInvalid", err)
		}
	})
	t.Run("Overlap", func(t *testing.T) {
		_, err := ops.ApplyChange(base, "change", []byte("effective: {from: 2018-01-01, to: 2019-12-31}"))
		var ce *ops.ChangeError
		if !errors.As(err, &ce) || ce.Version != "" || !errors.Is(err, calc.ErrOverlap) {
			t.Errorf("%v, want a ChangeError of the set, ErrOverlap", err)
		}
	})
	t.Run("DocumentsMissing", func(t *testing.T) {
		short := ops.Base{Policies: base.Policies, Documents: base.Documents[:1]}
		if _, err := ops.ApplyChange(short, "change", []byte("commercial: {in_policy_rate: 0.50}")); err == nil {
			t.Error("two versions and one document: no error")
		}
	})
}

// TestSweepValues checks the one step limit that the API and the command share.
func TestSweepValues(t *testing.T) {
	tests := []struct {
		start, stop, step string
		want              int // values; 0 for an error
	}{
		{"0.05", "0.15", "0.01", 11},
		{"0.00", "0.99", "0.01", ops.MaxSweepSteps},
		{"0.00", "1.00", "0.01", 0},
		{"0.10", "0.05", "0.01", 0},
		{"0.05", "0.15", "0", 0},
		{"0.05", "x", "0.01", 0},
	}
	for _, tt := range tests {
		got, err := ops.SweepValues(tt.start, tt.stop, tt.step)
		if (err != nil) != (tt.want == 0) || len(got) != tt.want {
			t.Errorf("SweepValues(%s, %s, %s) = %d values, %v; want %d", tt.start, tt.stop, tt.step, len(got), err, tt.want)
		}
	}
}
