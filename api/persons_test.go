package api_test

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/store"
	"github.com/hpcalc/hpcalc/store/storetest"
)

// personOut is a person as GET /v1/persons answers it.
type personOut struct {
	PersonID       string `json:"person_id"`
	HouseholdID    string `json:"household_id"`
	RegisteredPoor bool   `json:"registered_poor"`
	AidCategory    string `json:"aid_category"`
}

type personPage struct {
	Persons []personOut `json:"persons"`
	Next    *string     `json:"next"`
}

// shippedPersons is the shipped register as GET /v1/persons should answer it.
func shippedPersons(t *testing.T) map[string]personOut {
	t.Helper()
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]personOut{}
	for id, p := range d.Persons {
		out[id] = personOut{PersonID: p.ID, HouseholdID: p.HouseholdID, RegisteredPoor: p.RegisteredPoor, AidCategory: p.Aid.String()}
	}
	return out
}

// TestGetPerson looks up every shipped person, a person put through the API as it was
// put, and refuses a missing person (404) and an id that is no id (400 naming id).
func TestGetPerson(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		for id, wantP := range shippedPersons(t) {
			var got personOut
			want(t, v.do(http.MethodGet, "/v1/persons/"+id, asAuditor, "", nil), http.StatusOK, &got)
			if got != wantP {
				t.Errorf("GET /v1/persons/%s = %+v, want %+v", id, got, wantP)
			}
		}
		put := `[{"person_id":"户1","household_id":"H-9","registered_poor":false,"aid_category":"tekun"}]`
		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", []byte(put)), http.StatusOK, nil)
		var got personOut
		want(t, v.do(http.MethodGet, "/v1/persons/%E6%88%B71", asAdmin, "", nil), http.StatusOK, &got)
		if w := (personOut{PersonID: "户1", HouseholdID: "H-9", RegisteredPoor: false, AidCategory: "tekun"}); got != w {
			t.Errorf("the person put reads back as %+v, want %+v", got, w)
		}

		rec := v.do(http.MethodGet, "/v1/persons/NOBODY", asAuditor, "", nil)
		var p problem
		want(t, rec, http.StatusNotFound, &p)
		if ct := rec.Header().Get("Content-Type"); ct != "application/problem+json" || !strings.Contains(p.Detail, "NOBODY") {
			t.Errorf("missing person: %s %s", ct, rec.Body)
		}
		for _, bad := range []string{"bad%20id", strings.Repeat("P", 65)} {
			rec := v.do(http.MethodGet, "/v1/persons/"+bad, asAuditor, "", nil)
			var p problem
			want(t, rec, http.StatusBadRequest, &p)
			if len(p.Errors) != 1 || p.Errors[0].Field != "id" || p.Errors[0].Rule == "" {
				t.Errorf("id %s: %s, want the field id and its rule", bad, rec.Body)
			}
		}
	})
}

// TestListPersons pages through the shipped register: with a small limit the pages,
// following next, are the whole register once in id order, the last page's next is null;
// the default page is 100; a bad limit or after is refused naming it.
func TestListPersons(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		shipped := shippedPersons(t)
		got := map[string]personOut{}
		path, last, pages := "/v1/persons?limit=7", "", 0
		for {
			var page personPage
			want(t, v.do(http.MethodGet, path, asAuditor, "", nil), http.StatusOK, &page)
			pages++
			if len(page.Persons) > 7 || len(page.Persons) == 0 {
				t.Fatalf("%s: %d persons", path, len(page.Persons))
			}
			for _, p := range page.Persons {
				if p.PersonID <= last {
					t.Fatalf("%s: %s after %s, not in id order", path, p.PersonID, last)
				}
				last = p.PersonID
				got[p.PersonID] = p
			}
			if page.Next == nil {
				break
			}
			if *page.Next != last {
				t.Fatalf("%s: next %s, the page ends at %s", path, *page.Next, last)
			}
			path = "/v1/persons?limit=7&after=" + *page.Next
		}
		if len(got) != len(shipped) {
			t.Errorf("paged %d persons, shipped %d", len(got), len(shipped))
		}
		for id, w := range shipped {
			if got[id] != w {
				t.Errorf("person %s paged as %+v, want %+v", id, got[id], w)
			}
		}
		if wantPages := (len(shipped) + 6) / 7; pages != wantPages {
			t.Errorf("%d pages of 7, want %d", pages, wantPages)
		}

		var first personPage
		want(t, v.do(http.MethodGet, "/v1/persons", asAdmin, "", nil), http.StatusOK, &first)
		if len(shipped) > 100 && (len(first.Persons) != 100 || first.Next == nil || *first.Next != first.Persons[99].PersonID) {
			t.Errorf("default page: %d persons, next %v; want 100 and the last id", len(first.Persons), first.Next)
		}
		var all personPage
		want(t, v.do(http.MethodGet, "/v1/persons?limit=1000", asAdmin, "", nil), http.StatusOK, &all)
		if len(all.Persons) != len(shipped) || all.Next != nil {
			t.Errorf("limit=1000: %d persons, next %v; want %d and null", len(all.Persons), all.Next, len(shipped))
		}
		var none personPage
		want(t, v.do(http.MethodGet, "/v1/persons?after="+last, asAdmin, "", nil), http.StatusOK, &none)
		if none.Persons == nil || len(none.Persons) != 0 || none.Next != nil {
			t.Errorf("after the last: %+v, want an empty list and null", none)
		}

		for _, tt := range []struct{ query, field string }{
			{"limit=0", "limit"},
			{"limit=-1", "limit"},
			{"limit=1001", "limit"},
			{"limit=ten", "limit"},
			{"limit=1.5", "limit"},
			{"after=", "after"},
			{"after=a%20b", "after"},
			{"after=" + strings.Repeat("P", 65), "after"},
		} {
			rec := v.do(http.MethodGet, "/v1/persons?"+tt.query, asAuditor, "", nil)
			var p problem
			want(t, rec, http.StatusBadRequest, &p)
			if rec.Header().Get("Content-Type") != "application/problem+json" || len(p.Errors) != 1 || p.Errors[0].Field != tt.field || p.Errors[0].Rule == "" {
				t.Errorf("?%s: %s, want the field %s and its rule", tt.query, rec.Body, tt.field)
			}
		}
	})
}

// TestPutPersonRoundTrip reads a person (GET /v1/persons/{id}), changes its members and
// sends it back (PUT /v1/persons), on both databases. The GET representation is taken:
// version is a precondition (409 naming [i].version when the register holds another,
// nothing stored), recorded_at and versions are read-only and ignored; a member GET
// never gives is still refused, naming it. Each case has a person of its own, and the
// GET after the PUT shows the person as sent and the versions recorded.
func TestPutPersonRoundTrip(t *testing.T) {
	storetest.ForEachDB(t, func(t *testing.T, s *store.Store) {
		v := newEnv(t, s)
		ids := slices.Sorted(maps.Keys(shippedPersons(t)))
		get := func(t *testing.T, id string) map[string]any {
			t.Helper()
			var p map[string]any
			want(t, v.do(http.MethodGet, "/v1/persons/"+id, asAuditor, "", nil), http.StatusOK, &p)
			return p
		}
		aidOther := func(p map[string]any) string {
			if p["aid_category"] == "tekun" {
				return "dibao"
			}
			return "tekun"
		}
		tests := []struct {
			name string
			// edit changes the person as GET gave it; the body is [the edited person],
			// unless body makes it from the person.
			edit   func(p map[string]any)
			body   func(p map[string]any) []any
			status int
			field  string // the problem's field, for a refusal
			// versions is how many versions GET lists after (the shipped person has 1);
			// changed: the top-level aid_category is aidOther of the one read.
			versions int
			changed  bool
		}{
			{name: "as read", edit: func(map[string]any) {}, status: http.StatusOK, versions: 1},
			{name: "one field changed", edit: func(p map[string]any) { p["aid_category"] = aidOther(p) }, status: http.StatusOK, versions: 2, changed: true},
			{name: "version null", edit: func(p map[string]any) { p["version"] = nil; p["aid_category"] = aidOther(p) }, status: http.StatusOK, versions: 2, changed: true},
			{name: "version left out", edit: func(p map[string]any) { delete(p, "version"); p["aid_category"] = aidOther(p) }, status: http.StatusOK, versions: 2, changed: true},
			{name: "recorded_at and versions changed are ignored", edit: func(p map[string]any) {
				p["recorded_at"] = "2001-01-01T00:00:00Z"
				p["versions"] = []any{map[string]any{"version": 7, "aid_category": "tekun"}}
				p["aid_category"] = aidOther(p)
			}, status: http.StatusOK, versions: 2, changed: true},
			{name: "recorded_at and versions null", edit: func(p map[string]any) { p["recorded_at"] = nil; p["versions"] = nil }, status: http.StatusOK, versions: 1},
			{name: "with valid_from", edit: func(p map[string]any) { p["valid_from"] = "2018-07-01"; p["aid_category"] = aidOther(p) }, status: http.StatusOK, versions: 2, changed: true},
			{name: "two versions, version on both", body: func(p map[string]any) []any {
				a, b := maps.Clone(p), maps.Clone(p)
				a["valid_from"], a["valid_to"] = "2018-01-01", "2018-06-30"
				b["valid_from"], b["aid_category"] = "2018-07-01", aidOther(p)
				return []any{a, b}
			}, status: http.StatusOK, versions: 3, changed: true},

			{name: "stale version", edit: func(p map[string]any) { p["version"] = 2; p["aid_category"] = aidOther(p) }, status: http.StatusConflict, field: "[0].version", versions: 1},
			{name: "version of a person not on the register", edit: func(p map[string]any) { p["person_id"] = "NEW-" + p["person_id"].(string) }, status: http.StatusConflict, field: "[0].version", versions: 1},
			{name: "stale version in the second element", body: func(p map[string]any) []any {
				other := maps.Clone(p)
				other["person_id"] = "NEW-" + p["person_id"].(string)
				delete(other, "version")
				q := maps.Clone(p)
				q["version"], q["aid_category"] = 5, aidOther(p)
				return []any{other, q}
			}, status: http.StatusConflict, field: "[1].version", versions: 1},
			{name: "version 0", edit: func(p map[string]any) { p["version"] = 0 }, status: http.StatusUnprocessableEntity, field: "[0].version", versions: 1},
			{name: "version not whole", edit: func(p map[string]any) { p["version"] = 1.5 }, status: http.StatusUnprocessableEntity, field: "[0].version", versions: 1},
			{name: "version as text", edit: func(p map[string]any) { p["version"] = "1" }, status: http.StatusUnprocessableEntity, field: "[0].version", versions: 1},
			{name: "two versions disagree", body: func(p map[string]any) []any {
				a, b := maps.Clone(p), maps.Clone(p)
				a["valid_from"], a["valid_to"] = "2018-01-01", "2018-06-30"
				b["valid_from"], b["version"] = "2018-07-01", 2
				return []any{a, b}
			}, status: http.StatusUnprocessableEntity, field: "[1].version", versions: 1},
			{name: "versions not an array", edit: func(p map[string]any) { p["versions"] = "all" }, status: http.StatusUnprocessableEntity, field: "[0].versions", versions: 1},
			{name: "recorded_at not text", edit: func(p map[string]any) { p["recorded_at"] = 5 }, status: http.StatusUnprocessableEntity, field: "[0].recorded_at", versions: 1},
			{name: "unknown member", edit: func(p map[string]any) { p["nickname"] = "Lao Wang"; p["aid_category"] = aidOther(p) }, status: http.StatusUnprocessableEntity, field: "[0].nickname", versions: 1},
		}
		if len(tests) > len(ids) {
			t.Fatalf("%d cases, %d shipped persons", len(tests), len(ids))
		}
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				id := ids[i]
				read := get(t, id)
				if read["version"] != float64(1) || read["recorded_at"] == nil {
					t.Fatalf("GET %s as loaded: %v", id, read)
				}
				p := maps.Clone(read)
				var body []any
				if tt.body != nil {
					body = tt.body(p)
				} else {
					tt.edit(p)
					body = []any{p}
				}
				rec := v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", mustJSON(t, body))
				if tt.field != "" {
					var pr problem
					want(t, rec, tt.status, &pr)
					if len(pr.Errors) != 1 || pr.Errors[0].Field != tt.field || pr.Errors[0].Rule == "" {
						t.Errorf("problem %s; want the one field %s and its rule", rec.Body, tt.field)
					}
					if tt.status == http.StatusConflict && (!strings.Contains(pr.Detail, "nothing was stored") || !strings.Contains(pr.Errors[0].Rule, "is ")) {
						t.Errorf("conflict %s: want it to say what was given and that nothing was stored", rec.Body)
					}
				} else {
					want(t, rec, tt.status, nil)
				}
				after := get(t, id)
				if got := len(after["versions"].([]any)); got != tt.versions {
					t.Errorf("after the PUT: %d versions, want %d: %v", got, tt.versions, after)
				}
				wantAid := read["aid_category"]
				if tt.changed {
					wantAid = aidOther(read)
				}
				if after["aid_category"] != wantAid || after["household_id"] != read["household_id"] || after["version"] != float64(tt.versions) {
					t.Errorf("after the PUT: %v; want aid_category %v, household_id %v, version %d", after, wantAid, read["household_id"], tt.versions)
				}
				if tt.status == http.StatusConflict {
					rec := v.do(http.MethodGet, "/v1/persons/NEW-"+id, asAuditor, "", nil)
					if rec.Code != http.StatusNotFound {
						t.Errorf("a refused PUT stored NEW-%s: %d %s", id, rec.Code, rec.Body)
					}
				}
			})
		}

		// The round trip twice over: a second client that read the person before the
		// first one's change is refused, then reads again and succeeds.
		id := ids[len(tests)]
		first, second := get(t, id), get(t, id)
		first["household_id"] = "H-MOVED"
		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", mustJSON(t, []any{first})), http.StatusOK, nil)
		second["aid_category"] = aidOther(second)
		var pr problem
		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", mustJSON(t, []any{second})), http.StatusConflict, &pr)
		if len(pr.Errors) != 1 || !strings.Contains(pr.Errors[0].Rule, "version 2 now") {
			t.Errorf("the second writer's conflict: %+v; want it to name version 2", pr)
		}
		second = get(t, id)
		second["aid_category"] = aidOther(second)
		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", mustJSON(t, []any{second})), http.StatusOK, nil)
		if got := get(t, id); got["household_id"] != "H-MOVED" || got["aid_category"] != second["aid_category"] || got["version"] != float64(3) {
			t.Errorf("after both changes: %v; want household H-MOVED, aid %v, version 3", got, second["aid_category"])
		}

		// A page of GET /v1/persons goes back as it is, and records nothing.
		var page struct {
			Persons []map[string]any `json:"persons"`
		}
		want(t, v.do(http.MethodGet, "/v1/persons?limit=5&after="+ids[len(tests)], asAuditor, "", nil), http.StatusOK, &page)
		want(t, v.do(http.MethodPut, "/v1/persons", asAdmin, "application/json", mustJSON(t, page.Persons)), http.StatusOK, nil)
		for _, p := range page.Persons {
			if got := get(t, p["person_id"].(string)); got["version"] != float64(1) {
				t.Errorf("person %v after its page was sent back: version %v, want 1", p["person_id"], got["version"])
			}
		}
	})
}
