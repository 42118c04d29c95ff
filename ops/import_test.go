package ops_test

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// another opens a second fresh store of the same database kind as s.
func another(t *testing.T, s *store.Store) *store.Store {
	t.Helper()
	if s.Dialect() == "postgres" {
		return storetest.Postgres(t, storetest.PostgresURL(t))
	}
	return storetest.SQLite(t)
}

// publishShipped publishes the shipped 2018 policy and returns the shipped data.
func publishShipped(t *testing.T, s *store.Store) *fixtures.Data {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PublishPolicy(context.Background(), d.Policies.Policies()[0], doc); err != nil {
		t.Fatal(err)
	}
	return d
}

// publish2019 publishes a copy of the shipped policy in force in 2019.
func publish2019(t *testing.T, s *store.Store) {
	t.Helper()
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.NewReplacer("version: pingxiang-2018", "version: test-2019",
		"from: 2018-01-01", "from: 2019-01-01", "to: 2018-12-31", "to: 2019-12-31").Replace(string(doc))
	p, err := policyfile.Parse("test-2019", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.PublishPolicy(context.Background(), p, []byte(text)); err != nil {
		t.Fatal(err)
	}
}

// shippedImport is the shipped data set as an Import, persons and providers in no
// particular order (maps), claims in file order.
func shippedImport(d *fixtures.Data) ops.Import {
	var in ops.Import
	for _, p := range d.Persons {
		in.Persons = append(in.Persons, p)
	}
	for _, p := range d.Providers {
		in.Providers = append(in.Providers, p)
	}
	in.Claims = append(in.Claims, d.Claims.Claims...)
	return in
}

// settleAllOf stores through Settle what in holds, each person's claims in discharge order.
func settleAllOf(t *testing.T, s *store.Store, in ops.Import) {
	t.Helper()
	ctx := context.Background()
	if err := s.UpsertPersons(ctx, in.Persons); err != nil {
		t.Fatal(err)
	}
	if err := s.UpsertProviders(ctx, in.Providers); err != nil {
		t.Fatal(err)
	}
	for _, i := range replay.Order(in.Claims) {
		if _, _, err := ops.New(s).Settle(ctx, in.Claims[i]); err != nil {
			t.Fatal(err)
		}
	}
}

// sameAsSettle checks that every claim of claims reads back from imported as it does
// from settled, where Settle stored it: the claim, its settlement (amounts, lines,
// workings and the ledger after), and every person-year ledger, which also equals the
// ledger recomputed from the settlements.
func sameAsSettle(t *testing.T, imported, settled *store.Store, claims []calc.Claim) {
	t.Helper()
	ctx := context.Background()
	type personYear struct {
		id   string
		year int
	}
	years := map[personYear]bool{}
	for _, c := range claims {
		got, err := imported.SettlementForClaim(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		want, err := settled.SettlementForClaim(ctx, c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ID != "S"+c.ID || got.Reverses != "" || got.Reason != "" {
			t.Errorf("claim %s: settlement %q (reverses %q, reason %q); want id %q", c.ID, got.ID, got.Reverses, got.Reason, "S"+c.ID)
		}
		if got.Settlement != want.Settlement {
			t.Errorf("claim %s: imported settlement\n%+v\nSettle stored\n%+v", c.ID, got.Settlement, want.Settlement)
		}
		if got.Ledger != want.Ledger {
			t.Errorf("claim %s: ledger after %+v, Settle stored %+v", c.ID, got.Ledger, want.Ledger)
		}
		if byID, err := imported.Settlement(ctx, got.ID); err != nil || byID.Settlement != got.Settlement {
			t.Errorf("Settlement(%s): %v", got.ID, err)
		}
		if stored, err := imported.Claim(ctx, c.ID); err != nil || stored != c {
			t.Errorf("claim %s stored as %+v, %v; want %+v", c.ID, stored, err, c)
		}
		years[personYear{c.PersonID, c.DischargedOn.Year()}] = true
	}
	for py := range years {
		got, err := imported.Ledger(ctx, py.id, py.year)
		if err != nil {
			t.Fatal(err)
		}
		want, err := settled.Ledger(ctx, py.id, py.year)
		if err != nil {
			t.Fatal(err)
		}
		derived, err := imported.LedgerFromSettlements(ctx, py.id, py.year)
		if err != nil {
			t.Fatal(err)
		}
		if got != want || got != derived {
			t.Errorf("ledger %s %d: imported %+v, Settle stored %+v, from the settlements %+v", py.id, py.year, got, want, derived)
		}
	}
}

// counts is how many rows of each kind a store shows, to check that a refused import
// changed nothing.
type counts struct {
	persons, claims int
	tally           calc.Tally
	policies        int
}

func countRows(t *testing.T, s *store.Store) counts {
	t.Helper()
	ctx := context.Background()
	persons, err := s.Persons(ctx)
	if err != nil {
		t.Fatal(err)
	}
	stored, err := s.LoadStoredClaims(ctx, calc.NewDate(1900, 1, 1), calc.NewDate(2999, 12, 31), 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	tally, err := s.Tally(ctx, calc.NewDate(1900, 1, 1), calc.NewDate(2999, 12, 31))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := s.Policies(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return counts{persons: len(persons), claims: len(stored), tally: tally, policies: len(ps.Policies())}
}

// TestImportShipped imports the shipped data set and checks it against the same
// claims sent to Settle one by one, the published figures, the audit, and a second
// import, which is refused.
func TestImportShipped(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := publishShipped(t, s)
		in := shippedImport(d)
		start := time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
		s.Now = func() time.Time { return start }

		var seen []ops.Progress
		stats, err := ops.New(s).Import(ctx, in, func(p ops.Progress) { seen = append(seen, p) })
		if err != nil {
			t.Fatal(err)
		}
		want := ops.ImportStats{Persons: len(d.Persons), Providers: len(d.Providers), Claims: len(d.Claims.Claims),
			Claimants: stats.Claimants, Ledgers: stats.Claimants, Versions: []string{"pingxiang-2018"}}
		res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
		if err != nil {
			t.Fatal(err)
		}
		want.Tally = res.Tally
		if stats.Claimants == 0 {
			t.Errorf("stats %+v: no claimants", stats)
		}
		if !reflect.DeepEqual(stats, want) {
			t.Errorf("stats %+v, want %+v", stats, want)
		}
		for _, stage := range []string{"persons", "providers", "claims", "settlements", "ledgers"} {
			var last *ops.Progress
			for i := range seen {
				if seen[i].Stage == stage {
					last = &seen[i]
				}
			}
			if last == nil || last.Done != last.Total {
				t.Errorf("progress of %s: last report %+v", stage, last)
			}
		}

		ref := another(t, s)
		publishShipped(t, ref)
		settleAllOf(t, ref, in)
		sameAsSettle(t, s, ref, d.Claims.Claims)

		tally, err := s.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31))
		if err != nil {
			t.Fatal(err)
		}
		pub := fixtures.Published2018
		if tally.Total != pub.Total {
			t.Errorf("tally total %s, want the published %s", tally.Total.Grouped(), pub.Total.Grouped())
		}
		for _, l := range calc.Lines() {
			if pub.Published[l] && tally.Lines[l] != pub.Lines[l] {
				t.Errorf("tally %s %s, want the published %s", l, tally.Lines[l].Grouped(), pub.Lines[l].Grouped())
			}
		}
		if tally != res.Tally {
			t.Errorf("tally %+v, replay %+v", tally, res.Tally)
		}

		// Settlements are stamped in discharge order within the import's first millisecond.
		stored, err := s.LoadStoredClaims(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), 0, nil)
		if err != nil {
			t.Fatal(err)
		}
		for i, sc := range stored {
			if sc.SettledAt.Before(start) || !sc.SettledAt.Before(start.Add(time.Millisecond)) {
				t.Fatalf("claim %s settled at %s, want within a millisecond of %s", sc.Claim.ID, sc.SettledAt, start)
			}
			if i > 0 && stored[i-1].Claim.PersonID == sc.Claim.PersonID && !stored[i-1].SettledAt.Before(sc.SettledAt) {
				t.Fatalf("claim %s settled at %s, not after the earlier discharge %s at %s", sc.Claim.ID, sc.SettledAt,
					stored[i-1].Claim.ID, stored[i-1].SettledAt)
			}
		}
		if a := audit(t, s); len(a.Differences) != 0 || a.Claims != len(d.Claims.Claims) {
			t.Errorf("audit of the import: %s", a.Summary())
		}

		// A settlement sent afterwards goes on from the imported ledger.
		s.Now = time.Now
		later := testClaim("AFTER-1", d.Claims.Claims[0].PersonID, 1000*calc.Yuan)
		later.DischargedOn, later.AdmittedOn = calc.NewDate(2018, 12, 20), calc.NewDate(2018, 12, 18)
		gotLater, _, err := ops.New(s).Settle(ctx, later)
		if err != nil {
			t.Fatal(err)
		}
		wantLater, _, err := ops.New(ref).Settle(ctx, later)
		if err != nil {
			t.Fatal(err)
		}
		if gotLater.Settlement != wantLater.Settlement || gotLater.Ledger != wantLater.Ledger {
			t.Errorf("settled after the import: %+v, want %+v", gotLater, wantLater)
		}

		before := countRows(t, s)
		_, err = ops.New(s).Import(ctx, in, nil)
		if !errors.Is(err, store.ErrConflict) || !strings.Contains(err.Error(), "already holds claims") {
			t.Errorf("second import: %v; want a conflict: the database holds claims", err)
		}
		if after := countRows(t, s); after != before {
			t.Errorf("the refused import changed %+v into %+v", before, after)
		}
	})
}

// TestImportYears imports a person's claims of two years and checks both
// person-year ledgers.
func TestImportYears(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := publishShipped(t, s)
		publish2019(t, s)
		claim := func(id, person string, day calc.Date, total calc.Money) calc.Claim {
			c := testClaim(id, person, total)
			c.DischargedOn, c.AdmittedOn = day, day-2
			return c
		}
		in := shippedImport(d)
		in.Claims = []calc.Claim{
			claim("Y3", "P00001", calc.NewDate(2019, 2, 1), 30000*calc.Yuan),
			claim("Y1", "P00001", calc.NewDate(2018, 3, 1), 80000*calc.Yuan),
			claim("Y2", "P00001", calc.NewDate(2018, 9, 1), 50000*calc.Yuan),
			claim("Y4", "P00001", calc.NewDate(2019, 5, 1), 20000*calc.Yuan),
			claim("Z1", "P00002", calc.NewDate(2019, 5, 1), 20000*calc.Yuan),
		}
		stats, err := ops.New(s).Import(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Ledgers != 3 || stats.Claimants != 2 || strings.Join(stats.Versions, ",") != "pingxiang-2018,test-2019" {
			t.Errorf("stats %+v; want 3 ledgers of 2 persons, under both versions", stats)
		}
		ref := another(t, s)
		publishShipped(t, ref)
		publish2019(t, ref)
		settleAllOf(t, ref, in)
		sameAsSettle(t, s, ref, in.Claims)
	})
}

// TestImportRefuses checks that each refusal names its rule and stores nothing.
func TestImportRefuses(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := publishShipped(t, s)
		// Stored before the imports: one other person, and one provider the imports share.
		other := calc.Person{ID: "OTHER", HouseholdID: "HX", RegisteredPoor: true}
		if err := s.UpsertPersons(ctx, []calc.Person{other}); err != nil {
			t.Fatal(err)
		}
		shared := d.Providers["PRV01"]
		if err := s.UpsertProviders(ctx, []calc.Provider{shared}); err != nil {
			t.Fatal(err)
		}
		before := countRows(t, s)
		for _, tc := range []struct {
			name   string
			change func(in *ops.Import)
			want   error
			rule   string
		}{
			{"unknown person", func(in *ops.Import) { in.Claims[7].PersonID = "NOBODY" },
				calc.ErrInvalid, "person_id: unknown person NOBODY"},
			{"claim of a stored person not imported", func(in *ops.Import) { in.Claims[7].PersonID = other.ID },
				calc.ErrInvalid, "unknown person OTHER: not among the imported persons"},
			{"invalid claim", func(in *ops.Import) { in.Claims[3].InPolicy = in.Claims[3].Total + 1 },
				calc.ErrInvalid, "exceeds total"},
			{"claim id twice", func(in *ops.Import) { in.Claims[5].ID = in.Claims[6].ID },
				calc.ErrInvalid, "claim_id " + d.Claims.Claims[6].ID + " appears twice"},
			{"person id twice", func(in *ops.Import) { in.Persons = append(in.Persons, in.Persons[0]) },
				calc.ErrInvalid, "person_id " + "P0" /* any shipped id */},
			{"person without household", func(in *ops.Import) { in.Persons[2].HouseholdID = "" },
				calc.ErrInvalid, "household_id must not be empty"},
			{"provider id twice", func(in *ops.Import) { in.Providers = append(in.Providers, in.Providers[1]) },
				calc.ErrInvalid, "appears twice"},
			{"unknown provider", func(in *ops.Import) { in.Claims[2].ProviderID = "NOWHERE" },
				calc.ErrInvalid, "unknown provider NOWHERE"},
			{"level not the provider's", func(in *ops.Import) {
				in.Claims[2].ProviderID, in.Claims[2].Level = "TWN01", calc.Provincial
			}, calc.ErrInvalid, "level provincial differs from provider TWN01's level township"},
			{"no policy in force", func(in *ops.Import) {
				in.Claims[4].DischargedOn, in.Claims[4].AdmittedOn = calc.NewDate(2019, 1, 3), calc.NewDate(2019, 1, 1)
			}, calc.ErrNoPolicy, "discharged_on: no published policy is in force on 2019-01-03"},
			{"person already stored", func(in *ops.Import) { in.Persons = append(in.Persons, other) },
				store.ErrConflict, "1 of the imported persons are already stored (OTHER among them)"},
			{"provider stored with other values", func(in *ops.Import) {
				for i := range in.Providers {
					if in.Providers[i].ID == shared.ID {
						in.Providers[i].Name += " (renamed)"
					}
				}
			}, store.ErrConflict, "provider PRV01 is already stored with another name"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				in := shippedImport(d)
				in.Claims = append([]calc.Claim(nil), in.Claims...)
				tc.change(&in)
				_, err := ops.New(s).Import(ctx, in, nil)
				if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.rule) {
					t.Errorf("import: %v; want %v naming %q", err, tc.want, tc.rule)
				}
				if after := countRows(t, s); after != before {
					t.Errorf("the refused import changed %+v into %+v", before, after)
				}
				if _, err := s.Provider(ctx, "TWN02"); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("provider TWN02 after a refused import: %v; want not found", err)
				}
			})
		}

		// With PRV01 stored as imported, the import goes through and stores the rest.
		stats, err := ops.New(s).Import(ctx, shippedImport(d), nil)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Providers != len(d.Providers)-1 || stats.Claims != len(d.Claims.Claims) {
			t.Errorf("stats %+v; want %d providers stored (PRV01 kept) and every claim", stats, len(d.Providers)-1)
		}
	})
}

// TestImportWithoutPolicy refuses an import into a database without policies.
func TestImportWithoutPolicy(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		d, err := fixtures.Load()
		if err != nil {
			t.Fatal(err)
		}
		_, err = ops.New(s).Import(context.Background(), shippedImport(d), nil)
		if !errors.Is(err, calc.ErrNoPolicy) || !strings.Contains(err.Error(), "no published policy is in force on 2018-") {
			t.Errorf("import without a policy: %v; want ErrNoPolicy", err)
		}
		if c := countRows(t, s); c != (counts{}) {
			t.Errorf("the refused import stored %+v", c)
		}
	})
}

// TestImportEmpty stores persons and providers without claims.
func TestImportEmpty(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d, err := fixtures.Load()
		if err != nil {
			t.Fatal(err)
		}
		in := shippedImport(d)
		in.Claims = nil
		stats, err := ops.New(s).Import(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Persons != len(d.Persons) || stats.Claims != 0 || stats.Ledgers != 0 {
			t.Errorf("stats %+v", stats)
		}
		want := d.Persons["P00001"]
		want.Version = 1 // an imported person's one version
		if p, err := s.Person(ctx, "P00001"); err != nil || p != want {
			t.Errorf("person P00001: %+v, %v", p, err)
		}
	})
}

// testClaim is a claim of person at provider PRV01, discharged on 2018-06-01, 80% in
// policy.
func testClaim(id, person string, total calc.Money) calc.Claim {
	d := calc.NewDate(2018, 6, 1)
	return calc.Claim{ID: id, PersonID: person, ProviderID: "PRV01", Level: calc.Provincial, Kind: calc.Inpatient,
		AdmittedOn: d - 5, DischargedOn: d, Total: total, InPolicy: total * 8 / 10}
}

// audit re-settles the stored claims of 2018 under the versions in force.
func audit(t *testing.T, s *store.Store) *batch.Audit {
	t.Helper()
	ctx := context.Background()
	o := ops.New(s)
	v, err := o.Versions(ctx, ops.InForce)
	if err != nil {
		t.Fatal(err)
	}
	a, err := o.Audit(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), v, nil)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
