package csvdata_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/policyfile"
)

func shippedPolicies(t *testing.T) *calc.PolicySet {
	t.Helper()
	raw, err := os.ReadFile("../fixtures/policies/pingxiang-2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := policyfile.Parse("pingxiang-2018.yaml", raw)
	if err != nil {
		t.Fatal(err)
	}
	s, err := calc.NewPolicySet(p)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

const goodRow = "C1,P00001,TWN01,township,inpatient,2018-01-02,2018-01-05,1200.00,1000.00"

// wantProblem checks that err is a *csvdata.Error whose first problem is at line and column,
// names field and contains rule.
func wantProblem(t *testing.T, err error, line, column int, field, rule string) {
	t.Helper()
	var e *csvdata.Error
	if !errors.As(err, &e) || !errors.Is(err, calc.ErrInvalid) {
		t.Fatalf("error %v is not a *csvdata.Error", err)
	}
	p := e.Problems[0]
	if p.Line != line || p.Column != column || p.Field != field || !strings.Contains(p.Rule, rule) {
		t.Errorf("problem %+v, want line %d column %d field %s rule containing %q", p, line, column, field, rule)
	}
	if !strings.Contains(err.Error(), fmt.Sprintf("claims.csv:%d", line)) {
		t.Errorf("message %q does not name the file and line", err)
	}
}

func TestReadClaimsRefuses(t *testing.T) {
	checks := csvdata.ClaimChecks{
		Persons:   map[string]calc.Person{"P00001": {ID: "P00001", HouseholdID: "H1", RegisteredPoor: true}},
		Providers: map[string]csvdata.Provider{"TWN01": {ID: "TWN01", Level: calc.Township}},
		Policies:  shippedPolicies(t),
	}
	header := strings.Join(csvdata.ClaimColumns, ",") + "\n"
	// replace returns goodRow with field i set to v.
	replace := func(i int, v string) string {
		f := strings.Split(goodRow, ",")
		f[i] = v
		return strings.Join(f, ",")
	}
	tests := []struct {
		name   string
		body   string
		line   int
		column int
		field  string
		rule   string
	}{
		{"InPolicyOverTotal", replace(8, "1200.01"), 2, 9, "in_policy", "exceeds total 1200.00"},
		{"NegativeMoney", replace(7, "-1.00"), 2, 8, "total", "negative"},
		{"NonNumeric", replace(7, "abc"), 2, 8, "total", "not an amount"},
		{"GroupedDigits", replace(7, `"1,200.00"`), 2, 8, "total", "not an amount"},
		{"ThreeDecimals", replace(8, "12.345"), 2, 9, "in_policy", "more than two decimals"},
		{"OverLimit", replace(7, "100000000.01"), 2, 8, "total", "over the limit"},
		{"UnknownPerson", replace(1, "P99999"), 2, 2, "person_id", "unknown person P99999"},
		{"UnknownLevel", replace(3, "village"), 2, 4, "level", "unknown level"},
		{"UnknownKind", replace(4, "dental"), 2, 5, "kind", "unknown kind"},
		{"DischargeBeforeAdmission", replace(6, "2018-01-01"), 2, 7, "discharged_on", "before admission"},
		{"NoPolicyInForce", replace(6, "2019-01-05"), 2, 7, "discharged_on", "no policy is in force on 2019-01-05"},
		{"DuplicateID", goodRow + "\n" + goodRow, 3, 1, "claim_id", "duplicate claim C1 (first on line 2)"},
		{"EmptyCell", replace(0, ""), 2, 1, "claim_id", "is required"},
		{"BadDate", replace(5, "2018-02-30"), 2, 6, "admitted_on", "not a date"},
		{"SlashDate", replace(5, "2018/01/02"), 2, 6, "admitted_on", "not a date"},
		{"UnknownProvider", replace(2, "XXX01"), 2, 3, "provider_id", "unknown provider XXX01"},
		{"LevelMismatch", replace(3, "county"), 2, 4, "level", "differs from provider TWN01's level township"},
		{"Ragged", "C1,P00001", 2, 0, "", "number of fields"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			claims, err := csvdata.ReadClaims("claims.csv", strings.NewReader(header+tt.body+"\n"), checks)
			if claims != nil {
				t.Errorf("claims returned with the error")
			}
			wantProblem(t, err, tt.line, tt.column, tt.field, tt.rule)
		})
	}
	t.Run("ExactLimitAccepted", func(t *testing.T) {
		if _, err := csvdata.ReadClaims("claims.csv", strings.NewReader(header+replace(7, "100000000.00")+"\n"), checks); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("MissingColumn", func(t *testing.T) {
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader("claim_id,person_id\nC1,P1\n"), checks)
		wantProblem(t, err, 1, 0, "provider_id", "required column is missing")
	})
	t.Run("Empty", func(t *testing.T) {
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(""), checks)
		wantProblem(t, err, 1, 0, "", "empty")
	})
	t.Run("SeveralRowsReported", func(t *testing.T) {
		body := replace(7, "x") + "\n" + goodRow[:1] + "2" + goodRow[2:] + "\n" + strings.Replace(replace(3, "village"), "C1", "C3", 1)
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(header+body+"\n"), checks)
		var e *csvdata.Error
		if !errors.As(err, &e) || len(e.Problems) != 2 || e.Problems[0].Line != 2 || e.Problems[1].Line != 4 {
			t.Fatalf("got %v, want problems on lines 2 and 4", err)
		}
	})
	t.Run("Truncated", func(t *testing.T) {
		var b strings.Builder
		b.WriteString(header)
		for i := range csvdata.MaxErrors + 5 {
			fmt.Fprintf(&b, "C%d,P00001,TWN01,township,inpatient,2018-01-02,2018-01-05,bad,1.00\n", i)
		}
		_, err := csvdata.ReadClaims("claims.csv", strings.NewReader(b.String()), checks)
		var e *csvdata.Error
		if !errors.As(err, &e) || !e.Truncated || len(e.Problems) != csvdata.MaxErrors || !strings.Contains(err.Error(), "stopped reading") {
			t.Fatalf("got %v, want %d problems and a truncation notice", err, csvdata.MaxErrors)
		}
	})
}

func TestReadClaimsAccepts(t *testing.T) {
	tests := []struct {
		name string
		text string
	}{
		{"BOMAndCRLF", "\ufeff" + strings.Join(csvdata.ClaimColumns, ",") + "\r\n" + goodRow + "\r\n"},
		{"ReorderedAndExtraColumns", "note,in_policy,total,discharged_on,admitted_on,kind,level,provider_id,person_id,claim_id\n" +
			`"a, b",1000.00,1200.00,2018-01-05,2018-01-02,inpatient,township,TWN01,P00001,C1` + "\n"},
		{"Quoted", strings.Join(csvdata.ClaimColumns, ",") + "\n" + `"C1","P00001","TWN01","township","inpatient","2018-01-02","2018-01-05","1200","1000.0"` + "\n"},
	}
	want := calc.Claim{ID: "C1", PersonID: "P00001", ProviderID: "TWN01", Level: calc.Township, Kind: calc.Inpatient,
		AdmittedOn: calc.NewDate(2018, 1, 2), DischargedOn: calc.NewDate(2018, 1, 5), Total: 120000, InPolicy: 100000}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := csvdata.ReadClaims("claims.csv", strings.NewReader(tt.text), csvdata.ClaimChecks{})
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Claims) != 1 || got.Claims[0] != want || got.Lines[0] != 2 {
				t.Errorf("got %+v lines %v, want %+v on line 2", got.Claims, got.Lines, want)
			}
		})
	}
}

func TestReadPersonsAndProviders(t *testing.T) {
	header := strings.Join(csvdata.PersonColumns, ",") + "\n"
	tests := []struct {
		name, body string
		line, col  int
		field      string
		rule       string
	}{
		{"Duplicate", "P1,H1,true,dibao\nP1,H1,true,", 3, 1, "person_id", "duplicate person P1 (first on line 2)"},
		{"BadBool", "P1,H1,maybe,", 2, 3, "registered_poor", "not true or false"},
		{"UnknownAid", "P1,H1,true,wubao", 2, 4, "aid_category", "unknown aid category"},
		{"NoHousehold", "P1,,true,", 2, 2, "household_id", "is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := csvdata.ReadPersons("persons.csv", strings.NewReader(header+tt.body+"\n"))
			var e *csvdata.Error
			if got != nil || !errors.As(err, &e) {
				t.Fatalf("got %v, %v; want a *csvdata.Error", got, err)
			}
			if p := e.Problems[0]; p.Line != tt.line || p.Column != tt.col || p.Field != tt.field || !strings.Contains(p.Rule, tt.rule) {
				t.Errorf("problem %+v, want %d:%d %s %q", p, tt.line, tt.col, tt.field, tt.rule)
			}
		})
	}
	pheader := strings.Join(csvdata.ProviderColumns, ",") + "\n"
	if _, err := csvdata.ReadProviders("providers.csv", strings.NewReader(pheader+"T1,x,village\n")); err == nil || !strings.Contains(err.Error(), "providers.csv:2:3: level: unknown level") {
		t.Errorf("unknown provider level: %v", err)
	}
	if _, err := csvdata.ReadProviders("providers.csv", strings.NewReader(pheader+"T1,x,township\nT1,y,county\n")); err == nil || !strings.Contains(err.Error(), "duplicate provider T1") {
		t.Errorf("duplicate provider: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	persons := []calc.Person{
		{ID: "P1", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Dibao},
		{ID: "P2", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun},
		{ID: "P3", HouseholdID: "H2"},
	}
	var b bytes.Buffer
	if err := csvdata.WritePersons(&b, persons); err != nil {
		t.Fatal(err)
	}
	if got, err := csvdata.ReadPersons("p.csv", &b); err != nil || !reflect.DeepEqual(got, persons) {
		t.Errorf("persons round trip: %+v, %v", got, err)
	}
	providers := []csvdata.Provider{{ID: "T1", Name: "乡镇卫生院, 1", Level: calc.Township}, {ID: "O1", Name: "Out", Level: calc.OutOfProvince}}
	b.Reset()
	if err := csvdata.WriteProviders(&b, providers); err != nil {
		t.Fatal(err)
	}
	if got, err := csvdata.ReadProviders("v.csv", &b); err != nil || !reflect.DeepEqual(got, providers) {
		t.Errorf("providers round trip: %+v, %v", got, err)
	}
	claims := []calc.Claim{
		{ID: "C1", PersonID: "P1", ProviderID: "T1", Level: calc.Township, Kind: calc.OutpatientChronic, AdmittedOn: 17600, DischargedOn: 17600, Total: 5, InPolicy: 0},
		{ID: "C2", PersonID: "P3", ProviderID: "O1", Level: calc.OutOfProvince, Kind: calc.Inpatient, AdmittedOn: 17590, DischargedOn: 17610, Total: calc.MaxAmount, InPolicy: calc.MaxAmount},
	}
	b.Reset()
	if err := csvdata.WriteClaims(&b, claims); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), ",0.05,0.00\n") {
		t.Errorf("claims are not written as yuan with two decimals:\n%s", b.String())
	}
	if got, err := csvdata.ReadClaims("c.csv", &b, csvdata.ClaimChecks{}); err != nil || !reflect.DeepEqual(got.Claims, claims) {
		t.Errorf("claims round trip: %+v, %v", got, err)
	}
	b.Reset()
	s := calc.Settlement{ClaimID: "C1", Total: 1005, OutOfPocket: 5}
	s.Lines[calc.Basic].Amount = 1000
	if err := csvdata.WriteSettlements(&b, []calc.Settlement{s}); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "claim_id,basic,critical,commercial,aid,backstop,out_of_pocket\nC1,10.00,0.00,0.00,0.00,0.00,0.05\n"; got != want {
		t.Errorf("settlements written as\n%s\nwant\n%s", got, want)
	}
}
