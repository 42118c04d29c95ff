package ops_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
	"github.com/lib/pq"
)

// replayYear settles claims from a fresh ledger in the order of calc.CompareClaims, under
// the policy in force on each discharge day: what a person-year must add up to.
func replayYear(t *testing.T, d *fixtures.Data, person calc.Person, claims []calc.Claim) (map[string]calc.Settlement, calc.Ledger) {
	t.Helper()
	sorted := append([]calc.Claim(nil), claims...)
	sortClaims(sorted)
	out := map[string]calc.Settlement{}
	var ledger calc.Ledger
	for i := range sorted {
		var st calc.Settlement
		if err := calc.SettleInto(&st, d.Policies.At(sorted[i].DischargedOn), &person, &ledger, &sorted[i]); err != nil {
			t.Fatal(err)
		}
		out[sorted[i].ID] = st
	}
	return out, ledger
}

func sortClaims(cs []calc.Claim) {
	for i := 1; i < len(cs); i++ {
		for j := i; j > 0 && calc.CompareClaims(&cs[j], &cs[j-1]) < 0; j-- {
			cs[j], cs[j-1] = cs[j-1], cs[j]
		}
	}
}

// checkReplay checks that a person-year as stored equals the replay of its standing
// claims: each settlement's amounts now (with its adjustments) on every line, the patient
// never paying more than at discharge (a rise goes to the backstop), and the kept ledger and
// the one rebuilt from the rows equal to the replay's, but for what the backstop paid
// instead of the patient.
func checkReplay(t *testing.T, s *store.Store, d *fixtures.Data, person calc.Person, year int, standing []calc.Claim, original map[string]calc.Amounts) {
	t.Helper()
	ctx := context.Background()
	replayed, want := replayYear(t, d, person, standing)
	var shifted calc.Money // what the backstop pays instead of patients
	for _, c := range standing {
		st, err := s.SettlementForClaim(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		now, r := st.Now(), replayed[c.ID]
		for l := range calc.Backstop {
			if now.Lines[l] != r.Lines[l].Amount {
				t.Errorf("claim %s pays %s on %s, the replay %s", c.ID, now.Lines[l], l, r.Lines[l].Amount)
			}
		}
		if now.Burden != r.Lines[calc.Critical].Base {
			t.Errorf("claim %s holds burden %s, the replay %s", c.ID, now.Burden, r.Lines[calc.Critical].Base)
		}
		if now.Lines[calc.Backstop]+now.OutOfPocket != r.Lines[calc.Backstop].Amount+r.OutOfPocket || now.OutOfPocket > r.OutOfPocket {
			t.Errorf("claim %s: backstop %s, patient %s; the replay %s, %s", c.ID, now.Lines[calc.Backstop], now.OutOfPocket,
				r.Lines[calc.Backstop].Amount, r.OutOfPocket)
		}
		if o, ok := original[c.ID]; ok && now.OutOfPocket > o.OutOfPocket {
			t.Errorf("claim %s: the patient pays %s now, %s at discharge", c.ID, now.OutOfPocket, o.OutOfPocket)
		}
		shifted += r.OutOfPocket - now.OutOfPocket
	}
	want.BackstopPaid += shifted
	want.OutOfPocket -= shifted
	if want.Year == 0 {
		want.Year = year
	}
	got, err := s.Ledger(ctx, person.ID, year)
	if err != nil {
		t.Fatal(err)
	}
	rebuilt, err := s.LedgerFromSettlements(ctx, person.ID, year)
	if err != nil {
		t.Fatal(err)
	}
	if got != want || rebuilt != want {
		t.Errorf("ledger\n kept    %+v\n rebuilt %+v\n replay  %+v", got, rebuilt, want)
	}
}

// A chain of five claims of a dibao person crossing the critical-illness deductible and
// two bands, with the chronic sub-cap, the basic annual cap, the commercial cap and the aid
// cap reached before the second is reversed and after.
func TestReversalResettlesChain(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loaded(t, s)
		person := d.Persons["P00003"]
		if person.Aid != calc.Dibao {
			t.Fatalf("P00003 is %v, want dibao", person.Aid)
		}
		claim := func(id string, month time.Month, kind calc.Kind, level calc.Level, provider string, total, in calc.Money) calc.Claim {
			day := calc.NewDate(2018, month, 10)
			return calc.Claim{ID: id, PersonID: person.ID, ProviderID: provider, Level: level, Kind: kind,
				AdmittedOn: day - 4, DischargedOn: day, Total: total, InPolicy: in}
		}
		claims := []calc.Claim{
			claim("K1", 1, calc.OutpatientChronic, calc.Township, "TWN01", 16000*calc.Yuan, 15000*calc.Yuan),
			claim("K2", 2, calc.Inpatient, calc.Township, "TWN01", 160000*calc.Yuan, 150000*calc.Yuan),
			claim("K3", 3, calc.Inpatient, calc.Provincial, "PRV01", 120000*calc.Yuan, 100000*calc.Yuan),
			claim("K4", 4, calc.Inpatient, calc.Township, "TWN01", 1100000*calc.Yuan, 1000000*calc.Yuan),
			claim("K5", 5, calc.Inpatient, calc.Provincial, "PRV01", 2200000*calc.Yuan, 2000000*calc.Yuan),
		}
		settled := map[string]store.SettlementRecord{}
		original := map[string]calc.Amounts{}
		for _, c := range claims {
			st, _, err := ops.New(s).Settle(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			settled[c.ID], original[c.ID] = st, calc.AmountsOf(&st.Settlement)
		}
		policy := d.Policies.At(claims[0].DischargedOn)
		capsReached := func(when string, l calc.Ledger) {
			t.Helper()
			if l.BasicPaid() != policy.Basic.AnnualCap || l.BasicChronic != policy.Basic.ChronicAnnualCap ||
				l.CommercialPaid != policy.Commercial.AnnualCap || l.AidPaid != policy.Aid.AnnualCap[calc.Dibao] ||
				l.CriticalBurden <= policy.Critical.Bands[1].From {
				t.Errorf("%s: caps not all reached: %+v", when, l)
			}
		}
		before, err := s.Ledger(ctx, person.ID, 2018)
		if err != nil {
			t.Fatal(err)
		}
		capsReached("before", before)

		rev, err := ops.New(s).Reverse(ctx, settled["K2"].ID, "bill corrected")
		if err != nil {
			t.Fatal(err)
		}
		standing := []calc.Claim{claims[0], claims[2], claims[3], claims[4]}
		checkReplay(t, s, d, person, 2018, standing, original)
		after, err := s.Ledger(ctx, person.ID, 2018)
		if err != nil {
			t.Fatal(err)
		}
		capsReached("after", after)
		if rev.Ledger != after {
			t.Errorf("reversal's ledger %+v, kept %+v", rev.Ledger, after)
		}
		// The stored reversal reads back with the ledger that follows it, as its answer
		// gave it (GET /v1/settlements/{id} of the reversal).
		if stored, err := s.Settlement(ctx, rev.ID); err != nil || stored.Ledger != after {
			t.Errorf("stored reversal's ledger %+v, %v; want %+v", stored.Ledger, err, after)
		}
		// K1 comes before K2 and keeps what it paid; K3 to K5 are re-settled, and each
		// adjustment names its settlement and the reversal.
		booked := map[string]bool{}
		for _, a := range rev.Adjustments {
			if a.Cause != store.CauseReversal || a.CauseID != rev.ID || a.SettlementID != settled[a.Adjustment.ClaimID].ID {
				t.Errorf("adjustment %+v", a)
			}
			booked[a.Adjustment.ClaimID] = true
		}
		if booked["K1"] || !booked["K3"] {
			t.Errorf("adjusted claims %v: want K3 and not K1", booked)
		}

		// The tally counts settlements, reversals and adjustments: it is what the standing
		// claims pay now.
		var want calc.Tally
		for _, c := range standing {
			st, err := s.SettlementForClaim(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			now := st.Now()
			want.Claims++
			want.Total += c.Total
			for l := range calc.NumLines {
				want.Lines[l] += now.Lines[l]
			}
			want.OutOfPocket += now.OutOfPocket
		}
		got, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil || got != want {
			t.Errorf("tally %+v, %v; want %+v", got, err, want)
		}

		// Reversing K3, already adjusted, takes back its adjustments too.
		if _, err := ops.New(s).Reverse(ctx, settled["K3"].ID, "again a bill"); err != nil {
			t.Fatal(err)
		}
		checkReplay(t, s, d, person, 2018, []calc.Claim{claims[0], claims[3], claims[4]}, original)
		if _, err := ops.New(s).Reverse(ctx, settled["K2"].ID, "twice"); !errors.Is(err, store.ErrConflict) {
			t.Errorf("second reversal: %v, want ErrConflict", err)
		}
	})
}

// A reversal and a new settlement of the same person at the same moment are serialized by
// the ledger lock: whichever goes first, the person-year ends equal to the replay.
func TestReversalAndSettlementAtOnce(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loaded(t, s)
		person := d.Persons["P00001"]
		// Each round in a month of its own, so that every claim arrives in discharge order
		// and only the reversal changes the year.
		claim := func(id string, month time.Month, day int) calc.Claim {
			at := calc.NewDate(2018, month, day)
			return calc.Claim{ID: id, PersonID: person.ID, ProviderID: "PRV01", Level: calc.Provincial, Kind: calc.Inpatient,
				AdmittedOn: at - 2, DischargedOn: at, Total: 20000 * calc.Yuan, InPolicy: 18000 * calc.Yuan}
		}
		var standing []calc.Claim
		for round := range 5 {
			month := time.July + time.Month(round)
			a, b, c := claim(string(rune('a'+round))+"1", month, 1), claim(string(rune('a'+round))+"2", month, 10), claim(string(rune('a'+round))+"3", month, 20)
			sa, _, err := ops.New(s).Settle(ctx, a)
			if err != nil {
				t.Fatal(err)
			}
			sb, _, err := ops.New(s).Settle(ctx, b)
			if err != nil {
				t.Fatal(err)
			}
			original := map[string]calc.Amounts{b.ID: calc.AmountsOf(&sb.Settlement)}
			var wg sync.WaitGroup
			var errs [2]error
			wg.Add(2)
			go func() {
				defer wg.Done()
				_, errs[0] = ops.New(s).Reverse(ctx, sa.ID, "at once")
			}()
			go func() {
				defer wg.Done()
				var st store.SettlementRecord
				st, _, errs[1] = ops.New(s).Settle(ctx, c)
				original[c.ID] = calc.AmountsOf(&st.Settlement)
			}()
			wg.Wait()
			if err := errors.Join(errs[:]...); err != nil {
				t.Fatal(err)
			}
			standing = append(standing, b, c)
			checkReplay(t, s, d, person, 2018, standing, original)
		}
	})
}

// Claims settled out of discharge order are put right by a reconciliation: a dry run
// lists what would change and books nothing; applied, the person-year equals the replay;
// applied again, it books nothing.
func TestReconcile(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loaded(t, s)
		person := d.Persons["P00002"]
		claim := func(id string, month time.Month, in calc.Money) calc.Claim {
			at := calc.NewDate(2018, month, 15)
			return calc.Claim{ID: id, PersonID: person.ID, ProviderID: "PRV01", Level: calc.Provincial, Kind: calc.Inpatient,
				AdmittedOn: at - 5, DischargedOn: at, Total: in + 2000*calc.Yuan, InPolicy: in}
		}
		// Settled in the order C, A, B; discharged A, B, C.
		claims := []calc.Claim{claim("ORD-C", time.May, 30000*calc.Yuan), claim("ORD-A", time.February, 40000*calc.Yuan), claim("ORD-B", time.March, 25000*calc.Yuan)}
		original := map[string]calc.Amounts{}
		for _, c := range claims {
			st, _, err := ops.New(s).Settle(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			original[c.ID] = calc.AmountsOf(&st.Settlement)
		}
		year := func() (calc.Tally, calc.Ledger) {
			t.Helper()
			tally, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
			if err != nil {
				t.Fatal(err)
			}
			l, err := s.Ledger(ctx, person.ID, 2018)
			if err != nil {
				t.Fatal(err)
			}
			return tally, l
		}
		tally0, ledger0 := year()

		dry, err := ops.New(s).Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), "", false)
		if err != nil {
			t.Fatal(err)
		}
		if dry.Applied || dry.PersonYears != 1 || len(dry.Adjustments) == 0 {
			t.Fatalf("dry run %+v: want adjustments of one person-year", dry)
		}
		if tally, l := year(); tally != tally0 || l != ledger0 {
			t.Errorf("a dry run changed the year: tally %+v, ledger %+v", tally, l)
		}
		if booked, err := s.AdjustmentsCausedBy(ctx, dry.ID); err != nil || len(booked) != 0 {
			t.Errorf("a dry run booked %d adjustments, %v", len(booked), err)
		}

		applied, err := ops.New(s).Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), person.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		if len(applied.Adjustments) != len(dry.Adjustments) {
			t.Errorf("applied %d adjustments, the dry run listed %d", len(applied.Adjustments), len(dry.Adjustments))
		}
		for i, a := range applied.Adjustments {
			if a.Cause != store.CauseOutOfOrder || a.CauseID != applied.ID || a.Adjustment != dry.Adjustments[i].Adjustment {
				t.Errorf("adjustment %+v; the dry run's %+v", a, dry.Adjustments[i])
			}
		}
		checkReplay(t, s, d, person, 2018, claims, original)

		again, err := ops.New(s).Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), "", true)
		if err != nil || len(again.Adjustments) != 0 {
			t.Errorf("second reconciliation: %d adjustments, %v; want none", len(again.Adjustments), err)
		}
		if _, err := ops.New(s).Reconcile(ctx, calc.NewDate(2018, 2, 1), calc.NewDate(2018, 1, 1), "", false); !errors.Is(err, ops.ErrInvalidPeriod) {
			t.Errorf("a period backwards: %v", err)
		}
		if _, err := ops.New(s).Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 2, 1), "P-none", false); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("an unknown person: %v", err)
		}
	})
}

// A property of corrections: random sequences of settlements (in and out of discharge
// order), reversals and reconciliations over a few persons. After every step each
// person-year's kept ledger is the sum of its rows (settlements, reversals, adjustments),
// the tally is what the standing claims pay now, and no patient pays more than at
// discharge; while a person's claims all arrived in order (or since a reconciliation), and
// after every reconciliation, every standing claim pays what a from-scratch replay in
// discharge order gives.
//
// It runs with a fixed list of seeds, on both databases; go test ./ops -run
// TestCorrectionsProperty -seed N runs seed N instead, to try others.
func TestCorrectionsProperty(t *testing.T) {
	seeds := []uint64{9, 17, 2026}
	if *propertySeed != 0 {
		seeds = []uint64{*propertySeed}
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			storetest.ForEachDB(t, func(t *testing.T, s *store.Store) { correctionsProperty(t, s, seed) })
		})
	}
}

var propertySeed = flag.Uint64("seed", 0, "run TestCorrectionsProperty with this seed only, instead of its fixed list")

func correctionsProperty(t *testing.T, s *store.Store, seed uint64) {
	ctx := context.Background()
	d := loaded(t, s)
	persons := []string{"P00001", "P00003", "P00006"}
	providers := map[calc.Level]string{calc.Township: "TWN01", calc.County: "CTY01", calc.Municipal: "MUN01",
		calc.Provincial: "PRV01", calc.OutOfProvince: "OOP01"}
	rng := rand.New(rand.NewPCG(seed, 2018))
	type claimState struct {
		claim    calc.Claim
		id       string // settlement id
		original calc.Amounts
		reversed bool
	}
	var all []*claimState
	inOrder := map[string]bool{}
	for _, p := range persons {
		inOrder[p] = true
	}
	standing := func(person string) []calc.Claim {
		var out []calc.Claim
		for _, c := range all {
			if !c.reversed && (person == "" || c.claim.PersonID == person) {
				out = append(out, c.claim)
			}
		}
		return out
	}
	originals := func() map[string]calc.Amounts {
		m := map[string]calc.Amounts{}
		for _, c := range all {
			m[c.claim.ID] = c.original
		}
		return m
	}
	var outOfOrder, reversals, reconciles int
	steps := 36
	if testing.Short() {
		steps = 12
	}
	for step := range steps {
		var did string
		switch r := rng.IntN(10); {
		case r < 6 || len(standing("")) == 0:
			person := persons[rng.IntN(len(persons))]
			level := calc.Levels()[rng.IntN(int(calc.NumLevels))]
			kind := calc.Inpatient
			if rng.IntN(5) == 0 {
				kind = calc.OutpatientChronic
			}
			total := calc.Money(1000+rng.IntN(150000)) * calc.Yuan
			day := calc.NewDate(2018, 1, 1) + calc.Date(rng.IntN(360))
			c := calc.Claim{ID: fmt.Sprintf("PR%03d", step), PersonID: person, ProviderID: providers[level], Level: level, Kind: kind,
				AdmittedOn: day - 2, DischargedOn: day, Total: total, InPolicy: total * calc.Money(60+rng.IntN(41)) / 100}
			for _, prev := range standing(person) {
				if calc.CompareClaims(&c, &prev) < 0 && inOrder[person] {
					inOrder[person] = false
					outOfOrder++
				}
			}
			st, _, err := ops.New(s).Settle(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, &claimState{claim: c, id: st.ID, original: calc.AmountsOf(&st.Settlement)})
			did = "settle " + c.ID
		case r < 8:
			var live []*claimState
			for _, c := range all {
				if !c.reversed {
					live = append(live, c)
				}
			}
			c := live[rng.IntN(len(live))]
			if _, err := ops.New(s).Reverse(ctx, c.id, "property"); err != nil {
				t.Fatal(err)
			}
			c.reversed = true
			reversals++
			did = "reverse " + c.claim.ID
		case r < 9 || len(persons) == 0:
			if _, err := ops.New(s).Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), "", true); err != nil {
				t.Fatal(err)
			}
			for _, p := range persons {
				inOrder[p] = true
			}
			reconciles++
			did = "reconcile"
		default:
			// One person's year, first as a dry run, which must book nothing.
			p := persons[rng.IntN(len(persons))]
			before, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
			if err != nil {
				t.Fatal(err)
			}
			dry, err := ops.New(s).Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), p, false)
			if err != nil {
				t.Fatal(err)
			}
			if after, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)); err != nil || after != before {
				t.Fatalf("step %d: a dry run changed the tally from %+v to %+v, %v", step, before, after, err)
			}
			applied, err := ops.New(s).Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), p, true)
			if err != nil {
				t.Fatal(err)
			}
			if len(applied.Adjustments) != len(dry.Adjustments) {
				t.Errorf("step %d: %s's reconciliation booked %d adjustments, its dry run listed %d", step, p, len(applied.Adjustments), len(dry.Adjustments))
			}
			inOrder[p] = true
			reconciles++
			did = "reconcile " + p
		}

		var want calc.Tally
		for _, p := range persons {
			if len(standing(p)) == 0 {
				continue
			}
			if inOrder[p] {
				checkReplay(t, s, d, d.Persons[p], 2018, standing(p), originals())
			}
			kept, err := s.Ledger(ctx, p, 2018)
			if err != nil {
				t.Fatal(err)
			}
			rebuilt, err := s.LedgerFromSettlements(ctx, p, 2018)
			if err != nil {
				t.Fatal(err)
			}
			if kept != rebuilt {
				t.Errorf("step %d (%s): %s's kept ledger %+v, its rows add up to %+v", step, did, p, kept, rebuilt)
			}
		}
		for _, c := range standing("") {
			st, err := s.SettlementForClaim(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			now := st.Now()
			want.Claims++
			want.Total += c.Total
			for l := range calc.NumLines {
				want.Lines[l] += now.Lines[l]
			}
			want.OutOfPocket += now.OutOfPocket
			if o := originals()[c.ID]; now.OutOfPocket > o.OutOfPocket {
				t.Errorf("step %d (%s): %s's patient pays %s, %s at discharge", step, did, c.ID, now.OutOfPocket, o.OutOfPocket)
			}
		}
		got, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil || got != want {
			t.Errorf("step %d (%s): tally %+v, %v; the standing claims pay %+v", step, did, got, err, want)
		}
		if strings.HasPrefix(did, "reconcile") && !slices.ContainsFunc(persons, func(p string) bool { return !inOrder[p] }) {
			// Σ (settlements + reversals + adjustments) per line is the replay's totals;
			// what the backstop pays in the patients' stead moves between those two.
			var replay calc.Tally
			for _, p := range persons {
				settled, _ := replayYear(t, d, d.Persons[p], standing(p))
				for _, st := range settled {
					replay.Add(&st)
				}
			}
			for l := range calc.Backstop {
				if got.Lines[l] != replay.Lines[l] {
					t.Errorf("step %d: tally %s %s, the replay %s", step, l, got.Lines[l], replay.Lines[l])
				}
			}
			if got.Total != replay.Total || got.Lines[calc.Backstop]+got.OutOfPocket != replay.Lines[calc.Backstop]+replay.OutOfPocket ||
				got.OutOfPocket > replay.OutOfPocket {
				t.Errorf("step %d: tally %+v, the replay %+v", step, got, replay)
			}
		}
		if t.Failed() {
			t.FailNow()
		}
	}
	adjusted := 0
	for _, c := range all {
		adjs, err := s.Adjustments(ctx, c.id)
		if err != nil {
			t.Fatal(err)
		}
		adjusted += len(adjs)
	}
	t.Logf("%d steps: %d claims, %d out of order, %d reversals, %d reconciliations, %d adjustments", steps, len(all), outOfOrder, reversals, reconciles, adjusted)
	if outOfOrder == 0 || reversals == 0 || reconciles == 0 || adjusted == 0 {
		t.Errorf("the sequence tested too little: %d out of order, %d reversals, %d reconciliations, %d adjustments", outOfOrder, reversals, reconciles, adjusted)
	}
}

// A reconciliation that the database stops part way keeps what it booked before, says
// where it stopped, and, run again, completes the rest and books nothing twice.
func TestReconcileStoppedPartWay(t *testing.T) {
	s, fault := storetest.Faulty(t)
	ctx := context.Background()
	d := loaded(t, s)
	persons := []string{"P00001", "P00002", "P00003"}
	var claims []calc.Claim
	for _, p := range persons {
		claim := func(id string, month time.Month, in calc.Money) calc.Claim {
			at := calc.NewDate(2018, month, 15)
			return calc.Claim{ID: p + "-" + id, PersonID: p, ProviderID: "PRV01", Level: calc.Provincial, Kind: calc.Inpatient,
				AdmittedOn: at - 5, DischargedOn: at, Total: in + 2000*calc.Yuan, InPolicy: in}
		}
		// Settled C, A, B; discharged A, B, C: each person-year has adjustments to book.
		for _, c := range []calc.Claim{claim("C", time.May, 30000*calc.Yuan), claim("A", time.February, 40000*calc.Yuan), claim("B", time.March, 25000*calc.Yuan)} {
			if _, _, err := ops.New(s).Settle(ctx, c); err != nil {
				t.Fatal(err)
			}
			claims = append(claims, c)
		}
	}
	ledgerOf := func(p string) calc.Ledger {
		t.Helper()
		l, err := s.Ledger(ctx, p, 2018)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	untouched := ledgerOf("P00002")
	from, to := calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)

	// The second person-year's adjustments meet a database that went away.
	fault.SetOn("INSERT INTO adjustments", 1, &pq.Error{Code: "08006", Message: "connection failure"})
	first, err := ops.New(s).Reconcile(ctx, from, to, "", true)
	fault.SetOn("", 0, nil)
	var stopped *ops.ReconcileStopped
	if !errors.As(err, &stopped) || !errors.Is(err, store.ErrUnavailable) {
		t.Fatalf("reconcile: %v; want a ReconcileStopped of an unavailable database", err)
	}
	if stopped.At != (store.PersonYear{PersonID: "P00002", Year: 2018}) || stopped.Done != 1 || stopped.Total != 3 || !stopped.Applied ||
		!strings.Contains(stopped.Report(), "stopped at person P00002, year 2018, after 1 of 3") {
		t.Errorf("stopped %+v: %s", stopped, stopped.Report())
	}
	booked, err := s.AdjustmentsCausedBy(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	if first.PersonYears != 1 || len(first.Adjustments) == 0 || len(booked) != len(first.Adjustments) {
		t.Errorf("part done: %d person-years, %d adjustments listed, %d booked", first.PersonYears, len(first.Adjustments), len(booked))
	}
	for _, a := range booked {
		if a.Adjustment.PersonID != "P00001" {
			t.Errorf("booked an adjustment of %s before stopping at P00002", a.Adjustment.PersonID)
		}
	}
	if l := ledgerOf("P00002"); l != untouched {
		t.Errorf("the person-year it stopped at changed: %+v, was %+v", l, untouched)
	}
	for _, p := range persons {
		rebuilt, err := s.LedgerFromSettlements(ctx, p, 2018)
		if err != nil || rebuilt != ledgerOf(p) {
			t.Errorf("%s: kept ledger %+v, its rows add up to %+v, %v", p, ledgerOf(p), rebuilt, err)
		}
	}

	// Run again, it completes the rest and books nothing twice.
	second, err := ops.New(s).Reconcile(ctx, from, to, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if second.PersonYears != 3 || len(second.Adjustments) == 0 {
		t.Errorf("second run: %d person-years, %d adjustments", second.PersonYears, len(second.Adjustments))
	}
	for _, a := range second.Adjustments {
		if a.Adjustment.PersonID == "P00001" {
			t.Errorf("the second run booked %s again: %+v", a.Adjustment.ClaimID, a)
		}
	}
	for _, p := range persons {
		var mine []calc.Claim
		for _, c := range claims {
			if c.PersonID == p {
				mine = append(mine, c)
			}
		}
		checkReplay(t, s, d, d.Persons[p], 2018, mine, nil)
	}
	if third, err := ops.New(s).Reconcile(ctx, from, to, "", true); err != nil || len(third.Adjustments) != 0 {
		t.Errorf("third run: %d adjustments, %v; want none", len(third.Adjustments), err)
	}
}
