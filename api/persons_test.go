package api_test

import (
	"net/http"
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
