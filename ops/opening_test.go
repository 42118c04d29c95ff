package ops_test

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fileerr"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// openingStore publishes the shipped policy and stores the shipped persons and providers,
// as a county going live has them before it imports its history.
func openingStore(t *testing.T, s *store.Store) *fixtures.Data {
	t.Helper()
	d := publishShipped(t, s)
	in := shippedImport(d)
	ctx := context.Background()
	if err := s.UpsertPersons(ctx, in.Persons); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertProviders(ctx, in.Providers); err != nil {
		t.Fatal(err)
	}
	return d
}

// replayed settles every shipped claim from scratch, by claim id.
func replayed(t *testing.T, d *fixtures.Data) map[string]calc.Settlement {
	t.Helper()
	out := map[string]calc.Settlement{}
	if err := replay.Each(d.Policies, d.Persons, d.Claims.Claims, func(_ int, s *calc.Settlement) { out[s.ClaimID] = *s }); err != nil {
		t.Fatal(err)
	}
	return out
}

// openingFiles writes claims as a claims file, and as a paid file what paid gives each.
func openingFiles(t *testing.T, claims []calc.Claim, paid func(c *calc.Claim) csvdata.SettlementRow) (claimsCSV, paidCSV string) {
	t.Helper()
	var cb, pb bytes.Buffer
	if err := csvdata.WriteClaims(&cb, claims); err != nil {
		t.Fatal(err)
	}
	rows := make([]csvdata.SettlementRow, len(claims))
	for i := range claims {
		rows[i] = paid(&claims[i])
	}
	if err := csvdata.WriteSettlementRows(&pb, rows); err != nil {
		t.Fatal(err)
	}
	return cb.String(), pb.String()
}

// asPaid is the paid row of what s paid.
func asPaid(s *calc.Settlement) csvdata.SettlementRow {
	row := csvdata.SettlementRow{ClaimID: s.ClaimID, OutOfPocket: s.OutOfPocket}
	for l := range calc.NumLines {
		row.Lines[l] = s.Lines[l].Amount
	}
	return row
}

func importFiles(s *store.Store, claimsCSV, paidCSV string) (ops.ImportStats, error) {
	return ops.New(s).ImportPaid(context.Background(), ops.PaidImport{ClaimsName: "claims.csv", Claims: strings.NewReader(claimsCSV),
		PaidName: "paid.csv", Paid: strings.NewReader(paidCSV)}, nil)
}

// TestImportPaidContinuesTheYear imports the shipped claims discharged in the first half
// of 2018 with the amounts the engine gives them, settles the rest live, one by one in
// discharge order, and requires every claim's settlement and every person-year ledger to
// be those of the replay of the whole year; the stored audit then finds no difference.
func TestImportPaidContinuesTheYear(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := openingStore(t, s)
		want := replayed(t, d)
		cut := calc.NewDate(2018, 6, 30)
		var history, live []calc.Claim
		for _, c := range d.Claims.Claims {
			if c.DischargedOn <= cut {
				history = append(history, c)
			} else {
				live = append(live, c)
			}
		}
		claimsCSV, paidCSV := openingFiles(t, history, func(c *calc.Claim) csvdata.SettlementRow {
			w := want[c.ID]
			return asPaid(&w)
		})
		var stages []string
		stats, err := ops.New(s).ImportPaid(ctx, ops.PaidImport{ClaimsName: "claims.csv", Claims: strings.NewReader(claimsCSV),
			PaidName: "paid.csv", Paid: strings.NewReader(paidCSV)}, func(p ops.Progress) {
			if p.Done == p.Total && p.Total > 0 {
				stages = append(stages, p.Stage)
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if stats.Claims != len(history) || stats.Versions[0] != "pingxiang-2018" || stats.Ledgers != stats.Claimants {
			t.Errorf("stats %+v for %d claims", stats, len(history))
		}
		if !slices.Contains(stages, "read") || !slices.Contains(stages, "settlements") {
			t.Errorf("progress stages ended: %v", stages)
		}
		for _, i := range replay.Order(live) {
			if _, _, err := ops.New(s).Settle(ctx, live[i]); err != nil {
				t.Fatal(err)
			}
		}
		// What calc.SettlePaid books for each imported claim, in order: the store reads
		// its settlement back exactly so.
		booked := map[string]calc.Settlement{}
		ledgerOf := map[string]calc.Ledger{}
		for _, i := range replay.Order(history) {
			c := &history[i]
			w, person, l := want[c.ID], d.Persons[c.PersonID], ledgerOf[c.PersonID]
			var st calc.Settlement
			if err := calc.SettlePaid(&st, w.PolicyVersion, &person, &l, c, calc.AmountsOf(&w).Lines, w.OutOfPocket); err != nil {
				t.Fatal(err)
			}
			booked[c.ID], ledgerOf[c.PersonID] = st, l
		}
		for _, c := range d.Claims.Claims {
			got, err := s.SettlementForClaim(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			w := want[c.ID]
			if got.Settlement.Imported != (c.DischargedOn <= cut) {
				t.Errorf("claim %s discharged %s: imported %v", c.ID, c.DischargedOn, got.Settlement.Imported)
			}
			if got.Settlement.Imported {
				if calc.AmountsOf(&got.Settlement) != calc.AmountsOf(&w) || got.Settlement != booked[c.ID] {
					t.Errorf("imported claim %s reads back as\n%+v\nbooked\n%+v", c.ID, got.Settlement, booked[c.ID])
				}
			} else if got.Settlement != w {
				t.Errorf("live claim %s after the import settled as\n%+v\nthe replay of the year gives\n%+v", c.ID, got.Settlement, w)
			}
		}
		// Every person-year ledger is the replay's.
		ledgers := map[string]calc.Ledger{}
		for _, c := range d.Claims.Claims {
			w := want[c.ID]
			l, _ := ledgers[c.PersonID].Add(&w)
			ledgers[c.PersonID] = l
		}
		for id, wantLedger := range ledgers {
			got, err := s.Ledger(ctx, id, 2018)
			if err != nil {
				t.Fatal(err)
			}
			derived, err := s.LedgerFromSettlements(ctx, id, 2018)
			if err != nil {
				t.Fatal(err)
			}
			if got != wantLedger || derived != wantLedger {
				t.Errorf("ledger of %s: stored %+v, from the settlements %+v, the replay's %+v", id, got, derived, wantLedger)
			}
		}
		v, err := ops.New(s).Versions(ctx, ops.InForce)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ops.New(s).Audit(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), v, nil)
		if err != nil {
			t.Fatal(err)
		}
		if a.Claims != len(d.Claims.Claims) || len(a.Differences) != 0 {
			t.Errorf("audit: %s", a.Summary())
		}
		tally, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil {
			t.Fatal(err)
		}
		var wantTally calc.Tally
		for _, c := range d.Claims.Claims {
			w := want[c.ID]
			wantTally.Add(&w)
		}
		if tally != wantTally {
			t.Errorf("tally %+v, want %+v", tally, wantTally)
		}
	})
}

// TestImportPaidReversal reverses an imported claim: the later claims of its person-year,
// imported or live, are settled as if it had never been, but an imported claim keeps what
// it paid. And the audit of imported claims paid otherwise than the rules names them.
func TestImportPaidReversal(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := openingStore(t, s)
		want := replayed(t, d)
		// The person with the most claims in 2018.
		byPerson := map[string][]calc.Claim{}
		for _, c := range d.Claims.Claims {
			byPerson[c.PersonID] = append(byPerson[c.PersonID], c)
		}
		var claims []calc.Claim
		for _, cs := range byPerson {
			if len(cs) > len(claims) || len(cs) == len(claims) && cs[0].PersonID < claims[0].PersonID {
				claims = cs
			}
		}
		if len(claims) < 4 {
			t.Fatalf("the busiest person has %d claims", len(claims))
		}
		order := replay.Order(claims)
		sorted := make([]calc.Claim, len(claims))
		for k, i := range order {
			sorted[k] = claims[i]
		}
		// The first two imported as the engine paid them, the rest settled live.
		claimsCSV, paidCSV := openingFiles(t, sorted[:2], func(c *calc.Claim) csvdata.SettlementRow {
			w := want[c.ID]
			return asPaid(&w)
		})
		if _, err := importFiles(s, claimsCSV, paidCSV); err != nil {
			t.Fatal(err)
		}
		for _, c := range sorted[2:] {
			if _, _, err := ops.New(s).Settle(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		first, err := s.SettlementForClaim(ctx, sorted[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		rev, err := ops.New(s).Reverse(ctx, first.ID, "billed twice")
		if err != nil {
			t.Fatal(err)
		}
		if !rev.Settlement.Imported {
			t.Error("the reversal of an imported settlement does not carry its imported workings")
		}
		// What the rest of the year gives without the first claim: the second keeps what
		// it paid, the live ones are settled from there.
		person := d.Persons[sorted[0].PersonID]
		var ledger calc.Ledger
		w := want[sorted[1].ID]
		var st calc.Settlement
		if err := calc.SettlePaid(&st, w.PolicyVersion, &person, &ledger, &sorted[1], calc.AmountsOf(&w).Lines, w.OutOfPocket); err != nil {
			t.Fatal(err)
		}
		for _, c := range sorted[2:] {
			var x calc.Settlement
			if err := calc.SettleInto(&x, d.Policies.At(c.DischargedOn), &person, &ledger, &c); err != nil {
				t.Fatal(err)
			}
			got, err := s.SettlementForClaim(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Now() != calc.AmountsOf(&x) && !correctedOnly(got.Now(), calc.AmountsOf(&x)) {
				t.Errorf("claim %s after the reversal pays %+v, want %+v", c.ID, got.Now(), calc.AmountsOf(&x))
			}
		}
		second, err := s.SettlementForClaim(ctx, sorted[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(second.Adjustments) != 0 || second.Now() != calc.AmountsOf(&w) {
			t.Errorf("the second imported claim was adjusted: %+v", second.Adjustments)
		}
		if len(rev.Adjustments) == 0 {
			t.Error("the reversal re-settled no later claim")
		}
		derived, err := s.LedgerFromSettlements(ctx, person.ID, 2018)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := s.Ledger(ctx, person.ID, 2018); err != nil || got != derived {
			t.Errorf("ledger %+v (%v), from the settlements %+v", got, err, derived)
		}
		if derived.Claims != len(sorted)-1 {
			t.Errorf("ledger of %d claims, want %d", derived.Claims, len(sorted)-1)
		}
	})
}

// correctedOnly reports whether now differs from the re-settlement want only by a rise of
// the patient's share that the backstop pays instead (POLICY.md "Corrections").
func correctedOnly(now, want calc.Amounts) bool {
	if now.OutOfPocket > want.OutOfPocket || now.Burden != want.Burden {
		return false
	}
	for l := range calc.Backstop {
		if now.Lines[l] != want.Lines[l] {
			return false
		}
	}
	return now.Lines[calc.Backstop]+now.OutOfPocket == want.Lines[calc.Backstop]+want.OutOfPocket
}

// TestImportPaidAuditsWhatWasPaid imports a claim paid otherwise than the rules: the
// stored audit reports it, as imported, and the later claim of the same person-year
// that follows from it.
func TestImportPaidAuditsWhatWasPaid(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := openingStore(t, s)
		want := replayed(t, d)
		byPerson := map[string][]calc.Claim{}
		for _, c := range d.Claims.Claims {
			byPerson[c.PersonID] = append(byPerson[c.PersonID], c)
		}
		var claims []calc.Claim
		for _, id := range slices.Sorted(mapsKeys(byPerson)) {
			if cs := byPerson[id]; len(cs) >= 2 {
				w := want[cs[replay.Order(cs)[0]].ID]
				if w.Lines[calc.Basic].Amount > 10000 {
					claims = cs
					break
				}
			}
		}
		if claims == nil {
			t.Fatal("no person with two claims whose first paid basic over 100.00")
		}
		order := replay.Order(claims)
		first, second := claims[order[0]], claims[order[1]]
		// Basic paid 100.00 less, the patient 100.00 more.
		claimsCSV, paidCSV := openingFiles(t, []calc.Claim{first}, func(c *calc.Claim) csvdata.SettlementRow {
			w := want[c.ID]
			row := asPaid(&w)
			row.Lines[calc.Basic] -= 10000
			row.OutOfPocket += 10000
			return row
		})
		if _, err := importFiles(s, claimsCSV, paidCSV); err != nil {
			t.Fatal(err)
		}
		if _, _, err := ops.New(s).Settle(ctx, second); err != nil {
			t.Fatal(err)
		}
		v, err := ops.New(s).Versions(ctx, ops.InForce)
		if err != nil {
			t.Fatal(err)
		}
		a, err := ops.New(s).Audit(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), v, nil)
		if err != nil {
			t.Fatal(err)
		}
		causes := map[string][]string{}
		for _, diff := range a.Differences {
			causes[diff.ClaimID] = diff.Causes
		}
		if got := causes[first.ID]; !slices.Equal(got, []string{"imported: paid by the system before hpcalc"}) {
			t.Errorf("the imported claim's causes: %q (differences %d)", got, len(a.Differences))
		}
		if got, ok := causes[second.ID]; ok && !slices.Contains(got, "an earlier imported claim of the person-year was paid otherwise") {
			t.Errorf("the later claim's causes: %q", got)
		}
	})
}

func mapsKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// TestImportPaidRefuses sends files that break each rule of an import and requires the
// refusal to name the file, line, column and rule, and the database to be unchanged.
func TestImportPaidRefuses(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := openingStore(t, s)
		want := replayed(t, d)
		claims := d.Claims.Claims[:6]
		good := func(c *calc.Claim) csvdata.SettlementRow { w := want[c.ID]; return asPaid(&w) }
		claimsCSV, paidCSV := openingFiles(t, claims, good)
		// A claim settled live before: the import overlaps it.
		if _, _, err := ops.New(s).Settle(ctx, d.Claims.Claims[10]); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, s)
		paidLines := strings.SplitAfter(paidCSV, "\n")
		claimLines := strings.SplitAfter(claimsCSV, "\n")
		other := d.Claims.Claims[10]
		var sameYear calc.Claim
		for _, c := range d.Claims.Claims[11:] {
			if c.PersonID == other.PersonID {
				sameYear = c
				break
			}
		}
		if sameYear.ID == "" {
			t.Fatalf("person %s has one claim", other.PersonID)
		}
		line := func(c calc.Claim) string {
			var b bytes.Buffer
			_ = csvdata.WriteClaims(&b, []calc.Claim{c})
			return strings.SplitAfter(b.String(), "\n")[1]
		}
		paidLine := func(c calc.Claim) string {
			var b bytes.Buffer
			_ = csvdata.WriteSettlementRows(&b, []csvdata.SettlementRow{good(&c)})
			return strings.SplitAfter(b.String(), "\n")[1]
		}
		unknown := claims[0]
		unknown.ID, unknown.PersonID = "NEW-1", "NOBODY"
		for _, tt := range []struct {
			name         string
			claims, paid string
			file         string
			line, column int
			field, rule  string
			conflict     bool
		}{
			{"SumNotTotal", claimsCSV, strings.Replace(paidCSV, paidLines[2], bumpFirstAmount(paidLines[2]), 1), "paid.csv", 3, 7, "out_of_pocket", "must sum to its total", false},
			{"Negative", claimsCSV, strings.Replace(paidCSV, paidLines[1], negateFirstAmount(paidLines[1]), 1), "paid.csv", 2, 2, "basic", "", false},
			{"NotPaid", claimsCSV, strings.Replace(paidCSV, paidLines[4], "", 1), "claims.csv", 5, 1, "claim_id", "every claim must have a paid row", false},
			{"NotClaimed", strings.Replace(claimsCSV, claimLines[3], "", 1), paidCSV, "paid.csv", 4, 1, "claim_id", "every paid row must be a claim", false},
			{"UnknownPerson", claimsCSV + line(unknown), paidCSV + strings.Replace(paidLine(claims[0]), claims[0].ID, "NEW-1", 1),
				"claims.csv", 8, 2, "person_id", "unknown person NOBODY", false},
			{"UnknownProvider", strings.Replace(claimsCSV, ","+claims[1].ProviderID+",", ",NOWHERE,", 1), paidCSV,
				"claims.csv", 3, 3, "provider_id", "unknown provider NOWHERE", false},
			{"Stored", claimsCSV + line(other), paidCSV + paidLine(other), "claims.csv", 8, 1, "claim_id", "is already stored", true},
			{"YearOpen", claimsCSV + line(sameYear), paidCSV + paidLine(sameYear), "claims.csv", 8, 2, "person_id", "ledger of 2018 is already open", true},
		} {
			t.Run(tt.name, func(t *testing.T) {
				_, err := importFiles(s, tt.claims, tt.paid)
				var fe *fileerr.Error
				if !errors.As(err, &fe) {
					t.Fatalf("got %v, want a *fileerr.Error", err)
				}
				if errors.Is(err, store.ErrConflict) != tt.conflict || !errors.Is(err, calc.ErrInvalid) && !tt.conflict {
					t.Errorf("conflict %v, invalid %v: %v", errors.Is(err, store.ErrConflict), errors.Is(err, calc.ErrInvalid), err)
				}
				p := fe.Problems[0]
				if fe.File != tt.file || p.Line != tt.line || p.Column != tt.column || p.Field != tt.field || !strings.Contains(p.Rule, tt.rule) {
					t.Errorf("got %s, want %s:%d:%d: %s: ...%s...", err, tt.file, tt.line, tt.column, tt.field, tt.rule)
				}
				if after := countRows(t, s); after != before {
					t.Errorf("a refused import changed the database: %+v, before %+v", after, before)
				}
			})
		}
	})
}

// bumpFirstAmount adds 0.01 to the basic amount of a paid file's row.
func bumpFirstAmount(row string) string {
	f := strings.Split(row, ",")
	m, err := calc.ParseMoney(f[1])
	if err != nil {
		panic(err)
	}
	f[1] = (m + 1).String()
	return strings.Join(f, ",")
}

// negateFirstAmount makes the basic amount of a paid file's row negative.
func negateFirstAmount(row string) string {
	f := strings.Split(row, ",")
	f[1] = "-" + f[1]
	return strings.Join(f, ",")
}

// TestImportPaidPersonsAsTheyWere imports the 2018 claims of a dibao person taken off
// dibao in the middle of the year (a version from the day after their first claim): each
// claim is booked with the attributes in force on its discharge day, and its settlement
// names that version (1 before the change, 2 after) and its aid category; the stored
// audit then finds nothing. A claim discharged on a day no version of its person holds
// is refused, naming its line, and nothing is stored.
func TestImportPaidPersonsAsTheyWere(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := openingStore(t, s)
		first, _ := dibaoClaims(t, d)
		id := first.PersonID
		var claims []calc.Claim
		for _, c := range d.Claims.Claims {
			if c.PersonID == id {
				claims = append(claims, c)
			}
		}
		order := replay.Order(claims)
		cut := claims[order[0]].DischargedOn + 1
		if claims[order[len(order)-1]].DischargedOn < cut {
			t.Fatalf("person %s has no claim after %s", id, cut)
		}
		off := d.Persons[id]
		off.Aid = calc.AidNone
		if err := s.UpsertPersonVersions(ctx, []calc.PersonVersion{{Person: off, From: cut, To: calc.NoDate}}); err != nil {
			t.Fatal(err)
		}
		h, err := s.PersonHistory(ctx, id)
		if err != nil || len(h) != 2 {
			t.Fatalf("history %+v, %v", h, err)
		}
		// What the system before hpcalc paid: the engine's amounts with the attributes in
		// force on each discharge day.
		paid := map[string]calc.Settlement{}
		var ledger calc.Ledger
		for _, i := range order {
			c := &claims[i]
			var st calc.Settlement
			if err := calc.SettleInto(&st, d.Policies.At(c.DischargedOn), h.At(c.DischargedOn), &ledger, c); err != nil {
				t.Fatal(err)
			}
			paid[c.ID] = st
		}
		claimsCSV, paidCSV := openingFiles(t, claims, func(c *calc.Claim) csvdata.SettlementRow { w := paid[c.ID]; return asPaid(&w) })

		// A person on the register only from the cut: their claim of the day before is
		// refused, and nothing of the import is stored.
		late := calc.Person{ID: "PLATE", HouseholdID: "HLATE"}
		if err := s.UpsertPersonVersions(ctx, []calc.PersonVersion{{Person: late, From: cut, To: calc.NoDate}}); err != nil {
			t.Fatal(err)
		}
		early := claims[order[0]]
		early.ID, early.PersonID, early.DischargedOn = "LATE-1", late.ID, cut-1
		early.AdmittedOn = min(early.AdmittedOn, early.DischargedOn)
		var cb, pb bytes.Buffer
		if err := csvdata.WriteClaims(&cb, []calc.Claim{early}); err != nil {
			t.Fatal(err)
		}
		w := paid[claims[order[0]].ID]
		row := asPaid(&w)
		row.ClaimID = early.ID
		if err := csvdata.WriteSettlementRows(&pb, []csvdata.SettlementRow{row}); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, s)
		_, err = importFiles(s, claimsCSV+strings.SplitAfter(cb.String(), "\n")[1], paidCSV+strings.SplitAfter(pb.String(), "\n")[1])
		var fe *fileerr.Error
		if !errors.As(err, &fe) || !errors.Is(err, calc.ErrInvalid) || len(fe.Problems) != 1 {
			t.Fatalf("a claim of a day its person is not on the register: %v; want one problem, ErrInvalid", err)
		}
		if p := fe.Problems[0]; fe.File != "claims.csv" || p.Line != len(claims)+2 || p.Column != 2 || p.Field != "person_id" ||
			!strings.Contains(p.Rule, calc.ErrNotRegistered.Error()) || !strings.Contains(p.Rule, early.DischargedOn.String()) {
			t.Errorf("refused with %s; want claims.csv line %d column 2 person_id, not on the register on %s", err, len(claims)+2, early.DischargedOn)
		}
		if after := countRows(t, s); after != before {
			t.Errorf("a refused import changed the database: %+v, before %+v", after, before)
		}

		if _, err := importFiles(s, claimsCSV, paidCSV); err != nil {
			t.Fatal(err)
		}
		var sawBefore, sawAfter bool
		for _, c := range claims {
			got, err := s.SettlementForClaim(ctx, c.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantVersion, wantAid := int32(1), calc.Dibao
			if c.DischargedOn >= cut {
				wantVersion, wantAid = 2, calc.AidNone
				sawAfter = true
			} else {
				sawBefore = true
			}
			w := paid[c.ID]
			if got.PersonVersion != wantVersion || got.Settlement.Aid != wantAid || calc.AmountsOf(&got.Settlement) != calc.AmountsOf(&w) {
				t.Errorf("claim %s discharged %s (change from %s): person version %d, aid category %s, amounts %+v; want version %d, %s, %+v",
					c.ID, c.DischargedOn, cut, got.PersonVersion, got.Settlement.Aid, calc.AmountsOf(&got.Settlement), wantVersion, wantAid, calc.AmountsOf(&w))
			}
		}
		if !sawBefore || !sawAfter {
			t.Fatalf("claims before the change %v, after %v", sawBefore, sawAfter)
		}
		if a := auditOf(t, ops.New(s)); len(a.Differences) != 0 {
			t.Errorf("audit of the imported claims: %d differences: %+v", len(a.Differences), a.Differences)
		}
	})
}
