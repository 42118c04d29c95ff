package api_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/ops"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestReplays: an audit replay of the shipped claims, settled in discharge order, finds
// no difference and gives the published figures; after a reversal, which re-settles the
// person's later claims, still none.
func TestReplays(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		_, first := settleShipped(t, s)
		body := []byte(`{"from":"2018-01-01","to":"2018-12-31","policy":"in-force"}`)
		var rep struct {
			Claims   int `json:"claims"`
			Reversed int `json:"reversed"`
			Paid     struct {
				Total string `json:"total"`
			} `json:"paid"`
			Replayed struct {
				Total string            `json:"total"`
				Lines map[string]string `json:"lines"`
			} `json:"replayed"`
			Differences []struct {
				PersonID string   `json:"person_id"`
				Causes   []string `json:"causes"`
			} `json:"differences"`
		}
		want(t, v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json", body), http.StatusOK, &rep)
		pub := fixtures.Published2018
		if rep.Claims != 559 || len(rep.Differences) != 0 || rep.Replayed.Total != rep.Paid.Total {
			t.Fatalf("audit of untouched claims: %+v", rep)
		}
		if got := rep.Replayed.Lines["backstop"]; got != pub.Lines[calc.Backstop].String() || rep.Replayed.Total != pub.Total.String() {
			t.Errorf("replayed backstop %s, total %s; want the published figures", got, rep.Replayed.Total)
		}

		if _, err := ops.New(s).Reverse(context.Background(), first.ID, "test"); err != nil {
			t.Fatal(err)
		}
		want(t, v.do(http.MethodPost, "/v1/replays", asAdmin, "application/json", body), http.StatusOK, &rep)
		if rep.Reversed != 1 || rep.Claims != 558 {
			t.Errorf("after a reversal: %d claims, %d reversed", rep.Claims, rep.Reversed)
		}
		// The reversal re-settled the person's later claims: nothing differs.
		for _, diff := range rep.Differences {
			t.Errorf("difference after a reversal %+v", diff)
		}

		for _, bad := range []string{`{"from":"2018-13-01","to":"2018-12-31"}`, `{"from":"2018-02-01","to":"2018-01-01"}`,
			`{"from":"2018-01-01","to":"2018-12-31","policy":"nope"}`, `{"from":"2018-01-01","to":"2018-12-31","extra":1}`} {
			if rec := v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json", []byte(bad)); rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422: %s", bad, rec.Code, rec.Body)
			}
		}
	})
}
