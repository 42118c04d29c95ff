package api_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/policyfile"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// TestWhatIf: raising the commercial in-policy rate to 50% over the stored 2018 claims
// gives, to the fen, what a direct replay under the merged policy gives.
func TestWhatIf(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		d, _ := settleShipped(t, s)
		var rep struct {
			Claims   int `json:"claims"`
			Baseline struct {
				Lines map[string]string `json:"lines"`
			} `json:"baseline"`
			Scenario struct {
				Total       string            `json:"total"`
				Lines       map[string]string `json:"lines"`
				OutOfPocket string            `json:"out_of_pocket"`
			} `json:"scenario"`
			PayLess int `json:"patients_pay_less"`
		}
		body := []byte(`{"from":"2018-01-01","to":"2018-12-31","change":"commercial:\n  in_policy_rate: 0.50\n"}`)
		want(t, v.do(http.MethodPost, "/v1/whatif", asFinance, "application/json", body), http.StatusOK, &rep)

		doc, err := fixtures.FS.ReadFile(fixtures.PolicyFile)
		if err != nil {
			t.Fatal(err)
		}
		merged, _, err := policyfile.Merge(doc, "x", []byte("commercial: {in_policy_rate: 0.50}"))
		if err != nil {
			t.Fatal(err)
		}
		ps, err := calc.NewPolicySet(merged)
		if err != nil {
			t.Fatal(err)
		}
		direct, err := replay.Run(ps, d.Persons, d.Claims.Claims)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Claims != 559 || rep.Scenario.Total != direct.Tally.Total.String() || rep.Scenario.OutOfPocket != direct.Tally.OutOfPocket.String() {
			t.Errorf("scenario %+v, direct %+v", rep.Scenario, direct.Tally)
		}
		for _, l := range calc.Lines() {
			if rep.Scenario.Lines[l.String()] != direct.Tally.Lines[l].String() {
				t.Errorf("%s: what-if %s, direct replay %s", l, rep.Scenario.Lines[l.String()], direct.Tally.Lines[l])
			}
		}
		if rep.Baseline.Lines["commercial"] != "194600.00" || rep.PayLess == 0 {
			t.Errorf("baseline commercial %s, %d pay less", rep.Baseline.Lines["commercial"], rep.PayLess)
		}
		// Each grouping splits the same change: its groups' deltas add up to the total's.
		var groups struct {
			ByLevel []struct {
				Group    string               `json:"group"`
				Baseline struct{ Claims int } `json:"baseline"`
				Delta    map[string]string    `json:"delta"`
			} `json:"by_level"`
			Rises []struct {
				HouseholdID string            `json:"household_id"`
				PublicDelta string            `json:"public_delta"`
				Delta       map[string]string `json:"delta"`
			} `json:"households_largest_rise"`
			Falls []struct {
				HouseholdID string `json:"household_id"`
			} `json:"households_largest_fall"`
		}
		body = []byte(`{"from":"2018-01-01","to":"2018-12-31","change":"commercial: {in_policy_rate: 0.50}","top":3}`)
		want(t, v.do(http.MethodPost, "/v1/whatif", asFinance, "application/json", body), http.StatusOK, &groups)
		if len(groups.ByLevel) != int(calc.NumLevels) || len(groups.Rises) != 3 || len(groups.Falls) > 3 {
			t.Fatalf("%d levels, %d rises, %d falls with top 3", len(groups.ByLevel), len(groups.Rises), len(groups.Falls))
		}
		for _, h := range groups.Rises {
			var sum calc.Money
			for _, l := range calc.Lines() {
				d, err := calc.ParseMoney(h.Delta[l.String()])
				if err != nil {
					t.Fatalf("household %s delta %s: %v", h.HouseholdID, l, err)
				}
				sum += d
			}
			if sum.String() != h.PublicDelta || h.Delta["public"] != h.PublicDelta {
				t.Errorf("household %s: line deltas add to %s, public delta %s", h.HouseholdID, sum, h.PublicDelta)
			}
		}
		claims := 0
		for _, l := range calc.Lines() {
			var sum calc.Money
			for _, g := range groups.ByLevel {
				d, err := calc.ParseMoney(g.Delta[l.String()])
				if err != nil {
					t.Fatalf("level %s delta %s: %v", g.Group, l, err)
				}
				sum += d
			}
			b, _ := calc.ParseMoney(rep.Baseline.Lines[l.String()])
			sc, _ := calc.ParseMoney(rep.Scenario.Lines[l.String()])
			if sum != sc-b {
				t.Errorf("%s: levels' deltas add to %s, the total's is %s", l, sum, sc-b)
			}
		}
		for _, g := range groups.ByLevel {
			claims += g.Baseline.Claims
		}
		if claims != 559 {
			t.Errorf("levels hold %d claims, want 559", claims)
		}
		for _, bad := range []string{`{"from":"2018-01-01","to":"2018-12-31","change":"commercial: {in_policy_rate: 1.5}"}`,
			`{"from":"2018-01-01","to":"2018-12-31","change":"aid: {}","top":-1}`,
			`{"from":"2018-01-01","to":"2018-12-31","change":"aid: {}","top":10001}`,
			`{"from":"2018-01-01","to":"2018-12-31"}`, `{"from":"x","to":"2018-12-31","change":"a: 1"}`} {
			if rec := v.do(http.MethodPost, "/v1/whatif", asFinance, "application/json", []byte(bad)); rec.Code != http.StatusUnprocessableEntity {
				t.Errorf("%s: status %d, want 422: %s", bad, rec.Code, rec.Body)
			}
		}
	})
}

// TestSweep: sweeping the backstop ceiling over the stored 2018 claims gives, at the
// shipped 10%, the published backstop figure; bad ranges are refused.
func TestSweep(t *testing.T) {
	s := storetest.SQLite(t)
	v := newEnv(t, s)
	settleShipped(t, s)
	var rep struct {
		Field string `json:"field"`
		Steps []struct {
			Value string            `json:"value"`
			Lines map[string]string `json:"lines"`
		} `json:"steps"`
	}
	body := []byte(`{"from":"2018-01-01","to":"2018-12-31","field":"backstop.oop_ceiling","start":"0.09","stop":"0.11","step":"0.01"}`)
	want(t, v.do(http.MethodPost, "/v1/sweeps", asFinance, "application/json", body), http.StatusOK, &rep)
	if len(rep.Steps) != 3 || rep.Steps[1].Value != "0.1" || rep.Steps[1].Lines["backstop"] != fixtures.Published2018.Lines[calc.Backstop].String() {
		t.Fatalf("sweep %+v", rep)
	}
	low, err1 := calc.ParseMoney(rep.Steps[0].Lines["backstop"])
	high, err2 := calc.ParseMoney(rep.Steps[2].Lines["backstop"])
	if err1 != nil || err2 != nil || low <= high {
		t.Errorf("a lower ceiling should cost the backstop more: %+v", rep.Steps)
	}
	for _, bad := range []string{
		`{"from":"2018-01-01","to":"2018-12-31","field":"backstop.oop_ceiling","start":"0.2","stop":"0.1","step":"0.01"}`,
		`{"from":"2018-01-01","to":"2018-12-31","field":"backstop.nope","start":"0.1","stop":"0.1","step":"0.01"}`,
		`{"from":"2018-01-01","to":"2018-12-31","field":"","start":"0.1","stop":"0.1","step":"0.01"}`,
	} {
		if rec := v.do(http.MethodPost, "/v1/sweeps", asFinance, "application/json", []byte(bad)); rec.Code != http.StatusUnprocessableEntity {
			t.Errorf("%s: status %d, want 422: %s", bad, rec.Code, rec.Body)
		}
	}
}

// TestWhatIfErrorsPointAtTheRequest: a change's problem is placed within the change sent,
// and a sweep's unknown parameter is named as sent, with what is valid there.
func TestWhatIfErrorsPointAtTheRequest(t *testing.T) {
	s := storetest.SQLite(t)
	v := newEnv(t, s)
	settleShipped(t, s)
	for _, tt := range []struct{ path, body, field, rule string }{
		{"/v1/whatif", `{"from":"2018-01-01","to":"2018-12-31","change":"commercial:\n  foo: 0.5\n"}`,
			"change", `change:2:3: commercial.foo: unknown field "foo"`},
		{"/v1/whatif", `{"from":"2018-01-01","to":"2018-12-31","change":"aid: {}\ncommercial:\n  in_policy_rate: 1.5\n"}`,
			"change", "change:3:19: commercial.in_policy_rate: "},
		{"/v1/sweeps", `{"from":"2018-01-01","to":"2018-12-31","field":"backstop.oop_ceil","start":"0.05","stop":"0.15","step":"0.01"}`,
			"field", `unknown parameter "oop_ceil" (the parameters under backstop are oop_ceiling)`},
	} {
		var p problem
		want(t, v.do(http.MethodPost, tt.path, asFinance, "application/json", []byte(tt.body)), http.StatusUnprocessableEntity, &p)
		if len(p.Errors) != 1 || p.Errors[0].Field != tt.field || !strings.HasPrefix(p.Errors[0].Rule, tt.rule) {
			t.Errorf("%s %s: %+v, want field %s with a rule beginning %q", tt.path, tt.body, p.Errors, tt.field, tt.rule)
		}
	}
}
