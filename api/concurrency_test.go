package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestConcurrentSettlementsOverHTTP: 32 clients settle 2,000 claims of 20 persons through
// POST /v1/settlements at once, each claim sent twice. Every claim is settled exactly once
// (201 once, 200 for the copy), every ledger equals the sum of its person's stored
// settlements, and no cap is exceeded.
func TestConcurrentSettlementsOverHTTP(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		const persons, claims, clients = 20, 2000, 32
		type job struct {
			id   string
			body []byte
		}
		var jobs []job
		for i := range claims {
			day := calc.NewDate(2018, 1, 1) + calc.Date(i%330)
			body, _ := json.Marshal(map[string]string{
				"claim_id": fmt.Sprintf("H%04d", i), "person_id": fmt.Sprintf("P%05d", 1+i%persons), "provider_id": "PRV01",
				"kind": "inpatient", "admitted_on": (day - 2).String(), "discharged_on": day.String(),
				"total": calc.Money(100_000 + 3_700*i).String(), "in_policy": calc.Money(80_000 + 2_900*i).String(),
			})
			j := job{fmt.Sprintf("H%04d", i), body}
			jobs = append(jobs, j, j)
		}
		var (
			mu      sync.Mutex
			created = map[string]int{}
			bad     []string
			wg      sync.WaitGroup
			work    = make(chan job)
		)
		for range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range work {
					rec := v.serve(v.request(http.MethodPost, "/v1/settlements", asAdmin, "application/json", j.body))
					mu.Lock()
					switch rec.Code {
					case http.StatusCreated:
						created[j.id]++
					case http.StatusOK:
					default:
						bad = append(bad, fmt.Sprintf("%s: %d %s", j.id, rec.Code, rec.Body))
					}
					mu.Unlock()
				}
			}()
		}
		for _, j := range jobs {
			work <- j
		}
		close(work)
		wg.Wait()
		if len(bad) > 0 {
			var failed []string // what the server logged of its failures, to tell the database's state from a bug
			for _, line := range strings.Split(v.logs.String(), "\n") {
				if strings.Contains(line, `"request failed"`) && len(failed) < 3 {
					failed = append(failed, line)
				}
			}
			t.Fatalf("%d failures, first: %s\nlogged: %s", len(bad), bad[0], strings.Join(failed, "\n"))
		}
		if len(created) != claims {
			t.Fatalf("%d claims created, want %d", len(created), claims)
		}
		for id, n := range created {
			if n != 1 {
				t.Fatalf("claim %s created %d times", id, n)
			}
		}
		ctx := context.Background()
		policies, err := s.Policies(ctx)
		if err != nil {
			t.Fatal(err)
		}
		p := policies.Policies()[0]
		for i := 1; i <= persons; i++ {
			id := fmt.Sprintf("P%05d", i)
			kept, err := s.Ledger(ctx, id, 2018)
			if err != nil {
				t.Fatal(err)
			}
			derived, err := s.LedgerFromSettlements(ctx, id, 2018)
			if err != nil {
				t.Fatal(err)
			}
			person, err := s.Person(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if kept != derived || kept.Claims != claims/persons {
				t.Errorf("%s: kept %+v, from settlements %+v", id, kept, derived)
			}
			if kept.BasicPaid() > p.Basic.AnnualCap || kept.CommercialPaid > p.Commercial.AnnualCap || kept.AidPaid > p.Aid.AnnualCap[person.Aid] {
				t.Errorf("%s: a cap is exceeded: %+v", id, kept)
			}
		}
	})
}

// TestConcurrentPersonUpsertsOverHTTP: 16 clients register the same new person through PUT
// /v1/persons at once, each with a household of its own. Every request is answered 200
// (on PostgreSQL the losers of the race to create the person are run again, not answered
// 500), and the person ends with one version per request.
func TestConcurrentPersonUpsertsOverHTTP(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		const clients = 16
		codes := make([]int, clients)
		bodies := make([]string, clients)
		var wg sync.WaitGroup
		for i := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				put := fmt.Sprintf(`[{"person_id":"NEW001","household_id":"H%02d","registered_poor":true,"aid_category":"none"}]`, i)
				rec := v.serve(v.request(http.MethodPut, "/v1/persons", asAdmin, "application/json", []byte(put)))
				codes[i], bodies[i] = rec.Code, rec.Body.String()
			}()
		}
		wg.Wait()
		for i, code := range codes {
			if code != http.StatusOK {
				t.Errorf("client %d: %d %s", i, code, bodies[i])
			}
		}
		versions, err := s.PersonVersions(context.Background(), "NEW001")
		if err != nil || len(versions) != clients {
			t.Fatalf("the person after %d upserts: %d versions, %v", clients, len(versions), err)
		}
	})
}
