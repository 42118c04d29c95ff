package store_test

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// indexUse is how a query must reach a table: through the named index, in each database.
// SQLite names a primary key's index sqlite_autoindex_TABLE_N.
type indexUse struct{ table, sqlite, postgres string }

// TestHotQueryPlans asks each database for its plan of every query a request makes, on
// tables with rows but no statistics (SQLite is never analyzed by us before the hourly
// optimize; PostgreSQL's autovacuum has not come round in a fresh schema), and on SQLite
// again after ANALYZE, and checks that each table is reached through the index the query is
// shaped for and never scanned whole. Before 0006 a claim's settlement walked the unique
// index on reverses.
func TestHotQueryPlans(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		d := loadShipped(t, s)
		var settled []store.SettlementRecord
		order := replay.Order(d.Claims.Claims)
		firstClaim := d.Claims.Claims[order[0]]
		for _, i := range order[:200] {
			st, _, err := ops.New(s).Settle(ctx, d.Claims.Claims[i])
			if err != nil {
				t.Fatal(err)
			}
			settled = append(settled, st)
		}
		for _, st := range settled[:20] {
			if _, err := ops.New(s).Reverse(ctx, st.ID, "plan test"); err != nil {
				t.Fatal(err)
			}
		}
		first := settled[0].Settlement
		from, to := calc.NewDate(2018, 3, 1), calc.NewDate(2018, 3, 31)
		tests := []planCase{
			{"settlement by id", store.SettlementByIDQuery, []any{settled[0].ID},
				[]indexUse{{"settlements", "sqlite_autoindex_settlements_1", "settlements_pkey"}}, nil},
			{"settlement of a claim", store.SettlementForClaimQuery, []any{first.ClaimID},
				[]indexUse{{"settlements", "settlements_claim_settled", "settlements_claim_settled"}}, nil},
			{"reversal of a settlement", store.ReversalQuery, []any{settled[0].ID},
				[]indexUse{{"settlements", "settlements_reverses", "settlements_reverses"}}, nil},
			{"claim", store.ClaimQuery, []any{first.ClaimID},
				[]indexUse{{"claims", "sqlite_autoindex_claims_1", "claims_pkey"}}, nil},
			{"person", store.PersonQuery, []any{first.PersonID},
				[]indexUse{{"persons", "sqlite_autoindex_persons_1", "persons_pkey"}}, nil},
			{"person and ledger (quote)", store.PersonLedgerQuery, []any{first.Year, first.PersonID},
				[]indexUse{{"person_versions p", "sqlite_autoindex_person_versions_1", "person_versions_pkey"}, {"ledgers l", "sqlite_autoindex_ledgers_1", "ledgers_pkey"}}, nil},
			{"ledger", store.ReadLedgerQuery, []any{first.PersonID, first.Year},
				[]indexUse{{"ledgers", "sqlite_autoindex_ledgers_1", "ledgers_pkey"}}, nil},
			{"ledger write", store.WriteLedgerQuery, []any{1, "0", "0", "0", "0", "0", "0", "0", "0", "0", first.PersonID, first.Year},
				[]indexUse{{"ledgers", "sqlite_autoindex_ledgers_1", "ledgers_pkey"}}, nil},
			{"a person-year's settlements", store.PersonYearSettlementQuery, []any{first.PersonID, first.Year},
				[]indexUse{{"settlements", "settlements_person_year", "settlements_person_year"}}, nil},
			{"a person-year's standing claims (reversal)", store.PersonYearStandingQuery, []any{first.PersonID, first.Year},
				[]indexUse{{"settlements st", "settlements_person_year", "settlements_person_year"}, {"claims c", "sqlite_autoindex_claims_1", "claims_pkey"},
					{"settlements r", "settlements_reverses", "settlements_reverses"}}, nil},
			{"a settlement's adjustments", store.SettlementAdjustmentQuery, []any{settled[0].ID},
				[]indexUse{{"adjustments", "adjustments_settlement", "adjustments_settlement"}}, nil},
			{"a reversal's adjustments", store.ReversalAdjustmentQuery, []any{settled[0].ID},
				[]indexUse{{"adjustments", "adjustments_cause", "adjustments_cause"}}, nil},
			{"a person-year's adjustments", store.PersonYearAdjustmentQuery, []any{first.PersonID, first.Year},
				[]indexUse{{"adjustments", "adjustments_person_year", "adjustments_person_year"}}, nil},
			{"tally", store.TallyQuery, []any{int64(from), int64(to)},
				[]indexUse{{"tally_sums", "sqlite_autoindex_tally_sums_1", "tally_sums_pkey"}}, nil},
			{"a provider's day (console)", store.ProviderDayQuery, []any{firstClaim.ProviderID, firstClaim.DischargedOn.String()},
				[]indexUse{{"claims c", "claims_provider_day", "claims_provider_day"}, {"settlements s", "settlements_claim_settled", "settlements_claim_settled"},
					{"settlements r", "settlements_reverses", "settlements_reverses"}}, nil},
			{"audit's stored claims", store.StoredClaimsQuery, []any{from.String(), to.String()},
				[]indexUse{{"settlements st", "settlements_claim_settled", "settlements_claim_settled"},
					{"settlements r", "settlements_reverses", "settlements_reverses"}}, []string{"claims c"}},
		}
		if s.Dialect() == "postgres" {
			tests = append(tests, planCase{"a day's tally bucket 0 (settle)", store.AddToDayZeroQuery, []any{int64(from), 1, 0, 0, 0, 0, 0, 0, 0},
				[]indexUse{{"tally_sums", "", "tally_sums_pkey"}, {"tally_sums t", "", "tally_sums_pkey"}}, nil})
		}
		stats := []string{"without statistics"}
		if s.Dialect() == "sqlite" {
			// PostgreSQL, once it knows that these tables hold a few hundred rows, rightly
			// reads them whole; SQLite, analyzed by PRAGMA optimize within the hour, must
			// keep its plans.
			stats = append(stats, "analyzed")
		}
		for _, stats := range stats {
			if stats == "analyzed" {
				if err := s.Analyze(ctx); err != nil {
					t.Fatal(err)
				}
				// The test's reversals booked a handful of adjustments, which SQLite, told
				// so, rightly reads whole.
				tests = slices.DeleteFunc(tests, func(tt planCase) bool { return strings.Contains(tt.name, "adjustments") })
			}
			t.Run(stats, func(t *testing.T) { checkPlans(t, s, tests) })
		}
	})
}

// planCase is a query, its arguments, and how it must reach each table.
type planCase struct {
	name    string
	query   string
	args    []any
	uses    []indexUse
	mayScan []string // tables the query reads whole by design
}

func checkPlans(t *testing.T, s *store.Store, tests []planCase) {
	t.Helper()
	ctx := context.Background()
	{
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				plan, err := s.Plan(ctx, tt.query, tt.args...)
				if err != nil {
					t.Fatal(err)
				}
				text := strings.Join(plan, "\n")
				for _, u := range tt.uses {
					if !usesIndex(s.Dialect(), text, u) {
						t.Errorf("%s is not reached through %s:\n%s", u.table, map[bool]string{true: u.sqlite, false: u.postgres}[s.Dialect() == "sqlite"], text)
					}
				}
				if scanned := fullScans(s.Dialect(), text, tt.mayScan); len(scanned) > 0 {
					t.Errorf("scans %v whole:\n%s", scanned, text)
				}
			})
		}
	}
}

// usesIndex reports whether a plan reaches table (a name and maybe an alias) through the
// index its dialect names.
func usesIndex(dialect, plan string, u indexUse) bool {
	table := regexp.QuoteMeta(u.table)
	var re string
	if dialect == "sqlite" {
		// SEARCH st USING INDEX settlements_claim_settled (claim_id=?): an aliased table
		// goes by its alias.
		if _, alias, ok := strings.Cut(u.table, " "); ok {
			table = regexp.QuoteMeta(alias)
		}
		re = `(?m)^SEARCH ` + table + ` USING (COVERING )?INDEX ` + regexp.QuoteMeta(u.sqlite) + ` \(`
	} else {
		// Index Scan using settlements_claim_settled on settlements st; a bitmap scan
		// names the index and the table on two lines.
		re = `Index (Only )?Scan using ` + regexp.QuoteMeta(u.postgres) + ` on ` + table + `(\s|$)|Bitmap Index Scan on ` + regexp.QuoteMeta(u.postgres) + `(\s|$)`
	}
	return regexp.MustCompile(re).MatchString(plan)
}

// fullScans returns the tables a plan reads whole, but for those allowed.
func fullScans(dialect, plan string, allowed []string) []string {
	re := regexp.MustCompile(`(?m)^SCAN (\S+)`)
	if dialect != "sqlite" {
		re = regexp.MustCompile(`Seq Scan on (\S+( \S+)?)`)
	}
	var out []string
	for _, m := range re.FindAllStringSubmatch(plan, -1) {
		name := m[1]
		ok := false
		for _, a := range allowed {
			// SQLite names an aliased table by its alias alone.
			_, alias, _ := strings.Cut(a, " ")
			ok = ok || name == a || name == alias
		}
		if !ok {
			out = append(out, name)
		}
	}
	return out
}
