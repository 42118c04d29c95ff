package batch_test

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
)

func shipped(t testing.TB) *fixtures.Data {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestRunMatchesReplay: the bulk engine settles each shipped claim exactly as replay does,
// whatever the number of workers, and its totals give the published figures.
func TestRunMatchesReplay(t *testing.T) {
	d := shipped(t)
	want, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	set, err := batch.NewClaimTable(d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{1, 2, 7} {
		t.Run(fmt.Sprint(workers), func(t *testing.T) {
			var mu sync.Mutex
			seen := 0
			res, err := batch.Run(set, d.Policies, batch.Options{Workers: workers, Each: func(p, r int, s *calc.Settlement) {
				mu.Lock()
				defer mu.Unlock()
				seen++
				if *s != want.Settlements[set.Input[r]] {
					t.Errorf("claim %s: %+v, replay %+v", set.ClaimID(r), *s, want.Settlements[set.Input[r]])
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			if seen != set.Len() || res.All != want.Tally {
				t.Errorf("%d settlements, tally %+v; want %d, %+v", seen, res.All, set.Len(), want.Tally)
			}
			var byLevel calc.Tally
			for _, l := range res.ByLevel {
				byLevel.Merge(l)
			}
			if byLevel != res.All || res.All.Lines[calc.Backstop] != fixtures.Published2018.Lines[calc.Backstop] {
				t.Errorf("by level %+v, all %+v", byLevel, res.All)
			}
		})
	}
}

func TestRunErrors(t *testing.T) {
	d := shipped(t)
	claims := append([]calc.Claim(nil), d.Claims.Claims...)
	claims[3].DischargedOn = calc.NewDate(2019, 2, 1)
	set, err := batch.NewClaimTable(d.Persons, claims)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := batch.Run(set, d.Policies, batch.Options{}); !errors.Is(err, calc.ErrNoPolicy) {
		t.Errorf("claim out of every period: %v, want ErrNoPolicy", err)
	}
	claims[3].PersonID = "NOBODY"
	if _, err := batch.NewClaimTable(d.Persons, claims); err == nil {
		t.Error("unknown person accepted")
	}
}

// TestRunProgress: Progress counts every person once, rising, and an error from it stops
// the run with that error, before every person is settled.
func TestRunProgress(t *testing.T) {
	set := bulkSet(t, 20_000, 50_000)
	persons := len(set.Persons)
	for _, workers := range []int{1, 3} {
		var (
			mu    sync.Mutex
			calls []int
		)
		res, err := batch.Run(set, shipped(t).Policies, batch.Options{Workers: workers, Progress: func(done, total int) error {
			mu.Lock()
			defer mu.Unlock()
			if total != persons {
				t.Errorf("progress total %d, want %d persons", total, persons)
			}
			calls = append(calls, done)
			return nil
		}})
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) < 10 || calls[len(calls)-1] != persons || res.All.Claims != set.Len() {
			t.Errorf("%d workers: %d progress calls ending at %v of %d persons", workers, len(calls), calls[len(calls)-1:], persons)
		}
		stop := errors.New("cancelled")
		var settled int
		_, err = batch.Run(set, shipped(t).Policies, batch.Options{Workers: workers,
			Each: func(int, int, *calc.Settlement) { mu.Lock(); settled++; mu.Unlock() },
			Progress: func(done, _ int) error {
				if done >= persons/4 {
					return stop
				}
				return nil
			}})
		if !errors.Is(err, stop) || settled >= set.Len() {
			t.Errorf("%d workers: stopped with %v after %d of %d claims, want the Progress error early", workers, err, settled, set.Len())
		}
	}
}

// TestWhatIfEqualsReplay: raising the commercial in-policy rate from 30% to 50% raises
// commercial and lowers aid and the backstop, and every figure equals a direct replay
// under the merged policy, to the fen.
func TestWhatIfEqualsReplay(t *testing.T) {
	d := shipped(t)
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	changed, _, err := policyfile.Merge(doc, "raise.yaml", []byte("commercial:\n  in_policy_rate: 0.50\n"))
	if err != nil {
		t.Fatal(err)
	}
	scenario, err := calc.NewPolicySet(changed)
	if err != nil {
		t.Fatal(err)
	}
	set, err := batch.NewClaimTable(d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	w, err := batch.RunWhatIf(set, d.Policies, scenario, batch.Options{})
	if err != nil {
		t.Fatal(err)
	}
	direct, err := replay.Run(scenario, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	if w.Scenario.All != direct.Tally {
		t.Errorf("what-if scenario %+v, direct replay %+v", w.Scenario.All, direct.Tally)
	}
	b, s := w.Base.All, w.Scenario.All
	if !(s.Lines[calc.Commercial] > b.Lines[calc.Commercial] && s.Lines[calc.Aid] < b.Lines[calc.Aid] && s.Lines[calc.Backstop] < b.Lines[calc.Backstop]) {
		t.Errorf("commercial %s→%s, aid %s→%s, backstop %s→%s", b.Lines[calc.Commercial], s.Lines[calc.Commercial],
			b.Lines[calc.Aid], s.Lines[calc.Aid], b.Lines[calc.Backstop], s.Lines[calc.Backstop])
	}
	var households, pub calc.Money
	for _, h := range w.Households {
		households += h.PublicDelta()
	}
	pub = (s.Total - s.OutOfPocket) - (b.Total - b.OutOfPocket)
	if households != pub {
		t.Errorf("household changes add to %s, public change %s", households, pub)
	}
	payMore := 0
	perPerson := map[string]calc.Money{}
	for i, st := range direct.Settlements {
		perPerson[d.Claims.Claims[i].PersonID] += st.OutOfPocket
	}
	for p := range set.Persons {
		if perPerson[set.Persons[p].ID] > w.Base.OutOfPocket[p] {
			payMore++
		}
	}
	if payMore != w.PayMore {
		t.Errorf("%d pay more, direct count %d", w.PayMore, payMore)
	}

	// Each household's lines under both runs equal the direct replays' sums.
	baseRun, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	type lines = [calc.NumLines]calc.Money
	wantBase, wantScenario := map[string]lines{}, map[string]lines{}
	for i := range d.Claims.Claims {
		h := d.Persons[d.Claims.Claims[i].PersonID].HouseholdID
		b, s := wantBase[h], wantScenario[h]
		for l := range calc.NumLines {
			b[l] += baseRun.Settlements[i].Lines[l].Amount
			s[l] += direct.Settlements[i].Lines[l].Amount
		}
		wantBase[h], wantScenario[h] = b, s
	}
	for _, h := range w.Households {
		if h.LinesBase != wantBase[h.ID] || h.LinesScenario != wantScenario[h.ID] {
			t.Errorf("household %s: lines %v → %v, direct replays %v → %v", h.ID, h.LinesBase, h.LinesScenario, wantBase[h.ID], wantScenario[h.ID])
		}
		var sum calc.Money
		for l := range calc.NumLines {
			sum += h.LineDelta(l)
		}
		if sum != h.PublicDelta() {
			t.Errorf("household %s: line deltas add to %s, public delta %s", h.ID, sum, h.PublicDelta())
		}
	}
}

// bulkSet builds claims of persons, as the scale of a province: most bills small, a few
// large, several per person.
func bulkSet(tb testing.TB, persons, claims int) *batch.ClaimTable {
	tb.Helper()
	r := rand.New(rand.NewPCG(4, 2018))
	ps := make(map[string]calc.Person, persons)
	ids := make([]string, persons)
	for i := range persons {
		ids[i] = fmt.Sprintf("P%07d", i)
		ps[ids[i]] = calc.Person{ID: ids[i], HouseholdID: fmt.Sprintf("H%06d", i/4), RegisteredPoor: true, Aid: calc.AidCategory(r.IntN(3))}
	}
	cs := make([]calc.Claim, claims)
	for i := range cs {
		d := calc.NewDate(2018, 1, 1) + calc.Date(r.IntN(334))
		total := calc.Money(50_00 + r.IntN(8_000_00))
		if r.IntN(20) == 0 {
			total *= 10
		}
		cs[i] = calc.Claim{ID: fmt.Sprintf("C%08d", i), PersonID: ids[r.IntN(persons)], ProviderID: "X",
			Level: calc.Level(r.IntN(int(calc.NumLevels))), Kind: calc.Kind(r.IntN(2)),
			AdmittedOn: d - 3, DischargedOn: d, Total: total, InPolicy: total * calc.Money(65+r.IntN(36)) / 100}
	}
	set, err := batch.NewClaimTable(ps, cs)
	if err != nil {
		tb.Fatal(err)
	}
	return set
}

// BenchmarkWhatIf runs a what-if (a baseline and a scenario run) over 1,000,000
// in-memory claims of 400,000 persons on 1 worker and on one per core, and reports the
// heap in use after the run.
func BenchmarkWhatIf(b *testing.B) {
	d := shipped(b)
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		b.Fatal(err)
	}
	changed, _, err := policyfile.Merge(doc, "raise.yaml", []byte("commercial:\n  in_policy_rate: 0.50\n"))
	if err != nil {
		b.Fatal(err)
	}
	scenario, err := calc.NewPolicySet(changed)
	if err != nil {
		b.Fatal(err)
	}
	set := bulkSet(b, 400_000, 1_000_000)
	for _, workers := range []int{1, runtime.GOMAXPROCS(0)} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			for b.Loop() {
				if _, err := batch.RunWhatIf(set, d.Policies, scenario, batch.Options{Workers: workers}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(2*set.Len())*float64(b.N)/b.Elapsed().Seconds(), "claims/s")
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(ms.Sys)/(1<<20), "MiB-sys")
		})
	}
}

// TestWhatIfHouseholdOnDischargeDay: a what-if counts each claim in the household its
// person belonged to on the claim's discharge day (issue 13), not the person's latest: a
// person who moves household mid-year has their earlier claims counted in the household
// they left, and a latest household with no claims on any day is not listed. Checked
// against each claim's settlement under both runs, grouped by hand, for the full list and
// for the top households each way.
func TestWhatIfHouseholdOnDischargeDay(t *testing.T) {
	d := shipped(t)
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	changed, _, err := policyfile.Merge(doc, "raise.yaml", []byte("commercial:\n  in_policy_rate: 0.50\n"))
	if err != nil {
		t.Fatal(err)
	}
	scenario, err := calc.NewPolicySet(changed)
	if err != nil {
		t.Fatal(err)
	}
	set, err := batch.NewClaimTable(d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	// Every person with claims on several days moves: until the day before their last
	// claim's discharge they belong to a household of their own (new: no one else is in
	// it), from then on to their household of the register (the latest). One of them moves
	// out of a household of their own into "H-EMPTY", which then has no claims at all:
	// their last version holds from after their last claim.
	histories := map[string]calc.History{}
	movers := 0
	for p := range set.Persons {
		first, last := set.Discharged[set.Start[p]], set.Discharged[set.Start[p+1]-1]
		if first == last {
			continue
		}
		person := set.Persons[p]
		before := person
		before.HouseholdID = "H-BEFORE-" + person.ID
		from := last
		if movers == 0 {
			person.HouseholdID = "H-EMPTY"
			from = last + 1
		}
		histories[person.ID] = calc.History{
			{Person: before, From: calc.Beginning, To: from - 1},
			{Person: person, From: from, To: calc.End},
		}
		set.Persons[p] = person
		movers++
	}
	if movers < 3 {
		t.Fatalf("only %d persons with claims on several days", movers)
	}
	set.UseHistories(histories)

	// What each household's claims cost under each run, from each settlement.
	type sums struct{ pub, oop [2]calc.Money }
	want := map[string]*sums{}
	for run, policies := range []*calc.PolicySet{d.Policies, scenario} {
		var mu sync.Mutex
		_, err := batch.Run(set, policies, batch.Options{Each: func(p, r int, s *calc.Settlement) {
			person, err := set.PersonAt(p, r)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			h := want[person.HouseholdID]
			if h == nil {
				h = &sums{}
				want[person.HouseholdID] = h
			}
			h.pub[run] += s.Total - s.OutOfPocket
			h.oop[run] += s.OutOfPocket
		}})
		if err != nil {
			t.Fatal(err)
		}
	}
	if want["H-EMPTY"] != nil {
		t.Fatal("H-EMPTY has claims: the test's histories are wrong")
	}
	for _, top := range []int{0, 3} {
		w, err := batch.RunWhatIf(set, d.Policies, scenario, batch.Options{TopHouseholds: top})
		if err != nil {
			t.Fatal(err)
		}
		if top == 0 && len(w.Households) != len(want) {
			t.Errorf("%d households listed, want %d", len(w.Households), len(want))
		}
		before := 0
		for _, h := range w.Households {
			s := want[h.ID]
			if s == nil {
				t.Fatalf("top %d: household %s listed, which has no claims", top, h.ID)
			}
			if h.PublicBase != s.pub[0] || h.PublicScenario != s.pub[1] || h.OOPBase != s.oop[0] || h.OOPScenario != s.oop[1] {
				t.Errorf("top %d: household %s: public %s → %s, out-of-pocket %s → %s; want %s → %s, %s → %s", top, h.ID,
					h.PublicBase, h.PublicScenario, h.OOPBase, h.OOPScenario, s.pub[0], s.pub[1], s.oop[0], s.oop[1])
			}
			if strings.HasPrefix(h.ID, "H-BEFORE-") {
				before++
			}
		}
		if top == 0 && before != movers {
			t.Errorf("%d households of before a move listed, want %d", before, movers)
		}
	}
}
