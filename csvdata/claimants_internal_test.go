package csvdata

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// TestClaimantsFirst: reading the claims first, in blocks small enough that the files span
// hundreds of them, gives the claims ScanPersonsAndClaims gives, each of the same person,
// and as persons the claimants alone, in file order; or, for every file with a problem and
// every file it cannot read with certainty, ErrNeedsFullRead, before the files are read
// again persons first.
func TestClaimantsFirst(t *testing.T) {
	defer func(size int) { blockSize = size }(blockSize)
	persons, claims := parallelFiles(3000)
	last := len(claims) - 40
	edits := append(parallelEdits(last),
		edit{"PersonsOutOfOrder", func(p, _ []string) { p[50], p[51] = p[51], p[50] }, nil},
		edit{"PersonsOutOfOrderLate", func(p, _ []string) { p[len(p)-2], p[len(p)-1] = p[len(p)-1], p[len(p)-2] }, nil},
		edit{"PersonQuotedLate", func(p, _ []string) { setField(p, len(p)-5, 1, `"H000999"`) }, nil},
		edit{"PersonsQuotedHeader", func(p, _ []string) { p[0] = `"person_id",household_id,registered_poor,aid_category` }, nil},
		edit{"PersonsDated", func(p, _ []string) {
			p[0] += ",valid_from,valid_to"
			for i := 1; i < len(p); i++ {
				p[i] += ",,"
			}
		}, nil},
		edit{"ClaimantNotAPerson", func(p, _ []string) { p[len(p)-1] = strings.Replace(p[len(p)-1], "P", "Q", 1) }, nil},
		edit{"ClaimsQuotedHeader", nil, func(_, c []string) { c[0] = `"claim_id"` + c[0][len("claim_id"):] }},
		edit{"ClaimsOutOfOrder", nil, func(_, c []string) { c[50], c[51] = c[51], c[50] }},
		edit{"ClaimsOutOfOrderLate", nil, func(_, c []string) { c[len(c)-2], c[len(c)-1] = c[len(c)-1], c[len(c)-2] }},
		edit{"ClaimsShuffled", nil, func(_, c []string) {
			rand.New(rand.NewPCG(8, 9)).Shuffle(len(c)-1, func(i, j int) { c[1+i], c[1+j] = c[1+j], c[1+i] })
		}},
		edit{"ClaimsShuffledRepeat", nil, func(_, c []string) {
			rand.New(rand.NewPCG(8, 9)).Shuffle(len(c)-1, func(i, j int) { c[1+i], c[1+j] = c[1+j], c[1+i] })
			setField(c, len(c)-7, 0, strings.Split(c[len(c)/2], ",")[0])
		}},
	)
	// The edits whose files are valid and read claims first.
	fast := map[string]bool{"Valid": true, "QuotedLate": true, "BlankAndCRLFLines": true, "ClaimsQuotedHeader": true,
		"PersonsQuotedHeader": true, "ClaimsOutOfOrder": true, "ClaimsOutOfOrderLate": true, "ClaimsShuffled": true}
	checks := parallelChecks()
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			pText, cText := e.apply(persons, claims)
			blockSize = 256 << 10
			want := scanBoth(t, pText, cText, checks, true)
			for _, size := range []int{100, 1000, 256 << 10} {
				blockSize = size
				var rows []ClaimRow
				x, err := ScanClaimantsFirst("persons.csv", strings.NewReader(pText), "claims.csv", strings.NewReader(cText), checks,
					func(row *ClaimRow) { rows = append(rows, keptRow(row)) })
				if !fast[e.name] {
					if !errors.Is(err, ErrNeedsFullRead) {
						t.Fatalf("blocks of %d bytes: error %v, want ErrNeedsFullRead", size, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("blocks of %d bytes: %v", size, err)
				}
				// The claimants, in the persons file's order.
				var claimants []calc.Person
				for _, person := range want.persons {
					if slices.ContainsFunc(want.rows, func(r ClaimRow) bool { return r.Claim.PersonID == person.ID }) {
						claimants = append(claimants, person)
					}
				}
				var got []calc.Person
				for n := range x.Len() {
					got = append(got, x.Person(n))
				}
				if !reflect.DeepEqual(got, claimants) {
					t.Fatalf("blocks of %d bytes: %d claimants differ from the %d of the persons read first", size, len(got), len(claimants))
				}
				ns := make([]int32, x.Len())
				for n := range ns {
					ns[n] = int32(n)
				}
				if many := x.PersonsOf(ns); !reflect.DeepEqual(many, got) {
					t.Fatalf("PersonsOf differs from Person")
				}
				if len(rows) != len(want.rows) {
					t.Fatalf("blocks of %d bytes: %d claims, want %d", size, len(rows), len(want.rows))
				}
				for i := range rows {
					r, w := rows[i], want.rows[i]
					if person := got[x.Numbers()[r.Person]]; person.ID != w.Claim.PersonID {
						t.Fatalf("claim %s of person number %d, %s; want %s", r.Claim.ID, r.Person, person.ID, w.Claim.PersonID)
					}
					r.Person = w.Person
					if !reflect.DeepEqual(r, w) {
						t.Fatalf("row %d: %+v, want %+v", i, r, w)
					}
				}
				for n := range x.Len() {
					if h := x.HouseholdOf(n); h < 0 || h >= x.Households() || x.households.id(h) != got[n].HouseholdID {
						t.Fatalf("person %d's household %d", n, h)
					}
				}
			}
			if fast[e.name] != (want.err == nil) && e.name != "PersonsOutOfOrder" && e.name != "PersonsOutOfOrderLate" &&
				e.name != "PersonQuotedLate" && e.name != "PersonsDated" {
				t.Errorf("persons first: error %v", want.err)
			}
		})
	}
}
