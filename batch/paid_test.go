package batch_test

import (
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
)

// legacyClaim is a claim of a cause test and how the other system settled it: fault, if
// not nil, changes the policy and person it settled under.
type legacyClaim struct {
	claim calc.Claim
	fault func(p *calc.Policy, who *calc.Person)
	// want is the kind the audit must name, "" for a claim that must not differ.
	want batch.CauseKind
	root calc.Line
}

func yuan(t *testing.T, s string) calc.Money {
	t.Helper()
	m, err := calc.ParseMoney(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func day(t *testing.T, s string) calc.Date {
	t.Helper()
	d, err := calc.ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestAuditPaidCauses settles small person-years the way another system would have,
// with one rule broken on one claim, straight through calc.Settle (not through the
// audit's hypotheses), and requires the audit to name the broken rule on that claim, the
// root line it breaks, the later claims of the year as knock-ons and no other claim.
func TestAuditPaidCauses(t *testing.T) {
	d := shipped(t)
	claim := func(id string, level calc.Level, kind calc.Kind, on, total, inPolicy string) calc.Claim {
		return calc.Claim{ID: id, PersonID: "P", ProviderID: "H", Level: level, Kind: kind, AdmittedOn: day(t, on), DischargedOn: day(t, on),
			Total: yuan(t, total), InPolicy: yuan(t, inPolicy)}
	}
	poor := calc.Person{ID: "P", HouseholdID: "H1", RegisteredPoor: true}
	tests := []struct {
		name   string
		person calc.Person
		claims []legacyClaim
	}{
		{"deductible of another level", poor, []legacyClaim{
			{claim: claim("C1", calc.County, calc.Inpatient, "2018-03-01", "6000.00", "5000.00"), want: batch.KindDeductible, root: calc.Basic,
				fault: func(p *calc.Policy, _ *calc.Person) {
					p.Basic.Deductible[calc.Inpatient][calc.County] = p.Basic.Deductible[calc.Inpatient][calc.Township]
				}},
		}},
		{"rate of another level", poor, []legacyClaim{
			{claim: claim("C1", calc.County, calc.Inpatient, "2018-03-01", "6000.00", "5000.00"), want: batch.KindRate, root: calc.Basic,
				fault: func(p *calc.Policy, _ *calc.Person) {
					p.Basic.Rate[calc.Inpatient][calc.County] = p.Basic.Rate[calc.Inpatient][calc.Municipal]
				}},
		}},
		{"band rate", poor, []legacyClaim{
			{claim: claim("C1", calc.County, calc.Inpatient, "2018-03-01", "400000.00", "380000.00"), want: batch.KindRate, root: calc.Critical,
				fault: func(p *calc.Policy, _ *calc.Person) { p.Critical.Bands[1].Rate = p.Critical.Bands[0].Rate }},
		}},
		{"cap not applied", poor, []legacyClaim{
			{claim: claim("C1", calc.Township, calc.OutpatientChronic, "2018-03-01", "8000.00", "8000.00")},
			{claim: claim("C2", calc.Township, calc.OutpatientChronic, "2018-04-01", "8000.00", "8000.00"), want: batch.KindCapNotApplied, root: calc.Basic,
				fault: func(p *calc.Policy, _ *calc.Person) { p.Basic.ChronicAnnualCap = calc.NoCap }},
		}},
		{"cap applied early", calc.Person{ID: "P", HouseholdID: "H1", RegisteredPoor: true, Aid: calc.Tekun}, []legacyClaim{
			{claim: claim("C1", calc.County, calc.Inpatient, "2018-03-01", "200000.00", "200000.00")},
			{claim: claim("C2", calc.County, calc.Inpatient, "2018-04-01", "200000.00", "200000.00"), want: batch.KindCapEarly, root: calc.Aid,
				fault: func(p *calc.Policy, _ *calc.Person) { p.Aid.AnnualCap[calc.Tekun] = p.Aid.AnnualCap[calc.Dibao] }},
		}},
		{"aid without an aid category", poor, []legacyClaim{
			{claim: claim("C1", calc.County, calc.Inpatient, "2018-03-01", "30000.00", "25000.00"), want: batch.KindNotEligible, root: calc.Aid,
				fault: func(_ *calc.Policy, who *calc.Person) { who.Aid = calc.Dibao }},
		}},
		{"commercial to a person not registered poor", calc.Person{ID: "P", HouseholdID: "H1"}, []legacyClaim{
			{claim: claim("C1", calc.County, calc.Inpatient, "2018-03-01", "30000.00", "25000.00"), want: batch.KindNotEligible, root: calc.Commercial,
				fault: func(_ *calc.Policy, who *calc.Person) { who.RegisteredPoor = true }},
		}},
		{"backstop to a person not registered poor", calc.Person{ID: "P", HouseholdID: "H1"}, []legacyClaim{
			{claim: claim("C1", calc.County, calc.Inpatient, "2018-03-01", "30000.00", "25000.00"), want: batch.KindNotEligible, root: calc.Backstop,
				fault: func(p *calc.Policy, who *calc.Person) {
					who.RegisteredPoor = true
					p.Commercial.InPolicyRate, p.Commercial.OutOfPolicyRate = 0, 0
				}},
		}},
		{"knock-on of an earlier claim", poor, []legacyClaim{
			{claim: claim("C0", calc.Township, calc.Inpatient, "2018-02-01", "1000.00", "900.00")},
			{claim: claim("C1", calc.County, calc.Inpatient, "2018-03-01", "6000.00", "5000.00"), want: batch.KindDeductible, root: calc.Basic,
				fault: func(p *calc.Policy, _ *calc.Person) {
					p.Basic.Deductible[calc.Inpatient][calc.County] = p.Basic.Deductible[calc.Inpatient][calc.Township]
				}},
			{claim: claim("C2", calc.County, calc.Inpatient, "2018-05-01", "25000.00", "20000.00"), want: batch.KindKnockOn, root: calc.Critical},
			// A fault of its own in a drifted year: basic differs first from the rules (the
			// drift leaves more room under the basic cap), but the rule broken is on aid,
			// where it differs from what the rules give against the drifted ledger.
			{claim: claim("C2b", calc.County, calc.Inpatient, "2018-06-01", "320000.00", "300000.00"), want: batch.KindNotEligible, root: calc.Basic,
				fault: func(_ *calc.Policy, who *calc.Person) { who.Aid = calc.Dibao }},
			// A new year starts a fresh ledger on both sides: nothing to knock on.
			{claim: claim("C3", calc.County, calc.Inpatient, "2019-01-05", "25000.00", "20000.00")},
		}},
	}
	// A policy for 2019 too, so that a year boundary can be crossed.
	p2018 := d.Policies.At(day(t, "2018-06-01"))
	p2019 := p2018.Clone()
	p2019.Version, p2019.From, p2019.To = "test-2019", day(t, "2019-01-01"), day(t, "2019-12-31")
	policies, err := calc.NewPolicySet(p2018, p2019)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var claims []calc.Claim
			for _, c := range tt.claims {
				claims = append(claims, c.claim)
			}
			set, err := batch.NewClaimTable(map[string]calc.Person{"P": tt.person}, claims)
			if err != nil {
				t.Fatal(err)
			}
			// The other system: the claims in order, each against its own ledger.
			paid := batch.NewPaidTable(set.Len())
			var ledger calc.Ledger
			for r := range set.Len() {
				lc := tt.claims[set.Input[r]]
				p, who := policies.At(lc.claim.DischargedOn).Clone(), tt.person
				if lc.fault != nil {
					lc.fault(p, &who)
				}
				s, next, err := calc.Settle(p, who, ledger.ForYear(lc.claim.DischargedOn.Year()), lc.claim)
				if err != nil {
					t.Fatal(err)
				}
				ledger = next
				paid.Set(int(set.Input[r]), lines(&s))
			}
			a, err := batch.AuditPaid(set, paid, policies, batch.Options{})
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]*batch.PaidDifference{}
			for i := range a.Differences {
				got[a.Differences[i].ClaimID] = &a.Differences[i]
			}
			for _, lc := range tt.claims {
				diff := got[lc.claim.ID]
				switch {
				case lc.want == "" && diff != nil:
					t.Errorf("claim %s was paid by the rules but is reported: %+v", lc.claim.ID, *diff)
				case lc.want == "":
				case diff == nil:
					t.Errorf("claim %s (%s) is not reported", lc.claim.ID, lc.want)
				case diff.Kind() != lc.want || diff.Root != lc.root:
					t.Errorf("claim %s: kind %s, root %s; want %s, %s (%+v)", lc.claim.ID, diff.Kind(), diff.Root, lc.want, lc.root, diff.Causes)
				}
			}
			if a.Claims != len(claims) || len(a.NotPaid) != 0 {
				t.Errorf("claims %d, not paid %d", a.Claims, len(a.NotPaid))
			}
		})
	}
}

// TestAuditPaidNone: amounts moved between lines by no rule are reported with no cause
// found, the root the first line that differs and the later ones following from it; the
// person-year's drift is the sum of its claims' differences.
func TestAuditPaidNone(t *testing.T) {
	d := shipped(t)
	set, err := batch.NewClaimTable(d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	paid := make([][calc.NumLines]calc.Money, set.Len())
	_, err = batch.Run(set, d.Policies, batch.Options{Each: func(_, r int, s *calc.Settlement) { paid[set.Input[r]] = lines(s) }})
	if err != nil {
		t.Fatal(err)
	}
	a, err := batch.AuditPaid(set, paidTable(paid, -1), d.Policies, batch.Options{})
	if err != nil || len(a.Differences) != 0 || a.Paid != a.Rules || a.Claims != set.Len() {
		t.Fatalf("paid as the rules give: %v, %d differences, paid %+v, rules %+v", err, len(a.Differences), a.Paid, a.Rules)
	}
	// The last claim of the person with the most claims: nothing follows it.
	p := 0
	for q := range set.Persons {
		if set.Start[q+1]-set.Start[q] > set.Start[p+1]-set.Start[p] {
			p = q
		}
	}
	r := int(set.Start[p+1]) - 1
	paid[set.Input[r]][calc.Critical]++
	paid[set.Input[r]][calc.Backstop]--
	a, err = batch.AuditPaid(set, paidTable(paid, -1), d.Policies, batch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Differences) != 1 {
		t.Fatalf("%d differences, want 1", len(a.Differences))
	}
	got := a.Differences[0]
	if got.ClaimID != set.ClaimID(r) || got.Kind() != batch.KindNone || got.Root != calc.Critical || !slices.Equal(got.Follows, []calc.Line{calc.Backstop}) {
		t.Errorf("difference %+v", got)
	}
	if len(a.Drift) != 1 || a.Drift[0].PersonID != set.Persons[p].ID || a.Drift[0].Delta != [calc.NumLines]calc.Money{0, 1, 0, 0, -1} {
		t.Errorf("drift %+v", a.Drift)
	}
	if a.Paid.Lines[calc.Critical]-a.Rules.Lines[calc.Critical] != 1 {
		t.Errorf("critical paid %s, rules %s", a.Paid.Lines[calc.Critical], a.Rules.Lines[calc.Critical])
	}
	// A claim the paid file lacks is reported, and the later claims of its year follow.
	paid[set.Input[r]][calc.Critical]--
	paid[set.Input[r]][calc.Backstop]++
	a, err = batch.AuditPaid(set, paidTable(paid, int(set.Input[set.Start[p]])), d.Policies, batch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(a.NotPaid) != 1 || a.NotPaid[0].ClaimID != set.ClaimID(int(set.Start[p])) || a.Claims != set.Len()-1 {
		t.Errorf("not paid %+v, claims %d", a.NotPaid, a.Claims)
	}
	for _, diff := range a.Differences {
		if diff.Kind() != batch.KindNone && diff.Kind() != batch.KindKnockOn {
			t.Errorf("after a claim not paid: %+v", diff)
		}
	}
}

// lines are the five lines s paid.
func lines(s *calc.Settlement) [calc.NumLines]calc.Money {
	var out [calc.NumLines]calc.Money
	for l := range calc.NumLines {
		out[l] = s.Lines[l].Amount
	}
	return out
}

// paidTable is a PaidTable of every row of paid but row missing (-1: none).
func paidTable(paid [][calc.NumLines]calc.Money, missing int) *batch.PaidTable {
	t := batch.NewPaidTable(len(paid))
	for r := range paid {
		if r != missing {
			t.Set(r, paid[r])
		}
	}
	return t
}

// TestPaidTable: a PaidTable gives back every amount set, those too large for 4 bytes
// among them, what the patient paid as the total less the lines, and no row not set.
func TestPaidTable(t *testing.T) {
	huge := calc.Money(1) << 40
	tests := []struct {
		name  string
		lines [calc.NumLines]calc.Money
		total calc.Money
	}{
		{"zero", [calc.NumLines]calc.Money{}, 0},
		{"small", [calc.NumLines]calc.Money{58280, 0, 2477, 2719, 4415}, 75435},
		{"the largest of 4 bytes", [calc.NumLines]calc.Money{1<<32 - 1, 1, 0, 0, 0}, 1 << 32},
		{"one over", [calc.NumLines]calc.Money{1 << 32, 0, 0, 0, 0}, 1<<32 + 5},
		{"huge", [calc.NumLines]calc.Money{huge, huge, 1, 2, 3}, 2*huge + 100},
	}
	pt := batch.NewPaidTable(2 * len(tests))
	for i, tt := range tests {
		pt.Set(2*i, tt.lines)
	}
	for i, tt := range tests {
		got, ok := pt.Paid(2*i, tt.total)
		want := batch.Paid{Lines: tt.lines, OutOfPocket: tt.total, Found: true}
		for _, m := range tt.lines {
			want.OutOfPocket -= m
		}
		if !ok || got != want {
			t.Errorf("%s: %+v, %v; want %+v", tt.name, got, ok, want)
		}
		if got, ok := pt.Paid(2*i+1, tt.total); ok || got != (batch.Paid{}) {
			t.Errorf("%s: row %d not set: %+v, %v", tt.name, 2*i+1, got, ok)
		}
	}
	// Set again, a large row becomes small.
	pt.Set(6, tests[1].lines)
	if got, _ := pt.Paid(6, tests[1].total); got.Lines != tests[1].lines {
		t.Errorf("set again: %+v", got)
	}
}

// BenchmarkAuditPaid compares an audit of what was paid with a run of the same 1,000,000
// in-memory claims of 400,000 persons on one worker, paid as the rules give but for 1% of
// the claims, so that the audit explains differences too: the audit's cost beyond the run
// is the comparison (and the paid ledgers), not the reading of files.
func BenchmarkAuditPaid(b *testing.B) {
	policies := shipped(b).Policies
	set := bulkSet(b, 400_000, 1_000_000)
	paid := make([][calc.NumLines]calc.Money, set.Len())
	if _, err := batch.Run(set, policies, batch.Options{Each: func(_, r int, s *calc.Settlement) { paid[set.Input[r]] = lines(s) }}); err != nil {
		b.Fatal(err)
	}
	for i := 0; i < len(paid); i += 100 {
		if paid[i][calc.Basic] > 0 {
			paid[i][calc.Basic]--
			paid[i][calc.Backstop]++
		}
	}
	table := paidTable(paid, -1)
	// The ratio is of CPU time, steadier than the wall's on a shared machine.
	var run time.Duration
	b.Run("run", func(b *testing.B) {
		start := cpuTime(b)
		for b.Loop() {
			if _, err := batch.Run(set, policies, batch.Options{Workers: 1}); err != nil {
				b.Fatal(err)
			}
		}
		run = (cpuTime(b) - start) / time.Duration(b.N)
		b.ReportMetric(float64(run.Nanoseconds()), "cpu-ns/op")
	})
	b.Run("audit", func(b *testing.B) {
		start := cpuTime(b)
		for b.Loop() {
			if _, err := batch.AuditPaid(set, table, policies, batch.Options{Workers: 1}); err != nil {
				b.Fatal(err)
			}
		}
		audit := (cpuTime(b) - start) / time.Duration(b.N)
		b.ReportMetric(float64(audit.Nanoseconds()), "cpu-ns/op")
		if run > 0 {
			b.ReportMetric(float64(audit)/float64(run), "audit/run-cpu")
		}
	})
}

// cpuTime is the CPU time the process has used, user and system.
func cpuTime(tb testing.TB) time.Duration {
	tb.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
