package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// BenchmarkAuditPostgres stores 1,000,000 settled claims of 400,000 persons in a scratch
// schema of PostgreSQL (loaded with ops.Import, outside the timer), then measures in the same
// run (1) reading those claims and what was paid with COPY ... TO STDOUT through psql and
// (2) a whole audit replay: reading them through store, re-settling and comparing. It
// reports both times and their ratio (target: audit at most 2× the COPY).
//
//	HPCALC_TEST_DATABASE_URL=postgres://... go test ./store -run '^$' -bench AuditPostgres -benchtime 3x
func BenchmarkAuditPostgres(b *testing.B) {
	dsn := os.Getenv(storetest.EnvURL)
	if dsn == "" {
		b.Skip(storetest.EnvURL + " is not set: PostgreSQL NOT BENCHMARKED")
	}
	if _, err := exec.LookPath("psql"); err != nil {
		b.Skip("psql is not installed: it runs the COPY ... TO STDOUT this compares with")
	}
	ctx := context.Background()
	scratch, drop, err := store.ScratchPostgres(ctx, dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer drop()
	s, err := store.Open(ctx, scratch)
	if err != nil {
		b.Fatal(err)
	}
	s.ReadPolicy = policyfile.Parse
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	d, err := fixtures.Load()
	if err != nil {
		b.Fatal(err)
	}
	doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
	if err != nil {
		b.Fatal(err)
	}
	if err := s.PublishPolicy(ctx, d.Policies.Policies()[0], doc); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	n := bulkLoad(b, s, 400_000, 1_000_000)
	b.Logf("loaded %d settled claims with ImportSettled in %s", n, time.Since(start).Round(time.Millisecond))

	u, err := url.Parse(scratch)
	if err != nil {
		b.Fatal(err)
	}
	schema := u.Query().Get("search_path")
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	copyQuery := `\copy (SELECT c.claim_id, c.person_id, c.provider_id, c.level, c.kind, c.admitted_on, c.discharged_on,
		c.total, c.in_policy, st.settlement_id, st.policy_version, st.created_at, st.basic, st.critical, st.commercial,
		st.aid, st.backstop, st.out_of_pocket, r.settlement_id
		FROM claims c JOIN settlements st ON st.claim_id = c.claim_id AND st.reverses IS NULL
		LEFT JOIN settlements r ON r.reverses = st.settlement_id
		WHERE c.discharged_on >= '2018-01-01' AND c.discharged_on <= '2018-12-31'
		ORDER BY c.person_id, c.discharged_on, c.claim_id) TO '/dev/null'`

	var copyTime, auditTime time.Duration
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		cmd := exec.Command("psql", u.String(), "-q", "-v", "ON_ERROR_STOP=1", "-c", strings.ReplaceAll(copyQuery, "\n", " "))
		cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("psql: %v\n%s", err, out)
		}
		t1 := time.Now()
		persons, err := s.Persons(ctx)
		if err != nil {
			b.Fatal(err)
		}
		stored, err := s.LoadStoredClaims(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), 0, nil)
		if err != nil {
			b.Fatal(err)
		}
		a, err := batch.RunAudit(persons, stored, d.Policies, nil, batch.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if a.Claims != n || len(a.Differences) != 0 {
			b.Fatalf("audit: %s", a.Summary())
		}
		copyTime += t1.Sub(t0)
		auditTime += time.Since(t1)
	}
	b.ReportMetric(copyTime.Seconds()/float64(b.N), "copy-s/op")
	b.ReportMetric(auditTime.Seconds()/float64(b.N), "audit-s/op")
	b.ReportMetric(auditTime.Seconds()/copyTime.Seconds(), "audit/copy")
}

// bulkLoad stores persons and their claims, settled in discharge order, with
// ops.Import as hpcalc fixtures scale does: the settlements rows are those the
// API stores, workings included, so that the audit reads tables of their real size. It
// returns the number of claims.
func bulkLoad(b testing.TB, s *store.Store, nPersons, nClaims int) int {
	b.Helper()
	r := rand.New(rand.NewPCG(4, 2018))
	persons := make([]calc.Person, nPersons)
	for i := range persons {
		persons[i] = calc.Person{ID: fmt.Sprintf("P%07d", i), HouseholdID: fmt.Sprintf("H%06d", i/4), RegisteredPoor: true, Aid: calc.AidCategory(r.IntN(3))}
	}
	var providers []calc.Provider // one at each level
	for _, l := range calc.Levels() {
		providers = append(providers, calc.Provider{ID: "PRV-" + l.String(), Name: l.String() + " hospital", Level: l})
	}
	claims := make([]calc.Claim, nClaims)
	for i := range claims {
		day := calc.NewDate(2018, 1, 1) + calc.Date(r.IntN(334))
		total := calc.Money(50_00 + r.IntN(8_000_00))
		person := persons[r.IntN(nPersons)].ID
		level := calc.Level(r.IntN(int(calc.NumLevels)))
		claims[i] = calc.Claim{ID: fmt.Sprintf("C%08d", i), PersonID: person, ProviderID: providers[level].ID,
			Level: level, Kind: calc.Kind(r.IntN(2)),
			AdmittedOn: day - 3, DischargedOn: day, Total: total, InPolicy: total * calc.Money(65+r.IntN(36)) / 100}
	}
	stats, err := ops.New(s).Import(context.Background(), ops.Import{Persons: persons, Providers: providers, Claims: claims}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return stats.Claims
}
