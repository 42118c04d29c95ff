package main

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/policyfile"
)

func TestWhatif(t *testing.T) {
	change := filepath.Join(t.TempDir(), "raise.yaml")
	if err := os.WriteFile(change, []byte("commercial:\n  in_policy_rate: 0.50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "whatif", "--change", change, "--group-by", "aid")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		`(?m)^3 commercial\s+194,600.00\s+\S+\s+\+[0-9,.]+$`,
		`(?m)^4 aid\s+133,300.00\s+\S+\s+-[0-9,.]+$`,
		`(?m)^5 backstop\s+523,200.00\s+\S+\s+-[0-9,.]+$`,
		`(?m)^  dibao\s+public`,
		`patients would pay more out of pocket`,
	} {
		if !regexp.MustCompile(want).MatchString(out) {
			t.Errorf("output lacks %s:\n%s", want, out)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	if err := os.WriteFile(bad, []byte("commercial:\n  in_policy_rate: 1.50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut = runCLI(t, "whatif", "--change", bad)
	if code != 1 || out != "" || !strings.Contains(errOut, "commercial.in_policy_rate") || !strings.Contains(errOut, "outside 0–1") {
		t.Errorf("bad change: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if code, _, _ := runCLI(t, "whatif"); code != 2 {
		t.Errorf("no --change: exit %d, want 2", code)
	}
}

func TestWhatifSweep(t *testing.T) {
	code, out, errOut := runCLI(t, "whatif", "--sweep", "backstop.oop_ceiling=0.05:0.15:0.01")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 12 || lines[0] != "backstop.oop_ceiling,basic,critical,commercial,aid,backstop,public,out_of_pocket" {
		t.Fatalf("%d lines:\n%s", len(lines), out)
	}
	// The step at the shipped ceiling replays to the published backstop.
	if !strings.HasPrefix(lines[6], "0.1,") || !strings.Contains(lines[6], ",523200.00,") {
		t.Errorf("step 0.1: %s", lines[6])
	}
	for _, bad := range []string{"nofield", "backstop.oop_ceiling=0.2:0.1:0.01", "backstop.oop_ceiling=0:1:0", "backstop.nope=0.1:0.2:0.1",
		"backstop.oop_ceiling=0:1:0.01"} { // 101 values: over ops.MaxSweepSteps
		if code, _, _ := runCLI(t, "whatif", "--sweep", bad); code != 1 {
			t.Errorf("--sweep %s: exit %d, want 1", bad, code)
		}
	}
}

// TestWhatifSweepVersions: a sweep takes several base versions, as the API's does, and
// changes each; the shipped claims are all of 2018, so a 2019 version beside the shipped
// one changes nothing, and a 2019 version alone covers none of them.
func TestWhatifSweepVersions(t *testing.T) {
	dir := t.TempDir()
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	_, doc19, err := policyfile.Merge(doc, "2019", []byte("version: test-2019\neffective: {from: 2019-01-01, to: 2019-12-31}"))
	if err != nil {
		t.Fatal(err)
	}
	p18, p19 := filepath.Join(dir, "2018.yaml"), filepath.Join(dir, "2019.yaml")
	if err := os.WriteFile(p18, doc, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p19, doc19, 0o644); err != nil {
		t.Fatal(err)
	}
	const sweep = "backstop.oop_ceiling=0.08:0.12:0.02"
	_, want, _ := runCLI(t, "whatif", "--sweep", sweep)
	code, got, errOut := runCLI(t, "whatif", "--sweep", sweep, "--policy", p18, "--policy", p19)
	if code != 0 || got != want || len(strings.Split(strings.TrimSpace(got), "\n")) != 4 {
		t.Errorf("sweep of two versions: exit %d, stderr %q; output\n%s\nwant\n%s", code, errOut, got, want)
	}
	if code, _, errOut := runCLI(t, "whatif", "--sweep", sweep, "--policy", p19); code != 1 || !strings.Contains(errOut, "no policy is in force") {
		t.Errorf("sweep of 2018 claims under a 2019 version only: exit %d, stderr %q; want 1, no policy in force", code, errOut)
	}
}

// TestWhatifChecksProviders: with --providers, the claims' providers and levels are
// checked against the file, for a what-if and for a sweep alike.
func TestWhatifChecksProviders(t *testing.T) {
	dir := t.TempDir()
	raw, err := fixtures.FS.ReadFile(fixtures.ProvidersFile)
	if err != nil {
		t.Fatal(err)
	}
	moved := regexp.MustCompile(`(?m)^(TWN01,[^\n]*),township`).ReplaceAll(raw, []byte("$1,county"))
	if string(moved) == string(raw) {
		t.Fatal("the shipped providers have no TWN01 at township level to move")
	}
	providers, change := filepath.Join(dir, "providers.csv"), filepath.Join(dir, "raise.yaml")
	if err := os.WriteFile(providers, moved, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(change, []byte("commercial:\n  in_policy_rate: 0.50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"whatif", "--providers", providers, "--change", change},
		{"whatif", "--providers", providers, "--sweep", "backstop.oop_ceiling=0.05:0.15:0.05"},
	} {
		code, out, errOut := runCLI(t, args...)
		if code != 1 || out != "" || !strings.Contains(errOut, "differs from provider TWN01's level county") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
}

// TestWhatifByHousehold: grouped by household, each household's change per line adds up
// to its change in public cost.
func TestWhatifByHousehold(t *testing.T) {
	change := filepath.Join(t.TempDir(), "raise.yaml")
	if err := os.WriteFile(change, []byte("commercial:\n  in_policy_rate: 0.50\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI(t, "whatif", "--change", change, "--group-by", "household")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	row := regexp.MustCompile(`(?m)^  (\S+)\s+public\s+(\S+)\s+out-of-pocket\s+\S+\s+basic (\S+) critical (\S+) commercial (\S+) aid (\S+) backstop (\S+)$`)
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	claimants := map[string]bool{}
	for _, c := range d.Claims.Claims {
		claimants[d.Persons[c.PersonID].HouseholdID] = true
	}
	rows := row.FindAllStringSubmatch(out, -1)
	if len(rows) != len(claimants) {
		t.Fatalf("%d household rows, want the %d households with claims:\n%s", len(rows), len(claimants), out)
	}
	for _, m := range rows {
		var sum calc.Money
		for _, s := range m[3:] {
			d, err := calc.ParseMoney(strings.ReplaceAll(strings.TrimPrefix(s, "+"), ",", ""))
			if err != nil {
				t.Fatalf("%s: %v", m[0], err)
			}
			sum += d
		}
		if signed(sum) != m[2] {
			t.Errorf("household %s: lines add to %s, public change %s", m[1], signed(sum), m[2])
		}
	}
}

// TestWhatifErrorsPointAtWhatWasWritten: a change file's problems are placed in that file
// and a sweep's in the flag as typed, never in the base policy or in a document built
// from the flag.
func TestWhatifErrorsPointAtWhatWasWritten(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	for _, tt := range []struct {
		change string
		args   []string
		want   string
	}{
		{change: "commercial:\n  foo: 0.5\n", args: []string{"--change", bad},
			want: bad + `:2:3: commercial.foo: unknown field "foo" (the fields here are in_policy_rate, out_of_policy_rate, annual_cap, source)`},
		{change: "commercial:\n  in_policy_rate: 1.50\n", args: []string{"--change", bad},
			want: bad + ":2:19: commercial.in_policy_rate: "},
		{args: []string{"--sweep", "backstop.oop_ceil=0.05:0.15:0.01"},
			want: `--sweep backstop.oop_ceil: unknown parameter "oop_ceil" (the parameters under backstop are oop_ceiling)`},
		{args: []string{"--sweep", "backstop.oop_ceiling=0.05:0.15:0"},
			want: "--sweep backstop.oop_ceiling=0.05:0.15:0: want start ≤ stop"},
		{args: []string{"--sweep", "backstop.oop_ceiling=1.5:1.6:0.1"},
			want: "--sweep backstop.oop_ceiling=1.5: backstop.oop_ceiling: "},
	} {
		if tt.change != "" {
			if err := os.WriteFile(bad, []byte(tt.change), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		code, _, errOut := runCLI(t, append([]string{"whatif"}, tt.args...)...)
		if code != 1 || !strings.HasPrefix(errOut, "hpcalc whatif: "+tt.want) {
			t.Errorf("%s: exit %d, stderr %q, want 1 and it to begin %q", tt.args, code, errOut, "hpcalc whatif: "+tt.want)
		}
	}
}

// TestWhatifHouseholdOnDischargeDay: from a persons file with dates, each claim counts in
// the household its person was in on the claim's discharge day (issue 13): P1 moved from
// H1 to H2 on 2018-07-01, so the March claim is H1's and the September one H2's, though
// no one of H1 has a claim after the move.
func TestWhatifHouseholdOnDischargeDay(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"persons.csv": "person_id,household_id,registered_poor,aid_category,sex,birth_year,valid_from,valid_to\n" +
			"P1,H1,true,dibao,F,1950,2018-01-01,2018-06-30\n" +
			"P1,H2,true,dibao,F,1950,2018-07-01,\n",
		"claims.csv": "claim_id,person_id,provider_id,level,kind,admitted_on,discharged_on,total,in_policy\n" +
			"C1,P1,TWN05,township,inpatient,2018-03-01,2018-03-05,8000.00,7000.00\n" +
			"C2,P1,TWN05,township,inpatient,2018-09-01,2018-09-05,9000.00,8000.00\n",
		"raise.yaml": "commercial:\n  in_policy_rate: 0.50\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errOut := runCLI(t, "whatif", "--persons", filepath.Join(dir, "persons.csv"), "--claims", filepath.Join(dir, "claims.csv"),
		"--change", filepath.Join(dir, "raise.yaml"), "--group-by", "household")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// The change lands on the commercial line (and aid and backstop absorb it): each
	// household's commercial change is its own claim's, and they add to the line's.
	total := regexp.MustCompile(`(?m)^3 commercial\s+\S+\s+\S+\s+(\S+)$`).FindStringSubmatch(out)
	rows := regexp.MustCompile(`(?m)^  (H\d)\s+public.* commercial (\S+) `).FindAllStringSubmatch(out, -1)
	if total == nil || len(rows) != 2 || rows[0][1] == rows[1][1] {
		t.Fatalf("want the commercial change and a row for each of H1 and H2:\n%s", out)
	}
	var sum calc.Money
	for _, r := range append(rows, total) {
		m, err := calc.ParseMoney(strings.NewReplacer(",", "", "+", "").Replace(r[len(r)-1]))
		if err != nil {
			t.Fatal(err)
		}
		if r[0] != total[0] {
			if m <= 0 {
				t.Errorf("household %s: commercial change %s; each has a claim that commercial pays more", r[1], m)
			}
			sum += m
		} else if m != sum {
			t.Errorf("the households' commercial changes add to %s, the line's is %s:\n%s", sum, m, out)
		}
	}
}

// TestLimitMemory: a what-if over files sets a memory limit of 64 MiB plus the files' size
// and, unless GOGC is set, leaves collections to the limit alone; both are as before once
// it is done. With GOMEMLIMIT set it changes neither.
func TestLimitMemory(t *testing.T) {
	dir := t.TempDir()
	claims, persons, paid := filepath.Join(dir, "claims.csv"), filepath.Join(dir, "persons.csv"), filepath.Join(dir, "paid.csv")
	for name, size := range map[string]int{claims: 1000, persons: 3000, paid: 500} {
		if err := os.WriteFile(name, make([]byte, size), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	gcPercent := func() int {
		p := debug.SetGCPercent(100)
		debug.SetGCPercent(p)
		return p
	}
	limitBefore, gcBefore := debug.SetMemoryLimit(-1), gcPercent()
	for _, tc := range []struct {
		name, gogc, gomemlimit string
		whole                  []string // files held whole besides (an audit's paid file)
		limit, personsFirst    int64    // claims first, persons first
		gc                     int
	}{
		{"Default", "", "", nil, 64<<20 + 1000 + 3000/2, 64<<20 + 1000 + 3000, -1},
		{"GOGCSet", "100", "", nil, 64<<20 + 1000 + 3000/2, 64<<20 + 1000 + 3000, gcBefore},
		{"GOMEMLIMITSet", "", "1GiB", nil, limitBefore, limitBefore, gcBefore},
		{"PaidFile", "", "", []string{paid}, 64<<20 + 1000 + 3000/2 + 500, 64<<20 + 1000 + 3000 + 500, -1},
		{"PaidFileMissing", "", "", []string{filepath.Join(dir, "none.csv")}, limitBefore, limitBefore, gcBefore},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOGC", tc.gogc)
			t.Setenv("GOMEMLIMIT", tc.gomemlimit)
			m := limitMemory(claims, persons, tc.whole...)
			limit, gc := debug.SetMemoryLimit(-1), gcPercent()
			m.PersonsFirst()
			personsFirst := debug.SetMemoryLimit(-1)
			m.Restore()
			if limit != tc.limit || personsFirst != tc.personsFirst || gc != tc.gc {
				t.Errorf("during: limit %d, persons first %d, GC percent %d; want %d, %d, %d", limit, personsFirst, gc, tc.limit, tc.personsFirst, tc.gc)
			}
			if limit, gc := debug.SetMemoryLimit(-1), gcPercent(); limit != limitBefore || gc != gcBefore {
				t.Errorf("after: limit %d, GC percent %d; want %d, %d", limit, gc, limitBefore, gcBefore)
			}
		})
	}
}
