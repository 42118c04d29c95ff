package console_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// offDibao takes P00003, a 低保 person of the shipped register, off 低保 from
// 2018-07-01, and registers PLATE (no aid) from that day only.
func offDibao(t testing.TB, s *store.Store) {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	p := d.Persons["P00003"]
	if p.Aid != calc.Dibao {
		t.Fatalf("P00003 is %s, not dibao", p.Aid)
	}
	p.Aid = calc.AidNone
	cut := calc.NewDate(2018, 7, 1)
	late := calc.Person{ID: "PLATE", HouseholdID: "HLATE"}
	if err := s.UpsertPersonVersions(context.Background(), []calc.PersonVersion{{Person: p, From: cut, To: calc.NoDate}, {Person: late, From: cut, To: calc.NoDate}}); err != nil {
		t.Fatal(err)
	}
}

var panelAttrs = regexp.MustCompile(`id="person-panel" data-day="([0-9-]+)" data-version="([0-9]+)"`)

// TestDischargeDeskPersonAsOf, on both databases: the discharge desk shows the patient as
// the register has them on the claim's discharge day (the version the claim is settled
// with), not as it stands today, in the answer to the script as the form changes and in
// the form sent back with errors; a day the person is not on the register is an error
// at the person, not a failure of the desk.
func TestDischargeDeskPersonAsOf(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnvOn(t, s, false)
		offDibao(t, s)
		u := v.signedIn(asClinic)
		form := func(person, discharged, total string) url.Values {
			return url.Values{"claim_id": {"C-ASOF"}, "person_id": {person}, "provider_id": {ownClinic}, "kind": {"inpatient"},
				"admitted_on": {"2018-03-01"}, "discharged_on": {discharged}, "total": {total}, "in_policy": {"9000"}, "csrf": {u.csrf("/discharge")}}
		}
		quote := func(person, discharged string) (ans struct {
			Person string            `json:"person"`
			Quote  string            `json:"quote"`
			Errors map[string]string `json:"errors"`
		}) {
			t.Helper()
			res, body := u.postBody("/discharge/quote", form(person, discharged, "12345.60"))
			if res.StatusCode != http.StatusOK {
				t.Fatalf("quote of %s discharged %s: status %d: %s", person, discharged, res.StatusCode, body)
			}
			if err := json.Unmarshal([]byte(body), &ans); err != nil {
				t.Fatal(err)
			}
			return ans
		}
		for _, tc := range []struct {
			day, version, aid string
		}{
			{"2018-03-15", "1", "低保"},
			{"2018-06-30", "1", "低保"},
			{"2018-07-01", "2", "无"},
			{"2018-08-15", "2", "无"},
		} {
			ans := quote("P00003", tc.day)
			m := panelAttrs.FindStringSubmatch(ans.Person)
			if m == nil || m[1] != tc.day || m[2] != tc.version || !strings.Contains(ans.Person, "<dd>"+tc.aid+"</dd>") {
				t.Errorf("discharged %s: the person panel is %q; want version %s as on that day, aid %s", tc.day, ans.Person, tc.version, tc.aid)
			}
			if tc.version == "2" && !strings.Contains(ans.Person, "有效期 2018-07-01 至 …") {
				t.Errorf("discharged %s: the panel does not say from when the version is in force: %q", tc.day, ans.Person)
			}
			if ans.Quote == "" || len(ans.Errors) != 0 {
				t.Errorf("discharged %s: quote %q, errors %v", tc.day, ans.Quote, ans.Errors)
			}
		}

		// Not on the register that day: an error at the person, no panel, no quote.
		ans := quote("PLATE", "2018-03-15")
		if ans.Errors["person_id"] != "出院日期当天不在参保登记中" || ans.Person != "" || ans.Quote != "" {
			t.Errorf("a person registered from 2018-07-01, discharged 2018-03-15: %+v", ans)
		}
		if ans := quote("PLATE", "2018-07-02"); ans.Person == "" || len(ans.Errors) != 0 {
			t.Errorf("a person registered from 2018-07-01, discharged 2018-07-02: %+v", ans)
		}

		// The form sent back with an error shows the person as on its discharge day.
		res, body := u.postBody("/discharge/settle", form("P00003", "2018-08-15", "12,345.6x"))
		if m := panelAttrs.FindStringSubmatch(body); res.StatusCode != http.StatusUnprocessableEntity || m == nil || m[2] != "2" {
			t.Errorf("the form sent back: status %d, panel %v; want 422 and version 2", res.StatusCode, m)
		}
		res, body = u.postBody("/discharge/settle", form("PLATE", "2018-03-15", "12345.60"))
		if res.StatusCode != http.StatusUnprocessableEntity || !regexp.MustCompile(`id="err-person_id">出院日期当天不在参保登记中<`).MatchString(body) {
			t.Errorf("settling a claim of a day the person is not registered: status %d", res.StatusCode)
		}
	})
}
