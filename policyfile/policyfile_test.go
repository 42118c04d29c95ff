package policyfile_test

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/policyfile"
)

// shippedPath is the policy the project ships; its numbers must be POLICY.md's table.
const shippedPath = "../fixtures/policies/pingxiang-2018.yaml"

func yuan(n int64) calc.Money { return calc.Money(n) * calc.Yuan }

// pct is a whole percentage as an exact rate: pct(85) is 0.85.
func pct(n int64) calc.Rate { return calc.Rate(n) * calc.RateOne / 100 }

func day(y int, m time.Month, d int) calc.Date { return calc.NewDate(y, m, d) }

// pingxiang2018 is POLICY.md's "Parameters of pingxiang-2018", typed in by hand: the
// table is the specification, so nothing here is read from the policy file.
func pingxiang2018() *calc.Policy {
	p := &calc.Policy{
		Version: "pingxiang-2018",
		From:    day(2018, time.January, 1), // in force for discharges of calendar 2018
		To:      day(2018, time.December, 31),
	}
	// 1 basic | inpatient deductible per admission | township 0, county 200, municipal 500,
	// provincial 800, out_of_province 1,000
	p.Basic.Deductible[calc.Inpatient] = [calc.NumLevels]calc.Money{
		calc.Township: yuan(0), calc.County: yuan(200), calc.Municipal: yuan(500),
		calc.Provincial: yuan(800), calc.OutOfProvince: yuan(1000),
	}
	// 1 basic | inpatient rate | township 90%, county 85%, municipal 65%, provincial 55%,
	// out_of_province 50%
	p.Basic.Rate[calc.Inpatient] = [calc.NumLevels]calc.Rate{
		calc.Township: pct(90), calc.County: pct(85), calc.Municipal: pct(65),
		calc.Provincial: pct(55), calc.OutOfProvince: pct(50),
	}
	// 1 basic | outpatient_chronic | deductible 0 at every level, rate 80%, annual sub-cap 10,000
	p.Basic.Deductible[calc.OutpatientChronic] = [calc.NumLevels]calc.Money{
		calc.Township: yuan(0), calc.County: yuan(0), calc.Municipal: yuan(0),
		calc.Provincial: yuan(0), calc.OutOfProvince: yuan(0),
	}
	p.Basic.Rate[calc.OutpatientChronic] = [calc.NumLevels]calc.Rate{
		calc.Township: pct(80), calc.County: pct(80), calc.Municipal: pct(80),
		calc.Provincial: pct(80), calc.OutOfProvince: pct(80),
	}
	p.Basic.ChronicAnnualCap = yuan(10_000)
	// 1 basic | annual cap (both kinds together) | 200,000
	p.Basic.AnnualCap = yuan(200_000)
	// 2 critical | annual deductible | 3,000
	p.Critical.Deductible = yuan(3_000)
	// 2 critical | bands | 3,000–50,000: 60%; 50,000–100,000: 70%; above 100,000: 80%
	p.Critical.Bands = []calc.Band{
		{From: yuan(3_000), Rate: pct(60)},
		{From: yuan(50_000), Rate: pct(70)},
		{From: yuan(100_000), Rate: pct(80)},
	}
	// 2 critical | annual cap | none for registered poor
	p.Critical.AnnualCap = calc.NoCap
	// 3 commercial | rates | in-policy remainder 30%, out-of-policy 5%; annual cap 100,000
	p.Commercial.InPolicyRate = pct(30)
	p.Commercial.OutOfPolicyRate = pct(5)
	p.Commercial.AnnualCap = yuan(100_000)
	// 4 civil aid | rate, annual cap | tekun 100%, 30,000; dibao 60%, 10,000
	p.Aid.Rate[calc.Tekun] = pct(100)
	p.Aid.AnnualCap[calc.Tekun] = yuan(30_000)
	p.Aid.Rate[calc.Dibao] = pct(60)
	p.Aid.AnnualCap[calc.Dibao] = yuan(10_000)
	// 5 backstop | out-of-pocket ceiling | 10% of the claim's total cost
	p.Backstop.OOPCeiling = pct(10)
	return p
}

// flatten lists every parameter of p by its policy-file field path, so that a mismatch
// is reported parameter by parameter.
func flatten(p *calc.Policy) map[string]string {
	m := map[string]string{
		"version":                             p.Version,
		"effective.from":                      p.From.String(),
		"effective.to":                        p.To.String(),
		"basic.annual_cap":                    capText(p.Basic.AnnualCap),
		"basic.outpatient_chronic.annual_cap": capText(p.Basic.ChronicAnnualCap),
		"critical.deductible":                 p.Critical.Deductible.String(),
		"critical.annual_cap":                 capText(p.Critical.AnnualCap),
		"critical.bands":                      fmt.Sprint(len(p.Critical.Bands), " bands"),
		"commercial.in_policy_rate":           p.Commercial.InPolicyRate.Decimal(),
		"commercial.out_of_policy_rate":       p.Commercial.OutOfPolicyRate.Decimal(),
		"commercial.annual_cap":               capText(p.Commercial.AnnualCap),
		"backstop.oop_ceiling":                p.Backstop.OOPCeiling.Decimal(),
	}
	for _, k := range calc.Kinds() {
		for _, l := range calc.Levels() {
			m[fmt.Sprintf("basic.%s.deductible.%s", k, l)] = p.Basic.Deductible[k][l].String()
			m[fmt.Sprintf("basic.%s.rate.%s", k, l)] = p.Basic.Rate[k][l].Decimal()
		}
	}
	for i, b := range p.Critical.Bands {
		m[fmt.Sprintf("critical.bands[%d].from", i)] = b.From.String()
		m[fmt.Sprintf("critical.bands[%d].rate", i)] = b.Rate.Decimal()
	}
	for a := calc.AidNone; a < calc.NumAidCategories; a++ {
		m[fmt.Sprintf("aid.%s.rate", a)] = p.Aid.Rate[a].Decimal()
		m[fmt.Sprintf("aid.%s.annual_cap", a)] = capText(p.Aid.AnnualCap[a])
	}
	return m
}

func capText(m calc.Money) string {
	if m == calc.NoCap {
		return "none"
	}
	return m.String()
}

// assertPolicy fails t for every parameter where got differs from want, then checks the
// two are deeply equal (which also covers anything flatten does not list).
func assertPolicy(t *testing.T, got, want *calc.Policy) {
	t.Helper()
	if got == nil {
		t.Fatal("policy is nil")
	}
	g, w := flatten(got), flatten(want)
	keys := make([]string, 0, len(w))
	for k := range w {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if g[k] != w[k] {
			t.Errorf("%s = %s, want %s", k, g[k], w[k])
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("policies differ:\n got %+v\nwant %+v", got, want)
	}
}

func mustLoad(t *testing.T, path string) *calc.Policy {
	t.Helper()
	p, err := policyfile.Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	return p
}

func shippedText(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(shippedPath)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// writeTemp writes doc to a fresh file named name and returns its path.
func writeTemp(t *testing.T, name, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// An edit is a small text change of a policy document.
type edit func(t *testing.T, doc string) string

// replace changes the one occurrence of old into new; old must occur exactly once, so
// that the edit cannot silently hit the wrong line.
func replace(old, new string) edit {
	return func(t *testing.T, doc string) string {
		t.Helper()
		if n := strings.Count(doc, old); n != 1 {
			t.Fatalf("edit: %q occurs %d times in the document, want exactly once", old, n)
		}
		return strings.Replace(doc, old, new, 1)
	}
}

// deleteLine removes the whole line that starts with line.
func deleteLine(line string) edit {
	return func(t *testing.T, doc string) string {
		t.Helper()
		i := uniqueLine(t, doc, line)
		j := strings.IndexByte(doc[i:], '\n')
		return doc[:i] + doc[i+j+1:]
	}
}

// insertAfter adds lines after the whole line that starts with line.
func insertAfter(line string, added ...string) edit {
	return func(t *testing.T, doc string) string {
		t.Helper()
		i := uniqueLine(t, doc, line)
		j := i + strings.IndexByte(doc[i:], '\n') + 1
		return doc[:j] + strings.Join(added, "\n") + "\n" + doc[j:]
	}
}

// wholeDoc replaces the whole document.
func wholeDoc(text string) edit {
	return func(*testing.T, string) string { return text }
}

// uniqueLine returns the offset of the one line of doc that starts with prefix.
func uniqueLine(t *testing.T, doc, prefix string) int {
	t.Helper()
	at, n := -1, 0
	for off := 0; off < len(doc); {
		end := strings.IndexByte(doc[off:], '\n')
		if end < 0 {
			t.Fatalf("edit: document does not end with a newline")
		}
		if strings.HasPrefix(doc[off:off+end], prefix) {
			at, n = off, n+1
		}
		off += end + 1
	}
	if n != 1 {
		t.Fatalf("edit: %d lines start with %q, want exactly one", n, prefix)
	}
	return at
}

func shippedWith(t *testing.T, edits ...edit) string {
	t.Helper()
	doc := shippedText(t)
	for _, e := range edits {
		doc = e(t, doc)
	}
	return doc
}

// position returns the 1-based line and column of the marker "^" in at, where at with
// the marker removed occurs exactly once in doc. Columns count characters, as the YAML
// parser does.
func position(t *testing.T, doc, at string) (line, col int) {
	t.Helper()
	mark := strings.Index(at, "^")
	if mark < 0 {
		t.Fatalf("position %q has no ^ marker", at)
	}
	text := at[:mark] + at[mark+1:]
	if n := strings.Count(doc, text); n != 1 {
		t.Fatalf("position: %q occurs %d times in the document, want exactly once", text, n)
	}
	off := strings.Index(doc, text) + mark
	lineStart := strings.LastIndexByte(doc[:off], '\n') + 1
	return strings.Count(doc[:off], "\n") + 1, utf8.RuneCountInString(doc[lineStart:off]) + 1
}

// problem is one expected problem of a bad document. at marks the offending text with a
// ^ before it ("county: ^1.5"); empty when the problem has no position (a missing
// field). rule is a part of the rule's text. lineOnly is for YAML syntax errors, which
// the parser reports with a line but no column.
type problem struct {
	at, field, rule string
	lineOnly        bool
}

// assertProblems checks that err is a *policyfile.Error for the file at path that lists
// exactly the problems want, each with its line, column and field, and that its text
// gives each as "path:line:column: field: rule".
func assertProblems(t *testing.T, path, doc string, err error, want []problem) {
	t.Helper()
	if err == nil {
		t.Fatalf("loaded a bad document without error:\n%s", doc)
	}
	var perr *policyfile.Error
	if !errors.As(err, &perr) {
		t.Fatalf("error is %T, want *policyfile.Error: %v", err, err)
	}
	if !errors.Is(err, calc.ErrInvalid) {
		t.Errorf("errors.Is(err, calc.ErrInvalid) is false for %v", err)
	}
	if perr.File != path {
		t.Errorf("Error.File = %q, want %q", perr.File, path)
	}
	text := err.Error()
	lines := strings.Split(text, "\n")
	if len(perr.Problems) != len(want) || len(lines) != len(want) {
		t.Errorf("got %d problems (%d lines of text), want %d:\n%s", len(perr.Problems), len(lines), len(want), text)
	}
	used := make([]bool, len(perr.Problems))
	for _, w := range want {
		var line, col int
		prefix := path + ": "
		if w.at != "" {
			line, col = position(t, doc, w.at)
			prefix = fmt.Sprintf("%s:%d:%d: ", path, line, col)
			if w.lineOnly {
				col = 0
				prefix = fmt.Sprintf("%s:%d: ", path, line)
			}
		}
		if w.field != "" {
			prefix += w.field + ": "
		}
		found := false
		for i, p := range perr.Problems {
			if used[i] || p.Field != w.field || p.Line != line || p.Column != col || !strings.Contains(p.Rule, w.rule) {
				continue
			}
			used[i], found = true, true
			break
		}
		if !found {
			t.Errorf("no problem {line %d, column %d, field %q, rule containing %q} in %+v", line, col, w.field, w.rule, perr.Problems)
		}
		found = false
		for _, l := range lines {
			if strings.HasPrefix(l, prefix) && strings.Contains(l[len(prefix):], w.rule) {
				found = true
			}
		}
		if !found {
			t.Errorf("no line of the error text is %q followed by a rule containing %q:\n%s", prefix, w.rule, text)
		}
	}
}

func TestLoadShippedPolicyHasPolicyMDParameters(t *testing.T) {
	assertPolicy(t, mustLoad(t, shippedPath), pingxiang2018())
}

func TestJSONLoadsToTheSamePolicy(t *testing.T) {
	fromJSON := mustLoad(t, "testdata/pingxiang-2018.json")
	fromYAML := mustLoad(t, shippedPath)
	if !reflect.DeepEqual(fromJSON, fromYAML) {
		t.Errorf("JSON and YAML policies differ:\nJSON %+v\nYAML %+v", fromJSON, fromYAML)
	}
	assertPolicy(t, fromJSON, pingxiang2018())
}

func TestBadDocuments(t *testing.T) {
	const (
		rateCounty  = "      county: 0.85"
		deductCnty  = "      county: 200.00"
		lastBand    = "    - {from: 100000.00, rate: 0.80}"
		chronicCap  = "annual_cap: 10000.00   # modelled: annual"
		inpatRates  = "      out_of_province: 0.50"
		outOfRange  = "outside 0–1"
		tooPrecise  = "too many decimal places"
		notDecimal  = "not a decimal number"
		isRequired  = "is required"
		notADate    = "not an ISO 8601 date"
		notAScalar  = "want a single value, got a mapping"
		commercCap  = "annual_cap: 100000.00"
		emptyDocMsg = "the document is empty"
	)
	tests := []struct {
		name  string
		edits []edit
		want  []problem
	}{
		{"rate above 1",
			[]edit{replace(rateCounty, "      county: 1.5")},
			[]problem{{at: "county: ^1.5", field: "basic.inpatient.rate.county", rule: outOfRange}}},
		{"aid rate above 1",
			[]edit{replace("rate: 1.00", "rate: 1.5")},
			[]problem{{at: "rate: ^1.5", field: "aid.tekun.rate", rule: outOfRange}}},
		{"negative rate",
			[]edit{replace("      township: 0.90", "      township: -0.1")},
			[]problem{{at: "township: ^-0.1", field: "basic.inpatient.rate.township", rule: outOfRange}}},
		{"percentage above 100%",
			[]edit{replace("oop_ceiling: 0.10", "oop_ceiling: 110%")},
			[]problem{{at: "oop_ceiling: ^110%", field: "backstop.oop_ceiling", rule: outOfRange}}},
		{"rate with 7 decimal places",
			[]edit{replace(rateCounty, "      county: 0.1234567")},
			[]problem{{at: "county: ^0.1234567", field: "basic.inpatient.rate.county", rule: tooPrecise}}},
		{"percentage with 5 decimal places",
			[]edit{replace(rateCounty, "      county: 85.00001%")},
			[]problem{{at: "county: ^85.00001%", field: "basic.inpatient.rate.county", rule: tooPrecise}}},
		{"money with 3 decimals",
			[]edit{replace(deductCnty, "      county: 200.005")},
			[]problem{{at: "county: ^200.005", field: "basic.inpatient.deductible.county", rule: "at most two decimals"}}},
		{"negative deductible",
			[]edit{replace("municipal: 500.00", "municipal: -500.00")},
			[]problem{{at: "municipal: ^-500.00", field: "basic.inpatient.deductible.municipal", rule: "is negative"}}},
		{"negative critical deductible",
			[]edit{replace("deductible: 3000.00", "deductible: -1.00")},
			[]problem{{at: "deductible: ^-1.00", field: "critical.deductible", rule: "is negative"}}},
		{"negative cap",
			[]edit{replace(commercCap, "annual_cap: -100000.00")},
			[]problem{{at: "annual_cap: ^-100000.00", field: "commercial.annual_cap", rule: "is negative"}}},
		{"negative chronic sub-cap",
			[]edit{replace(chronicCap, "annual_cap: -10000.00  # modelled: annual")},
			[]problem{{at: "annual_cap: ^-10000.00", field: "basic.outpatient_chronic.annual_cap", rule: "is negative"}}},
		{"cap over the largest amount",
			[]edit{replace("annual_cap: 200000.00", "annual_cap: 100000000.01")},
			[]problem{{at: "annual_cap: ^100000000.01", field: "basic.annual_cap", rule: "is over 100,000,000.00"}}},
		{"band below the previous band",
			[]edit{replace("{from: 50000.00,", "{from: 2000.00,")},
			[]problem{{at: "{from: ^2000.00", field: "critical.bands[1].from", rule: "not increasing"}}},
		{"band equal to the previous band",
			[]edit{replace("{from: 100000.00,", "{from: 50000.00,")},
			[]problem{{at: "{from: ^50000.00, rate: 0.80}", field: "critical.bands[2].from", rule: "not increasing"}}},
		{"too many bands",
			[]edit{insertAfter(lastBand,
				"    - {from: 150000.00, rate: 0.85}",
				"    - {from: 200000.00, rate: 0.90}",
				"    - {from: 300000.00, rate: 0.95}",
				"    - {from: 400000.00, rate: 1.00}")},
			[]problem{{at: "{from: ^400000.00", field: "critical.bands", rule: "7 bands, at most 6 allowed"}}},
		{"no bands",
			[]edit{replace("  bands:                   # modelled: bands on the accumulated burden",
				"  bands: []"), deleteLine("    - {from: 3000.00,"), deleteLine("    - {from: 50000.00,"), deleteLine(lastBand)},
			[]problem{{field: "critical.bands", rule: "at least one band is required"}}},
		{"unknown level key",
			[]edit{insertAfter("      township: 0.90", "      village: 0.95")},
			[]problem{{at: "^village: 0.95", field: "basic.inpatient.rate.village", rule: `unknown level "village"`}}},
		{"unknown level key in a merged mapping",
			[]edit{replace("      township: 0.80\n      county: 0.80\n",
				"      <<: {township: 0.80, county: 0.80, vilage: 0.80}\n")},
			[]problem{{at: "^vilage: 0.80}", field: "basic.outpatient_chronic.rate.vilage", rule: `unknown level "vilage"`}}},
		{"missing level",
			[]edit{deleteLine(rateCounty)},
			[]problem{{field: "basic.inpatient.rate.county", rule: isRequired}}},
		{"level given twice",
			[]edit{insertAfter(rateCounty, "      county: 0.86")},
			[]problem{{at: "^county: 0.86", field: "basic.inpatient.rate.county", rule: "given twice"}}},
		{"unknown field (typo)",
			[]edit{replace(chronicCap, "an"+strings.TrimPrefix(chronicCap, "ann"))},
			[]problem{
				{at: "^anual_cap", field: "basic.outpatient_chronic.anual_cap", rule: `unknown field "anual_cap"`},
				{field: "basic.outpatient_chronic.annual_cap", rule: isRequired},
			}},
		{"unknown top-level field",
			[]edit{insertAfter("version: pingxiang-2018", "versoin: 2")},
			[]problem{{at: "^versoin: 2", field: "versoin", rule: `unknown field "versoin"`}}},
		{"missing required parameter",
			[]edit{deleteLine("  in_policy_rate: 0.30")},
			[]problem{{field: "commercial.in_policy_rate", rule: isRequired}}},
		{"missing version",
			[]edit{deleteLine("version: pingxiang-2018")},
			[]problem{{field: "version", rule: isRequired}}},
		{"empty value",
			[]edit{replace("oop_ceiling: 0.10", "oop_ceiling:")},
			[]problem{{field: "backstop.oop_ceiling", rule: isRequired}}},
		{"non-numeric rate",
			[]edit{replace("provincial: 0.55", "provincial: high")},
			[]problem{{at: "provincial: ^high", field: "basic.inpatient.rate.provincial", rule: notDecimal}}},
		{"none is not a rate",
			[]edit{replace(rateCounty, "      county: none")},
			[]problem{{at: "county: ^none", field: "basic.inpatient.rate.county", rule: notDecimal}}},
		{"none is not a deductible",
			[]edit{replace(deductCnty, "      county: none")},
			[]problem{{at: "county: ^none", field: "basic.inpatient.deductible.county", rule: notDecimal}}},
		{"money with a unit",
			[]edit{replace(deductCnty, "      county: 200 yuan")},
			[]problem{{at: "county: ^200 yuan", field: "basic.inpatient.deductible.county", rule: notDecimal}}},
		{"money with thousands separators",
			[]edit{replace("annual_cap: 200000.00", `annual_cap: "200,000.00"`)},
			[]problem{{at: `annual_cap: ^"200,000.00"`, field: "basic.annual_cap", rule: notDecimal}}},
		{"inpatient annual_cap",
			[]edit{insertAfter(inpatRates, "    annual_cap: 5000.00")},
			[]problem{{at: "    annual_cap: ^5000.00", field: "basic.inpatient.annual_cap", rule: "inpatient has no sub-cap"}}},
		{"effective.to before effective.from",
			[]edit{replace("to: 2018-12-31", "to: 2017-12-31")},
			[]problem{{at: "to: ^2017-12-31", field: "effective.to", rule: "2017-12-31 is before effective.from 2018-01-01"}}},
		{"date with slashes",
			[]edit{replace("from: 2018-01-01", "from: 2018/01/01")},
			[]problem{{at: "from: ^2018/01/01", field: "effective.from", rule: notADate}}},
		{"date that does not exist",
			[]edit{replace("to: 2018-12-31", "to: 2018-02-30")},
			[]problem{{at: "to: ^2018-02-30", field: "effective.to", rule: notADate}}},
		{"empty document",
			[]edit{wholeDoc("")},
			[]problem{{rule: emptyDocMsg}}},
		{"document of comments only",
			[]edit{wholeDoc("# pingxiang-2019: to be written\n\n")},
			[]problem{{rule: emptyDocMsg}}},
		{"document of a separator only",
			[]edit{wholeDoc("---\n")},
			[]problem{{rule: emptyDocMsg}}},
		{"document of null only",
			[]edit{wholeDoc("null\n")},
			[]problem{{rule: emptyDocMsg}}},
		{"list instead of a policy",
			[]edit{wholeDoc("- 0.85\n- 0.90\n")},
			[]problem{{at: "^- 0.85", rule: "want a mapping"}}},
		{"mapping where a number is expected (flow)",
			[]edit{replace(rateCounty, "      county: {value: 0.85}")},
			[]problem{{at: "county: ^{value", field: "basic.inpatient.rate.county", rule: notAScalar}}},
		{"mapping where a number is expected (block)",
			[]edit{replace("annual_cap: 200000.00    #", "annual_cap:              #"),
				insertAfter("  annual_cap:              #", "    amount: 200000.00")},
			[]problem{{at: "    ^amount: 200000.00", field: "basic.annual_cap", rule: notAScalar}}},
		{"list where a number is expected",
			[]edit{replace(rateCounty, "      county: [0.85, 0.90]")},
			[]problem{{at: "county: ^[0.85", field: "basic.inpatient.rate.county", rule: "want a single value, got a list"}}},
		{"number where a section is expected",
			[]edit{replace("  dibao:                   # 低保", "  dibao: 0.60"),
				deleteLine("    rate: 0.60             # modelled"),
				replace("    annual_cap: 10000.00   # modelled\n\nbackstop", "\nbackstop")},
			[]problem{{at: "dibao: ^0.60", field: "aid.dibao", rule: "want a mapping"}}},
		{"YAML syntax error",
			[]edit{replace(rateCounty, "      county: 0.85: 0.9")},
			[]problem{{at: "^      county: 0.85: 0.9", rule: "mapping values are not allowed", lineOnly: true}}},
		{"several problems in one document",
			[]edit{
				deleteLine("version: pingxiang-2018"),
				replace("to: 2018-12-31", "to: 2017-12-31"),
				replace(deductCnty, "      county: 200.005"),
				insertAfter("      township: 0.90", "      village: 0.95"),
				replace(rateCounty, "      county: 1.5"),
				replace("provincial: 0.55", "provincial: {value: 0.55}"),
				replace(chronicCap, "an"+strings.TrimPrefix(chronicCap, "ann")),
				replace(commercCap, "annual_cap: -100000.00"),
			},
			[]problem{
				{field: "version", rule: isRequired},
				{at: "to: ^2017-12-31", field: "effective.to", rule: "is before effective.from"},
				{at: "county: ^200.005", field: "basic.inpatient.deductible.county", rule: tooPrecise},
				{at: "^village: 0.95", field: "basic.inpatient.rate.village", rule: "unknown level"},
				{at: "county: ^1.5", field: "basic.inpatient.rate.county", rule: outOfRange},
				{at: "provincial: ^{value", field: "basic.inpatient.rate.provincial", rule: notAScalar},
				{at: "^anual_cap", field: "basic.outpatient_chronic.anual_cap", rule: "unknown field"},
				{field: "basic.outpatient_chronic.annual_cap", rule: isRequired},
				{at: "annual_cap: ^-100000.00", field: "commercial.annual_cap", rule: "is negative"},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := shippedWith(t, tt.edits...)
			path := writeTemp(t, "policy.yaml", doc)
			p, err := policyfile.Load(path)
			if p != nil {
				t.Errorf("Load returned a policy along with the error")
			}
			assertProblems(t, path, doc, err, tt.want)
		})
	}
}

// TestAcceptedForms checks spellings of valid values that a clerk may write.
func TestAcceptedForms(t *testing.T) {
	shippedWithRate := func(l calc.Level, r calc.Rate) *calc.Policy {
		p := pingxiang2018()
		p.Basic.Rate[calc.Inpatient][l] = r
		return p
	}
	rateCounty := "      county: 0.85"
	tests := []struct {
		name  string
		edits []edit
		want  *calc.Policy
	}{
		{"percentage", []edit{replace(rateCounty, "      county: 85%")}, pingxiang2018()},
		{"percentage with decimals", []edit{replace(rateCounty, "      county: 85.00%")}, pingxiang2018()},
		{"quoted rate", []edit{replace(rateCounty, `      county: "0.85"`)}, pingxiang2018()},
		{"trailing zeros", []edit{replace(rateCounty, "      county: 0.850000000")}, pingxiang2018()},
		{"six decimal places", []edit{replace(rateCounty, "      county: 0.123456")},
			shippedWithRate(calc.County, 123_456)},
		{"percentage with four decimal places", []edit{replace(rateCounty, "      county: 12.3456%")},
			shippedWithRate(calc.County, 123_456)},
		{"rate 0", []edit{replace(rateCounty, "      county: 0")}, shippedWithRate(calc.County, 0)},
		{"rate 100%", []edit{replace(rateCounty, "      county: 100%")}, shippedWithRate(calc.County, calc.RateOne)},
		{"whole yuan", []edit{replace("county: 200.00", "county: 200")}, pingxiang2018()},
		{"none for every cap",
			[]edit{
				replace("annual_cap: 200000.00", "annual_cap: none"),
				replace("annual_cap: 10000.00   # modelled: annual", "annual_cap: None       # modelled: annual"),
				replace("annual_cap: 100000.00", "annual_cap: NONE"),
				replace("annual_cap: 30000.00", `annual_cap: "none"`),
			},
			func() *calc.Policy {
				p := pingxiang2018()
				p.Basic.AnnualCap = calc.NoCap
				p.Basic.ChronicAnnualCap = calc.NoCap
				p.Commercial.AnnualCap = calc.NoCap
				p.Aid.AnnualCap[calc.Tekun] = calc.NoCap
				return p
			}()},
		{"anchor and alias",
			[]edit{replace("{from: 3000.00, rate: 0.60}", "{from: 3000.00, rate: &sixty 0.60}"),
				replace("    rate: 0.60             # modelled", "    rate: *sixty           # modelled")},
			pingxiang2018()},
		{"merge key",
			[]edit{replace("      township: 0.80\n      county: 0.80\n",
				"      <<: {township: 0.80, county: 0.80}\n")},
			pingxiang2018()},
		{"one-day period", []edit{replace("to: 2018-12-31", "to: 2018-01-01")},
			func() *calc.Policy { p := pingxiang2018(); p.To = p.From; return p }()},
		{"six bands",
			[]edit{insertAfter("    - {from: 100000.00, rate: 0.80}",
				"    - {from: 150000.00, rate: 0.85}",
				"    - {from: 200000.00, rate: 0.90}",
				"    - {from: 300000.00, rate: 100%}")},
			func() *calc.Policy {
				p := pingxiang2018()
				p.Critical.Bands = append(p.Critical.Bands,
					calc.Band{From: yuan(150_000), Rate: pct(85)},
					calc.Band{From: yuan(200_000), Rate: pct(90)},
					calc.Band{From: yuan(300_000), Rate: pct(100)})
				return p
			}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := writeTemp(t, "policy.yaml", shippedWith(t, tt.edits...))
			assertPolicy(t, mustLoad(t, path), tt.want)
		})
	}
}

// version returns edits that turn the shipped policy into version name in force from
// from to to.
func version(name, from, to string) []edit {
	return []edit{
		replace("version: pingxiang-2018", "version: "+name),
		replace("from: 2018-01-01", "from: "+from),
		replace("to: 2018-12-31", "to: "+to),
	}
}

func TestPolicySetOfLoadedFiles(t *testing.T) {
	tests := []struct {
		name    string
		second  []edit // the other version, next to the shipped pingxiang-2018
		overlap bool
	}{
		{"adjacent next year", version("pingxiang-2019", "2019-01-01", "2019-12-31"), false},
		{"adjacent previous year", version("pingxiang-2017", "2017-01-01", "2017-12-31"), false},
		{"adjacent, one day", version("pingxiang-2019-01-01", "2019-01-01", "2019-01-01"), false},
		{"gap between", version("pingxiang-2020", "2020-01-01", "2020-12-31"), false},
		{"shares the last day", version("pingxiang-2019", "2018-12-31", "2019-12-31"), true},
		{"shares the first day", version("pingxiang-2017", "2017-01-01", "2018-01-01"), true},
		{"mid-year overlap", version("pingxiang-2018b", "2018-07-01", "2019-06-30"), true},
		{"inside", version("pingxiang-2018-q2", "2018-04-01", "2018-06-30"), true},
		{"same period", version("pingxiang-2018-copy", "2018-01-01", "2018-12-31"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			shipped := mustLoad(t, shippedPath)
			other := mustLoad(t, writeTemp(t, "other.yaml", shippedWith(t, tt.second...)))
			set, err := calc.NewPolicySet(shipped, other)
			if !tt.overlap {
				if err != nil {
					t.Fatalf("NewPolicySet: %v", err)
				}
				for _, p := range []*calc.Policy{shipped, other} {
					for _, d := range []calc.Date{p.From, p.To} {
						if got := set.At(d); got == nil || got.Version != p.Version {
							t.Errorf("At(%s) = %v, want %s", d, got, p.Version)
						}
					}
				}
				return
			}
			if !errors.Is(err, calc.ErrOverlap) {
				t.Fatalf("NewPolicySet error = %v, want calc.ErrOverlap", err)
			}
			for _, v := range []string{shipped.Version, other.Version} {
				if !strings.Contains(err.Error(), v) {
					t.Errorf("overlap error %q does not name version %s", err, v)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pingxiang-2019.yaml")
	p, err := policyfile.Load(path)
	if err == nil || p != nil {
		t.Fatalf("Load(%s) = %v, %v; want an error", path, p, err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name the path %s", err, path)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("errors.Is(err, fs.ErrNotExist) is false for %v", err)
	}
	if errors.Is(err, calc.ErrInvalid) {
		t.Errorf("a missing file is reported as an invalid policy: %v", err)
	}
}
