package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
)

// registerChange is a dibao person of the shipped data taken off dibao from the
// discharge day of one of their later 2018 claims that is paid aid under dibao: the
// persons file with dates that says so, and what settling the person's claims with the
// attributes in force on each discharge day gives, computed here claim by claim.
type registerChange struct {
	persons string    // the persons file with valid_from,valid_to
	id      string    // the person
	from    calc.Date // off dibao from this day
	// want is each of the person's claims as the rules give it with the versions: the
	// paid-file row without the claim id (basic,...,out_of_pocket).
	want map[string]string
	// changed are the person's claims whose amounts differ from the shipped replay's.
	changed []string
}

func newRegisterChange(t *testing.T) *registerChange {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	claims := d.Claims.Claims
	order := replay.Order(claims)
	byPerson := map[string][]calc.Claim{}
	for _, i := range order {
		byPerson[claims[i].PersonID] = append(byPerson[claims[i].PersonID], claims[i])
	}
	ids := make([]string, 0, len(byPerson))
	for id := range byPerson {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		list, p := byPerson[id], d.Persons[id]
		if p.Aid != calc.Dibao || len(list) < 2 {
			continue
		}
		for k := 1; k < len(list); k++ {
			from := list[k].DischargedOn
			if list[k-1].DischargedOn == from {
				continue
			}
			off := p
			off.Aid = calc.AidNone
			rc := &registerChange{id: id, from: from, want: map[string]string{}}
			var shipped, dated calc.Ledger
			for _, c := range list {
				who := p
				if c.DischargedOn >= from {
					who = off
				}
				shipped, dated = shipped.ForYear(c.DischargedOn.Year()), dated.ForYear(c.DischargedOn.Year())
				a, after, err := calc.Settle(d.Policies.At(c.DischargedOn), p, shipped, c)
				if err != nil {
					t.Fatal(err)
				}
				b, afterDated, err := calc.Settle(d.Policies.At(c.DischargedOn), who, dated, c)
				if err != nil {
					t.Fatal(err)
				}
				shipped, dated = after, afterDated
				rc.want[c.ID] = paidRow(&b)
				if paidRow(&a) != paidRow(&b) {
					rc.changed = append(rc.changed, c.ID)
				}
			}
			if len(rc.changed) == 0 {
				continue
			}
			raw, err := fixtures.FS.ReadFile(fixtures.PersonsFile)
			if err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(string(raw), "\n"), "\n")
			var out []string
			for i, line := range lines {
				switch {
				case i == 0:
					out = append(out, line+",valid_from,valid_to")
				case strings.HasPrefix(line, id+","):
					// The later row first: a person's rows may come in any order.
					f := strings.Split(line, ",")
					f[3] = "none"
					later := strings.Join(f, ",") + fmt.Sprintf(",%s,", from)
					f[3] = "dibao"
					out = append(out, later, strings.Join(f, ",")+fmt.Sprintf(",,%s", from-1))
				default:
					out = append(out, line+",,")
				}
			}
			rc.persons = filepath.Join(t.TempDir(), "persons-dated.csv")
			if err := os.WriteFile(rc.persons, []byte(strings.Join(out, "\n")+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			return rc
		}
	}
	t.Fatal("no dibao person with a later claim paid aid")
	return nil
}

// paidRow is a settlement as replay --out writes it, without the claim id.
func paidRow(s *calc.Settlement) string {
	var f []string
	for l := range calc.NumLines {
		f = append(f, s.Lines[l].Amount.String())
	}
	return strings.Join(append(f, s.OutOfPocket.String()), ",")
}

// TestPersonsFileWithDates: replay, audit and what-if from files take a persons file
// whose rows carry valid_from,valid_to, each claim settled with the attributes in force
// on its discharge day. The replay pays the person's claims as calc does claim by claim
// with the versions, and every other claim as the shipped replay; the audit of the shipped
// paid file with the dated persons finds exactly the claims that change, aid first, and
// the audit of the dated replay's own output finds nothing; the what-if's baseline is
// the dated replay's.
func TestPersonsFileWithDates(t *testing.T) {
	rc := newRegisterChange(t)
	claims := shippedFile(t, fixtures.ClaimsFile)
	shippedOut, shippedRows := shippedPaid(t)
	datedOut := filepath.Join(t.TempDir(), "dated.csv")
	code, report, errOut := runCLI(t, "replay", "--persons", rc.persons, "--claims", claims, "--out", datedOut)
	if code != 0 {
		t.Fatalf("replay with dated persons: exit %d: %s", code, errOut)
	}
	got := map[string]string{}
	for _, row := range readCSV(t, datedOut)[1:] {
		got[row[0]] = strings.Join(row[1:], ",")
	}
	for _, row := range shippedRows[1:] {
		want, ok := rc.want[row[0]]
		if !ok {
			want = strings.Join(row[1:], ",")
		}
		if got[row[0]] != want {
			t.Errorf("claim %s replayed with dated persons: %s, want %s", row[0], got[row[0]], want)
		}
	}

	code, out, errOut := runCLI(t, "audit", "--claims", claims, "--paid", shippedOut, "--persons", rc.persons, "--format", "csv")
	if code != 0 {
		t.Fatalf("audit with dated persons: exit %d: %s", code, errOut)
	}
	var differ []string
	for i, row := range strings.Split(strings.TrimSpace(out), "\n")[1:] {
		f := strings.Split(row, ",")
		differ = append(differ, f[0])
		if i == 0 && f[3] != "aid" {
			t.Errorf("first difference %s: root %s, want aid", f[0], f[3])
		}
	}
	slices.Sort(differ)
	slices.Sort(rc.changed)
	if !slices.Equal(differ, rc.changed) {
		t.Errorf("audit of the shipped paid file with %s off dibao from %s: differ %v, want %v", rc.id, rc.from, differ, rc.changed)
	}
	if code, out, errOut := runCLI(t, "audit", "--claims", claims, "--paid", datedOut, "--persons", rc.persons); code != 0 ||
		!strings.Contains(out, "559 claims in both files, 0 differ") {
		t.Errorf("audit of the dated replay's output: exit %d\n%s%s", code, out, errOut)
	}

	change := filepath.Join(t.TempDir(), "raise.yaml")
	if err := os.WriteFile(change, []byte("commercial:\n  in_policy_rate: 0.50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, whatif, errOut := runCLI(t, "whatif", "--change", change, "--persons", rc.persons, "--claims", claims)
	if code != 0 {
		t.Fatalf("whatif with dated persons: exit %d: %s", code, errOut)
	}
	aid := regexp.MustCompile(`(?m)^4 aid\s+([0-9,.]+)`)
	r, w := aid.FindStringSubmatch(report), aid.FindStringSubmatch(whatif)
	if r == nil || w == nil || r[1] != w[1] {
		t.Errorf("what-if baseline aid %v, replay's %v; want the same", w, r)
	}
}

// TestPersonsFileWithDatesRefused: a persons file whose dated rows of one person
// overlap, end before they start or leave valid_from out is refused naming the line,
// the column and the rule.
func TestPersonsFileWithDatesRefused(t *testing.T) {
	claims := shippedFile(t, fixtures.ClaimsFile)
	tests := []struct {
		name, rows, want string
	}{
		{"overlap", "P00001,H0001,true,none,2018-01-01,2018-06-30\nP00001,H0001,true,dibao,2018-06-01,\n", ":3:5: valid_from"},
		{"inverted", "P00001,H0001,true,none,2018-06-01,2018-01-31\n", ":2:6: valid_to"},
		{"two without a start", "P00001,H0001,true,none,,2018-06-30\nP00001,H0001,true,dibao,,\n", ":3:5: valid_from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "persons.csv")
			body := "person_id,household_id,registered_poor,aid_category,valid_from,valid_to\n" + tt.rows
			if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
			code, out, errOut := runCLI(t, "replay", "--persons", path, "--claims", claims)
			if code == 0 || out != "" || !strings.Contains(errOut, tt.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want a refusal at %s", code, out, errOut, tt.want)
			}
		})
	}
}
