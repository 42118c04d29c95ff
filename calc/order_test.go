package calc_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

func TestCompareClaims(t *testing.T) {
	day := func(s string) calc.Date { t.Helper(); return mustDate(t, s) }
	tests := []struct {
		name string
		a, b calc.Claim
		want int
	}{
		{"EarlierDischargeFirst", calc.Claim{ID: "Z", DischargedOn: day("2018-03-01")}, calc.Claim{ID: "A", DischargedOn: day("2018-03-02")}, -1},
		{"LaterDischargeLast", calc.Claim{ID: "A", DischargedOn: day("2018-12-31")}, calc.Claim{ID: "Z", DischargedOn: day("2018-01-01")}, 1},
		{"SameDayByID", calc.Claim{ID: "C10", DischargedOn: day("2018-03-01")}, calc.Claim{ID: "C9", DischargedOn: day("2018-03-01")}, -1},
		{"SameDayPrefixFirst", calc.Claim{ID: "C1", DischargedOn: day("2018-03-01")}, calc.Claim{ID: "C10", DischargedOn: day("2018-03-01")}, -1},
		// Byte order, not the order of letters: 'Z' (0x5A) comes before 'a' (0x61), and
		// every ASCII byte before the bytes of 医.
		{"SameDayBytes", calc.Claim{ID: "a", DischargedOn: day("2018-03-01")}, calc.Claim{ID: "Z", DischargedOn: day("2018-03-01")}, 1},
		{"SameDayUTF8", calc.Claim{ID: "医1", DischargedOn: day("2018-03-01")}, calc.Claim{ID: "z1", DischargedOn: day("2018-03-01")}, 1},
		{"Equal", calc.Claim{ID: "C1", DischargedOn: day("2018-03-01")}, calc.Claim{ID: "C1", DischargedOn: day("2018-03-01")}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := calc.CompareClaims(&tt.a, &tt.b); got != tt.want {
				t.Errorf("CompareClaims(%s %s, %s %s) = %d, want %d", tt.a.DischargedOn, tt.a.ID, tt.b.DischargedOn, tt.b.ID, got, tt.want)
			}
			if got := calc.CompareClaims(&tt.b, &tt.a); got != -tt.want {
				t.Errorf("CompareClaims reversed = %d, want %d", got, -tt.want)
			}
			if got := calc.CompareOrder(tt.a.DischargedOn, []byte(tt.a.ID), tt.b.DischargedOn, []byte(tt.b.ID)); got != tt.want {
				t.Errorf("CompareOrder on bytes = %d, want %d", got, tt.want)
			}
		})
	}
}

// TestCompareClaimsSorts checks that sorting with CompareClaims gives discharge order and
// then the byte order that sorting the ids as strings gives.
func TestCompareClaimsSorts(t *testing.T) {
	d := mustDate(t, "2018-05-05")
	claims := []calc.Claim{{ID: "b", DischargedOn: d}, {ID: "A", DischargedOn: d + 1}, {ID: "ab", DischargedOn: d}, {ID: "a", DischargedOn: d}, {ID: "B", DischargedOn: d}}
	slices.SortFunc(claims, func(a, b calc.Claim) int { return calc.CompareClaims(&a, &b) })
	var got []string
	for _, c := range claims {
		got = append(got, c.ID)
	}
	if want := []string{"B", "a", "ab", "b", "A"}; !slices.Equal(got, want) {
		t.Errorf("sorted %v, want %v", got, want)
	}
}

func TestLedgerForYear(t *testing.T) {
	p := pingxiang2018(t)
	_, ledgers := tblSettleSequence(t, p)
	used := ledgers[len(ledgers)-1]
	tests := []struct {
		name   string
		ledger calc.Ledger
		year   int
		want   calc.Ledger
	}{
		{"ZeroIsFresh", calc.Ledger{}, 2018, calc.Ledger{Year: 2018}},
		{"SameYearKept", used, 2018, used},
		{"NextYearFresh", used, 2019, calc.Ledger{Year: 2019}},
		{"EarlierYearFresh", used, 2017, calc.Ledger{Year: 2017}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ledger.ForYear(tt.year); got != tt.want {
				t.Errorf("ForYear(%d):\n got %+v\nwant %+v", tt.year, got, tt.want)
			}
		})
	}
}

// TestLedgerAdd checks that booking the settlements one by one rebuilds the ledgers that
// settling them gave, and that Reverse undoes Add.
func TestLedgerAdd(t *testing.T) {
	p := pingxiang2018(t)
	settled, ledgers := tblSettleSequence(t, p)
	l := calc.Ledger{}
	for i := range settled {
		var err error
		if l, err = l.Add(&settled[i]); err != nil {
			t.Fatalf("add %s: %v", settled[i].ClaimID, err)
		}
		if l != ledgers[i+1] {
			t.Errorf("after adding %s:\n got %+v\nwant %+v", settled[i].ClaimID, l, ledgers[i+1])
		}
		back, err := l.Reverse(&settled[i])
		if err != nil {
			t.Fatalf("reverse %s: %v", settled[i].ClaimID, err)
		}
		want := ledgers[i]
		want.Year = 2018
		if back != want {
			t.Errorf("reverse after add %s:\n got %+v\nwant %+v", settled[i].ClaimID, back, want)
		}
	}
	t.Run("AnotherYear", func(t *testing.T) {
		other := calc.Ledger{Year: 2019}
		got, err := other.Add(&settled[0])
		if !errors.Is(err, calc.ErrLedgerYear) || got != other {
			t.Errorf("add a 2018 settlement to a 2019 ledger: %+v, %v; want ErrLedgerYear and the ledger unchanged", got, err)
		}
	})
}

func TestCompareByPerson(t *testing.T) {
	a := calc.Claim{ID: "C2", PersonID: "P1", DischargedOn: mustDate(t, "2018-05-01")}
	b := calc.Claim{ID: "C1", PersonID: "P1", DischargedOn: mustDate(t, "2018-06-01")}
	c := calc.Claim{ID: "C0", PersonID: "P2", DischargedOn: mustDate(t, "2018-01-01")}
	tests := []struct {
		name string
		x, y *calc.Claim
		want int
	}{
		{"same person, discharge first", &a, &b, -1},
		{"person before discharge", &b, &c, -1},
		{"reflexive", &c, &c, 0},
		{"other way", &c, &a, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := calc.CompareByPerson(tt.x, tt.y); got != tt.want {
				t.Errorf("CompareByPerson = %d, want %d", got, tt.want)
			}
		})
	}
}
