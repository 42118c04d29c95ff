package store

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
)

// TestMoneyText checks that moneyText writes what database/sql makes of dec(m).
func TestMoneyText(t *testing.T) {
	for _, m := range []calc.Money{0, 1, 5, 10, 50, 99, 100, 101, 110, 120_000, 123_450, 123_456, 100_000_000_00, -5, -120, calc.MaxAmount} {
		if got, want := moneyText(m), dec(m).String(); got != want {
			t.Errorf("moneyText(%d) = %q, want %q", int64(m), got, want)
		}
	}
}

// rawRows returns every row of a table as text, in key order, leaving out the columns
// the import sets otherwise than Settle (ids and stamps).
func rawRows(t *testing.T, s *Store, table string, columns []string, key string) []string {
	t.Helper()
	var out []string
	rows, err := s.db.Query(`SELECT ` + strings.Join(columns, ", ") + ` FROM ` + table + ` ORDER BY ` + key)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		v := make([]any, len(columns))
		for i := range v {
			v[i] = new(any)
		}
		if err := rows.Scan(v...); err != nil {
			t.Fatal(err)
		}
		var parts []string
		for i, x := range v {
			val := *x.(*any)
			if b, ok := val.([]byte); ok {
				val = string(b)
			}
			parts = append(parts, fmt.Sprintf("%s=%T:%v", columns[i], val, val))
		}
		out = append(out, strings.Join(parts, " "))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// openRaw opens a migrated store of the given kind for this package's tests (which
// cannot use storetest: it imports store).
func openRaw(t *testing.T, kind string) *Store {
	t.Helper()
	return openRawWithout(t, kind, 0)
}

// openRawWithout is openRaw with every migration but the one of version skip (none if
// 0): the database of a hpcalc that shipped the later migrations before that one, as
// migrations written at once on branches land in any order. Tests migrate it again to
// see skip applied to rows of the layout before it.
func openRawWithout(t *testing.T, kind string, skip int64) *Store {
	t.Helper()
	ctx := context.Background()
	url := filepath.Join(t.TempDir(), "hpcalc.db")
	if kind == "postgres" {
		pg := os.Getenv("HPCALC_TEST_DATABASE_URL")
		if pg == "" {
			// storetest.PostgresURL says the same; this package's tests cannot import it.
			t.Skip("HPCALC_TEST_DATABASE_URL is not set: PostgreSQL NOT TESTED")
		}
		scratch, drop, err := ScratchPostgres(ctx, pg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(drop)
		url = scratch
	}
	s, err := Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	t.Cleanup(func() { s.Close() })
	if skip == 0 {
		if _, err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	} else if err := s.migrateWithout(ctx, skip); err != nil {
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
	if err := s.PublishPolicy(ctx, d.Policies.Policies()[0], doc); err != nil {
		t.Fatal(err)
	}
	return s
}

// migrateWithout applies every migration but the one of version skip.
func (s *Store) migrateWithout(ctx context.Context, skip int64) error {
	p, err := s.migrator(nil)
	if err != nil {
		return err
	}
	if _, err := p.UpTo(ctx, skip-1); err != nil {
		return err
	}
	for _, src := range p.ListSources() {
		if src.Version > skip {
			if _, err := p.ApplyVersion(ctx, src.Version, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexExists reports whether the database has an index named name.
func (s *Store) indexExists(t *testing.T, name string) bool {
	t.Helper()
	q := `SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = ?`
	if s.dialect.name == "postgres" {
		q = `SELECT COUNT(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = $1`
	}
	var n int
	if err := s.db.Get(&n, q, name); err != nil {
		t.Fatal(err)
	}
	return n > 0
}

// shippedSettled completes in with claims, in settlement order, and a Settle that
// settles them with replay (ops settles them with batch; store cannot import ops).
func shippedSettled(policies *calc.PolicySet, persons map[string]calc.Person, in Import, claims []calc.Claim) Import {
	order := replay.Order(claims)
	in.NumClaims = len(claims)
	in.Claims = func(yield func(*calc.Claim) bool) {
		for _, i := range order {
			if !yield(&claims[i]) {
				return
			}
		}
	}
	in.Settle = func(put func(int, *calc.Settlement, int32, calc.Ledger, calc.Date)) ([]PersonLedger, error) {
		var (
			out    []PersonLedger
			ledger calc.Ledger
			row    int
		)
		err := replay.Each(policies, persons, claims, func(i int, s *calc.Settlement) {
			if row > 0 && (s.PersonID != out[len(out)-1].PersonID || s.Year != ledger.Year) {
				ledger = calc.Ledger{}
			}
			if row == 0 || ledger.Claims == 0 {
				out = append(out, PersonLedger{PersonID: s.PersonID})
			}
			ledger, _ = ledger.Add(s)
			out[len(out)-1].Ledger = ledger
			put(row, s, 1, ledger, claims[i].DischargedOn)
			row++
		})
		return out, err
	}
	return in
}

// TestImportStoresWhatSettleStores compares, column by column as the database returns
// them, the rows of the shipped data set imported with the rows Settle stores for it.
func TestImportStoresWhatSettleStores(t *testing.T) {
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			d, err := fixtures.Load()
			if err != nil {
				t.Fatal(err)
			}
			var in Import
			for _, p := range d.Persons {
				in.Persons = append(in.Persons, p)
			}
			for _, p := range d.Providers {
				in.Providers = append(in.Providers, p)
			}
			claims := d.Claims.Claims
			in = shippedSettled(d.Policies, d.Persons, in, claims)

			imported := openRaw(t, kind)
			if _, err := imported.ImportSettled(ctx, in, nil); err != nil {
				t.Fatal(err)
			}
			settled := openRaw(t, kind)
			if err := settled.UpsertPersons(ctx, in.Persons); err != nil {
				t.Fatal(err)
			}
			if err := settled.UpsertProviders(ctx, in.Providers); err != nil {
				t.Fatal(err)
			}
			for _, i := range replay.Order(claims) {
				if _, err := settleRows(ctx, settled, claims[i]); err != nil {
					t.Fatal(err)
				}
			}
			for _, tc := range []struct {
				table, key string
				columns    []string
			}{
				{"persons", "person_id", []string{"person_id", "household_id", "registered_poor", "aid_category"}},
				{"providers", "provider_id", []string{"provider_id", "name", "level"}},
				{"claims", "claim_id", []string{"person_id", "claim_id", "provider_id", "level", "kind", "admitted_on", "discharged_on", "total", "in_policy"}},
				{"settlements", "claim_id", []string{"person_id", "claim_id", "reverses", "year", "discharged_on", "policy_version", "kind", "total",
					"basic", "critical", "commercial", "aid", "backstop", "out_of_pocket", "burden", "detail", "reason"}},
				{"ledgers", "person_id, year", []string{"person_id", "year", "claims", "basic_inpatient", "basic_chronic", "critical_burden",
					"critical_paid", "commercial_paid", "aid_paid", "backstop_paid", "out_of_pocket", "total"}},
			} {
				got := rawRows(t, imported, tc.table, tc.columns, tc.key)
				want := rawRows(t, settled, tc.table, tc.columns, tc.key)
				if len(got) == 0 || !slices.Equal(got, want) {
					t.Errorf("%s: %d rows imported, %d stored by Settle", tc.table, len(got), len(want))
					for i := range min(len(got), len(want)) {
						if got[i] != want[i] {
							t.Errorf("%s: first difference:\nimported %s\nSettle   %s", tc.table, got[i], want[i])
							break
						}
					}
				}
			}
		})
	}
}
