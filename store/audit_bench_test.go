package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
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
// (2) a whole audit replay as ops.Audit runs it: reading them in one ordered query,
// re-settling person by person as they arrive, comparing. It reports both times, their
// ratio (target: audit at most 1.5× the COPY) and the audit's peak heap (target: at most
// 400 MiB).
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
	s, scratch, n := benchStore(b, dsn)
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
		st.aid, st.backstop, st.out_of_pocket, st.burden, r.settlement_id, st.imported
		FROM claims c JOIN settlements st ON st.claim_id = c.claim_id AND st.reverses IS NULL
		LEFT JOIN settlements r ON r.reverses = st.settlement_id
		WHERE c.discharged_on >= '2018-01-01' AND c.discharged_on <= '2018-12-31'
		ORDER BY c.person_id, c.discharged_on, c.claim_id) TO '/dev/null'`

	o := ops.New(s)
	v, err := o.Versions(ctx, ops.InForce)
	if err != nil {
		b.Fatal(err)
	}
	var (
		copyTime, auditTime time.Duration
		dryTime, applyTime  time.Duration
		heap                uint64
		differ              int
		adjusted            int
		personYears         int
	)
	b.ResetTimer()
	for b.Loop() {
		t0 := time.Now()
		cmd := exec.Command("psql", u.String(), "-q", "-v", "ON_ERROR_STOP=1", "-c", strings.ReplaceAll(copyQuery, "\n", " "))
		cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("psql: %v\n%s", err, out)
		}
		runtime.GC()
		peak := sampleHeap()
		t1 := time.Now()
		a, err := o.Audit(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), v, nil)
		auditTime += time.Since(t1)
		heap = max(heap, peak())
		if err != nil {
			b.Fatal(err)
		}
		if a.Claims != n {
			b.Fatalf("audit: %s", a.Summary())
		}
		for _, d := range a.Differences {
			if slices.Contains(d.Causes, batch.CauseUnexplained) {
				b.Fatalf("audit: %s: claim %s unexplained", a.Summary(), d.ClaimID)
			}
		}
		differ = len(a.Differences)
		copyTime += t1.Sub(t0)

		// The reconciliation of the same period: a dry run, then applied, then put back.
		t2 := time.Now()
		dry, err := o.Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), "", false)
		dryTime += time.Since(t2)
		if err != nil {
			b.Fatal(err)
		}
		save(b, s)
		t3 := time.Now()
		applied, err := o.Reconcile(ctx, calc.NewDate(2018, 1, 1), calc.NewDate(2018, 12, 31), "", true)
		applyTime += time.Since(t3)
		if err != nil {
			b.Fatal(err)
		}
		if len(applied.Adjustments) != len(dry.Adjustments) || len(dry.Adjustments) == 0 {
			b.Fatalf("reconciliation: %d adjustments applied, %d in the dry run", len(applied.Adjustments), len(dry.Adjustments))
		}
		adjusted, personYears = len(applied.Adjustments), dry.PersonYears
		restore(b, s, applied.ID)
	}
	b.ReportMetric(copyTime.Seconds()/float64(b.N), "copy-s/op")
	b.ReportMetric(auditTime.Seconds()/float64(b.N), "audit-s/op")
	b.ReportMetric(auditTime.Seconds()/copyTime.Seconds(), "audit/copy")
	b.ReportMetric(float64(heap)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(differ), "differences")
	b.ReportMetric(dryTime.Seconds()/float64(b.N), "reconcile-dry-s/op")
	b.ReportMetric(applyTime.Seconds()/float64(b.N), "reconcile-apply-s/op")
	b.ReportMetric(dryTime.Seconds()/auditTime.Seconds(), "dry/audit")
	b.ReportMetric(applyTime.Seconds()/auditTime.Seconds(), "apply/audit")
	b.ReportMetric(float64(adjusted), "adjustments")
	b.ReportMetric(float64(personYears), "person-years")
}

// savedTables are what applying a reconciliation writes besides its adjustments.
var savedTables = []string{"ledgers", "tally_sums"}

// save copies the tables a reconciliation writes, so that restore can put them back and
// the next iteration (or run, in a kept schema) reconciles the same claims.
func save(b *testing.B, s *store.Store) {
	b.Helper()
	for _, t := range savedTables {
		if _, err := s.DB().Exec(`DROP TABLE IF EXISTS bench_saved_` + t + `; CREATE TABLE bench_saved_` + t + ` AS SELECT * FROM ` + t); err != nil {
			b.Fatal(err)
		}
	}
}

// restore undoes reconciliation id: its adjustments deleted, the saved tables put back.
func restore(b *testing.B, s *store.Store, id string) {
	b.Helper()
	if _, err := s.DB().Exec(`DELETE FROM adjustments WHERE cause_id = $1`, id); err != nil {
		b.Fatal(err)
	}
	for _, t := range savedTables {
		if _, err := s.DB().Exec(`DELETE FROM ` + t + `; INSERT INTO ` + t + ` SELECT * FROM bench_saved_` + t + `; DROP TABLE bench_saved_` + t); err != nil {
			b.Fatal(err)
		}
	}
	s.EvictAll()
}

// sampleHeap samples, every 2 ms until the returned function is called, the bytes of heap
// objects (live and not yet swept, what the heap holds) and returns the peak: the memory
// a long operation needs, checked by the benchmark rather than read off a process monitor.
func sampleHeap() (peak func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	read := func() uint64 {
		metrics.Read(sample)
		return sample[0].Value.Uint64()
	}
	stop, done := make(chan struct{}), make(chan uint64)
	go func() {
		top := read()
		t := time.NewTicker(2 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				done <- max(top, read())
				return
			case <-t.C:
				top = max(top, read())
			}
		}
	}()
	return func() uint64 {
		close(stop)
		return <-done
	}
}

// benchSchemaEnv names a schema in which BenchmarkAuditPostgres keeps its claims from one
// run to the next, for whoever works on the audit: loading them takes minutes. Unset, the
// benchmark loads them into a scratch schema that it drops.
const benchSchemaEnv = "HPCALC_BENCH_SCHEMA"

// benchClaims and benchPersons are the size of BenchmarkAuditPostgres's data; one claim in
// benchOutOfOrder was settled out of discharge order.
const benchClaims, benchPersons, benchOutOfOrder = 1_000_000, 400_000, 100

// benchStore opens, migrated, the schema of BenchmarkAuditPostgres with its claims
// stored (loading them if the schema is new) and returns it, its URL and the number of
// claims. The store is closed and a scratch schema dropped when b ends.
func benchStore(b *testing.B, dsn string) (*store.Store, string, int) {
	b.Helper()
	ctx := context.Background()
	scratch := dsn
	if name := os.Getenv(benchSchemaEnv); name != "" {
		admin, err := store.Open(ctx, dsn)
		if err != nil {
			b.Fatal(err)
		}
		_, err = admin.DB().ExecContext(ctx, "CREATE SCHEMA IF NOT EXISTS "+name)
		admin.Close()
		if err != nil {
			b.Fatal(err)
		}
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		scratch += sep + "search_path=" + name
	} else {
		var (
			drop func()
			err  error
		)
		if scratch, drop, err = store.ScratchPostgres(ctx, dsn); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(drop)
	}
	s, err := store.Open(ctx, scratch)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	s.ReadPolicy = policyfile.Parse
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	var n int
	if err := s.DB().GetContext(ctx, &n, `SELECT COUNT(*) FROM claims`); err != nil {
		b.Fatal(err)
	}
	if n > 0 {
		b.Logf("reusing the %d claims of schema %s", n, os.Getenv(benchSchemaEnv))
		return s, scratch, n
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
	n = bulkLoad(b, s, benchPersons, benchClaims)
	b.Logf("loaded %d settled claims with ImportSettled in %s", n, time.Since(start).Round(time.Millisecond))
	// Out of order: the first two claims of some person-years trade their dates, so
	// that the claim settled first is now discharged second.
	res, err := s.DB().ExecContext(ctx, `WITH ranked AS (
			SELECT claim_id, person_id, admitted_on, discharged_on, row_number() OVER (
				PARTITION BY person_id, left(discharged_on, 4) ORDER BY discharged_on, claim_id) AS n
			FROM claims),
		pairs AS (
			SELECT a.claim_id AS a_id, b.claim_id AS b_id, a.admitted_on AS a_adm, a.discharged_on AS a_dis,
				b.admitted_on AS b_adm, b.discharged_on AS b_dis
			FROM ranked a JOIN ranked b ON b.person_id = a.person_id AND b.n = 2
				AND left(b.discharged_on, 4) = left(a.discharged_on, 4)
			WHERE a.n = 1 AND a.discharged_on < b.discharged_on ORDER BY md5(a.claim_id) LIMIT $1),
		swapped AS (SELECT a_id AS claim_id, b_adm AS adm, b_dis AS dis FROM pairs
			UNION ALL SELECT b_id, a_adm, a_dis FROM pairs)
		UPDATE claims c SET admitted_on = w.adm, discharged_on = w.dis FROM swapped w WHERE c.claim_id = w.claim_id`,
		n/benchOutOfOrder/2)
	if err != nil {
		b.Fatal(err)
	}
	swapped, _ := res.RowsAffected()
	if _, err := s.DB().ExecContext(ctx, `UPDATE settlements st SET discharged_on = c.discharged_on
		FROM claims c WHERE c.claim_id = st.claim_id AND c.discharged_on <> st.discharged_on`); err != nil {
		b.Fatal(err)
	}
	if _, err := s.DB().ExecContext(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d claims now out of discharge order", swapped)
	return s, scratch, n
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
