package api

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/csvdata"
	"github.com/hpcalc/hpcalc/store"
	"github.com/labstack/echo/v4"
)

// personJSON is a person in a PUT /v1/persons body. It takes what GET /v1/persons/{id}
// (and each person of GET /v1/persons) answers, so that a client may read a person,
// change a field and send it back: the members only GET gives are read-only. version
// is a precondition, as a resource version is in other REST APIs: when given, the
// register must still hold that version as the person's current one, else nothing is
// stored and the answer is 409 (store.StaleError). recorded_at and versions are the
// server's record of what was stored; they are ignored (whatever they say, the
// versions recorded are never edited: a change to a past period is a new version with
// valid_from and valid_to), but must have the types GET gives them. Any other member
// is refused, naming it.
type personJSON struct {
	PersonID       string  `json:"person_id"`
	HouseholdID    string  `json:"household_id"`
	RegisteredPoor *bool   `json:"registered_poor"`
	AidCategory    string  `json:"aid_category"` // dibao, tekun, or "" / none
	ValidFrom      *string `json:"valid_from"`   // absent or null: today, or the beginning for a new person
	ValidTo        *string `json:"valid_to"`     // absent or null: no end

	Version    json.RawMessage   `json:"version"`     // absent or null: no precondition
	RecordedAt *string           `json:"recorded_at"` // read-only: ignored
	Versions   []json.RawMessage `json:"versions"`    // read-only: ignored
}

// givenVersion is p's version member: the version the client read, and whether it gave
// one. A version is a whole number from 1 on, as GET gives it.
func (p *personJSON) givenVersion(at string, f *fields) (int32, bool) {
	raw := bytes.TrimSpace(p.Version)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil || n < 1 {
		f.addf(at+"version", "%s is not a version: want the whole number from 1 on that GET /v1/persons/%s gave, or leave version out", raw, p.PersonID)
		return 0, false
	}
	return int32(n), true
}

// providerJSON is a provider in a PUT /v1/providers body.
type providerJSON struct {
	ProviderID string `json:"provider_id"`
	Name       string `json:"name"`
	Level      string `json:"level"`
}

// upsertResult reports a bulk upsert.
type upsertResult struct {
	Upserted int `json:"upserted"`
}

// maxFieldErrors is the most field errors a list body reports.
const maxFieldErrors = 100

// putPersons answers PUT /v1/persons: a JSON array of persons or a persons.csv file
// (Content-Type text/csv), each a new version of its person, all recorded in one
// transaction or none (store.UpsertPersonVersions).
func (s *server) putPersons(c echo.Context) error {
	// The versions the body says it read (personJSON.Version), by person, and the body
	// index that gave each first.
	var (
		current map[string]int32
		givenAt map[string]int
	)
	list, err := readList(c, "persons", csvdata.ReadPersonVersions, func(p personJSON, at string, f *fields, seen map[string]bool) calc.PersonVersion {
		i, _ := strconv.Atoi(strings.Trim(at, "[].")) // at is "[i]."
		if v, ok := p.givenVersion(at, f); ok {
			if current == nil {
				current, givenAt = map[string]int32{}, map[string]int{}
			}
			if was, dup := current[p.PersonID]; dup && was != v {
				f.addf(at+"version", "is %d, but [%d] gives person %s's version as %d: one body changes one version of a person", v, givenAt[p.PersonID], p.PersonID, was)
			} else if !dup {
				current[p.PersonID], givenAt[p.PersonID] = v, i
			}
		}
		out := calc.PersonVersion{Person: calc.Person{ID: p.PersonID, HouseholdID: p.HouseholdID}, From: calc.NoDate, To: calc.NoDate}
		if p.ValidFrom == nil && p.ValidTo == nil {
			f.uniqueID(at+"person_id", p.PersonID, seen)
		} else if rule := calc.IDRule(p.PersonID); rule != "" {
			f.add(at+"person_id", rule) // a person's versions may repeat the id
		}
		if rule := calc.IDRule(p.HouseholdID); rule != "" {
			f.add(at+"household_id", rule)
		}
		if p.RegisteredPoor == nil {
			f.add(at+"registered_poor", "is required: true or false")
		} else {
			out.RegisteredPoor = *p.RegisteredPoor
		}
		aid, err := calc.ParseAidCategory(p.AidCategory)
		if err != nil {
			f.addf(at+"aid_category", "%q is not an aid category (want dibao, tekun, or none)", p.AidCategory)
		}
		out.Aid = aid
		for _, d := range []struct {
			name string
			in   *string
			out  *calc.Date
		}{{"valid_from", p.ValidFrom, &out.From}, {"valid_to", p.ValidTo, &out.To}} {
			if d.in == nil {
				continue
			}
			day, err := calc.ParseDate(*d.in)
			if err != nil || day < calc.Beginning || day > calc.End {
				f.addf(at+d.name, "%q is not a calendar date written YYYY-MM-DD, such as 2018-07-01", *d.in)
				continue
			}
			*d.out = day
		}
		if out.From != calc.NoDate && out.To != calc.NoDate && out.To < out.From {
			f.addf(at+"valid_to", "%s is before valid_from %s", out.To, out.From)
		}
		return out
	})
	if err != nil {
		return err
	}
	// A person's versions together and in date order, as the store takes them; a JSON
	// body may give them in any order. order[k] is the body's index of list[k].
	order := make([]int, len(list))
	first := map[string]int{}
	for i := range list {
		order[i] = i
		if _, ok := first[list[i].ID]; !ok {
			first[list[i].ID] = i
		}
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := &list[a], &list[b]
		return cmp.Or(cmp.Compare(first[x.ID], first[y.ID]), cmp.Compare(x.From, y.From))
	})
	sorted := make([]calc.PersonVersion, len(list))
	for k, i := range order {
		sorted[k] = list[i]
	}
	if err := s.store.UpsertPersonVersionsIf(c.Request().Context(), sorted, current); err != nil {
		var (
			ve    *store.VersionError
			stale *store.StaleError
		)
		if errors.As(err, &stale) {
			rule := fmt.Sprintf("is %d, but person %s is not on the register", stale.Given, stale.PersonID)
			if stale.Current != 0 {
				rule = fmt.Sprintf("is %d, but person %s is at version %d now: read the person again (GET /v1/persons/%s), make the change on what it answers, and send that", stale.Given, stale.PersonID, stale.Current, stale.PersonID)
			}
			return fail(kindConflict, "person "+stale.PersonID+" changed since it was read; nothing was stored",
				fieldError{Field: fmt.Sprintf("[%d].version", givenAt[stale.PersonID]), Rule: rule})
		}
		if errors.As(err, &ve) {
			field := ve.Field
			if isJSON(mediaType(c)) && ve.Index < len(order) {
				field = fmt.Sprintf("[%d].%s", order[ve.Index], ve.Field)
			}
			return fail(kindInvalid, "persons are invalid; nothing was stored", fieldError{Field: field, Rule: "person " + ve.PersonID + ": " + ve.Rule})
		}
		return err
	}
	return writeJSON(c, http.StatusOK, upsertResult{Upserted: len(list)})
}

// putProviders answers PUT /v1/providers: a JSON array of providers or a providers.csv
// file (Content-Type text/csv), all upserted in one transaction or none.
func (s *server) putProviders(c echo.Context) error {
	providers, err := readList(c, "providers", csvdata.ReadProviders, func(p providerJSON, at string, f *fields, seen map[string]bool) calc.Provider {
		out := calc.Provider{ID: p.ProviderID, Name: p.Name}
		f.uniqueID(at+"provider_id", p.ProviderID, seen)
		level, err := calc.ParseLevel(p.Level)
		if err != nil {
			f.addf(at+"level", "%q is not a provider level (want one of %s)", p.Level, levelNames())
		}
		out.Level = level
		return out
	})
	if err != nil {
		return err
	}
	if err := s.store.UpsertProviders(c.Request().Context(), providers); err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, upsertResult{Upserted: len(providers)})
}

func levelNames() string {
	var b bytes.Buffer
	for i, l := range calc.Levels() {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(l.String())
	}
	return b.String()
}

// uniqueID checks an identifier that must not repeat within one body.
func (f *fields) uniqueID(field, id string, seen map[string]bool) {
	switch rule := calc.IDRule(id); {
	case rule != "":
		f.add(field, rule)
	case seen[id]:
		f.add(field, "duplicate "+id+" in this body")
	default:
		seen[id] = true
	}
}

// readList reads the body of a bulk upsert: CSV read by readCSV when the content type is
// text/csv, else a JSON array whose elements are J, each decoded strictly and converted
// by convert, which records field errors under the prefix it is given ("[3].").
func readList[T, J any](c echo.Context, what string, readCSV func(string, io.Reader) ([]T, error),
	convert func(j J, at string, f *fields, seen map[string]bool) T) ([]T, error) {
	mt := mediaType(c)
	if mt != "text/csv" && !isJSON(mt) {
		return nil, fail(kindMediaType, "send "+what+" as application/json (an array) or text/csv, not "+mt)
	}
	body, err := readBody(c)
	if err != nil {
		return nil, err
	}
	if mt == "text/csv" {
		list, err := readCSV("body", bytes.NewReader(body))
		return list, invalidInput(err, "the CSV body")
	}
	var raws []json.RawMessage
	if err := decodeStrict(body, &raws, ""); err != nil {
		return nil, err
	}
	var (
		f    fields
		out  = make([]T, 0, len(raws))
		seen = map[string]bool{}
		more int
	)
	for i, raw := range raws {
		if len(f.errs) >= maxFieldErrors {
			more = len(raws) - i
			break
		}
		at := fmt.Sprintf("[%d].", i)
		var j J
		if err := decodeStrict(raw, &j, at); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.kind != kindInvalid {
				return nil, err
			}
			f.errs = append(f.errs, ae.fields...)
			continue
		}
		out = append(out, convert(j, at, &f, seen))
	}
	if len(f.errs) > 0 {
		detail := what + " are invalid; nothing was stored"
		if more > 0 {
			detail += "; " + strconv.Itoa(more) + " more elements were not checked"
		}
		return nil, fail(kindInvalid, detail, f.errs...)
	}
	return out, nil
}

// getLedger answers GET /v1/persons/{id}/ledger?year=2018.
func (s *server) getLedger(c echo.Context) error {
	year, err := yearParam(c.QueryParam("year"))
	if err != nil {
		return err
	}
	id := c.Param("id")
	l, err := s.store.Ledger(c.Request().Context(), id, year)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, ledgerOut(id, l))
}

func yearParam(s string) (int, error) {
	if s == "" {
		return 0, fail(kindBadRequest, "the query parameter year is required", fieldError{Field: "year", Rule: "is required, e.g. year=2018"})
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 1900 || y > 9999 {
		return 0, fail(kindBadRequest, "bad query parameter", fieldError{Field: "year", Rule: fmt.Sprintf("%q is not a calendar year such as 2018", s)})
	}
	return y, nil
}

// personOut is a person as GET /v1/persons answers it: the fields PUT /v1/persons takes,
// as the register now stands, and the version they are.
type personOut struct {
	PersonID       string `json:"person_id"`
	HouseholdID    string `json:"household_id"`
	RegisteredPoor bool   `json:"registered_poor"`
	AidCategory    string `json:"aid_category"`
	Version        int32  `json:"version,omitempty"`
}

// personDetail is a person as GET /v1/persons/{id} answers it: personOut, when its
// version was recorded, and every version recorded, as PUT /v1/persons recorded them.
type personDetail struct {
	personOut
	// RecordedAt is when Version was recorded; null for a version from before versions
	// were kept (migration 0013 made one of each person on file, without a time).
	RecordedAt *time.Time          `json:"recorded_at"`
	Versions   []personVersionJSON `json:"versions"`
}

// personVersionJSON is a register version of a person: a null valid_from holds from the
// beginning, a null valid_to has no end. A later version overrides an earlier one on the
// days it holds.
type personVersionJSON struct {
	Version        int32      `json:"version"`
	ValidFrom      *string    `json:"valid_from"`
	ValidTo        *string    `json:"valid_to"`
	HouseholdID    string     `json:"household_id"`
	RegisteredPoor bool       `json:"registered_poor"`
	AidCategory    string     `json:"aid_category"`
	RecordedAt     *time.Time `json:"recorded_at"`
}

func personOutOf(p calc.Person) personOut {
	return personOut{PersonID: p.ID, HouseholdID: p.HouseholdID, RegisteredPoor: p.RegisteredPoor, AidCategory: p.Aid.String(), Version: p.Version}
}

// recordedAt is t for JSON: null for the zero time (not kept).
func recordedAt(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func versionsOut(h []store.RecordedVersion) []personVersionJSON {
	out := make([]personVersionJSON, len(h))
	for i := range h {
		v := &h[i]
		out[i] = personVersionJSON{Version: v.Version, HouseholdID: v.HouseholdID, RegisteredPoor: v.RegisteredPoor, AidCategory: v.Aid.String(),
			RecordedAt: recordedAt(v.RecordedAt)}
		if v.From != calc.Beginning {
			d := v.From.String()
			out[i].ValidFrom = &d
		}
		if v.To != calc.End {
			d := v.To.String()
			out[i].ValidTo = &d
		}
	}
	return out
}

// personList is a page of GET /v1/persons.
type personList struct {
	Persons []personOut `json:"persons"`
	// Next is the after of the next page; nil on the last page.
	Next *string `json:"next"`
}

// Pages of GET /v1/persons.
const (
	defaultPersonsLimit = 100
	maxPersonsLimit     = 1000
)

// getPerson answers GET /v1/persons/{id}: the person as the register now stands (in
// force on the last day of their timeline, as the persons row and GET /v1/persons say),
// read with the versions in one query so that both are of one moment.
func (s *server) getPerson(c echo.Context) error {
	id := c.Param("id")
	if rule := calc.IDRule(id); rule != "" {
		return fail(kindBadRequest, "bad person id in the path", fieldError{Field: "id", Rule: rule})
	}
	versions, err := s.store.PersonVersions(c.Request().Context(), id)
	if err != nil {
		return err
	}
	h := make(calc.History, len(versions))
	for i := range versions {
		h[i] = versions[i].PersonVersion
	}
	out := personDetail{Versions: versionsOut(versions)}
	if p := h.Last(); p != nil {
		out.personOut = personOutOf(*p)
		for i := range versions {
			if versions[i].Version == p.Version {
				out.RecordedAt = recordedAt(versions[i].RecordedAt)
			}
		}
	}
	return writeJSON(c, http.StatusOK, out)
}

// listPersons answers GET /v1/persons?limit=N&after=ID: a page of the register in id
// order, and the after of the next page.
func (s *server) listPersons(c echo.Context) error {
	var f fields
	limit := defaultPersonsLimit
	if q := c.QueryParam("limit"); q != "" {
		n, err := strconv.Atoi(q)
		if err != nil || n < 1 || n > maxPersonsLimit {
			f.addf("limit", "%q is not a whole number from 1 to %d", q, maxPersonsLimit)
		}
		limit = n
	}
	after := c.QueryParam("after")
	if _, given := c.QueryParams()["after"]; given {
		if rule := calc.IDRule(after); rule != "" {
			f.add("after", rule)
		}
	}
	if len(f.errs) > 0 {
		return fail(kindBadRequest, "bad query parameter", f.errs...)
	}
	// One more than the page tells whether another page follows.
	list, err := s.store.PersonsAfter(c.Request().Context(), after, limit+1)
	if err != nil {
		return err
	}
	out := personList{Persons: make([]personOut, 0, min(len(list), limit))}
	for i, p := range list {
		if i == limit {
			next := list[limit-1].ID
			out.Next = &next
			break
		}
		out.Persons = append(out.Persons, personOutOf(p))
	}
	return writeJSON(c, http.StatusOK, out)
}
