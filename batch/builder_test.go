package batch_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fixtures/synth"
)

// personList is batch.Persons over a slice.
type personList []calc.Person

func (l personList) Len() int                 { return len(l) }
func (l personList) Person(n int) calc.Person { return l[n] }

// inIDOrder is a personList that says it is in id order, as a sorted file's index does.
type inIDOrder struct{ personList }

func (inIDOrder) InIDOrder() bool { return true }

// built adds claims of persons to a Builder in order and returns its ClaimTable. Persons
// in id order say so, as a sorted file's index does.
func built(t *testing.T, persons []calc.Person, claims []calc.Claim) *batch.ClaimTable {
	t.Helper()
	number := map[string]int{}
	for i, p := range persons {
		number[p.ID] = i
	}
	var list batch.Persons = personList(persons)
	if slices.IsSortedFunc(persons, func(a, b calc.Person) int { return strings.Compare(a.ID, b.ID) }) {
		list = inIDOrder{personList(persons)}
	}
	b := batch.NewBuilder(list)
	for i := range claims {
		n, ok := number[claims[i].PersonID]
		if !ok {
			t.Fatalf("claim %s of unknown person %s", claims[i].ID, claims[i].PersonID)
		}
		b.Add(n, &claims[i])
	}
	if b.Len() != len(claims) {
		t.Fatalf("Len %d after adding %d claims", b.Len(), len(claims))
	}
	set := b.Table()
	if b.Len() != 0 {
		t.Errorf("Len %d after Table, want 0", b.Len())
	}
	return set
}

// builtLater is built with persons given after the claims: the Builder numbers each
// claimant at its first claim, as a reader of the claims file first does, and learns
// their numbers among persons by SetPersons.
func builtLater(t *testing.T, persons []calc.Person, claims []calc.Claim) *batch.ClaimTable {
	t.Helper()
	number := map[string]int32{}
	for i, p := range persons {
		number[p.ID] = int32(i)
	}
	var list batch.Persons = personList(persons)
	if slices.IsSortedFunc(persons, func(a, b calc.Person) int { return strings.Compare(a.ID, b.ID) }) {
		list = inIDOrder{personList(persons)}
	}
	b := batch.NewBuilder(nil)
	claimant := map[string]int{}
	var renumber []int32
	for i := range claims {
		id := claims[i].PersonID
		c, ok := claimant[id]
		if !ok {
			c = len(renumber)
			claimant[id] = c
			renumber = append(renumber, number[id])
		}
		b.Add(c, &claims[i])
	}
	b.SetPersons(list, renumber)
	return b.Table()
}

// sameSet fails unless got and want hold the same claims in the same places.
func sameSet(t *testing.T, got, want *batch.ClaimTable) {
	t.Helper()
	if got.Household != nil {
		// Households numbered by the persons' index: the same number for the same
		// household id, each number from 0 to NumHouseholds-1 used.
		byID := map[string]int32{}
		used := make([]bool, got.NumHouseholds)
		for p, h := range got.Household {
			id := got.Persons[p].HouseholdID
			if n, ok := byID[id]; (ok && n != h) || h < 0 || int(h) >= got.NumHouseholds {
				t.Fatalf("person %s of household %s numbered %d (also %d)", got.Persons[p].ID, id, h, n)
			}
			byID[id], used[h] = h, true
		}
		if len(byID) != got.NumHouseholds || slices.Contains(used, false) {
			t.Fatalf("%d households numbered %d", len(byID), got.NumHouseholds)
		}
		g := *got
		g.Household, g.NumHouseholds = nil, 0
		got = &g
	}
	// Providers may be numbered in another order (the Builder's in the order added): the
	// same provider on each row.
	if got.Len() == want.Len() {
		for r := range got.Len() {
			if g, w := got.ProviderID(r), want.ProviderID(r); g != w {
				t.Fatalf("row %d: provider %s, want %s", r, g, w)
			}
		}
		g, w := *got, *want
		g.Provider, g.Providers, w.Provider, w.Providers = nil, nil, nil, nil
		got, want = &g, &w
	}
	if !reflect.DeepEqual(got, want) {
		switch {
		case !reflect.DeepEqual(got.Persons, want.Persons):
			t.Errorf("persons differ: %d and %d", len(got.Persons), len(want.Persons))
		case !reflect.DeepEqual(got.Start, want.Start):
			t.Errorf("starts differ")
		case !reflect.DeepEqual(got.Input, want.Input):
			t.Errorf("input order differs")
		default:
			t.Errorf("columns differ")
		}
	}
}

// TestBuilderMatchesNewClaimTable: a Builder makes the ClaimTable NewClaimTable makes of the same claims,
// whatever the order of the persons and of the claims.
func TestBuilderMatchesNewClaimTable(t *testing.T) {
	d := shipped(t)
	var persons []calc.Person
	for _, p := range d.Persons {
		persons = append(persons, p)
	}
	slices.SortFunc(persons, func(a, b calc.Person) int { return strings.Compare(a.ID, b.ID) })
	claims := d.Claims.Claims
	rng := rand.New(rand.NewPCG(7, 11))
	shuffledPersons := slices.Clone(persons)
	rng.Shuffle(len(shuffledPersons), func(i, j int) { shuffledPersons[i], shuffledPersons[j] = shuffledPersons[j], shuffledPersons[i] })
	shuffledClaims := slices.Clone(claims)
	rng.Shuffle(len(shuffledClaims), func(i, j int) { shuffledClaims[i], shuffledClaims[j] = shuffledClaims[j], shuffledClaims[i] })
	// Claims of one person discharged the same day are ordered by claim id.
	sameDay := slices.Clone(claims[:40])
	for i := range sameDay {
		sameDay[i].PersonID, sameDay[i].DischargedOn = claims[i%3].PersonID, claims[0].DischargedOn
	}
	slices.Reverse(sameDay)
	// In settlement order, no person's claims need sorting; one claim moved to the end
	// breaks the order at the last claim added.
	inOrder := slices.Clone(claims)
	slices.SortStableFunc(inOrder, func(a, b calc.Claim) int {
		return calc.CompareOrder(a.DischargedOn, a.ID, b.DischargedOn, b.ID)
	})
	lastLate := append(slices.Clone(inOrder[1:]), inOrder[0])
	tests := []struct {
		name    string
		persons []calc.Person
		claims  []calc.Claim
	}{
		{"Shipped", persons, claims},
		{"PersonsShuffled", shuffledPersons, claims},
		{"ClaimsShuffled", persons, shuffledClaims},
		{"BothShuffled", shuffledPersons, shuffledClaims},
		{"SameDay", shuffledPersons, sameDay},
		{"SettlementOrder", persons, inOrder},
		{"LastOutOfOrder", shuffledPersons, lastLate},
		{"OneClaim", persons, claims[5:6]},
		{"NoClaims", persons, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want, err := batch.NewClaimTable(d.Persons, tt.claims)
			if err != nil {
				t.Fatal(err)
			}
			sameSet(t, built(t, tt.persons, tt.claims), want)
			sameSet(t, builtLater(t, tt.persons, tt.claims), want)
		})
	}
	t.Run("SetPersonsTwice", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("SetPersons on a Builder with persons did not panic")
			}
		}()
		batch.NewBuilder(personList(persons)).SetPersons(personList(persons), nil)
	})
	t.Run("SetPersonsOutOfRange", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("SetPersons to person number len(persons) did not panic")
			}
		}()
		b := batch.NewBuilder(nil)
		b.Add(0, &claims[0])
		b.SetPersons(personList(persons), []int32{int32(len(persons))})
	})
	t.Run("UnknownPersonNumber", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("Add of person number -1 did not panic")
			}
		}()
		batch.NewBuilder(personList(persons)).Add(-1, &claims[0])
	})
}

// TestBuilderFromFiles reads a scaled synthetic population's files both ways, the
// persons into a map and the claims into a []calc.Claim for NewClaimTable, and the persons into
// a csvdata.PersonIndex and the claims through csvdata.ScanClaims into a Builder: the two
// Sets are equal.
func TestBuilderFromFiles(t *testing.T) {
	persons := 60_000
	if testing.Short() {
		persons = 5_000
	}
	dir := t.TempDir()
	if _, err := synth.WriteScale(dir, synth.ScaleOptions{Persons: persons, Seed: synth.ShippedSeed}); err != nil {
		t.Fatal(err)
	}
	open := func(name string) *os.File {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	policies := shipped(t).Policies

	list, err := csvdata.ReadPersons("persons.csv", open("persons.csv"))
	if err != nil {
		t.Fatal(err)
	}
	byID := make(map[string]calc.Person, len(list))
	for _, p := range list {
		byID[p.ID] = p
	}
	claims, err := csvdata.ReadClaims("claims.csv", open("claims.csv"), csvdata.ClaimChecks{Persons: byID, Policies: policies})
	if err != nil {
		t.Fatal(err)
	}
	want, err := batch.NewClaimTable(byID, claims.Claims)
	if err != nil {
		t.Fatal(err)
	}

	index, err := csvdata.ReadPersonIndex("persons.csv", open("persons.csv"))
	if err != nil {
		t.Fatal(err)
	}
	b := batch.NewBuilder(index)
	err = csvdata.ScanClaims("claims.csv", open("claims.csv"), csvdata.ClaimChecks{PersonIndex: index, Policies: policies},
		func(row *csvdata.ClaimRow) { b.Add(row.Person, &row.Claim) })
	if err != nil {
		t.Fatal(err)
	}
	got := b.Table()
	if got.Len() < persons/3 {
		t.Fatalf("only %d claims of %d persons", got.Len(), persons)
	}
	sameSet(t, got, want)

	// Claims first: the claimants numbered as they come, the claims counted in chunks
	// before their persons are known.
	b = batch.NewBuilder(nil)
	x, err := csvdata.ScanClaimantsFirst("persons.csv", open("persons.csv"), "claims.csv", open("claims.csv"),
		csvdata.ClaimChecks{Policies: policies}, func(row *csvdata.ClaimRow) { b.Add(row.Person, &row.Claim) })
	if err != nil {
		t.Fatal(err)
	}
	b.SetPersons(x, x.Numbers())
	sameSet(t, b.Table(), want)
}

// BenchmarkBuilder adds 1,000,000 claims of 400,000 persons to a Builder and makes
// their ClaimTable.
func BenchmarkBuilder(b *testing.B) {
	set := bulkSet(b, 400_000, 1_000_000)
	persons := make(personList, 400_000)
	for i := range persons {
		persons[i] = calc.Person{ID: fmt.Sprintf("P%07d", i), HouseholdID: fmt.Sprintf("H%06d", i/4)}
	}
	number := map[string]int{}
	for i, p := range persons {
		number[p.ID] = i
	}
	claims := make([]calc.Claim, set.Len())
	nums := make([]int, set.Len())
	for p := range set.Persons {
		for r := set.Start[p]; r < set.Start[p+1]; r++ {
			claims[set.Input[r]] = set.Claim(p, int(r))
			nums[set.Input[r]] = number[set.Persons[p].ID]
		}
	}
	b.ResetTimer()
	for b.Loop() {
		bld := batch.NewBuilder(persons)
		for i := range claims {
			bld.Add(nums[i], &claims[i])
		}
		if bld.Table().Len() != len(claims) {
			b.Fatal("claims lost")
		}
	}
}

// BenchmarkFromFiles reads a synthetic population of 300,000 persons and their claims
// (about 200,000) from files into a ClaimTable, as hpcalc whatif and replay read them: the
// persons into a csvdata.PersonIndex, the claims through csvdata.ScanClaims into a
// Builder.
func BenchmarkFromFiles(b *testing.B) {
	dir := b.TempDir()
	if _, err := synth.WriteScale(dir, synth.ScaleOptions{Persons: 300_000, Seed: synth.ShippedSeed}); err != nil {
		b.Fatal(err)
	}
	policies := shipped(b).Policies
	var size int64
	for _, name := range []string{"persons.csv", "claims.csv"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			b.Fatal(err)
		}
		size += fi.Size()
	}
	b.SetBytes(size)
	for b.Loop() {
		pf, err := os.Open(filepath.Join(dir, "persons.csv"))
		if err != nil {
			b.Fatal(err)
		}
		index, err := csvdata.ReadPersonIndex("persons.csv", pf)
		pf.Close()
		if err != nil {
			b.Fatal(err)
		}
		cf, err := os.Open(filepath.Join(dir, "claims.csv"))
		if err != nil {
			b.Fatal(err)
		}
		bld := batch.NewBuilder(index)
		err = csvdata.ScanClaims("claims.csv", cf, csvdata.ClaimChecks{PersonIndex: index, Policies: policies},
			func(row *csvdata.ClaimRow) { bld.Add(row.Person, &row.Claim) })
		cf.Close()
		if err != nil {
			b.Fatal(err)
		}
		if bld.Table().Len() == 0 {
			b.Fatal("no claims")
		}
	}
}
