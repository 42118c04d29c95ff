package csvdata_test

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
)

const shippedPolicyFile = "../fixtures/policies/pingxiang-2018.yaml"

// shippedPolicy parses the shipped 2018 policy.
func shippedPolicy(tb testing.TB) *calc.Policy {
	tb.Helper()
	raw, err := os.ReadFile(shippedPolicyFile)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := policyfile.Parse("pingxiang-2018.yaml", raw)
	if err != nil {
		tb.Fatal(err)
	}
	return p
}

// shippedPolicies is the set holding only the shipped 2018 policy.
func shippedPolicies(tb testing.TB) *calc.PolicySet {
	tb.Helper()
	s, err := calc.NewPolicySet(shippedPolicy(tb))
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// claimHeader is the claims header in the documented order.
var claimHeader = strings.Join(csvdata.ClaimColumns, ",") + "\n"

// goodRow is a valid claim row for claimChecks; field i is column csvdata.ClaimColumns[i].
const goodRow = "C1,P00001,TWN01,township,inpatient,2018-01-02,2018-01-05,1200.00,1000.00"

// row returns goodRow with the fields given as column name, value pairs replaced.
func row(pairs ...string) string {
	f := strings.Split(goodRow, ",")
	for i := 0; i < len(pairs); i += 2 {
		j := index(csvdata.ClaimColumns, pairs[i])
		if j < 0 {
			panic("no column " + pairs[i])
		}
		f[j] = pairs[i+1]
	}
	return strings.Join(f, ",")
}

func index(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}

// col is the 1-based field number of a claims column in the documented header.
func col(name string) int { return index(csvdata.ClaimColumns, name) + 1 }

func claimChecks(tb testing.TB) csvdata.ClaimChecks {
	return csvdata.ClaimChecks{
		Persons: map[string]calc.Person{
			"P00001": {ID: "P00001", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao},
			"P00002": {ID: "P00002", HouseholdID: "H2", RegisteredPoor: true, Aid: calc.Tekun},
		},
		Providers: map[string]csvdata.Provider{
			"TWN01": {ID: "TWN01", Name: "township centre", Level: calc.Township},
			"CTY01": {ID: "CTY01", Name: "county hospital", Level: calc.County},
		},
		Policies: shippedPolicies(tb),
	}
}

// want is one expected problem: its line, column (field number, 0 for the whole row),
// field and the exact rule.
type want struct {
	line, column int
	field, rule  string
}

// wantProblems checks that err is a *csvdata.Error for file, errors.Is calc.ErrInvalid,
// and lists exactly the problems wanted, in order; and that its message names the file
// and line of each.
func wantProblems(t *testing.T, err error, file string, wants ...want) *csvdata.Error {
	t.Helper()
	var e *csvdata.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *csvdata.Error", err, err)
	}
	if !errors.Is(err, calc.ErrInvalid) {
		t.Errorf("errors.Is(%v, calc.ErrInvalid) is false", err)
	}
	if e.File != file {
		t.Errorf("error names file %q, want %q", e.File, file)
	}
	if len(e.Problems) != len(wants) {
		t.Fatalf("got %d problems, want %d:\n%v", len(e.Problems), len(wants), err)
	}
	for i, w := range wants {
		p := e.Problems[i]
		if p.Line != w.line || p.Column != w.column || p.Field != w.field || p.Rule != w.rule {
			t.Errorf("problem %d is\n  {line %d, column %d, field %q, rule %q}\nwant\n  {line %d, column %d, field %q, rule %q}",
				i, p.Line, p.Column, p.Field, p.Rule, w.line, w.column, w.field, w.rule)
		}
		prefix := fmt.Sprintf("%s:%d", file, w.line)
		if w.column > 0 {
			prefix += fmt.Sprintf(":%d", w.column)
		}
		if !strings.Contains(err.Error(), prefix+": ") {
			t.Errorf("message does not name %s:\n%v", prefix, err)
		}
	}
	return e
}

const (
	levelChoices = "(want one of township, county, municipal, provincial, out_of_province)"
	amountRule   = " is not an amount of yuan: write digits with at most one decimal point and no thousands separators, such as 1234.50"
	dateRule     = " is not a calendar date written YYYY-MM-DD, such as 2018-03-07"
	noPolicy     = " (pingxiang-2018 runs 2018-01-01 to 2018-12-31)"
)

// TestReadClaimsRefuses covers every rule a claims row can break; each file has exactly
// one problem.
func TestReadClaimsRefuses(t *testing.T) {
	checks := claimChecks(t)
	tests := []struct {
		name string
		body string // after the header
		want want
	}{
		// Money.
		{"InPolicyOverTotal", row("total", "1200.00", "in_policy", "1200.01"),
			want{2, 9, "in_policy", "in_policy 1200.01 exceeds total 1200.00"}},
		{"NegativeTotal", row("total", "-1.00"), want{2, 8, "total", "-1.00 is negative"}},
		{"ZeroTotal", row("total", "0.00", "in_policy", "0.00"), want{2, 8, "total", "must be more than 0.00: a bill of nothing is not a claim"}},
		{"AdmittedInYear1", row("admitted_on", "0001-01-01"), want{2, 6, "admitted_on",
			"admission 0001-01-01 is 736698 days before discharge 2018-01-05; an inpatient stay spans at most 365 days"}},
		{"AdmittedIn1900", row("admitted_on", "1900-01-02"), want{2, 6, "admitted_on",
			"admission 1900-01-02 is 43102 days before discharge 2018-01-05; an inpatient stay spans at most 365 days"}},
		{"ChronicBillOver364Days", row("kind", "outpatient_chronic", "admitted_on", "2017-01-06"), want{2, 6, "admitted_on",
			"admission 2017-01-06 is 364 days before discharge 2018-01-05; a chronic outpatient bill spans at most 92 days"}},
		{"CommaInClaimID", row("claim_id", `"C,1"`), want{2, 1, "claim_id", `"C,1" is not an id: ',' (byte 2) is not a letter, a digit, '.', '_' or '-'`}},
		{"SpaceInPersonID", row("person_id", `"P 00001"`), want{2, 2, "person_id", `"P 00001" is not an id: ' ' (byte 2) is not a letter, a digit, '.', '_' or '-'`}},
		{"CommaInProviderID", row("provider_id", `"TWN01,CTY03"`), want{2, 3, "provider_id", `"TWN01,CTY03" is not an id: ',' (byte 6) is not a letter, a digit, '.', '_' or '-'`}},
		{"LongClaimID", row("claim_id", strings.Repeat("C", 65)), want{2, 1, "claim_id", "is 65 bytes long; an id is at most 64 bytes"}},
		{"InvalidUTF8ClaimID", row("claim_id", "C\xff1"), want{2, 1, "claim_id", "is not valid UTF-8"}},
		{"NegativeInPolicy", row("in_policy", "-0.01"), want{2, 9, "in_policy", "-0.01 is negative"}},
		{"NegativeHuge", row("total", "-12345678901234567"), want{2, 8, "total", "-12345678901234567 is negative"}},
		{"Letters", row("total", "abc"), want{2, 8, "total", `"abc"` + amountRule}},
		{"ThousandsSeparator", row("total", `"1,234.00"`), want{2, 8, "total", `"1,234.00"` + amountRule}},
		{"TwoPoints", row("in_policy", "12.3.4"), want{2, 9, "in_policy", `"12.3.4"` + amountRule}},
		{"Exponent", row("total", "1e5"), want{2, 8, "total", `"1e5"` + amountRule}},
		{"CurrencySign", row("total", "¥1200.00"), want{2, 8, "total", `"¥1200.00"` + amountRule}},
		{"ThreeDecimals", row("in_policy", "12.345"), want{2, 9, "in_policy", `"12.345" has more than two decimals`}},
		{"JustOverLimit", row("total", "100000000.01"), want{2, 8, "total", "100000000.01 is over the limit of 100000000.00"}},
		{"FarOverLimit", row("total", "1000000000000000000"), want{2, 8, "total", `"1000000000000000000" is over the limit of 100000000.00`}},
		{"InPolicyOverLimit", row("total", "100000000.00", "in_policy", "100000000.01"),
			want{2, 9, "in_policy", "100000000.01 is over the limit of 100000000.00"}},
		// Cross-file checks.
		{"UnknownPerson", row("person_id", "P99999"), want{2, 2, "person_id", "unknown person P99999: not in the persons file"}},
		{"UnknownProvider", row("provider_id", "XXX01"), want{2, 3, "provider_id", "unknown provider XXX01: not in the providers file"}},
		{"ProviderLevelMismatch", row("provider_id", "CTY01"), want{2, 4, "level", "level township differs from provider CTY01's level county"}},
		// Names.
		{"UnknownLevel", row("level", "village"), want{2, 4, "level", `unknown level "village" ` + levelChoices}},
		{"LevelInCapitals", row("level", "Township"), want{2, 4, "level", `unknown level "Township" ` + levelChoices}},
		{"UnknownKind", row("kind", "dental"), want{2, 5, "kind", `unknown kind "dental" (want one of inpatient, outpatient_chronic)`}},
		// Dates and periods.
		{"DischargeBeforeAdmission", row("admitted_on", "2018-01-05", "discharged_on", "2018-01-02"),
			want{2, 7, "discharged_on", "discharge 2018-01-02 is before admission 2018-01-05"}},
		{"DischargeAfterEveryPolicy", row("admitted_on", "2018-12-28", "discharged_on", "2019-01-02"),
			want{2, 7, "discharged_on", "no policy is in force on 2019-01-02" + noPolicy}},
		{"DischargeBeforeEveryPolicy", row("admitted_on", "2017-12-20", "discharged_on", "2017-12-31"),
			want{2, 7, "discharged_on", "no policy is in force on 2017-12-31" + noPolicy}},
		{"NoSuchDay", row("discharged_on", "2018-02-30"), want{2, 7, "discharged_on", `"2018-02-30"` + dateRule}},
		{"SlashDate", row("discharged_on", "2018/01/05"), want{2, 7, "discharged_on", `"2018/01/05"` + dateRule}},
		{"DayFirstDate", row("admitted_on", "02-01-2018"), want{2, 6, "admitted_on", `"02-01-2018"` + dateRule}},
		{"DateWithTime", row("admitted_on", "2018-01-02T08:00:00"), want{2, 6, "admitted_on", `"2018-01-02T08:00:00"` + dateRule}},
		// Ids.
		{"DuplicateClaimID", goodRow + "\n" + row("person_id", "P00002"),
			want{3, 1, "claim_id", "duplicate claim C1 (first on line 2)"}},
		{"DuplicateAfterOtherRows", goodRow + "\n" + row("claim_id", "C2") + "\n" + row("claim_id", "C3") + "\n" + row("claim_id", "C2"),
			want{5, 1, "claim_id", "duplicate claim C2 (first on line 3)"}},
		// Shape of the file.
		{"TooFewFields", goodRow + "\nC2,P00001,TWN01,township,inpatient,2018-01-02,2018-01-05,1200.00",
			want{3, 0, "", "row has 8 fields but the header has 9 (a value with a comma in it must be in double quotes)"}},
		{"UnquotedComma", row("total", "1,200.00"),
			want{2, 0, "", "row has 10 fields but the header has 9 (a value with a comma in it must be in double quotes)"}},
		{"BareQuote", row("provider_id", `TWN"01`),
			want{2, 0, "", `a double quote (") is inside a value that does not start with one: put the whole value in double quotes and write each " inside it as ""`}},
		{"UnclosedQuote", row("in_policy", `"1000.00`),
			want{2, 0, "", `a value in double quotes is not closed properly: its closing double quote (") is missing or is followed by more text before the next comma`}},
	}
	// An empty cell in each required column.
	for _, c := range csvdata.ClaimColumns {
		tests = append(tests, struct {
			name string
			body string
			want want
		}{"Empty_" + c, row(c, ""), want{2, col(c), c, "is required"}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := csvdata.ReadClaims("claims.csv", strings.NewReader(claimHeader+tt.body+"\n"), checks)
			if claims != nil {
				t.Errorf("claims %+v returned with the error", claims)
			}
			wantProblems(t, err, "claims.csv", tt.want)
		})
	}
}

// TestReadClaimsHeader covers problems with the header line as a whole.
func TestReadClaimsHeader(t *testing.T) {
	missingRule := func(string) string {
		return "required column is missing from the header (want " + strings.Join(csvdata.ClaimColumns, ",") + ")"
	}
	without := func(name string) string {
		var h []string
		for _, c := range csvdata.ClaimColumns {
			if c != name {
				h = append(h, c)
			}
		}
		return strings.Join(h, ",") + "\n"
	}
	tests := []struct {
		name  string
		text  string
		wants []want
	}{
		{"MissingInPolicy", without("in_policy") + "C1,P00001,TWN01,township,inpatient,2018-01-02,2018-01-05,1200.00\n",
			[]want{{1, 0, "in_policy", missingRule("in_policy")}}},
		{"MissingClaimID", without("claim_id"), []want{{1, 0, "claim_id", missingRule("claim_id")}}},
		{"MisspeltColumn", strings.Replace(claimHeader, "discharged_on", "discharge_on", 1),
			[]want{{1, 0, "discharged_on", missingRule("discharged_on")}}},
		{"HeaderAfterBlankLines", "\n\n" + without("kind") + "\n", []want{{3, 0, "kind", missingRule("kind")}}},
		{"DuplicateColumn", strings.TrimSuffix(claimHeader, "\n") + ",total\n" + goodRow + ",1.00\n",
			[]want{{1, 10, "total", "column appears twice in the header (first as column 8)"}}},
		{"Empty", "", []want{{1, 0, "", "the file is empty; want a header line: " + strings.Join(csvdata.ClaimColumns, ",")}}},
		{"OnlyBlankLines", "\n\r\n\n", []want{{1, 0, "", "the file is empty; want a header line: " + strings.Join(csvdata.ClaimColumns, ",")}}},
		{"NoHeader", goodRow + "\n", func() []want {
			var w []want
			for _, c := range csvdata.ClaimColumns {
				w = append(w, want{1, 0, c, missingRule(c)})
			}
			return w
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := csvdata.ReadClaims("claims.csv", strings.NewReader(tt.text), claimChecks(t))
			if claims != nil {
				t.Errorf("claims %+v returned with the error", claims)
			}
			wantProblems(t, err, "claims.csv", tt.wants...)
		})
	}
}

// TestReadClaimsReportsEveryProblem checks that one read reports every bad cell of every
// bad row, with its line, up to MaxErrors.
func TestReadClaimsReportsEveryProblem(t *testing.T) {
	checks := claimChecks(t)
	t.Run("SeveralRows", func(t *testing.T) {
		body := []string{
			row("total", "x"),                                           // line 2
			row("claim_id", "C2"),                                       // line 3: good
			row("claim_id", "C3", "level", "village"),                   // line 4
			row("claim_id", "C4"),                                       // line 5: good
			row("claim_id", "C2", "discharged_on", "2018-13-01"),        // line 6
			row("claim_id", "C6", "person_id", "P7", "kind", "x"),       // line 7: two problems
			row("claim_id", "C7", "total", "5.00", "in_policy", "6.00"), // line 8
		}
		claims, err := csvdata.ReadClaims("claims.csv", strings.NewReader(claimHeader+strings.Join(body, "\n")+"\n"), checks)
		if claims != nil {
			t.Errorf("claims returned with the error")
		}
		wantProblems(t, err, "claims.csv",
			want{2, 8, "total", `"x"` + amountRule},
			want{4, 4, "level", `unknown level "village" ` + levelChoices},
			want{6, 1, "claim_id", "duplicate claim C2 (first on line 3)"},
			want{6, 7, "discharged_on", `"2018-13-01"` + dateRule},
			want{7, 2, "person_id", "unknown person P7: not in the persons file"},
			want{7, 5, "kind", `unknown kind "x" (want one of inpatient, outpatient_chronic)`},
			want{8, 9, "in_policy", "in_policy 6.00 exceeds total 5.00"},
		)
	})
	t.Run("EveryCellOfOneRow", func(t *testing.T) {
		body := ",P9,XXX,village,dental,2018-02-30,2018/03/01,-1,1.234\n"
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(claimHeader+body), checks)
		wantProblems(t, err, "claims.csv",
			want{2, 1, "claim_id", "is required"},
			want{2, 2, "person_id", "unknown person P9: not in the persons file"},
			want{2, 4, "level", `unknown level "village" ` + levelChoices},
			want{2, 3, "provider_id", "unknown provider XXX: not in the providers file"},
			want{2, 5, "kind", `unknown kind "dental" (want one of inpatient, outpatient_chronic)`},
			want{2, 6, "admitted_on", `"2018-02-30"` + dateRule},
			want{2, 7, "discharged_on", `"2018/03/01"` + dateRule},
			want{2, 8, "total", "-1 is negative"},
			want{2, 9, "in_policy", `"1.234" has more than two decimals`},
		)
	})
	t.Run("ProblemsBeforeARaggedRow", func(t *testing.T) {
		body := row("total", "x") + "\n" + row("claim_id", "C2") + "\nC3,P00001\n" + row("claim_id", "C4", "kind", "x") + "\n"
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(claimHeader+body), checks)
		// Reading stops at the broken row: line 5 is not read.
		wantProblems(t, err, "claims.csv",
			want{2, 8, "total", `"x"` + amountRule},
			want{4, 0, "", "row has 2 fields but the header has 9 (a value with a comma in it must be in double quotes)"},
		)
	})
	t.Run("LinesCountQuotedNewlines", func(t *testing.T) {
		text := "note," + claimHeader + "\"two\nlines\"," + goodRow + "\nx," + row("claim_id", "C2", "kind", "x") + "\n"
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(text), checks)
		wantProblems(t, err, "claims.csv", want{4, 6, "kind", `unknown kind "x" (want one of inpatient, outpatient_chronic)`})
	})

	// bad makes n rows with one problem each (a non-numeric total), from line 2 on.
	bad := func(n int) string {
		var b strings.Builder
		b.WriteString(claimHeader)
		for i := range n {
			fmt.Fprintf(&b, "C%d,P00001,TWN01,township,inpatient,2018-01-02,2018-01-05,bad,1.00\n", i)
		}
		return b.String()
	}
	t.Run("ExactlyMaxErrors", func(t *testing.T) {
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(bad(csvdata.MaxErrors)), checks)
		var e *csvdata.Error
		if !errors.As(err, &e) || len(e.Problems) != csvdata.MaxErrors || e.Truncated || strings.Contains(err.Error(), "stopped reading") {
			t.Fatalf("got %v, want %d problems and no truncation", err, csvdata.MaxErrors)
		}
	})
	t.Run("MoreThanMaxErrors", func(t *testing.T) {
		claims, err := csvdata.ReadClaims("claims.csv", strings.NewReader(bad(csvdata.MaxErrors+5)), checks)
		if claims != nil {
			t.Errorf("claims returned with the error")
		}
		var wants []want
		for i := range csvdata.MaxErrors {
			wants = append(wants, want{2 + i, 8, "total", `"bad"` + amountRule})
		}
		e := wantProblems(t, err, "claims.csv", wants...)
		if !e.Truncated {
			t.Errorf("Truncated is false")
		}
		if !strings.HasSuffix(err.Error(), fmt.Sprintf("\nclaims.csv: stopped reading after %d problems", csvdata.MaxErrors)) {
			t.Errorf("message does not say reading stopped:\n%v", err)
		}
	})
	t.Run("NeverMoreThanMaxErrors", func(t *testing.T) {
		// Rows with three problems each: the 21st problem falls inside the 7th row.
		var b strings.Builder
		b.WriteString(claimHeader)
		for i := range 10 {
			fmt.Fprintf(&b, "C%d,P00001,TWN01,village,dental,2018-01-02,2018-01-05,bad,1.00\n", i)
		}
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(b.String()), checks)
		var e *csvdata.Error
		if !errors.As(err, &e) || len(e.Problems) != csvdata.MaxErrors || !e.Truncated {
			t.Fatalf("got %d problems, truncated %v; want %d, truncated:\n%v", len(e.Problems), e.Truncated, csvdata.MaxErrors, err)
		}
		if last := e.Problems[csvdata.MaxErrors-1]; last.Line != 8 || last.Field != "kind" {
			t.Errorf("last problem %+v, want line 8 kind", last)
		}
	})
	t.Run("HeaderProblemsAreCapped", func(t *testing.T) {
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(strings.Repeat("x,", 40)+claimHeader), checks)
		var e *csvdata.Error
		if !errors.As(err, &e) || len(e.Problems) != csvdata.MaxErrors || !e.Truncated {
			t.Fatalf("got %v, want %d problems, truncated", err, csvdata.MaxErrors)
		}
	})
}

// TestReadClaimsAccepts covers the variants spreadsheets write.
func TestReadClaimsAccepts(t *testing.T) {
	want := calc.Claim{ID: "C1", PersonID: "P00001", ProviderID: "TWN01", Level: calc.Township, Kind: calc.Inpatient,
		AdmittedOn: calc.NewDate(2018, 1, 2), DischargedOn: calc.NewDate(2018, 1, 5), Total: 1200 * calc.Yuan, InPolicy: 1000 * calc.Yuan}
	quotedHeader := `"` + strings.Join(csvdata.ClaimColumns, `","`) + `"` + "\n"
	tests := []struct {
		name  string
		text  string
		line  int
		claim calc.Claim
	}{
		{"Plain", claimHeader + goodRow + "\n", 2, want},
		{"NoFinalNewline", claimHeader + goodRow, 2, want},
		{"BOM", "\ufeff" + claimHeader + goodRow + "\n", 2, want},
		{"BOMBeforeQuotedHeader", "\ufeff" + quotedHeader + goodRow + "\n", 2, want},
		{"CRLF", "\ufeff" + strings.ReplaceAll(claimHeader+goodRow+"\n", "\n", "\r\n"), 2, want},
		{"BlankLines", "\n" + claimHeader + "\n\n" + goodRow + "\n\n", 5, want},
		{"ReorderedAndExtraColumns",
			"note,in_policy,total,discharged_on,admitted_on,kind,level,provider_id,person_id,claim_id,sex\n" +
				`"a, b, ""c""",1000.00,1200.00,2018-01-05,2018-01-02,inpatient,township,TWN01,P00001,C1,F` + "\n", 2, want},
		{"QuotedEverything", quotedHeader +
			`"C1","P00001","TWN01","township","inpatient","2018-01-02","2018-01-05","1200","1000.0"` + "\n", 2, want},
		{"QuotedIDs", claimHeader + `"C1","P00001","TWN01",township,inpatient,2018-01-02,2018-01-05,1200.00,1000.00` + "\n", 2, want},
		{"QuotedNewlineInExtraColumn", "note," + claimHeader + "\"line one\nline two\"," + goodRow + "\n", 2, want},
		{"SpacesAroundValues", claimHeader + " C1 , P00001,TWN01 ,township, inpatient,2018-01-02 , 2018-01-05,1200.00 , 1000.00\n", 2, want},
		{"ExactLimit", claimHeader + row("total", "100000000.00", "in_policy", "100000000.00") + "\n", 2,
			func() calc.Claim { c := want; c.Total, c.InPolicy = calc.MaxAmount, calc.MaxAmount; return c }()},
		{"ZeroAndFen", claimHeader + row("total", "0.01", "in_policy", "0") + "\n", 2,
			func() calc.Claim { c := want; c.Total, c.InPolicy = 1, 0; return c }()},
		{"TrailingZeroDecimals", claimHeader + row("total", "1200.000", "in_policy", "1000.0000") + "\n", 2, want},
		{"SameDayChronic", claimHeader + row("kind", "outpatient_chronic", "admitted_on", "2018-01-05") + "\n", 2,
			func() calc.Claim {
				c := want
				c.Kind, c.AdmittedOn = calc.OutpatientChronic, c.DischargedOn
				return c
			}()},
		{"LastDayOfPolicy", claimHeader + row("discharged_on", "2018-12-31") + "\n", 2,
			func() calc.Claim { c := want; c.DischargedOn = calc.NewDate(2018, 12, 31); return c }()},
		{"FirstDayOfPolicy", claimHeader + row("admitted_on", "2017-12-01", "discharged_on", "2018-01-01") + "\n", 2,
			func() calc.Claim {
				c := want
				c.AdmittedOn, c.DischargedOn = calc.NewDate(2017, 12, 1), calc.NewDate(2018, 1, 1)
				return c
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := csvdata.ReadClaims("claims.csv", strings.NewReader(tt.text), claimChecks(t))
			if err != nil {
				t.Fatal(err)
			}
			if got.File != "claims.csv" || len(got.Claims) != 1 || got.Claims[0] != tt.claim || len(got.Lines) != 1 || got.Lines[0] != tt.line {
				t.Errorf("got %+v, want %+v on line %d", got, tt.claim, tt.line)
			}
		})
	}
	t.Run("HeaderOnly", func(t *testing.T) {
		got, err := csvdata.ReadClaims("claims.csv", strings.NewReader(claimHeader), claimChecks(t))
		if err != nil || len(got.Claims) != 0 || len(got.Lines) != 0 {
			t.Errorf("got %+v, %v; want no claims and no error", got, err)
		}
	})
	t.Run("NoChecks", func(t *testing.T) {
		// With no ClaimChecks, persons, providers and periods are not checked.
		text := claimHeader + row("person_id", "P99", "provider_id", "X", "admitted_on", "2030-01-01", "discharged_on", "2030-01-01") + "\n"
		if _, err := csvdata.ReadClaims("claims.csv", strings.NewReader(text), csvdata.ClaimChecks{}); err != nil {
			t.Error(err)
		}
	})
}

var personHeader = strings.Join(csvdata.PersonColumns, ",") + "\n"

func TestReadPersons(t *testing.T) {
	tests := []struct {
		name, body string
		want       want
	}{
		{"DuplicateID", "P1,H1,true,dibao\nP2,H1,true,\nP1,H2,true,", want{4, 1, "person_id", "duplicate person P1 (first on line 2)"}},
		{"EmptyID", ",H1,true,", want{2, 1, "person_id", "is required"}},
		{"EmptyHousehold", "P1,,true,", want{2, 2, "household_id", "is required"}},
		{"BlankHousehold", "P1,  ,true,", want{2, 2, "household_id", "is required"}},
		{"SpaceInID", "PX 001,H1,true,", want{2, 1, "person_id", `"PX 001" is not an id: ' ' (byte 3) is not a letter, a digit, '.', '_' or '-'`}},
		{"CommaInHousehold", `P1,"H,1",true,`, want{2, 2, "household_id", `"H,1" is not an id: ',' (byte 2) is not a letter, a digit, '.', '_' or '-'`}},
		{"InvalidUTF8Household", "P1,H\xfe,true,", want{2, 2, "household_id", "is not valid UTF-8"}},
		{"BadRegisteredPoor", "P1,H1,maybe,", want{2, 3, "registered_poor", `"maybe" is not true or false`}},
		{"ChineseRegisteredPoor", "P1,H1,是,", want{2, 3, "registered_poor", `"是" is not true or false`}},
		{"EmptyRegisteredPoor", "P1,H1,,dibao", want{2, 3, "registered_poor", "is required: true or false"}},
		{"UnknownAidCategory", "P1,H1,true,wubao", want{2, 4, "aid_category", `unknown aid category "wubao" (want one of none, dibao, tekun)`}},
		{"AidCategoryInChinese", "P1,H1,true,低保", want{2, 4, "aid_category", `unknown aid category "低保" (want one of none, dibao, tekun)`}},
		{"Ragged", "P1,H1,true", want{2, 0, "", "row has 3 fields but the header has 4 (a value with a comma in it must be in double quotes)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := csvdata.ReadPersons("persons.csv", strings.NewReader(personHeader+tt.body+"\n"))
			if got != nil {
				t.Errorf("persons %+v returned with the error", got)
			}
			wantProblems(t, err, "persons.csv", tt.want)
		})
	}
	t.Run("MissingColumn", func(t *testing.T) {
		got, err := csvdata.ReadPersons("persons.csv", strings.NewReader("person_id,household_id,aid_category\nP1,H1,\n"))
		if got != nil {
			t.Errorf("persons returned with the error")
		}
		wantProblems(t, err, "persons.csv", want{1, 0, "registered_poor",
			"required column is missing from the header (want person_id,household_id,registered_poor,aid_category)"})
	})
	t.Run("Accepts", func(t *testing.T) {
		text := "\ufeffbirth_year,aid_category,registered_poor,household_id,person_id\n" +
			"1950,dibao,TRUE,H1,P1\n1960,tekun,yes,H1,P2\n1970,none,0,H2,P3\n1980,,false,H2,P4\n"
		got, err := csvdata.ReadPersons("persons.csv", strings.NewReader(text))
		if err != nil {
			t.Fatal(err)
		}
		want := []calc.Person{
			{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao},
			{ID: "P2", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun},
			{ID: "P3", HouseholdID: "H2"},
			{ID: "P4", HouseholdID: "H2"},
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %+v, want %+v", got, want)
		}
	})
}

var providerHeader = strings.Join(csvdata.ProviderColumns, ",") + "\n"

func TestReadProviders(t *testing.T) {
	tests := []struct {
		name, body string
		want       want
	}{
		{"UnknownLevel", "T1,乡镇卫生院,village", want{2, 3, "level", `unknown level "village" ` + levelChoices}},
		{"EmptyLevel", "T1,乡镇卫生院,", want{2, 3, "level", "is required"}},
		{"DuplicateID", "T1,x,township\nC1,y,county\nT1,z,county", want{4, 1, "provider_id", "duplicate provider T1 (first on line 2)"}},
		{"EmptyID", ",x,township", want{2, 1, "provider_id", "is required"}},
		{"CommaInID", `"NEW01,CTY03",x,township`, want{2, 1, "provider_id", `"NEW01,CTY03" is not an id: ',' (byte 6) is not a letter, a digit, '.', '_' or '-'`}},
		{"InvalidUTF8Name", "T1,\xe4\xb9,township", want{2, 2, "name", "is not valid UTF-8: save the file as UTF-8"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := csvdata.ReadProviders("providers.csv", strings.NewReader(providerHeader+tt.body+"\n"))
			if got != nil {
				t.Errorf("providers %+v returned with the error", got)
			}
			wantProblems(t, err, "providers.csv", tt.want)
		})
	}
}

func TestRoundTrip(t *testing.T) {
	t.Run("Persons", func(t *testing.T) {
		persons := []calc.Person{
			{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao},
			{ID: "P2", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun},
			{ID: "P3", HouseholdID: "H2", RegisteredPoor: true},
			{ID: "P-4.a_b", HouseholdID: "H3"},
			{ID: "张三", HouseholdID: "户1", Aid: calc.Dibao},
		}
		var b bytes.Buffer
		if err := csvdata.WritePersons(&b, persons); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(b.String(), personHeader) {
			t.Errorf("header is not %q:\n%s", personHeader, b.String())
		}
		if got, err := csvdata.ReadPersons("p.csv", &b); err != nil || !reflect.DeepEqual(got, persons) {
			t.Errorf("persons round trip: %+v, %v", got, err)
		}
	})
	t.Run("Providers", func(t *testing.T) {
		var providers []csvdata.Provider
		for i, l := range calc.Levels() {
			providers = append(providers, csvdata.Provider{ID: fmt.Sprintf("V%d", i), Name: fmt.Sprintf(`医院 %d, "%s"`, i, l), Level: l})
		}
		providers = append(providers, csvdata.Provider{ID: "NONAME", Level: calc.County})
		var b bytes.Buffer
		if err := csvdata.WriteProviders(&b, providers); err != nil {
			t.Fatal(err)
		}
		if got, err := csvdata.ReadProviders("v.csv", &b); err != nil || !reflect.DeepEqual(got, providers) {
			t.Errorf("providers round trip: %+v, %v", got, err)
		}
	})
	t.Run("Claims", func(t *testing.T) {
		claims := []calc.Claim{
			{ID: "C1", PersonID: "P1", ProviderID: "T1", Level: calc.Township, Kind: calc.OutpatientChronic,
				AdmittedOn: calc.NewDate(2018, 3, 7), DischargedOn: calc.NewDate(2018, 3, 7), Total: 5, InPolicy: 0},
			{ID: "C2", PersonID: "P3", ProviderID: "O1", Level: calc.OutOfProvince, Kind: calc.Inpatient,
				AdmittedOn: calc.NewDate(2017, 12, 20), DischargedOn: calc.NewDate(2018, 1, 9), Total: calc.MaxAmount, InPolicy: calc.MaxAmount},
			{ID: "C3", PersonID: "P4", ProviderID: "M1", Level: calc.Municipal, Kind: calc.Inpatient,
				AdmittedOn: calc.NewDate(2018, 2, 28), DischargedOn: calc.NewDate(2018, 3, 1), Total: 123456, InPolicy: 100010},
			{ID: "C4", PersonID: "P1", ProviderID: "V1", Level: calc.Provincial, Kind: calc.Inpatient,
				AdmittedOn: calc.NewDate(2018, 12, 30), DischargedOn: calc.NewDate(2018, 12, 31), Total: 1, InPolicy: 0},
			{ID: "C5", PersonID: "P1", ProviderID: "Y1", Level: calc.County, Kind: calc.OutpatientChronic,
				AdmittedOn: calc.NewDate(2018, 6, 1), DischargedOn: calc.NewDate(2018, 6, 1), Total: 99, InPolicy: 9},
		}
		var b bytes.Buffer
		if err := csvdata.WriteClaims(&b, claims); err != nil {
			t.Fatal(err)
		}
		text := b.String()
		for _, s := range []string{claimHeader, ",2018-03-07,2018-03-07,0.05,0.00\n", ",100000000.00,100000000.00\n", ",1234.56,1000.10\n", ",0.99,0.09\n", ",0.01,0.00\n"} {
			if !strings.Contains(text, s) {
				t.Errorf("claims file does not contain %q:\n%s", s, text)
			}
		}
		got, err := csvdata.ReadClaims("c.csv", &b, csvdata.ClaimChecks{})
		if err != nil || !reflect.DeepEqual(got.Claims, claims) || !reflect.DeepEqual(got.Lines, []int{2, 3, 4, 5, 6}) {
			t.Errorf("claims round trip: %+v, %v", got, err)
		}
	})
	t.Run("ShippedFilesByteForByte", func(t *testing.T) {
		// The shipped claims and providers files are written by WriteClaims and
		// WriteProviders; reading and writing them again gives the same bytes.
		for _, tc := range []struct {
			file  string
			write func(*bytes.Buffer, []byte) error
		}{
			{"claims.csv", func(b *bytes.Buffer, raw []byte) error {
				c, err := csvdata.ReadClaims("claims.csv", bytes.NewReader(raw), csvdata.ClaimChecks{})
				if err != nil {
					return err
				}
				return csvdata.WriteClaims(b, c.Claims)
			}},
			{"providers.csv", func(b *bytes.Buffer, raw []byte) error {
				p, err := csvdata.ReadProviders("providers.csv", bytes.NewReader(raw))
				if err != nil {
					return err
				}
				return csvdata.WriteProviders(b, p)
			}},
		} {
			raw, err := os.ReadFile("../fixtures/" + tc.file)
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := tc.write(&b, raw); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(b.Bytes(), raw) {
				t.Errorf("%s written again differs from the shipped file", tc.file)
			}
		}
	})
	t.Run("Settlements", func(t *testing.T) {
		s := calc.Settlement{ClaimID: "C,1", Total: 123456, OutOfPocket: 5}
		s.Lines[calc.Basic].Amount = 100000
		s.Lines[calc.Critical].Amount = 20000
		s.Lines[calc.Commercial].Amount = 3000
		s.Lines[calc.Aid].Amount = 400
		s.Lines[calc.Backstop].Amount = 51
		var b bytes.Buffer
		if err := csvdata.WriteSettlements(&b, []calc.Settlement{s, {ClaimID: "C2"}}); err != nil {
			t.Fatal(err)
		}
		want := "claim_id,basic,critical,commercial,aid,backstop,out_of_pocket\n" +
			"\"C,1\",1000.00,200.00,30.00,4.00,0.51,0.05\n" +
			"C2,0.00,0.00,0.00,0.00,0.00,0.00\n"
		if got := b.String(); got != want {
			t.Errorf("settlements written as\n%s\nwant\n%s", got, want)
		}
		b.Reset()
		if err := csvdata.WriteSettlements(&b, nil); err != nil || b.String() != "claim_id,basic,critical,commercial,aid,backstop,out_of_pocket\n" {
			t.Errorf("no settlements written as %q, %v", b.String(), err)
		}
	})
}

// shipped reads the shipped fixture files with every cross-file check.
func shipped(t *testing.T) ([]calc.Person, []csvdata.Provider, *csvdata.Claims, *calc.PolicySet) {
	t.Helper()
	open := func(name string) *os.File {
		f, err := os.Open("../fixtures/" + name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	persons, err := csvdata.ReadPersons("persons.csv", open("persons.csv"))
	if err != nil {
		t.Fatal(err)
	}
	providers, err := csvdata.ReadProviders("providers.csv", open("providers.csv"))
	if err != nil {
		t.Fatal(err)
	}
	checks := csvdata.ClaimChecks{Persons: map[string]calc.Person{}, Providers: map[string]csvdata.Provider{}, Policies: shippedPolicies(t)}
	for _, p := range persons {
		checks.Persons[p.ID] = p
	}
	for _, p := range providers {
		checks.Providers[p.ID] = p
	}
	claims, err := csvdata.ReadClaims("claims.csv", open("claims.csv"), checks)
	if err != nil {
		t.Fatal(err)
	}
	return persons, providers, claims, checks.Policies
}

func TestShippedFixtures(t *testing.T) {
	persons, providers, claims, policies := shipped(t)

	var dibao, tekun, notPoor int
	households := map[string]bool{}
	for _, p := range persons {
		households[p.HouseholdID] = true
		switch p.Aid {
		case calc.Dibao:
			dibao++
		case calc.Tekun:
			tekun++
		}
		if !p.RegisteredPoor {
			notPoor++
		}
	}
	if len(persons) != 778 || dibao != 422 || tekun == 0 || notPoor != 0 || len(households) != 195 {
		t.Errorf("%d persons (%d dibao, %d tekun, %d not registered poor) in %d households; want 778 (422 dibao, some tekun, all registered poor) in 195",
			len(persons), dibao, tekun, notPoor, len(households))
	}
	if len(providers) != 16 {
		t.Errorf("%d providers, want 16", len(providers))
	}

	if len(claims.Claims) == 0 || len(claims.Lines) != len(claims.Claims) {
		t.Fatalf("%d claims, %d lines", len(claims.Claims), len(claims.Lines))
	}
	from, to := calc.NewDate(2018, 1, 1), calc.NewDate(2018, 11, 30)
	for i, c := range claims.Claims {
		if c.DischargedOn < from || c.DischargedOn > to {
			t.Errorf("claim %s on line %d discharged %s, outside %s..%s", c.ID, claims.Lines[i], c.DischargedOn, from, to)
		}
		if claims.Lines[i] != i+2 {
			t.Errorf("claim %s is on line %d, want %d", c.ID, claims.Lines[i], i+2)
		}
	}

	// Every money field of the raw file has exactly two decimals.
	raw, err := os.ReadFile("../fixtures/claims.csv")
	if err != nil {
		t.Fatal(err)
	}
	records, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(records)-1 != len(claims.Claims) {
		t.Errorf("raw file has %d rows, ReadClaims gave %d claims", len(records)-1, len(claims.Claims))
	}
	twoDecimals := regexp.MustCompile(`^(0|[1-9][0-9]*)\.[0-9]{2}$`)
	for _, name := range []string{"total", "in_policy"} {
		j := index(records[0], name)
		if j < 0 {
			t.Fatalf("raw header %v has no %s", records[0], name)
		}
		for i, rec := range records[1:] {
			if !twoDecimals.MatchString(rec[j]) {
				t.Errorf("line %d: %s %q does not have exactly two decimals", i+2, name, rec[j])
			}
		}
	}

	// The shipped claims settle, and their results write as yuan with two decimals.
	pm := map[string]calc.Person{}
	for _, p := range persons {
		pm[p.ID] = p
	}
	res, err := replay.Run(policies, pm, claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := csvdata.WriteSettlements(&b, res.Settlements); err != nil {
		t.Fatal(err)
	}
	out, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out[0], csvdata.SettlementColumns) || len(out) != len(claims.Claims)+1 {
		t.Fatalf("settlements file has header %v and %d rows", out[0], len(out)-1)
	}
	for i, rec := range out[1:] {
		if rec[0] != claims.Claims[i].ID {
			t.Errorf("row %d is claim %s, want %s", i+2, rec[0], claims.Claims[i].ID)
		}
		var sum calc.Money
		for _, a := range rec[1:] {
			if !twoDecimals.MatchString(a) {
				t.Errorf("row %d: amount %q does not have exactly two decimals", i+2, a)
			}
			m, err := calc.ParseMoney(a)
			if err != nil {
				t.Fatal(err)
			}
			sum += m
		}
		if sum != claims.Claims[i].Total {
			t.Errorf("claim %s: written amounts add to %s, total %s", rec[0], sum, claims.Claims[i].Total)
		}
	}
}
