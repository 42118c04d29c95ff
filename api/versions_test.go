package api_test

import (
	"bytes"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/batch"
	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// personVersions is GET /v1/persons/{id} with the versions.
type personVersions struct {
	AidCategory string `json:"aid_category"`
	Version     int    `json:"version"`
	Versions    []struct {
		Version     int     `json:"version"`
		ValidFrom   *string `json:"valid_from"`
		ValidTo     *string `json:"valid_to"`
		AidCategory string  `json:"aid_category"`
	} `json:"versions"`
}

// auditReply is what POST /v1/replays answers, as far as these tests read it.
type auditReply struct {
	Differences []struct {
		ClaimID string            `json:"claim_id"`
		Delta   map[string]string `json:"delta"`
		Causes  []string          `json:"causes"`
	} `json:"differences"`
}

// TestPersonsAsTheyWereAPI is the example end to end through the API on both
// databases: a dibao person's 2018 claim is settled with aid; PUT /v1/persons takes the
// person off dibao (today): GET shows two versions, the audit of 2018 finds nothing. Put
// again from 2018-01-01: the audit reports the claim with the cause "the register changed
// after settlement", and a new 2018 claim settles without aid, naming version 3. Quotes
// name the version in force on the discharge day, as the settlement that follows does.
func TestPersonsAsTheyWereAPI(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		d, err := fixtures.Load()
		if err != nil {
			t.Fatal(err)
		}
		first, second := dibaoPair(t, d)
		id := first.PersonID
		var settled struct {
			PersonVersion int `json:"person_version"`
			Lines         []struct {
				Name   string `json:"name"`
				Amount string `json:"amount"`
			} `json:"lines"`
		}
		// quoted is the person_version and aid of a quote of c.
		quoted := func(c calc.Claim) (int, string) {
			t.Helper()
			var q struct {
				PersonVersion int `json:"person_version"`
				Lines         []struct {
					Amount string `json:"amount"`
				} `json:"lines"`
			}
			want(t, v.postJSON("/v1/quotes", asAdmin, claimBody(c)), http.StatusOK, &q)
			return q.PersonVersion, q.Lines[calc.Aid].Amount
		}
		qv, qaid := quoted(first)
		want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(first)), http.StatusCreated, &settled)
		aid := settled.Lines[calc.Aid].Amount
		if qv != 1 || qaid != aid {
			t.Fatalf("quoted with person_version %d, aid %s; want 1 and %s", qv, qaid, aid)
		}
		if settled.PersonVersion != 1 || aid == "0.00" {
			t.Fatalf("settled with person_version %d, aid %s; want 1 and aid", settled.PersonVersion, aid)
		}

		p := d.Persons[id]
		off := func(from string) []byte {
			dated := ""
			if from != "" {
				dated = fmt.Sprintf(`,"valid_from":%q`, from)
			}
			return fmt.Appendf(nil, `[{"person_id":%q,"household_id":%q,"registered_poor":%v,"aid_category":"none"%s}]`,
				id, p.HouseholdID, p.RegisteredPoor, dated)
		}
		audit := func() auditReply {
			var a auditReply
			want(t, v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json", []byte(`{"from":"2018-01-01","to":"2018-12-31"}`)), http.StatusOK, &a)
			return a
		}

		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", off("")), http.StatusOK, nil)
		var got personVersions
		want(t, v.do(http.MethodGet, "/v1/persons/"+id, asAuditor, "", nil), http.StatusOK, &got)
		today := s.Today().String()
		if got.AidCategory != "none" || got.Version != 2 || len(got.Versions) != 2 ||
			got.Versions[0].AidCategory != "dibao" || got.Versions[0].ValidFrom != nil || got.Versions[0].ValidTo != nil ||
			got.Versions[1].ValidFrom == nil || *got.Versions[1].ValidFrom != today || got.Versions[1].ValidTo != nil {
			t.Fatalf("GET after taking the person off dibao today: %+v", got)
		}
		if a := audit(); len(a.Differences) != 0 {
			t.Errorf("audit of 2018 after a change from today: %+v, want no difference", a.Differences)
		}
		// A 2018 claim is still under version 1: the change holds from today only.
		if qv, qaid := quoted(second); qv != 1 || qaid == "0.00" {
			t.Errorf("a 2018 quote after a change from today: person_version %d, aid %s; want 1 and aid", qv, qaid)
		}

		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", off("2018-01-01")), http.StatusOK, nil)
		a := audit()
		if len(a.Differences) != 1 || a.Differences[0].ClaimID != first.ID ||
			!slices.Equal(a.Differences[0].Causes, []string{batch.CauseRegister}) || a.Differences[0].Delta["aid"] != "-"+aid {
			t.Errorf("audit of 2018 after a change from 2018-01-01: %+v; want %s, aid -%s, cause %q", a.Differences, first.ID, aid, batch.CauseRegister)
		}
		if qv, qaid := quoted(second); qv != 3 || qaid != "0.00" {
			t.Errorf("a 2018 quote after the change: person_version %d, aid %s; want 3, 0.00", qv, qaid)
		}
		want(t, v.postJSON("/v1/settlements", asAdmin, claimBody(second)), http.StatusCreated, &settled)
		if settled.PersonVersion != 3 || settled.Lines[calc.Aid].Amount != "0.00" {
			t.Errorf("a 2018 claim after the change: person_version %d, aid %s; want 3, 0.00", settled.PersonVersion, settled.Lines[calc.Aid].Amount)
		}
	})
}

// dibaoPair is the first two claims, in settlement order, of a dibao person whose first
// claim is paid aid.
func dibaoPair(t *testing.T, d *fixtures.Data) (calc.Claim, calc.Claim) {
	t.Helper()
	claims := d.Claims.Claims
	order := replay.Order(claims)
	for k := 1; k < len(order); k++ {
		a, b := claims[order[k-1]], claims[order[k]]
		if a.PersonID != b.PersonID || (k > 1 && claims[order[k-2]].PersonID == a.PersonID) || d.Persons[a.PersonID].Aid != calc.Dibao {
			continue
		}
		st, _, err := calc.Settle(d.Policies.At(a.DischargedOn), d.Persons[a.PersonID], calc.Ledger{}, a)
		if err != nil {
			t.Fatal(err)
		}
		if st.Lines[calc.Aid].Amount > 0 {
			return a, b
		}
	}
	t.Fatal("no dibao person with two claims whose first is paid aid")
	return calc.Claim{}, calc.Claim{}
}

// TestPutPersonsVersionsRefused: PUT /v1/persons refuses, naming the field and the rule
// and storing nothing, versions that end before they start, overlap, or leave a start out
// where one is needed; in JSON and in CSV.
func TestPutPersonsVersionsRefused(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		tests := []struct {
			name, contentType, body, field string
		}{
			{"inverted", "application/json", `[{"person_id":"P00001","household_id":"H0001","registered_poor":true,"valid_from":"2018-06-01","valid_to":"2018-01-31"}]`, "[0].valid_to"},
			{"not a date", "application/json", `[{"person_id":"P00001","household_id":"H0001","registered_poor":true,"valid_from":"2018-02-30"}]`, "[0].valid_from"},
			{"overlapping", "application/json", `[{"person_id":"P00001","household_id":"H0001","registered_poor":true,"valid_from":"2018-06-01"},
				{"person_id":"P00001","household_id":"H0001","registered_poor":true,"aid_category":"dibao","valid_from":"2018-01-01","valid_to":"2018-06-30"}]`, "[0].valid_from"},
			{"before today without a start", "application/json", `[{"person_id":"P00001","household_id":"H0001","registered_poor":true,"valid_to":"2018-06-30"}]`, "[0].valid_to"},
			{"csv inverted", "text/csv", "person_id,household_id,registered_poor,aid_category,valid_from,valid_to\nP00001,H0001,true,,2018-06-01,2018-01-31\n", "valid_to"},
			{"csv overlapping", "text/csv", "person_id,household_id,registered_poor,aid_category,valid_from,valid_to\nP00001,H0001,true,,2018-01-01,2018-06-30\nP00001,H0001,true,dibao,2018-06-01,\n", "valid_from"},
			{"csv several without a start", "text/csv", "person_id,household_id,registered_poor,aid_category,valid_from,valid_to\nP00001,H0001,true,,,2018-06-30\nP00001,H0001,true,dibao,2018-07-01,\n", "valid_from"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var p problem
				want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, tt.contentType, []byte(tt.body)), http.StatusUnprocessableEntity, &p)
				found := false
				for _, e := range p.Errors {
					found = found || strings.HasSuffix(e.Field, tt.field) && e.Rule != ""
				}
				if !found {
					t.Errorf("problem %+v; want the field %s and its rule", p, tt.field)
				}
				var got personVersions
				want(t, v.do(http.MethodGet, "/v1/persons/P00001", asAuditor, "", nil), http.StatusOK, &got)
				if len(got.Versions) != 1 {
					t.Errorf("P00001 after a refused PUT: %+v; want its one version", got)
				}
			})
		}
	})
}

// TestGetPersonRecordedAt: GET /v1/persons/{id} says when each version was recorded
// (recorded_at), and at the top when the version in force on the last day was: a PUT
// that changes the person records a version at the store's clock, the same PUT again
// records nothing and leaves every recorded_at as it was, and a version reaching back
// is recorded when it is put, whatever days it holds.
func TestGetPersonRecordedAt(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		clock := time.Date(2026, 3, 1, 9, 30, 0, 123456789, time.UTC)
		s.Now = func() time.Time { return clock }
		v := newEnv(t, s)
		loaded := clock
		type version struct {
			Version    int        `json:"version"`
			ValidFrom  *string    `json:"valid_from"`
			RecordedAt *time.Time `json:"recorded_at"`
		}
		var got struct {
			Version    int        `json:"version"`
			RecordedAt *time.Time `json:"recorded_at"`
			Versions   []version  `json:"versions"`
		}
		get := func() {
			t.Helper()
			got.Versions = nil
			want(t, v.do(http.MethodGet, "/v1/persons/P00001", asAuditor, "", nil), http.StatusOK, &got)
		}
		at := func(tm *time.Time) string {
			if tm == nil {
				return "null"
			}
			return tm.UTC().Format(time.RFC3339Nano)
		}
		check := func(what string, top int, topAt time.Time, versions ...time.Time) {
			t.Helper()
			get()
			ok := got.Version == top && got.RecordedAt != nil && got.RecordedAt.Equal(topAt) && len(got.Versions) == len(versions)
			for i := range versions {
				ok = ok && got.Versions[i].Version == i+1 && got.Versions[i].RecordedAt != nil && got.Versions[i].RecordedAt.Equal(versions[i])
			}
			if !ok {
				var vs []string
				for _, x := range got.Versions {
					vs = append(vs, fmt.Sprintf("%d at %s", x.Version, at(x.RecordedAt)))
				}
				t.Errorf("%s: version %d recorded at %s, versions %v; want version %d at %s, versions at %v",
					what, got.Version, at(got.RecordedAt), vs, top, topAt.Format(time.RFC3339Nano), versions)
			}
		}
		check("as loaded", 1, loaded, loaded)

		put := func(body string) {
			t.Helper()
			want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", []byte(body)), http.StatusOK, nil)
		}
		changed := clock.Add(time.Hour)
		clock = changed
		put(`[{"person_id":"P00001","household_id":"H9999","registered_poor":true,"aid_category":"tekun"}]`)
		check("after a change from today", 2, changed, loaded, changed)

		clock = clock.Add(time.Hour)
		put(`[{"person_id":"P00001","household_id":"H9999","registered_poor":true,"aid_category":"tekun"}]`)
		check("after the same person again", 2, changed, loaded, changed)

		back := clock.Add(time.Hour)
		clock = back
		put(`[{"person_id":"P00001","household_id":"H9999","registered_poor":false,"aid_category":"none","valid_from":"2018-01-01","valid_to":"2018-06-30"}]`)
		// Version 3 holds only in 2018: version 2 is still the one in force on the last day.
		check("after a version reaching back", 2, changed, loaded, changed, back)
		if got.Versions[2].ValidFrom == nil || *got.Versions[2].ValidFrom != "2018-01-01" {
			t.Errorf("version 3: %+v", got.Versions[2])
		}
	})
}

// TestImportsPersonsAsTheyWere: POST /v1/imports books each claim with its person's
// attributes in force on its discharge day. A dibao person is taken off dibao (PUT with
// valid_from) the day after their first 2018 claim; their claims imported with what the
// engine pays under each day's attributes read back through the API with the aid
// category and person_version of their day, and the audit of 2018 finds nothing.
func TestImportsPersonsAsTheyWere(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		d, err := fixtures.Load()
		if err != nil {
			t.Fatal(err)
		}
		first, _ := dibaoPair(t, d)
		id := first.PersonID
		var claims []calc.Claim
		for _, c := range d.Claims.Claims {
			if c.PersonID == id {
				claims = append(claims, c)
			}
		}
		order := replay.Order(claims)
		cut := claims[order[0]].DischargedOn + 1
		p := d.Persons[id]
		put := fmt.Appendf(nil, `[{"person_id":%q,"household_id":%q,"registered_poor":%v,"aid_category":"none","valid_from":%q}]`,
			id, p.HouseholdID, p.RegisteredPoor, cut.String())
		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", put), http.StatusOK, nil)
		off := p
		off.Aid = calc.AidNone
		var (
			ledger calc.Ledger
			rows   []csvdata.SettlementRow
		)
		for _, i := range order {
			c, person := &claims[i], p
			if c.DischargedOn >= cut {
				person = off
			}
			var st calc.Settlement
			if err := calc.SettleInto(&st, d.Policies.At(c.DischargedOn), &person, &ledger, c); err != nil {
				t.Fatal(err)
			}
			row := csvdata.SettlementRow{ClaimID: c.ID, OutOfPocket: st.OutOfPocket}
			for l := range calc.NumLines {
				row.Lines[l] = st.Lines[l].Amount
			}
			rows = append(rows, row)
		}
		var cb, pb bytes.Buffer
		if err := csvdata.WriteClaims(&cb, claims); err != nil {
			t.Fatal(err)
		}
		if err := csvdata.WriteSettlementRows(&pb, rows); err != nil {
			t.Fatal(err)
		}
		body, ct := multipartBody(t, map[string][]byte{"claims": cb.Bytes(), "paid": pb.Bytes()})
		want(t, v.serve(v.request(http.MethodPost, "/v1/imports", asAdmin, ct, body)), http.StatusCreated, nil)
		for _, c := range claims {
			var st struct {
				AidCategory   string `json:"aid_category"`
				PersonVersion int    `json:"person_version"`
				Imported      bool   `json:"imported"`
			}
			want(t, v.do(http.MethodGet, "/v1/claims/"+c.ID+"/settlement", asAuditor, "", nil), http.StatusOK, &st)
			wantAid, wantVersion := "dibao", 1
			if c.DischargedOn >= cut {
				wantAid, wantVersion = "none", 2
			}
			if !st.Imported || st.AidCategory != wantAid || st.PersonVersion != wantVersion {
				t.Errorf("claim %s discharged %s (off dibao from %s): %+v; want imported, %s, person_version %d",
					c.ID, c.DischargedOn, cut, st, wantAid, wantVersion)
			}
		}
		var a auditReply
		want(t, v.do(http.MethodPost, "/v1/replays", asAuditor, "application/json", []byte(`{"from":"2018-01-01","to":"2018-12-31"}`)), http.StatusOK, &a)
		if len(a.Differences) != 0 {
			t.Errorf("audit of 2018 after the import: %+v", a.Differences)
		}
	})
}
