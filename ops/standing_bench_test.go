package ops_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
)

// BenchmarkStandingSQLite measures what a reversal reads first, on SQLite: the 14
// standing claims of a person-year (as many as the soak's person-years held after five
// minutes with --spread 100), each with its settlement's workings decoded, inside the
// person-year's transaction, rolled back.
//
//	go test ./ops -run '^$' -bench StandingSQLite -benchtime 3000x -count 3
func BenchmarkStandingSQLite(b *testing.B) {
	ctx := context.Background()
	s, err := store.Open(ctx, filepath.Join(b.TempDir(), "standing.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	s.ReadPolicy = policyfile.Parse
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	loaded(b, s)
	person := calc.Person{ID: "BENCH", HouseholdID: "HBENCH", RegisteredPoor: true}
	if err := s.UpsertPersons(ctx, []calc.Person{person}); err != nil {
		b.Fatal(err)
	}
	const claims = 14
	for k := range claims {
		day := calc.NewDate(2018, 1, 1) + calc.Date(k*7)
		in := 20000 * calc.Yuan
		c := calc.Claim{ID: fmt.Sprintf("%s-%02d", person.ID, k), PersonID: person.ID, ProviderID: "PRV01", Level: calc.Provincial,
			Kind: calc.Inpatient, AdmittedOn: day - 2, DischargedOn: day, Total: in + 1000*calc.Yuan, InPolicy: in}
		if _, _, err := ops.New(s).Settle(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
	errDone := errors.New("read: roll back")
	for b.Loop() {
		err := s.InPersonYear(ctx, person.ID, 2018, func(tx *store.PersonYearTx) error {
			list, err := tx.Standing()
			if err != nil {
				return err
			}
			if len(list) != claims {
				return fmt.Errorf("%d standing claims, want %d", len(list), claims)
			}
			return errDone
		})
		if !errors.Is(err, errDone) {
			b.Fatal(err)
		}
	}
}
