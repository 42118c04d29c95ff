package replay_test

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
)

// policyFor returns the shipped 2018 policy moved to another year and version.
func policyFor(t *testing.T, year string) *calc.Policy {
	t.Helper()
	raw, err := os.ReadFile("../fixtures/policies/pingxiang-2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text := strings.ReplaceAll(string(raw), "2018", year)
	p, err := policyfile.Parse("pingxiang-"+year+".yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func policies(t *testing.T, years ...string) *calc.PolicySet {
	t.Helper()
	var list []*calc.Policy
	for _, y := range years {
		list = append(list, policyFor(t, y))
	}
	s, err := calc.NewPolicySet(list...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func date(t *testing.T, s string) calc.Date {
	t.Helper()
	d, err := calc.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func stay(t *testing.T, id, person, discharged string, total calc.Money) calc.Claim {
	t.Helper()
	d := date(t, discharged)
	return calc.Claim{ID: id, PersonID: person, ProviderID: "PRV01", Level: calc.Provincial, Kind: calc.Inpatient,
		AdmittedOn: d - 5, DischargedOn: d, Total: total, InPolicy: total * 8 / 10}
}

var persons = map[string]calc.Person{
	"A": {ID: "A", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao},
	"B": {ID: "B", HouseholdID: "H2", RegisteredPoor: true},
}

// settleInOrder settles claims of one person one after another with calc.Settle.
func settleInOrder(t *testing.T, ps *calc.PolicySet, claims ...calc.Claim) []calc.Settlement {
	t.Helper()
	var ledger calc.Ledger
	var out []calc.Settlement
	for _, c := range claims {
		if ledger.Claims > 0 && ledger.Year != c.DischargedOn.Year() {
			ledger = calc.Ledger{}
		}
		s, next, err := calc.Settle(ps.At(c.DischargedOn), persons[c.PersonID], ledger, c)
		if err != nil {
			t.Fatal(err)
		}
		ledger = next
		out = append(out, s)
	}
	return out
}

func TestRunSettlesInDischargeOrder(t *testing.T) {
	ps := policies(t, "2018", "2019")
	c1 := stay(t, "C1", "A", "2018-03-01", 40000*calc.Yuan)
	c2 := stay(t, "C2", "A", "2018-05-01", 30000*calc.Yuan)
	c3 := stay(t, "C0", "A", "2018-05-01", 20000*calc.Yuan) // same day as C2: its id sorts first
	c4 := stay(t, "C4", "A", "2019-01-10", 30000*calc.Yuan) // a new year: a fresh ledger
	b1 := stay(t, "B1", "B", "2018-04-01", 10000*calc.Yuan)
	// Given out of order, and interleaved with another person.
	res, err := replay.Run(ps, persons, []calc.Claim{c4, c2, b1, c3, c1})
	if err != nil {
		t.Fatal(err)
	}
	wantA := settleInOrder(t, ps, c1, c3, c2, c4)
	wantB := settleInOrder(t, ps, b1)
	want := []calc.Settlement{wantA[3], wantA[2], wantB[0], wantA[1], wantA[0]}
	for i := range want {
		if res.Settlements[i] != want[i] {
			t.Errorf("settlement %d (claim %s):\n got %+v\nwant %+v", i, want[i].ClaimID, res.Settlements[i], want[i])
		}
	}
	if res.Settlements[0].PolicyVersion != "pingxiang-2019" || res.Settlements[4].PolicyVersion != "pingxiang-2018" {
		t.Errorf("policy versions %s and %s, want the one in force on each discharge day",
			res.Settlements[0].PolicyVersion, res.Settlements[4].PolicyVersion)
	}
	if res.Settlements[0].BurdenBefore != 0 {
		t.Errorf("the 2019 claim starts from burden %s, want a fresh ledger", res.Settlements[0].BurdenBefore)
	}
	var tally calc.Tally
	for i := range want {
		tally.Add(&want[i])
	}
	if res.Tally != tally {
		t.Errorf("tally %+v, want %+v", res.Tally, tally)
	}
}

func TestRunErrors(t *testing.T) {
	ps := policies(t, "2018")
	tests := []struct {
		name  string
		claim calc.Claim
		want  error
		text  string
	}{
		{"UnknownPerson", stay(t, "C1", "Z", "2018-03-01", 100*calc.Yuan), nil, "unknown person Z"},
		{"NoPolicy", stay(t, "C1", "A", "2019-03-01", 100*calc.Yuan), calc.ErrNoPolicy, "C1"},
		{"Invalid", func() calc.Claim {
			c := stay(t, "C1", "A", "2018-03-01", 100*calc.Yuan)
			c.InPolicy = c.Total + 1
			return c
		}(), calc.ErrInvalid, "in_policy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := replay.Run(ps, persons, []calc.Claim{tt.claim})
			if err == nil || res != nil {
				t.Fatalf("got %v, %v; want an error", res, err)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), tt.text) {
				t.Errorf("error %q does not mention %q", err, tt.text)
			}
		})
	}
}
