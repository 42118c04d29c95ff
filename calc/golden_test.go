package calc_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

var tblUpdate = flag.Bool("update", false, "rewrite the golden files of TestGolden in testdata/cascade")

// TestGolden settles each testdata/cascade/*.input, one person's claims of a year, under
// pingxiang-2018 and compares what each line paid, Settlement.Explain of each line and the
// ledger after each claim with the .golden file beside it, in the manner of go/printer's
// tests. After a deliberate change run
//
//	go test ./calc -run TestGolden -update
//
// and read the diff of the golden files against POLICY.md before committing it.
//
// An input file holds, one to a line (blank lines and lines starting with # are skipped):
//
//	person registered_poor=<true|false> aid=<none|dibao|tekun>   the header, once, first
//	<id> <level> <kind> <discharged_on> <total> <in_policy>     a claim of the person
//	reverse <id>                                                 reverse an earlier claim
//
// with amounts in yuan, e.g. "C1 provincial inpatient 2018-02-10 38000.00 30000.00".
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join("testdata", "cascade", "*.input"))
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata/cascade/*.input files")
	}
	p := pingxiang2018(t)
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got := tblGoldenRun(t, p, in, src)
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *tblUpdate {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (go test ./calc -run TestGolden -update creates it)", err)
			}
			tblGoldenDiff(t, golden, got, want)
		})
	}
}

// tblGoldenRun settles the claims of one input file and returns the golden text.
func tblGoldenRun(t *testing.T, p *calc.Policy, path string, src []byte) []byte {
	t.Helper()
	var (
		out     bytes.Buffer
		person  *calc.Person
		ledger  calc.Ledger
		settled = map[string]*calc.Settlement{}
	)
	sc := bufio.NewScanner(bytes.NewReader(src))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("%s:%d: %s: %q", path, n, fmt.Sprintf(format, args...), line)
		}
		fields := strings.Fields(line)
		switch {
		case fields[0] == "person":
			if person != nil {
				fail("a second person header")
			}
			person = tblGoldenPerson(fields[1:], fail)
			fmt.Fprintf(&out, "person %s: %s\n", person.ID, tblGoldenWho(person))

		case person == nil:
			fail("a claim before the person header")

		case fields[0] == "reverse":
			if len(fields) != 2 {
				fail("want: reverse <claim id>")
			}
			s := settled[fields[1]]
			if s == nil {
				fail("no settled claim %s to reverse", fields[1])
			}
			next, err := ledger.Reverse(s)
			if err != nil {
				fail("%v", err)
			}
			ledger = next
			delete(settled, fields[1])
			fmt.Fprintf(&out, "\nreverse %s: gives back basic %s (%s), burden %s, critical %s, commercial %s, aid %s, backstop %s, patient %s, total %s\n",
				s.ClaimID, s.Amount(calc.Basic).Grouped(), s.Kind, s.Lines[calc.Critical].Base.Grouped(),
				s.Amount(calc.Critical).Grouped(), s.Amount(calc.Commercial).Grouped(), s.Amount(calc.Aid).Grouped(),
				s.Amount(calc.Backstop).Grouped(), s.OutOfPocket.Grouped(), s.Total.Grouped())
			tblGoldenLedger(&out, &ledger)

		default:
			c := tblGoldenClaim(fields, person.ID, fail)
			if _, dup := settled[c.ID]; dup {
				fail("claim %s twice", c.ID)
			}
			before := ledger
			s, next, err := calc.Settle(p, *person, ledger, c)
			if err != nil {
				fail("%v", err)
			}
			tblCheckSettlement(t, p, *person, before, c, &s, next)
			ledger = next
			settled[c.ID] = &s
			fmt.Fprintf(&out, "\nclaim %s: %s %s, discharged %s, total %s, in-policy %s\n",
				c.ID, c.Level, c.Kind, c.DischargedOn, c.Total.Grouped(), c.InPolicy.Grouped())
			for _, l := range calc.Lines() {
				fmt.Fprintf(&out, "  %12s  %s\n", s.Amount(l).Grouped(), s.Explain(l))
			}
			fmt.Fprintf(&out, "  %12s  patient pays\n", s.OutOfPocket.Grouped())
			tblGoldenLedger(&out, &ledger)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if person == nil {
		t.Fatalf("%s: no person header", path)
	}
	return out.Bytes()
}

// tblGoldenPerson reads the attributes of a person header.
func tblGoldenPerson(attrs []string, fail func(string, ...any)) *calc.Person {
	person := &calc.Person{ID: "P1", HouseholdID: "H1"}
	seen := map[string]bool{}
	for _, a := range attrs {
		key, value, ok := strings.Cut(a, "=")
		if !ok || seen[key] {
			fail("want: person registered_poor=<true|false> aid=<none|dibao|tekun>")
		}
		seen[key] = true
		switch key {
		case "registered_poor":
			poor, err := strconv.ParseBool(value)
			if err != nil {
				fail("registered_poor: %v", err)
			}
			person.RegisteredPoor = poor
		case "aid":
			aid, err := calc.ParseAidCategory(value)
			if err != nil {
				fail("%v", err)
			}
			person.Aid = aid
		default:
			fail("unknown person attribute %s", key)
		}
	}
	if !seen["registered_poor"] || !seen["aid"] {
		fail("want: person registered_poor=<true|false> aid=<none|dibao|tekun>")
	}
	return person
}

// tblGoldenClaim reads a claim line: id level kind discharged_on total in_policy.
func tblGoldenClaim(fields []string, personID string, fail func(string, ...any)) calc.Claim {
	if len(fields) != 6 {
		fail("want: <id> <level> <kind> <discharged_on> <total> <in_policy>")
	}
	level, err := calc.ParseLevel(fields[1])
	if err != nil {
		fail("%v", err)
	}
	kind, err := calc.ParseKind(fields[2])
	if err != nil {
		fail("%v", err)
	}
	d, err := calc.ParseDate(fields[3])
	if err != nil {
		fail("%v", err)
	}
	total, err := calc.ParseMoney(fields[4])
	if err != nil {
		fail("%v", err)
	}
	inPolicy, err := calc.ParseMoney(fields[5])
	if err != nil {
		fail("%v", err)
	}
	return calc.Claim{ID: fields[0], PersonID: personID, ProviderID: "H-" + level.String(), Level: level, Kind: kind,
		AdmittedOn: d, DischargedOn: d, Total: total, InPolicy: inPolicy}
}

func tblGoldenWho(p *calc.Person) string {
	who := "not registered poor"
	if p.RegisteredPoor {
		who = "registered poor"
	}
	if p.Aid == calc.AidNone {
		return who + ", no aid category"
	}
	return who + ", aid " + p.Aid.String()
}

// tblGoldenLedger writes every total of the ledger.
func tblGoldenLedger(out *bytes.Buffer, l *calc.Ledger) {
	claims := "claims"
	if l.Claims == 1 {
		claims = "claim"
	}
	fmt.Fprintf(out, "  ledger %d, %d %s: basic %s (inpatient %s, chronic %s), burden %s\n",
		l.Year, l.Claims, claims, l.BasicPaid().Grouped(), l.BasicInpatient.Grouped(), l.BasicChronic.Grouped(),
		l.CriticalBurden.Grouped())
	fmt.Fprintf(out, "    critical %s, commercial %s, aid %s, backstop %s, patient %s, total %s\n",
		l.CriticalPaid.Grouped(), l.CommercialPaid.Grouped(), l.AidPaid.Grouped(), l.BackstopPaid.Grouped(),
		l.OutOfPocket.Grouped(), l.Total.Grouped())
}

// tblGoldenDiff reports the first lines where got and want differ.
func tblGoldenDiff(t *testing.T, golden string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
	reported := 0
	for i := 0; i < max(len(g), len(w)) && reported < 5; i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Errorf("%s:%d:\n got %q\nwant %q", golden, i+1, gl, wl)
			reported++
		}
	}
	t.Errorf("%s differs from the settlements (go test ./calc -run TestGolden -update rewrites it; check the diff against POLICY.md)", golden)
}
