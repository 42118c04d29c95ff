package csvdata_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
)

// readPersonIndex reads text with ReadPersonIndex and with ReadPersons, and fails unless
// both give the same error or the same persons.
func readPersonIndex(t *testing.T, text string) (*csvdata.PersonIndex, error) {
	t.Helper()
	x, err := csvdata.ReadPersonIndex("persons.csv", strings.NewReader(text))
	list, listErr := csvdata.ReadPersons("persons.csv", strings.NewReader(text))
	if !reflect.DeepEqual(err, listErr) {
		t.Fatalf("ReadPersonIndex: %v\nReadPersons: %v", err, listErr)
	}
	if err != nil {
		if x != nil {
			t.Errorf("persons returned with the error")
		}
		return nil, err
	}
	if x.Len() != len(list) {
		t.Fatalf("%d persons in the index, %d read by ReadPersons", x.Len(), len(list))
	}
	for i, p := range list {
		if got := x.Person(i); got != p {
			t.Errorf("person %d is %+v, want %+v", i, got, p)
		}
		if n, ok := x.Find(p.ID); !ok || n != i {
			t.Errorf("Find(%q) = %d, %v; want %d", p.ID, n, ok, i)
		}
	}
	// PersonsOf gives what Person gives, for every person and for every other one.
	for _, step := range []int{1, 2} {
		var ns []int32
		for i := 0; i < len(list); i += step {
			ns = append(ns, int32(i))
		}
		for k, got := range x.PersonsOf(ns) {
			if want := list[ns[k]]; got != want {
				t.Errorf("PersonsOf, step %d: person %d is %+v, want %+v", step, ns[k], got, want)
			}
		}
	}
	return x, nil
}

// TestReadPersonIndex: ReadPersonIndex refuses what ReadPersons refuses, with the same
// problems at the same file:line:column, and reads what it reads.
func TestReadPersonIndex(t *testing.T) {
	refused := []struct {
		name, body string
		want       want
	}{
		{"DuplicateID", "P1,H1,true,dibao\nP2,H1,true,\nP1,H2,true,", want{4, 1, "person_id", "duplicate person P1 (first on line 2)"}},
		{"DuplicateOutOfOrder", "P3,H1,true,\nP1,H1,true,\nP2,H2,true,\nP1,H3,false,", want{5, 1, "person_id", "duplicate person P1 (first on line 3)"}},
		{"DuplicateNextRow", "P1,H1,true,\nP1,H1,true,", want{3, 1, "person_id", "duplicate person P1 (first on line 2)"}},
		{"EmptyID", ",H1,true,", want{2, 1, "person_id", "is required"}},
		{"EmptyHousehold", "P1,,true,", want{2, 2, "household_id", "is required"}},
		{"BadRegisteredPoor", "P1,H1,maybe,", want{2, 3, "registered_poor", `"maybe" is not true or false`}},
		{"EmptyRegisteredPoor", "P1,H1,,dibao", want{2, 3, "registered_poor", "is required: true or false"}},
		{"UnknownAidCategory", "P1,H1,true,wubao", want{2, 4, "aid_category", `unknown aid category "wubao" (want one of none, dibao, tekun)`}},
		{"Ragged", "P1,H1,true", want{2, 0, "", "row has 3 fields but the header has 4 (a value with a comma in it must be in double quotes)"}},
		{"BareQuote", `P"1,H1,true,`, want{2, 0, "", `a double quote (") is inside a value that does not start with one: put the whole value in double quotes and write each " inside it as ""`}},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			_, err := readPersonIndex(t, personHeader+tt.body+"\n")
			wantProblems(t, err, "persons.csv", tt.want)
		})
	}
	t.Run("Header", func(t *testing.T) {
		_, err := readPersonIndex(t, "person_id,household_id,aid_category\nP1,H1,\n")
		wantProblems(t, err, "persons.csv", want{1, 0, "registered_poor",
			"required column is missing from the header (want person_id,household_id,registered_poor,aid_category)"})
		_, err = readPersonIndex(t, "")
		wantProblems(t, err, "persons.csv", want{1, 0, "", "the file is empty; want a header line: person_id,household_id,registered_poor,aid_category"})
	})
	t.Run("EveryProblemUpToMaxErrors", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(personHeader)
		for i := range csvdata.MaxErrors + 5 {
			fmt.Fprintf(&b, "P%d,H1,maybe,\n", i%7) // bad registered_poor, and ids repeat from row 8 on
		}
		_, err := readPersonIndex(t, b.String())
		var e *csvdata.Error
		if !errors.As(err, &e) || len(e.Problems) != csvdata.MaxErrors || !e.Truncated {
			t.Fatalf("got %v, want %d problems, truncated", err, csvdata.MaxErrors)
		}
	})
	accepted := []struct{ name, text string }{
		{"ReorderedColumnsBOM", "\ufeffbirth_year,aid_category,registered_poor,household_id,person_id\n" +
			"1950,dibao,TRUE,H1,P1\n1960,tekun,yes,H1,P2\n1970,none,0,H2,P3\n1980,,false,H2,P4\n"},
		{"OutOfOrderIDsAndHouseholds", personHeader + "P9,H2,true,\nP1,H1,true,dibao\nP5,H2,false,\nP2,H1,true,tekun\nP10,H3,true,\n"},
		{"QuotedAndWide", personHeader + "\"P1\",\"H1\",true,\n张三,户1,false,dibao\n"},
		{"HeaderOnly", personHeader},
	}
	for _, tt := range accepted {
		t.Run(tt.name, func(t *testing.T) {
			x, err := readPersonIndex(t, tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := x.Find("nobody"); ok {
				t.Errorf("Find found a person who is not in the file")
			}
		})
	}
	t.Run("Many", func(t *testing.T) {
		// Enough ids to grow the table several times, in and out of order.
		var b strings.Builder
		b.WriteString(personHeader)
		for i := range 30000 {
			fmt.Fprintf(&b, "P%d,H%d,true,\n", (i*7919)%30000, i/3)
		}
		if _, err := readPersonIndex(t, b.String()); err != nil {
			t.Fatal(err)
		}
	})
}

// personIndexOf writes persons as a persons file and reads it with ReadPersonIndex.
func personIndexOf(tb testing.TB, persons map[string]calc.Person) *csvdata.PersonIndex {
	tb.Helper()
	var list []calc.Person
	for _, p := range persons {
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b calc.Person) int { return strings.Compare(a.ID, b.ID) })
	var b bytes.Buffer
	if err := csvdata.WritePersons(&b, list); err != nil {
		tb.Fatal(err)
	}
	x, err := csvdata.ReadPersonIndex("persons.csv", &b)
	if err != nil {
		tb.Fatal(err)
	}
	return x
}

// scanMatchesRead reads data with ReadClaims (checks.Persons) and with ScanClaims
// (checks.PersonIndex holding the same persons), and fails unless both give the same
// error, or the same claims on the same lines, each with its person's number.
func scanMatchesRead(t *testing.T, data []byte, checks csvdata.ClaimChecks) {
	t.Helper()
	want, wantErr := csvdata.ReadClaims("claims.csv", bytes.NewReader(data), checks)
	index := personIndexOf(t, checks.Persons)
	scanChecks := checks
	scanChecks.Persons, scanChecks.PersonIndex = nil, index
	var rows []csvdata.ClaimRow
	err := csvdata.ScanClaims("claims.csv", bytes.NewReader(data), scanChecks, func(row *csvdata.ClaimRow) {
		if len(rows) > 0 && row.Line <= rows[len(rows)-1].Line {
			t.Fatalf("line %d handed on after line %d", row.Line, rows[len(rows)-1].Line)
		}
		r := *row
		r.Claim.ID, r.Claim.PersonID, r.Claim.ProviderID = strings.Clone(r.Claim.ID), strings.Clone(r.Claim.PersonID), strings.Clone(r.Claim.ProviderID)
		rows = append(rows, r)
	})
	if !reflect.DeepEqual(err, wantErr) {
		t.Fatalf("ScanClaims: %v\nReadClaims: %v", err, wantErr)
	}
	if err != nil {
		// Rows are handed on only while no problem has been found.
		var e *csvdata.Error
		if errors.As(err, &e) && len(rows) > 0 && rows[len(rows)-1].Line >= e.Problems[0].Line {
			t.Fatalf("row on line %d handed on after the problem on line %d", rows[len(rows)-1].Line, e.Problems[0].Line)
		}
		return
	}
	if len(rows) != len(want.Claims) {
		t.Fatalf("%d rows scanned, %d claims read", len(rows), len(want.Claims))
	}
	for i, r := range rows {
		if r.Claim != want.Claims[i] || r.Line != want.Lines[i] {
			t.Errorf("row %d: %+v on line %d, want %+v on line %d", i, r.Claim, r.Line, want.Claims[i], want.Lines[i])
		}
		if r.Person < 0 || r.Person >= index.Len() || index.Person(r.Person) != checks.Persons[r.Claim.PersonID] {
			t.Errorf("row %d: person number %d is not %s", i, r.Person, r.Claim.PersonID)
		}
	}
}

// TestScanClaimsMatchesReadClaims: ScanClaims with a PersonIndex reports every class of
// problem exactly as ReadClaims with a map of persons does (file:line:column, field and
// rule, in order, up to MaxErrors), and hands on the same claims when there is none. The
// inputs are the fuzz target's seeds, one per class of problem and the shapes of file
// spreadsheets write, and its committed corpus.
func TestScanClaimsMatchesReadClaims(t *testing.T) {
	checks := csvdata.ClaimChecks{Persons: fuzzPersons, Providers: fuzzProviders(t), Policies: shippedPolicies(t)}
	for i, s := range fuzzSeeds() {
		t.Run(fmt.Sprint("seed", i), func(t *testing.T) { scanMatchesRead(t, []byte(s), checks) })
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReadAndSettle")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		_, rest, _ := strings.Cut(string(raw), "\n")
		arg := strings.TrimSuffix(strings.TrimPrefix(strings.TrimSpace(rest), "[]byte("), ")")
		data, err := strconv.Unquote(arg)
		if err != nil {
			t.Fatalf("%s: %v", e.Name(), err)
		}
		t.Run(e.Name(), func(t *testing.T) { scanMatchesRead(t, []byte(data), checks) })
	}
	t.Run("NoPersonChecks", func(t *testing.T) {
		var rows []csvdata.ClaimRow
		err := csvdata.ScanClaims("claims.csv", strings.NewReader(claimHeader+goodRow+"\n"), csvdata.ClaimChecks{},
			func(row *csvdata.ClaimRow) { rows = append(rows, *row) })
		if err != nil || len(rows) != 1 || rows[0].Person != -1 || rows[0].Line != 2 {
			t.Errorf("got %+v, %v; want one row of person -1 on line 2", rows, err)
		}
	})
}

// fuzzProviders reads the shipped providers.
func fuzzProviders(tb testing.TB) map[string]csvdata.Provider {
	tb.Helper()
	raw, err := os.ReadFile("../fixtures/providers.csv")
	if err != nil {
		tb.Fatal(err)
	}
	list, err := csvdata.ReadProviders("providers.csv", bytes.NewReader(raw))
	if err != nil {
		tb.Fatal(err)
	}
	providers := map[string]csvdata.Provider{}
	for _, p := range list {
		providers[p.ID] = p
	}
	return providers
}
