package csvdata

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// parallelFiles writes a persons file of n persons and a claims file of their claims,
// every row valid, sorted by id as generated files are.
func parallelFiles(n int) (persons, claims []string) {
	persons = append(persons, strings.Join(PersonColumns, ","))
	for i := range n {
		aid := []string{"", "dibao", "tekun"}[i%3]
		persons = append(persons, fmt.Sprintf("P%07d,H%06d,%v,%s", i+1, i/3+1, i%5 != 0, aid))
	}
	claims = append(claims, strings.Join(ClaimColumns, ","))
	rng := rand.New(rand.NewPCG(12, 13))
	for i := range 2 * n {
		total := 100 + rng.IntN(100000)
		claims = append(claims, fmt.Sprintf("C%09d,P%07d,%s,%s,inpatient,2018-03-%02d,2018-03-%02d,%d.%02d,%d.00",
			i+1, rng.IntN(n)+1, []string{"TWN01", "CTY01"}[i%2], []string{"township", "county"}[i%2],
			1+i%9, 10+i%9, total, i%100, total/2))
	}
	return persons, claims
}

// scanned is what one reading of a persons file and a claims file gave.
type scanned struct {
	persons []calc.Person
	rows    []ClaimRow
	err     error
}

// scanBoth reads the files as whatif reads them, with ScanPersonsAndClaims, and as two
// reads one after the other.
func scanBoth(t *testing.T, persons, claims string, checks ClaimChecks, atOnce bool) scanned {
	t.Helper()
	var out scanned
	add := func(row *ClaimRow) { out.rows = append(out.rows, keptRow(row)) }
	var x *PersonIndex
	if atOnce {
		x, out.err = ScanPersonsAndClaims("persons.csv", strings.NewReader(persons), "claims.csv", strings.NewReader(claims), checks,
			func(*PersonIndex) {}, add)
	} else {
		x, out.err = ReadPersonIndex("persons.csv", strings.NewReader(persons))
		if out.err == nil {
			checks.PersonIndex = x
			out.err = ScanClaims("claims.csv", strings.NewReader(claims), checks, add)
		}
	}
	if out.err != nil {
		out.rows = nil
		return out
	}
	for i := range x.Len() {
		out.persons = append(out.persons, x.Person(i))
	}
	return out
}

// TestParallelMatchesSequential: reading on every core, in blocks small enough that the
// files span hundreds of them, gives what the sequential reading gives, byte for byte:
// the same persons and claims, or the same problems (file, line, column, field, rule, in
// order, truncated at MaxErrors alike), for files whose first problem is late in them;
// and so does reading the persons and claims files at once.
func TestParallelMatchesSequential(t *testing.T) {
	defer func(size int) { blockSize = size }(blockSize)
	persons, claims := parallelFiles(3000)
	last := len(claims) - 40 // a line near the end of the claims file
	edits := parallelEdits(last)
	checks := parallelChecks()
	for _, e := range edits {
		t.Run(e.name, func(t *testing.T) {
			pText, cText := e.apply(persons, claims)
			parallel, blockSize = false, 256<<10
			want := scanBoth(t, pText, cText, checks, false)
			parallel = true
			defer func() { parallel = true }()
			for _, size := range []int{100, 1000, 256 << 10} {
				blockSize = size
				for _, atOnce := range []bool{false, true} {
					got := scanBoth(t, pText, cText, checks, atOnce)
					if !reflect.DeepEqual(got.err, want.err) {
						t.Fatalf("blocks of %d bytes, at once %v: error\n%v\nwant\n%v", size, atOnce, got.err, want.err)
					}
					if !reflect.DeepEqual(got.persons, want.persons) || !reflect.DeepEqual(got.rows, want.rows) {
						t.Fatalf("blocks of %d bytes, at once %v: %d persons, %d claims differ from the %d and %d read one by one",
							size, atOnce, len(got.persons), len(got.rows), len(want.persons), len(want.rows))
					}
				}
			}
			if e.name != "Valid" && e.name != "BlankAndCRLFLines" && e.name != "QuotedLate" && want.err == nil {
				t.Errorf("the edit made no problem")
			}
			if (e.name == "Valid" || e.name == "QuotedLate") && (want.err != nil || len(want.rows) != len(claims)-1) {
				t.Errorf("valid files: %d claims read, error %v", len(want.rows), want.err)
			}
		})
	}
}

// edit changes a persons file's and a claims file's lines.
type edit struct {
	name           string
	persons, claim func(p, c []string)
}

// apply makes the files' texts from persons and claims with the edit's changes, which
// leave the lines given as they were.
func (e edit) apply(persons, claims []string) (pText, cText string) {
	p, c := append([]string(nil), persons...), append([]string(nil), claims...)
	if e.persons != nil {
		e.persons(p, c)
	}
	if e.claim != nil {
		e.claim(p, c)
	}
	return strings.Join(p, "\n") + "\n", strings.Join(c, "\n")
}

// parallelChecks are the checks of parallelFiles' claims: their two providers.
func parallelChecks() ClaimChecks {
	return ClaimChecks{Providers: map[string]Provider{
		"TWN01": {ID: "TWN01", Level: calc.Township}, "CTY01": {ID: "CTY01", Level: calc.County},
	}}
}

// keptRow is a copy of row that may be kept: its strings no longer the reading's.
func keptRow(row *ClaimRow) ClaimRow {
	r := *row
	r.Claim.ID, r.Claim.PersonID, r.Claim.ProviderID = strings.Clone(r.Claim.ID), strings.Clone(r.Claim.PersonID), strings.Clone(r.Claim.ProviderID)
	return r
}

// setField sets field field of line i to v.
func setField(lines []string, i, field int, v string) {
	f := strings.Split(lines[i], ",")
	f[field] = v
	lines[i] = strings.Join(f, ",")
}

// parallelEdits are edits of parallelFiles, most of them making a problem at or near line
// last of the claims file.
func parallelEdits(last int) []edit {
	set := setField
	return []edit{
		{"Valid", nil, nil},
		{"DuplicateClaimLate", nil, func(_, c []string) { set(c, last, 0, strings.Split(c[17], ",")[0]) }},
		{"DuplicateClaimOutOfOrder", nil, func(_, c []string) {
			set(c, last-500, 0, "C000000005x")
			set(c, last, 0, "C000000005x")
		}},
		{"UnknownPersonLate", nil, func(_, c []string) { set(c, last, 1, "P9999999") }},
		{"UnknownPersonAndMore", nil, func(_, c []string) {
			set(c, last, 1, "P9999999")
			set(c, last, 7, "x")
			set(c, last, 0, "")
		}},
		{"BadAmountLate", nil, func(_, c []string) { set(c, last, 7, "12.345") }},
		{"TooManyProblems", nil, func(_, c []string) {
			for i := last - 30; i < len(c); i++ {
				set(c, i, 1+i%3, "?")
			}
		}},
		{"FieldCountLate", nil, func(_, c []string) { c[last] += ",extra" }},
		{"ProblemsThenFieldCount", nil, func(_, c []string) {
			set(c, last-3, 4, "daycare")
			c[last] += ",extra"
		}},
		{"QuotedLate", nil, func(_, c []string) { set(c, last, 2, `"TWN01"`) }},
		{"QuoteBroken", nil, func(_, c []string) { set(c, last, 2, `TW"N01`) }},
		{"QuotedThenProblem", nil, func(_, c []string) {
			set(c, last-10, 2, `"TWN01"`)
			set(c, last, 3, "nowhere")
		}},
		{"BlankAndCRLFLines", nil, func(_, c []string) {
			c[last] += "\r\n"
			c[last-5] += "\n\n"
		}},
		{"DuplicatePersonLate", func(p, _ []string) { set(p, len(p)-3, 0, "P0000007") }, nil},
		{"BadPersonAndBadClaim", func(p, _ []string) { set(p, len(p)-3, 2, "maybe") }, func(_, c []string) { set(c, last, 7, "x") }},
	}
}

// TestParallelReadError: an error of the reader late in a file ends the reading with it
// on every core as one by one.
func TestParallelReadError(t *testing.T) {
	defer func(size int) { blockSize = size }(blockSize)
	persons, _ := parallelFiles(2000)
	text := strings.Join(persons, "\n")
	blockSize = 500
	for _, par := range []bool{false, true} {
		parallel = par
		_, err := ReadPersonIndex("persons.csv", &failingReader{r: bytes.NewReader([]byte(text)), after: len(text) - 300})
		if err == nil || !strings.Contains(err.Error(), "read persons.csv: disk on fire") {
			t.Errorf("parallel %v: error %v", par, err)
		}
	}
	parallel = true
}

type failingReader struct {
	r     *bytes.Reader
	after int
	n     int
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n >= f.after {
		return 0, fmt.Errorf("disk on fire")
	}
	p = p[:min(len(p), f.after-f.n)]
	n, err := f.r.Read(p)
	f.n += n
	return n, err
}

// TestParallelPaidMatchesSequential: a paid file read on every core, in small blocks,
// gives the rows or the problems of reading it one row at a time, for files whose
// problems are late in them.
func TestParallelPaidMatchesSequential(t *testing.T) {
	defer func(size int) { blockSize = size }(blockSize)
	defer func() { parallel = true }()
	const n = 4000
	totals := map[string]int{}
	lines := []string{strings.Join(PaidColumns, ",")}
	for i := range n {
		id := fmt.Sprintf("C%07d", i)
		totals[id] = i
		lines = append(lines, fmt.Sprintf("%s,%d.00,0.00,1.00,0.00,0.00,%d.%02d", id, 1+i%7, i, i%100))
	}
	// The totals the rows sum to, by row of the claims file (its order differs).
	ids := make([]string, 0, n)
	for id := range totals {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	row := map[string]int{}
	total := make([]calc.Money, n)
	for r, id := range ids {
		row[id] = r
		i := totals[id]
		total[r] = calc.Money((1+i%7)*100+100) + calc.Money(i*100+i%100)
	}
	claims := PaidClaims{N: n, Find: func(id string) (int, calc.Money, bool) {
		r, ok := row[id]
		if !ok {
			return -1, 0, false
		}
		return r, total[r], true
	}}
	// At as the audit gives it: the claims file's row k, which a paid file in the claims
	// file's order has at the same place. Every reading with it must give the rows and
	// problems of the reading without.
	withAt := claims
	withAt.At = func(k int, id string) (calc.Money, bool) { return total[k], ids[k] == id }
	last := len(lines) - 30
	set := func(l []string, i, field int, v string) {
		f := strings.Split(l[i], ",")
		f[field] = v
		l[i] = strings.Join(f, ",")
	}
	for _, e := range []struct {
		name string
		edit func(l []string)
	}{
		{"Valid", func([]string) {}},
		{"DuplicateLate", func(l []string) { set(l, last, 0, "C0000012") }},
		{"DuplicateBeforeItsPlace", func(l []string) { set(l, 5, 0, "C0000012") }},
		{"UnknownTwice", func(l []string) { set(l, last-9, 0, "X1"); set(l, last, 0, "X1") }},
		{"EmptyIDsAndAmounts", func(l []string) { set(l, last-9, 0, ""); set(l, last, 0, ""); set(l, last, 3, "y") }},
		{"SumLate", func(l []string) { set(l, last, 1, "999.00") }},
		{"ManyProblems", func(l []string) {
			for i := last - 40; i < len(l); i++ {
				set(l, i, 1+i%6, "-1")
			}
		}},
		{"QuotedLate", func(l []string) { set(l, last, 0, `"C0003970"`) }},
		{"FieldCount", func(l []string) { l[last] += ",1" }},
		{"EmptyLines", func(l []string) { l[40] += "\n"; l[last-9] += "\n\n" }},
		{"OutOfOrder", func(l []string) { l[30], l[last] = l[last], l[30] }},
		{"UnknownAtItsPlace", func(l []string) { set(l, 50, 0, "X50") }},
	} {
		t.Run(e.name, func(t *testing.T) {
			l := append([]string(nil), lines...)
			e.edit(l)
			text := strings.Join(l, "\n") + "\n"
			read := func(claims PaidClaims) ([]PaidRow, error) {
				var rows []PaidRow
				err := ScanPaid("paid.csv", strings.NewReader(text), claims, func(r *PaidRow) {
					c := *r
					c.ClaimID = strings.Clone(c.ClaimID)
					if !reflect.DeepEqual(c.Columns, []int{1, 2, 3, 4, 5, 6, 7}) {
						t.Fatalf("row of line %d: columns %v", c.Line, c.Columns)
					}
					rows = append(rows, c)
				})
				if err != nil {
					rows = nil
				}
				return rows, err
			}
			parallel, blockSize = false, 256<<10
			want, wantErr := read(claims)
			got, err := read(withAt)
			if !reflect.DeepEqual(err, wantErr) || !reflect.DeepEqual(got, want) {
				t.Fatalf("one row at a time, with At: %d rows, error\n%v\nwant %d rows, error\n%v", len(got), err, len(want), wantErr)
			}
			parallel = true
			for _, size := range []int{64, 700, 256 << 10} {
				blockSize = size
				for _, c := range []PaidClaims{claims, withAt} {
					got, err := read(c)
					if !reflect.DeepEqual(err, wantErr) || !reflect.DeepEqual(got, want) {
						t.Fatalf("blocks of %d bytes, At %v: %d rows, error\n%v\nwant %d rows, error\n%v", size, c.At != nil, len(got), err, len(want), wantErr)
					}
				}
			}
			if (wantErr == nil) != (e.name == "Valid" || e.name == "QuotedLate" || e.name == "EmptyLines" || e.name == "OutOfOrder" || e.name == "UnknownAtItsPlace") {
				t.Errorf("error %v", wantErr)
			}
		})
	}
}
