package store_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
)

// TestMigrateSettlementPersonVersions: migration 0016 gives each settlement stored
// before 0013 (person_version 0) the version in force on its discharge day as the
// register stood when it was settled, that is among the versions 0013 made (recorded_at
// empty), or the person's earliest when none of those holds that day; settlements that
// name a version keep it. The database is one a hpcalc with every migration but 0016
// made, its settlements and versions then put back as 0013 left them. Read back row by
// row, and through the audit: a dibao person's claim settled with aid before 0013, the
// person taken off dibao afterwards from 2018-01-01, is "unexplained" before 0016 and
// "the register changed after settlement" after it.
func TestMigrateSettlementPersonVersions(t *testing.T) {
	forEachFreshDB(t, func(t *testing.T, db freshDB) {
		ctx := context.Background()
		s := openStore(t, db.url)
		if err := s.MigrateWithout(ctx, 16); err != nil {
			t.Fatal(err)
		}
		d, err := fixtures.Load()
		if err != nil {
			t.Fatal(err)
		}
		doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range d.Policies.Policies() {
			if err := s.PublishPolicy(ctx, p, doc); err != nil {
				t.Fatal(err)
			}
		}
		var persons []calc.Person
		for _, p := range d.Persons {
			persons = append(persons, p)
		}
		var providers []calc.Provider
		for _, p := range d.Providers {
			providers = append(providers, p)
		}
		if err := s.UpsertPersons(ctx, persons); err != nil {
			t.Fatal(err)
		}
		if err := s.UpsertProviders(ctx, providers); err != nil {
			t.Fatal(err)
		}

		// a: a dibao person with two claims, the first paid aid; b, e, f: persons with one.
		byPerson := map[string][]calc.Claim{}
		var ids []string
		for _, i := range replay.Order(d.Claims.Claims) {
			c := d.Claims.Claims[i]
			if byPerson[c.PersonID] == nil {
				ids = append(ids, c.PersonID)
			}
			byPerson[c.PersonID] = append(byPerson[c.PersonID], c)
		}
		var a string
		var singles []string
		for _, id := range ids {
			cs := byPerson[id]
			if len(cs) == 1 && len(singles) < 3 {
				singles = append(singles, id)
			}
			if a == "" && len(cs) >= 2 && d.Persons[id].Aid == calc.Dibao {
				st, _, err := calc.Settle(d.Policies.At(cs[0].DischargedOn), d.Persons[id], calc.Ledger{}, cs[0])
				if err != nil {
					t.Fatal(err)
				}
				if st.Lines[calc.Aid].Amount > 0 {
					a = id
				}
			}
		}
		if a == "" || len(singles) < 3 {
			t.Fatalf("fixtures: dibao person %q, persons with one claim %v", a, singles)
		}
		b, e, f := singles[0], singles[1], singles[2]

		o := ops.New(s)
		settle := func(c calc.Claim) store.SettlementRecord {
			t.Helper()
			st, _, err := o.Settle(ctx, c)
			if err != nil {
				t.Fatal(err)
			}
			return st
		}
		a1 := settle(byPerson[a][0])
		bs := settle(byPerson[b][0])
		settle(byPerson[e][0])
		settle(byPerson[f][0])
		if _, err := o.Reverse(ctx, bs.ID, "billed twice"); err != nil {
			t.Fatal(err)
		}

		// As 0013 left them: no settlement names a version, every version is 0013's.
		raw := s.DB()
		exec := func(query string, args ...any) {
			t.Helper()
			if _, err := raw.ExecContext(ctx, raw.Rebind(query), args...); err != nil {
				t.Fatalf("%s: %v", query, err)
			}
		}
		exec(`UPDATE settlements SET person_version = 0`)
		exec(`UPDATE person_versions SET recorded_at = ''`)
		// e: 0013's versions hold on no day of 2018 (the earliest is taken), and one
		// recorded since holds always (it is not: it came after the settlement).
		exec(`UPDATE person_versions SET valid_from = '2019-01-01' WHERE person_id = ?`, e)
		pe := d.Persons[e]
		exec(`INSERT INTO person_versions (person_id, version, valid_from, valid_to, household_id, registered_poor, aid_category, recorded_at)
			VALUES (?, 2, '2020-01-01', '9999-12-31', ?, ?, ?, '')`, e, pe.HouseholdID, pe.RegisteredPoor, pe.Aid.String())
		if err := s.UpsertPersonVersions(ctx, []calc.PersonVersion{{Person: pe, From: calc.Beginning, To: calc.NoDate}}); err != nil {
			t.Fatal(err)
		}
		// f: two of 0013's versions hold on its day: the later recorded is in force.
		pf := d.Persons[f]
		exec(`INSERT INTO person_versions (person_id, version, valid_from, valid_to, household_id, registered_poor, aid_category, recorded_at)
			VALUES (?, 2, '2018-01-01', '9999-12-31', ?, ?, ?, '')`, f, pf.HouseholdID, pf.RegisteredPoor, pf.Aid.String())
		exec(`UPDATE persons SET version = 2 WHERE person_id = ?`, f)
		// a: taken off dibao from 2018-01-01 after 0013; its second claim is settled then.
		off := d.Persons[a]
		off.Aid = calc.AidNone
		if err := s.UpsertPersonVersions(ctx, []calc.PersonVersion{{Person: off, From: calc.NewDate(2018, 1, 1), To: calc.NoDate}}); err != nil {
			t.Fatal(err)
		}
		a2 := settle(byPerson[a][1])
		if a2.PersonVersion != 2 {
			t.Fatalf("a claim settled after the change names version %d, want 2", a2.PersonVersion)
		}

		causes := func() []string {
			t.Helper()
			v, err := o.Versions(ctx, ops.InForce)
			if err != nil {
				t.Fatal(err)
			}
			au, err := o.Audit(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), v, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(au.Differences) != 1 || au.Differences[0].ClaimID != a1.Settlement.ClaimID {
				t.Fatalf("audit: %+v; want one difference, claim %s", au.Differences, a1.Settlement.ClaimID)
			}
			return au.Differences[0].Causes
		}
		if got := causes(); !slices.Equal(got, []string{batch.CauseUnexplained}) {
			t.Errorf("before 0016 the audit says %q of the claim settled before 0013", got)
		}

		applied, err := s.Migrate(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(applied, []string{"0016_settlement_person_versions"}) {
			t.Errorf("applied %v", applied)
		}
		var rows []struct {
			PersonID string `db:"person_id"`
			ClaimID  string `db:"claim_id"`
			Reversal bool   `db:"reversal"`
			Version  int32  `db:"person_version"`
		}
		if err := raw.SelectContext(ctx, &rows, `SELECT person_id, claim_id, reverses IS NOT NULL AS reversal, person_version
			FROM settlements ORDER BY claim_id, reverses IS NOT NULL`); err != nil {
			t.Fatal(err)
		}
		want := map[string]int32{
			a + " " + byPerson[a][0].ID: 1, // in force then; version 2 came after it
			a + " " + byPerson[a][1].ID: 2, // named when settled
			b + " " + byPerson[b][0].ID: 1, b + " " + byPerson[b][0].ID + " reversal": 1,
			e + " " + byPerson[e][0].ID: 1, // none of 0013's holds: the earliest
			f + " " + byPerson[f][0].ID: 2, // the later of 0013's two
		}
		got := map[string]int32{}
		for _, r := range rows {
			k := r.PersonID + " " + r.ClaimID
			if r.Reversal {
				k += " reversal"
			}
			got[k] = r.Version
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("settlements.person_version after 0016:\n%v\nwant\n%v", got, want)
		}
		if st, err := s.Settlement(ctx, a1.ID); err != nil || st.PersonVersion != 1 {
			t.Errorf("settlement %s reads back with person version %d, %v; want 1", a1.ID, st.PersonVersion, err)
		}
		if got := causes(); !slices.Equal(got, []string{batch.CauseRegister}) {
			t.Errorf("after 0016 the audit says %q of the claim settled before 0013; want %q", got, batch.CauseRegister)
		}
		// GET /v1/persons/{id}'s recorded_at: none for 0013's versions, the time for others.
		vs, err := s.PersonVersions(ctx, a)
		if err != nil || len(vs) != 2 || !vs[0].RecordedAt.IsZero() || vs[1].RecordedAt.IsZero() {
			t.Errorf("versions of %s: %+v, %v; want 0013's without a time, the later one with", a, vs, err)
		}
	})
}
