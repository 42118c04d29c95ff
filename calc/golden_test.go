package calc_test

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/cascade")

// TestGolden settles each testdata/cascade/*.input — a person and a year of claims — under
// the 2018 policy and compares every line's explanation and the ledger after each claim
// with the .golden file beside it. Run with -update to rewrite them after a deliberate
// change, and read the diff.
//
// Input lines: "person <registered_poor> <aid>" once, then
// "claim <id> <level> <kind> <discharged_on> <total> <in_policy>".
func TestGolden(t *testing.T) {
	inputs, err := filepath.Glob("testdata/cascade/*.input")
	if err != nil || len(inputs) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	p := pingxiang2018(t)
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input")
		t.Run(name, func(t *testing.T) {
			got := goldenRun(t, p, in)
			golden := strings.TrimSuffix(in, ".input") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./calc -run TestGolden -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s differs from the settlement:\n--- got\n%s\n--- want\n%s", golden, got, want)
			}
		})
	}
}

func goldenRun(t *testing.T, p *calc.Policy, path string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out    bytes.Buffer
		person = calc.Person{ID: "P1", HouseholdID: "H1"}
		ledger calc.Ledger
	)
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch {
		case fields[0] == "person" && len(fields) == 3:
			person.RegisteredPoor = fields[1] == "true"
			aid, err := calc.ParseAidCategory(fields[2])
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			person.Aid = aid
			fmt.Fprintf(&out, "person: registered poor %v, aid %s\n", person.RegisteredPoor, person.Aid)
		case fields[0] == "claim" && len(fields) == 7:
			level, err1 := calc.ParseLevel(fields[2])
			kind, err2 := calc.ParseKind(fields[3])
			d, err3 := calc.ParseDate(fields[4])
			total, err4 := calc.ParseMoney(fields[5])
			in, err5 := calc.ParseMoney(fields[6])
			for _, err := range []error{err1, err2, err3, err4, err5} {
				if err != nil {
					t.Fatalf("%s:%d: %v", path, n, err)
				}
			}
			c := calc.Claim{ID: fields[1], PersonID: "P1", ProviderID: "X", Level: level, Kind: kind,
				AdmittedOn: d, DischargedOn: d, Total: total, InPolicy: in}
			s, next, err := calc.Settle(p, person, ledger, c)
			if err != nil {
				t.Fatalf("%s:%d: %v", path, n, err)
			}
			ledger = next
			fmt.Fprintf(&out, "\nclaim %s: %s %s, discharged %s, total %s, in-policy %s\n", c.ID, level, kind, d, total.Grouped(), in.Grouped())
			for _, l := range calc.Lines() {
				fmt.Fprintf(&out, "  %s\n", s.Explain(l))
			}
			fmt.Fprintf(&out, "  patient pays %s\n", s.OutOfPocket.Grouped())
			fmt.Fprintf(&out, "  ledger %d: basic %s inpatient + %s chronic, burden %s, critical %s, commercial %s, aid %s, backstop %s\n",
				ledger.Year, ledger.BasicInpatient.Grouped(), ledger.BasicChronic.Grouped(), ledger.CriticalBurden.Grouped(),
				ledger.CriticalPaid.Grouped(), ledger.CommercialPaid.Grouped(), ledger.AidPaid.Grouped(), ledger.BackstopPaid.Grouped())
		default:
			t.Fatalf("%s:%d: cannot read %q", path, n, sc.Text())
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
