package calc_test

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// TestSettlePaidContinuesTheYear books the first claims of random person-years with the
// amounts the cascade gave them, as an import of history would, settles the rest, and
// requires every later settlement and the final ledger to be those of settling the whole
// year: an opening ledger built from the engine's own amounts is the engine's ledger.
func TestSettlePaidContinuesTheYear(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 1))
	var claims []calc.Claim
	for range 2000 {
		p := propPolicy(t, r, "v1")
		person := propPerson(r)
		claims = propClaims(claims, r, p)
		var whole []calc.Settlement
		var full calc.Ledger
		for i := range claims {
			s, l, err := calc.Settle(p, person, full.ForYear(claims[i].DischargedOn.Year()), claims[i])
			if err != nil {
				t.Fatal(err)
			}
			whole, full = append(whole, s), l
		}
		cut := r.IntN(len(claims) + 1)
		var ledger calc.Ledger
		for i := range claims {
			var s calc.Settlement
			ledger = ledger.ForYear(claims[i].DischargedOn.Year())
			if i < cut {
				w := &whole[i]
				var lines [calc.NumLines]calc.Money
				for l := range calc.NumLines {
					lines[l] = w.Lines[l].Amount
				}
				if err := calc.SettlePaid(&s, p.Version, &person, &ledger, &claims[i], lines, w.OutOfPocket); err != nil {
					t.Fatal(err)
				}
				if !s.Imported || calc.AmountsOf(&s) != calc.AmountsOf(w) {
					t.Fatalf("claim %d: imported %v, amounts %+v, want %+v", i, s.Imported, calc.AmountsOf(&s), calc.AmountsOf(w))
				}
				if s.BurdenBefore != w.BurdenBefore {
					t.Fatalf("claim %d: burden before %s, want %s", i, s.BurdenBefore, w.BurdenBefore)
				}
				continue
			}
			if err := calc.SettleInto(&s, p, &person, &ledger, &claims[i]); err != nil {
				t.Fatal(err)
			}
			if s != whole[i] {
				t.Fatalf("claim %d of %d, %d imported: settled\n %+v\nwant\n %+v", i, len(claims), cut, s, whole[i])
			}
		}
		if ledger != full {
			t.Fatalf("%d claims, %d imported: ledger %+v, want %+v", len(claims), cut, ledger, full)
		}
	}
}

func TestSettlePaidRefuses(t *testing.T) {
	p := pingxiang2018(t)
	person := calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true}
	c := calc.Claim{ID: "C1", PersonID: "P1", ProviderID: "V1", Level: calc.County, Kind: calc.Inpatient,
		AdmittedOn: mustDate(t, "2018-03-01"), DischargedOn: mustDate(t, "2018-03-05"),
		Total: mustMoney(t, "1000"), InPolicy: mustMoney(t, "800")}
	good := [calc.NumLines]calc.Money{mustMoney(t, "510"), 0, mustMoney(t, "100"), 0, mustMoney(t, "290")}
	for _, tt := range []struct {
		name   string
		lines  [calc.NumLines]calc.Money
		oop    calc.Money
		ledger calc.Ledger
		want   error
		rule   string
	}{
		{"SumShort", good, mustMoney(t, "99.99"), calc.Ledger{}, calc.ErrInvalid, "sum to 999.99, the total is 1000.00"},
		{"Negative", [calc.NumLines]calc.Money{mustMoney(t, "610"), 0, mustMoney(t, "100"), 0, mustMoney(t, "290")}, -mustMoney(t, "100"),
			calc.Ledger{}, calc.ErrInvalid, "negative"},
		{"OtherYear", good, mustMoney(t, "100"), calc.Ledger{Year: 2017, Claims: 1}, calc.ErrLedgerYear, "ledger 2017"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var s calc.Settlement
			ledger := tt.ledger
			err := calc.SettlePaid(&s, p.Version, &person, &ledger, &c, tt.lines, tt.oop)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.rule) {
				t.Fatalf("got %v, want %v saying %q", err, tt.want, tt.rule)
			}
			if ledger != tt.ledger || s != (calc.Settlement{}) {
				t.Errorf("refused, yet the ledger is %+v and the settlement %+v", ledger, s)
			}
		})
	}
	t.Run("Explained", func(t *testing.T) {
		var s calc.Settlement
		ledger := calc.Ledger{}
		if err := calc.SettlePaid(&s, p.Version, &person, &ledger, &c, good, mustMoney(t, "100")); err != nil {
			t.Fatal(err)
		}
		for l, want := range map[calc.Line]string{
			calc.Basic:    "basic: 510.00 as paid by the system before hpcalc (imported)",
			calc.Critical: "critical: 0.00 as paid by the system before hpcalc (imported); burden 0.00 → 290.00",
			calc.Backstop: "backstop: 290.00 as paid by the system before hpcalc (imported); patient paid 100.00",
		} {
			if got := s.Explain(l); got != want {
				t.Errorf("%s: got %q, want %q", l, got, want)
			}
		}
	})
}

// TestResettleKeepsImported re-settles a person-year whose first claim was imported with
// amounts the cascade would not give: the imported claim keeps them and the later claims
// are settled against the ledger they built.
func TestResettleKeepsImported(t *testing.T) {
	p := pingxiang2018(t)
	person := calc.Person{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao}
	claim := func(id, day, total string) calc.Claim {
		return calc.Claim{ID: id, PersonID: "P1", ProviderID: "V1", Level: calc.Provincial, Kind: calc.Inpatient,
			AdmittedOn: mustDate(t, day), DischargedOn: mustDate(t, day), Total: mustMoney(t, total), InPolicy: mustMoney(t, total)}
	}
	a, b, c := claim("A", "2018-02-01", "60000"), claim("B", "2018-03-01", "30000"), claim("C", "2018-04-01", "20000")
	var imported calc.Settlement
	var ledger calc.Ledger
	// Paid otherwise than the rules: basic paid nothing, the backstop everything above 10%.
	paid := [calc.NumLines]calc.Money{0, 0, 0, 0, mustMoney(t, "54000")}
	if err := calc.SettlePaid(&imported, p.Version, &person, &ledger, &a, paid, mustMoney(t, "6000")); err != nil {
		t.Fatal(err)
	}
	want := ledger
	var live [2]calc.Settlement
	for i, x := range []calc.Claim{b, c} {
		if err := calc.SettleInto(&live[i], p, &person, &want, &x); err != nil {
			t.Fatal(err)
		}
	}
	// Settled live out of order (C before B) so that re-settling changes them.
	var wrong [2]calc.Settlement
	l := ledger
	for i, x := range []calc.Claim{c, b} {
		if err := calc.SettleInto(&wrong[i], p, &person, &l, &x); err != nil {
			t.Fatal(err)
		}
	}
	standing := []calc.Standing{
		{Claim: c, Policy: p, Settlement: &wrong[0]},
		{Claim: a, Policy: p, Settlement: &imported},
		{Claim: b, Policy: p, Settlement: &wrong[1]},
	}
	done, got, err := calc.Resettle(person, 2018, standing, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 2 || done[0].Claim.ID != "B" || done[1].Claim.ID != "C" {
		t.Fatalf("re-settled %d claims, want B and C only", len(done))
	}
	for i := range done {
		if done[i].Settlement != live[i] {
			t.Errorf("%s re-settled to %+v, want %+v", done[i].Claim.ID, done[i].Settlement, live[i])
		}
	}
	if want.Claims != 3 || got != want {
		t.Errorf("ledger %+v, want %+v", got, want)
	}
}
