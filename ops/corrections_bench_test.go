package ops_test

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// BenchmarkReversalResettles50Postgres measures a reversal that re-settles the 50 later
// claims of its person-year, on PostgreSQL: each iteration reverses the first of 51
// claims of a person of its own (settled outside the timer), so that every later claim
// changes and gets an adjustment. Goal: under 50 ms each.
//
//	HPCALC_TEST_DATABASE_URL=postgres://... go test ./ops -run '^$' -bench 'ReversalResettles50|SettleOnePostgres' -benchtime 20x
func BenchmarkReversalResettles50Postgres(b *testing.B) {
	dsn := os.Getenv(storetest.EnvURL)
	if dsn == "" {
		b.Skip(storetest.EnvURL + " is not set: PostgreSQL NOT BENCHMARKED")
	}
	s := storetest.Postgres(b, dsn)
	ctx := context.Background()
	loaded(b, s)
	adjusted := 0
	n := 0
	for ; b.Loop(); n++ {
		b.StopTimer()
		person := calc.Person{ID: fmt.Sprintf("BENCH%05d", n), HouseholdID: "HBENCH", RegisteredPoor: true}
		if err := s.UpsertPersons(ctx, []calc.Person{person}); err != nil {
			b.Fatal(err)
		}
		var first store.SettlementRecord
		for k := range 51 {
			day := calc.NewDate(2018, 1, 1) + calc.Date(k*7)
			in := 20000 * calc.Yuan
			if k == 0 {
				in = 100000 * calc.Yuan
			}
			c := calc.Claim{ID: fmt.Sprintf("%s-%02d", person.ID, k), PersonID: person.ID, ProviderID: "PRV01", Level: calc.Provincial,
				Kind: calc.Inpatient, AdmittedOn: day - 2, DischargedOn: day, Total: in + 1000*calc.Yuan, InPolicy: in}
			st, _, err := ops.New(s).Settle(ctx, c)
			if err != nil {
				b.Fatal(err)
			}
			if k == 0 {
				first = st
			}
		}
		b.StartTimer()
		rev, err := ops.New(s).Reverse(ctx, first.ID, "benchmark")
		if err != nil {
			b.Fatal(err)
		}
		adjusted += len(rev.Adjustments)
	}
	b.ReportMetric(float64(adjusted)/float64(n), "adjustments/op")
}

// BenchmarkSettleOnePostgres settles one claim of a person of its own per iteration, on
// PostgreSQL: the yardstick the reversal that re-settles 50 claims is measured against,
// in the same run, on a machine whose load moves both.
func BenchmarkSettleOnePostgres(b *testing.B) {
	dsn := os.Getenv(storetest.EnvURL)
	if dsn == "" {
		b.Skip(storetest.EnvURL + " is not set: PostgreSQL NOT BENCHMARKED")
	}
	s := storetest.Postgres(b, dsn)
	ctx := context.Background()
	loaded(b, s)
	o := ops.New(s)
	n := 0
	for ; b.Loop(); n++ {
		b.StopTimer()
		person := calc.Person{ID: fmt.Sprintf("ONE%05d", n), HouseholdID: "HBENCH", RegisteredPoor: true}
		if err := s.UpsertPersons(ctx, []calc.Person{person}); err != nil {
			b.Fatal(err)
		}
		day := calc.NewDate(2018, 3, 1)
		c := calc.Claim{ID: person.ID + "-1", PersonID: person.ID, ProviderID: "PRV01", Level: calc.Provincial,
			Kind: calc.Inpatient, AdmittedOn: day - 2, DischargedOn: day, Total: 21000 * calc.Yuan, InPolicy: 20000 * calc.Yuan}
		b.StartTimer()
		if _, _, err := o.Settle(ctx, c); err != nil {
			b.Fatal(err)
		}
	}
}
