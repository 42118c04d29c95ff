package ops_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// datedPersons is the shipped persons file with the columns valid_from,valid_to, in
// which the first dibao person with claims on two days is taken off dibao from the later
// day: the person, that day, and the file.
func datedPersons(t *testing.T, d *fixtures.Data) (string, calc.Date, string) {
	t.Helper()
	days := map[string][]calc.Date{}
	for _, c := range d.Claims.Claims {
		days[c.PersonID] = append(days[c.PersonID], c.DischargedOn)
	}
	var (
		id  string
		cut calc.Date
	)
	for _, pid := range slices.Sorted(maps.Keys(days)) {
		ds := days[pid]
		slices.Sort(ds)
		if d.Persons[pid].Aid == calc.Dibao && ds[0] != ds[len(ds)-1] {
			id, cut = pid, ds[len(ds)-1]
			break
		}
	}
	if id == "" {
		t.Fatal("no dibao person with claims on two days")
	}
	var b strings.Builder
	b.WriteString("person_id,household_id,registered_poor,aid_category,valid_from,valid_to\n")
	for _, pid := range slices.Sorted(maps.Keys(d.Persons)) {
		p := d.Persons[pid]
		if pid == id {
			fmt.Fprintf(&b, "%s,%s,%v,dibao,,%s\n", pid, p.HouseholdID, p.RegisteredPoor, cut-1)
			fmt.Fprintf(&b, "%s,%s,%v,,%s,\n", pid, p.HouseholdID, p.RegisteredPoor, cut)
			continue
		}
		fmt.Fprintf(&b, "%s,%s,%v,%s,,\n", pid, p.HouseholdID, p.RegisteredPoor, p.Aid)
	}
	return id, cut, b.String()
}

// TestImportDatedPersons: the import without paid amounts (ops.Import, as fixtures scale
// --database-url runs it) takes a dated persons file as replay, the audit from files and
// the import of paid amounts take it (csvdata.ReadPersonVersions, csvdata.Register): on
// both databases each claim is settled with the version in force on its discharge day,
// exactly as Settle stores it with the same versions upserted, the versions are stored
// with their days, and the audit of the year finds nothing. A claim on a day no version
// of its person holds, and versions that overlap, are refused, storing nothing.
func TestImportDatedPersons(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := publishShipped(t, s)
		id, cut, file := datedPersons(t, d)
		versions, err := csvdata.ReadPersonVersions("persons.csv", strings.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		persons, histories := csvdata.Register(versions)
		if len(histories) != 1 || len(histories[id]) != 2 {
			t.Fatalf("histories %v; want the two versions of %s", histories, id)
		}
		in := shippedImport(d)
		in.Persons, in.Histories = persons, histories

		t.Run("refused", func(t *testing.T) {
			for _, tt := range []struct {
				name string
				edit func(in *ops.Import)
				want string
			}{
				{"a claim on a day no version holds", func(in *ops.Import) {
					h := slices.Clone(in.Histories[id])
					h[1].To = cut // the person leaves the register after the cut
					h[1].From = cut
					in.Histories = map[string]calc.History{id: h}
					in.Claims = append(slices.Clone(in.Claims), testClaim("LATE", id, 50000))
					in.Claims[len(in.Claims)-1].DischargedOn = cut + 30
					in.Claims[len(in.Claims)-1].AdmittedOn = cut + 25
				}, "claim LATE: person " + id},
				{"overlapping versions", func(in *ops.Import) {
					h := slices.Clone(in.Histories[id])
					h[1].From = h[0].To
					in.Histories = map[string]calc.History{id: h}
				}, "versions do not overlap"},
				{"a history of no imported person", func(in *ops.Import) {
					h := slices.Clone(in.Histories[id])
					for i := range h {
						h[i].ID = "NOBODY"
					}
					in.Histories = map[string]calc.History{id: in.Histories[id], "NOBODY": h}
				}, "NOBODY has register versions but is not among the imported persons"},
			} {
				t.Run(tt.name, func(t *testing.T) {
					bad := in
					tt.edit(&bad)
					_, err := ops.New(s).Import(ctx, bad, nil)
					if !errors.Is(err, calc.ErrInvalid) || !strings.Contains(err.Error(), tt.want) {
						t.Errorf("import: %v; want ErrInvalid saying %q", err, tt.want)
					}
					if c := countRows(t, s); c.persons != 0 || c.claims != 0 {
						t.Errorf("the refused import stored %+v", c)
					}
				})
			}
		})

		stats, err := ops.New(s).Import(ctx, in, nil)
		if err != nil {
			t.Fatal(err)
		}
		if stats.Tally == mustReplay(t, d).Tally {
			t.Fatal("the register change changes nothing: the test tests nothing")
		}

		// The same versions upserted and the claims sent to Settle one by one.
		ref := another(t, s)
		publishShipped(t, ref)
		if err := ref.UpsertPersons(ctx, persons); err != nil {
			t.Fatal(err)
		}
		if err := ref.UpsertPersonVersions(ctx, []calc.PersonVersion(histories[id])); err != nil {
			t.Fatal(err)
		}
		if err := ref.UpsertProviders(ctx, in.Providers); err != nil {
			t.Fatal(err)
		}
		for _, i := range replay.Order(in.Claims) {
			if _, _, err := ops.New(ref).Settle(ctx, in.Claims[i]); err != nil {
				t.Fatal(err)
			}
		}
		sameAsSettle(t, s, ref, d.Claims.Claims)
		if tally, err := ref.Tally(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31)); err != nil || tally != stats.Tally {
			t.Errorf("imported tally %+v; Settle's with the versions %+v, %v", stats.Tally, tally, err)
		}

		got, err := s.PersonVersions(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Version != 1 || got[0].From != calc.Beginning || got[0].To != cut-1 || got[0].Aid != calc.Dibao ||
			got[1].Version != 2 || got[1].From != cut || got[1].To != calc.End || got[1].Aid != calc.AidNone {
			t.Errorf("person %s's versions as stored: %+v", id, got)
		}
		if p, err := s.Person(ctx, id); err != nil || p.Version != 2 || p.Aid != calc.AidNone {
			t.Errorf("person %s as the register now stands: %+v, %v; want version 2 without aid", id, p, err)
		}
		if a := audit(t, s); len(a.Differences) != 0 {
			t.Errorf("the audit of the imported year: %+v, want no difference", a.Differences)
		}
	})
}

func mustReplay(t *testing.T, d *fixtures.Data) *replay.Result {
	t.Helper()
	res, err := replay.Run(d.Policies, d.Persons, d.Claims.Claims)
	if err != nil {
		t.Fatal(err)
	}
	return res
}
