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
	"github.com/hpcalc/hpcalc/replay"
)

// fuzzPersons are the persons the fuzz target knows: four real persons of the shipped
// fixtures (so that their real claim rows can be seeds verbatim) and two persons who are
// not registered poor.
var fuzzPersons = map[string]calc.Person{
	"P00475": {ID: "P00475", HouseholdID: "H0122", RegisteredPoor: true},                  // no aid category
	"P00507": {ID: "P00507", HouseholdID: "H0128", RegisteredPoor: true, Aid: calc.Dibao}, // dibao
	"P00148": {ID: "P00148", HouseholdID: "H0041", RegisteredPoor: true, Aid: calc.Tekun}, // tekun
	"P00379": {ID: "P00379", HouseholdID: "H0099", RegisteredPoor: true, Aid: calc.Tekun}, // tekun
	"X00001": {ID: "X00001", HouseholdID: "X1"},                                           // not registered poor
	"X00002": {ID: "X00002", HouseholdID: "X2", Aid: calc.Dibao},                          // dibao, not registered poor
}

// fuzzSeeds are the seeds added with f.Add: valid files, one file per class of error, and
// the shapes of file spreadsheets write. The committed corpus in
// testdata/fuzz/FuzzReadAndSettle holds more, with real rows of the shipped claims.
func fuzzSeeds() []string {
	h := claimHeader
	r := func(pairs ...string) string {
		// A valid row of P00507 at a township centre, with fields replaced.
		f := strings.Split("C1,P00507,TWN02,township,inpatient,2018-03-01,2018-03-05,1200.00,1000.00", ",")
		for i := 0; i < len(pairs); i += 2 {
			f[index(csvdata.ClaimColumns, pairs[i])] = pairs[i+1]
		}
		return strings.Join(f, ",") + "\n"
	}
	var many strings.Builder
	many.WriteString(h)
	for i := range csvdata.MaxErrors + 3 {
		fmt.Fprintf(&many, "C%d,P00507,TWN02,township,inpatient,2018-03-01,2018-03-05,bad,1.00\n", i)
	}
	return []string{
		// Valid files.
		h + "C201800099,P00475,PRV01,provincial,inpatient,2018-02-02,2018-02-26,30661.89,27656.72\n" +
			"C201800217,P00475,MUN02,municipal,inpatient,2018-04-17,2018-05-07,19447.44,15504.12\n" +
			"C201800019,P00475,CTY01,county,outpatient_chronic,2018-01-11,2018-01-11,257.86,247.66\n",
		h + "C201800257,P00148,PRV02,provincial,inpatient,2018-05-10,2018-06-01,13811.75,11637.55\n" +
			"C201800273,P00379,TWN04,township,inpatient,2018-06-04,2018-06-12,779.24,654.25\n",
		h + r("person_id", "X00001", "level", "out_of_province", "provider_id", "OOP01", "total", "250000.00", "in_policy", "200000.00") +
			r("claim_id", "C2", "person_id", "X00002", "total", "0.00", "in_policy", "0.00"),
		h + r("total", "100000000.00", "in_policy", "100000000.00") +
			r("claim_id", "C2", "total", "100000000.00", "in_policy", "99999999.99", "discharged_on", "2018-12-31") +
			r("claim_id", "C3", "kind", "outpatient_chronic", "admitted_on", "2018-03-05", "total", "100000000.00", "in_policy", "0.01"),
		h + r("admitted_on", "2017-12-20", "discharged_on", "2018-01-01", "total", "0.01", "in_policy", "0.01"),
		"\ufeff" + strings.ReplaceAll(h+r()+r("claim_id", "C2", "person_id", "P00148"), "\n", "\r\n"),
		`"` + strings.Join(csvdata.ClaimColumns, `","`) + "\"\n" + `"C1","P00379","TWN04","township","inpatient","2018-06-04","2018-06-12","779.24","654.25"` + "\n",
		"note,in_policy,total,discharged_on,admitted_on,kind,level,provider_id,person_id,claim_id\n" +
			`"a, ""b""` + "\n" + `c",1000.00,1200.00,2018-03-05,2018-03-01,inpatient,township,TWN02,P00507,C1` + "\n",
		"\n\n" + h + "\n" + r() + "\n",
		h,
		// One class of error each.
		"",
		h + r("in_policy", "1200.01"),
		h + r("total", "-1.00"),
		h + r("total", "abc"),
		h + r("total", `"1,234.00"`),
		h + r("in_policy", "12.3.4"),
		h + r("in_policy", "12.345"),
		h + r("total", "100000000.01"),
		h + r("total", "99999999999999999999"),
		h + r("person_id", "P99999"),
		h + r("level", "village"),
		h + r("kind", "dental"),
		h + r("provider_id", "TWN99"),
		h + r("level", "county"),
		h + r("admitted_on", "2018-03-06"),
		h + r("discharged_on", "2019-01-01"),
		h + r("admitted_on", "2017-12-01", "discharged_on", "2017-12-31"),
		h + r() + r(),
		h + r("claim_id", ""),
		h + r("discharged_on", "2018-02-30"),
		h + r("discharged_on", "2018/01/05"),
		strings.Replace(h, ",in_policy", "", 1) + strings.TrimSuffix(r(), ",1000.00\n") + "\n",
		h + "C1,P00507,TWN02\n",
		h + r("provider_id", `TW"N02`),
		h + r("in_policy", `"1000.00`),
		h + r("total", "x") + r("claim_id", "C2") + r("claim_id", "C3", "kind", "x", "level", "y"),
		many.String(),
	}
}

// FuzzReadAndSettle feeds arbitrary bytes to the claims reader and settles whatever it
// accepts. Nothing may panic; a refused file is a *csvdata.Error with no claims; accepted
// claims write and read back unchanged, and every settlement keeps POLICY.md's invariants.
func FuzzReadAndSettle(f *testing.F) {
	policy := shippedPolicy(f)
	policies, err := calc.NewPolicySet(policy)
	if err != nil {
		f.Fatal(err)
	}
	raw, err := os.ReadFile("../fixtures/providers.csv")
	if err != nil {
		f.Fatal(err)
	}
	list, err := csvdata.ReadProviders("providers.csv", bytes.NewReader(raw))
	if err != nil {
		f.Fatal(err)
	}
	providers := map[string]csvdata.Provider{}
	for _, p := range list {
		providers[p.ID] = p
	}
	checks := csvdata.ClaimChecks{Persons: fuzzPersons, Providers: providers, Policies: policies}
	for _, s := range fuzzSeeds() {
		f.Add([]byte(s))
	}

	f.Fuzz(func(t *testing.T, data []byte) {
		claims, err := csvdata.ReadClaims("fuzz.csv", bytes.NewReader(data), checks)
		if err != nil {
			var e *csvdata.Error
			switch {
			case claims != nil:
				t.Fatalf("claims returned with an error: %v", err)
			case !errors.As(err, &e) || !errors.Is(err, calc.ErrInvalid):
				t.Fatalf("error %v (%T) is not a *csvdata.Error", err, err)
			case len(e.Problems) == 0 || len(e.Problems) > csvdata.MaxErrors:
				t.Fatalf("%d problems reported", len(e.Problems))
			}
			for _, p := range e.Problems {
				if p.Line < 1 || p.Column < 0 || p.Rule == "" {
					t.Fatalf("problem %+v has no place or rule", p)
				}
			}
			return
		}
		cs := claims.Claims
		if len(claims.Lines) != len(cs) {
			t.Fatalf("%d claims, %d lines", len(cs), len(claims.Lines))
		}
		for i, c := range cs {
			if err := c.Validate(); err != nil {
				t.Fatalf("line %d: accepted claim is invalid: %v", claims.Lines[i], err)
			}
			if i > 0 && claims.Lines[i] <= claims.Lines[i-1] {
				t.Fatalf("lines not increasing: %v", claims.Lines)
			}
		}

		// Accepted claims write and read back unchanged.
		var b bytes.Buffer
		if err := csvdata.WriteClaims(&b, cs); err != nil {
			t.Fatal(err)
		}
		again, err := csvdata.ReadClaims("again.csv", &b, checks)
		if err != nil {
			t.Fatalf("written claims do not read back: %v\n%s", err, b.String())
		}
		if len(cs) > 0 && !reflect.DeepEqual(again.Claims, cs) {
			t.Fatalf("claims read back as\n%+v\nwant\n%+v", again.Claims, cs)
		}

		res, err := replay.Run(policies, fuzzPersons, cs)
		if err != nil {
			t.Fatalf("claims that read cleanly do not settle: %v", err)
		}
		checkSettlements(t, policy, cs, res)

		// Settlement does not depend on the order of the file.
		rev := slices.Clone(cs)
		slices.Reverse(rev)
		res2, err := replay.Run(policies, fuzzPersons, rev)
		if err != nil {
			t.Fatal(err)
		}
		for i := range rev {
			if s1, s2 := res2.Settlements[i], res.Settlements[len(cs)-1-i]; s1 != s2 {
				t.Fatalf("claim %s settles differently when the file is reversed:\n%+v\n%+v", s1.ClaimID, s1, s2)
			}
		}
		if res2.Tally != res.Tally {
			t.Fatalf("tally %+v when the file is reversed, %+v otherwise", res2.Tally, res.Tally)
		}
	})
}

// checkSettlements checks POLICY.md's invariants on a replay of claims: every amount is
// at least 0; the five amounts and out-of-pocket add to the claim's total; out-of-pocket
// is within the ceiling for registered poor persons; lines a person is not eligible for pay
// nothing; no annual cap is exceeded; and the tally is the sum of the settlements.
func checkSettlements(t *testing.T, policy *calc.Policy, claims []calc.Claim, res *replay.Result) {
	t.Helper()
	if len(res.Settlements) != len(claims) {
		t.Fatalf("%d settlements of %d claims", len(res.Settlements), len(claims))
	}
	type key struct {
		person string
		year   int
	}
	type paid struct{ basic, chronic, critical, commercial, aid calc.Money }
	ledgers := map[key]*paid{}
	var tally calc.Tally
	var total calc.Money
	for i := range res.Settlements {
		s, c := &res.Settlements[i], &claims[i]
		person := fuzzPersons[c.PersonID]
		if s.ClaimID != c.ID || s.PersonID != c.PersonID || s.Total != c.Total || s.InPolicy != c.InPolicy {
			t.Fatalf("settlement %d is for claim %s of %s (total %s), want %s of %s (total %s)",
				i, s.ClaimID, s.PersonID, s.Total, c.ID, c.PersonID, c.Total)
		}
		if s.PolicyVersion != policy.Version || s.Year != c.DischargedOn.Year() {
			t.Fatalf("claim %s settled under %s for %d, discharged %s", c.ID, s.PolicyVersion, s.Year, c.DischargedOn)
		}
		if s.OutOfPocket < 0 {
			t.Fatalf("claim %s: out-of-pocket %s < 0", c.ID, s.OutOfPocket)
		}
		sum := s.OutOfPocket
		for l := range calc.NumLines {
			if a := s.Lines[l].Amount; a < 0 || a > c.Total {
				t.Fatalf("claim %s: %s pays %s of a total %s", c.ID, l, a, c.Total)
			}
			sum += s.Lines[l].Amount
		}
		if sum != c.Total {
			t.Fatalf("claim %s: five lines and out-of-pocket add to %s, total is %s", c.ID, sum, c.Total)
		}
		if person.RegisteredPoor {
			if limit := calc.MulRate(c.Total, policy.Backstop.OOPCeiling); s.OutOfPocket > limit {
				t.Fatalf("claim %s: out-of-pocket %s over the ceiling %s", c.ID, s.OutOfPocket, limit)
			}
		} else if s.Lines[calc.Commercial].Amount != 0 || s.Lines[calc.Backstop].Amount != 0 {
			t.Fatalf("claim %s: person %s is not registered poor, yet commercial pays %s and backstop %s",
				c.ID, person.ID, s.Lines[calc.Commercial].Amount, s.Lines[calc.Backstop].Amount)
		}
		if person.Aid == calc.AidNone && s.Lines[calc.Aid].Amount != 0 {
			t.Fatalf("claim %s: person %s has no aid category, yet aid pays %s", c.ID, person.ID, s.Lines[calc.Aid].Amount)
		}

		k := key{c.PersonID, c.DischargedOn.Year()}
		p := ledgers[k]
		if p == nil {
			p = &paid{}
			ledgers[k] = p
		}
		p.basic += s.Lines[calc.Basic].Amount
		if c.Kind == calc.OutpatientChronic {
			p.chronic += s.Lines[calc.Basic].Amount
		}
		p.critical += s.Lines[calc.Critical].Amount
		p.commercial += s.Lines[calc.Commercial].Amount
		p.aid += s.Lines[calc.Aid].Amount
		for _, cp := range []struct {
			what      string
			paid, cap calc.Money
		}{
			{"basic", p.basic, policy.Basic.AnnualCap},
			{"basic outpatient_chronic", p.chronic, policy.Basic.ChronicAnnualCap},
			{"critical", p.critical, policy.Critical.AnnualCap},
			{"commercial", p.commercial, policy.Commercial.AnnualCap},
			{"aid", p.aid, policy.Aid.AnnualCap[person.Aid]},
		} {
			if cp.paid > cp.cap {
				t.Fatalf("person %s, %d: %s paid %s, over the annual cap %s", k.person, k.year, cp.what, cp.paid, cp.cap)
			}
		}
		tally.Add(s)
		total += c.Total
	}
	if tally != res.Tally {
		t.Fatalf("tally %+v, the settlements add to %+v", res.Tally, tally)
	}
	if res.Tally.Claims != len(claims) || res.Tally.Total != total {
		t.Fatalf("tally counts %d claims of %s, want %d of %s", res.Tally.Claims, res.Tally.Total, len(claims), total)
	}
}

// TestFuzzCorpus checks the committed seed corpus: every file is in the fuzzing engine's
// format, the files named shipped-* hold only rows copied verbatim from the shipped
// claims file and read cleanly, and every file runs through the fuzz target's checks
// (go test runs the corpus as subtests of FuzzReadAndSettle too).
func TestFuzzCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzReadAndSettle")
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) < 12 {
		t.Errorf("%d files in the seed corpus, want at least 12", len(entries))
	}
	shippedRaw, err := os.ReadFile("../fixtures/claims.csv")
	if err != nil {
		t.Fatal(err)
	}
	shippedRows := map[string]bool{}
	for _, line := range strings.Split(string(shippedRaw), "\n") {
		shippedRows[line] = true
	}
	realFiles := 0
	for _, e := range entries {
		raw, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		head, rest, ok := strings.Cut(string(raw), "\n")
		arg, ok2 := strings.CutPrefix(strings.TrimSuffix(rest, "\n"), "[]byte(")
		arg, ok3 := strings.CutSuffix(arg, ")")
		if !ok || !ok2 || !ok3 || head != "go test fuzz v1" {
			t.Errorf("%s is not in the corpus format", e.Name())
			continue
		}
		data, err := strconv.Unquote(arg)
		if err != nil {
			t.Errorf("%s: %v", e.Name(), err)
			continue
		}
		if !strings.HasPrefix(e.Name(), "shipped-") {
			continue
		}
		realFiles++
		lines := strings.Split(strings.TrimSuffix(data, "\n"), "\n")
		for _, line := range lines[1:] {
			if !shippedRows[line] {
				t.Errorf("%s: row %q is not in ../fixtures/claims.csv", e.Name(), line)
			}
		}
		if _, err := csvdata.ReadClaims(e.Name(), strings.NewReader(data), csvdata.ClaimChecks{Persons: fuzzPersons, Policies: shippedPolicies(t)}); err != nil {
			t.Errorf("%s: %v", e.Name(), err)
		}
	}
	if realFiles == 0 {
		t.Errorf("no shipped-* file with real rows in the corpus")
	}
}
