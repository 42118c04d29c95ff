package console_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestWhatIfMillion times a what-if over HPCALC_CONSOLE_WHATIF_CLAIMS stored claims (opt
// in: 1000000 for the figure) from the finance desk against POST /v1/whatif, in
// the same run, alternating, medians of 3; measured and logged for docs/performance.md,
// not asserted. The claims are stored with ops.Import (the path of hpcalc fixtures scale
// --database-url), in SQLite, on 2.5 claims a person.
//
//	HPCALC_CONSOLE_WHATIF_CLAIMS=1000000 go test ./console -run TestWhatIfMillion -v -timeout 60m
func TestWhatIfMillion(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HPCALC_CONSOLE_WHATIF_CLAIMS"))
	if n <= 0 {
		t.Skip("set HPCALC_CONSOLE_WHATIF_CLAIMS (e.g. 1000000) to time a what-if over that many stored claims")
	}
	v := newEnvOn(t, storetest.SQLite(t), false)
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	var providers []calc.Provider
	for _, p := range d.Providers {
		providers = append(providers, p)
	}
	slices.SortFunc(providers, func(a, b calc.Provider) int { return strings.Compare(a.ID, b.ID) })
	r := rand.New(rand.NewPCG(1, 2018))
	persons := make([]calc.Person, n*2/5)
	for i := range persons {
		persons[i] = calc.Person{ID: fmt.Sprintf("M%07d", i), HouseholdID: fmt.Sprintf("MH%06d", i/4), RegisteredPoor: r.IntN(10) > 0,
			Aid: calc.AidCategory(r.IntN(3))}
	}
	claims := make([]calc.Claim, n)
	for i := range claims {
		day := calc.NewDate(2018, 1, 1) + calc.Date(r.IntN(334))
		total := calc.Money(50_00 + r.IntN(8_000_00))
		if r.IntN(20) == 0 {
			total *= 10
		}
		p := providers[r.IntN(len(providers))]
		claims[i] = calc.Claim{ID: fmt.Sprintf("M%08d", i), PersonID: persons[r.IntN(len(persons))].ID, ProviderID: p.ID, Level: p.Level,
			Kind: calc.Kind(r.IntN(2)), AdmittedOn: day - 2, DischargedOn: day, Total: total, InPolicy: total * calc.Money(65+r.IntN(36)) / 100}
	}
	start := time.Now()
	if _, err := ops.New(v.store).Import(context.Background(), ops.Import{Persons: persons, Claims: claims}, nil); err != nil {
		t.Fatal(err)
	}
	t.Logf("stored %d claims of %d persons in %s", n, len(persons), time.Since(start).Round(time.Millisecond))
	claims, persons = nil, nil

	u := v.signedIn(asFinance)
	const desk = "/finance?run=1&from=2018-01-01&to=2018-12-31&p.backstop.oop_ceiling=0.05"
	var api, page []float64
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	for range 3 {
		t0 := time.Now()
		if st := v.apiJSON(asFinance, http.MethodPost, "/v1/whatif", `{"from":"2018-01-01","to":"2018-12-31","change":"{backstop: {oop_ceiling: 0.05}}"}`, nil); st != http.StatusOK {
			t.Fatalf("API what-if: %d", st)
		}
		api = append(api, ms(time.Since(t0)))
		t0 = time.Now()
		if res, body := u.get(desk); res.StatusCode != http.StatusOK || !strings.Contains(body, `id="whatif-table"`) {
			t.Fatalf("the finance desk's what-if: status %d", res.StatusCode)
		}
		page = append(page, ms(time.Since(t0)))
	}
	slices.Sort(api)
	slices.Sort(page)
	t.Logf("what-if over %d stored claims, medians of 3 (alternating): POST /v1/whatif %.0f ms (%v); the finance desk's page, request to last byte, %.0f ms (%v): desk / API = %.3f",
		n, api[1], api, page[1], page, page[1]/api[1])
}
