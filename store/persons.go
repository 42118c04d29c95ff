package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// The register's versions (migration 0013, docs/storage.md "Persons as they were"): each
// upsert records new versions, never edits one; a later version overrides the earlier on
// the days it holds. persons keeps each person's id and the attributes in force on the
// last day of their timeline, for listing.

// VersionError is an upsert's version whose days are wrong once its defaults are taken:
// Field is valid_from or valid_to, Index the version's place in the upsert.
// errors.Is(err, calc.ErrInvalid) holds.
type VersionError struct {
	Index    int
	PersonID string
	Field    string
	Rule     string
}

func (e *VersionError) Error() string {
	return fmt.Sprintf("person %s: %s: %s", e.PersonID, e.Field, e.Rule)
}

// Is makes errors.Is(err, calc.ErrInvalid) true.
func (e *VersionError) Is(target error) bool { return target == calc.ErrInvalid }

// china is the time zone whose calendar day "today" is: the register is a county's.
var china = time.FixedZone("CST", 8*60*60)

// Today is the day an upsert without valid_from starts its versions on: the store's
// clock's date in China (UTC+8).
func (s *Store) Today() calc.Date {
	y, m, d := s.Now().In(china).Date()
	return calc.NewDate(y, m, d)
}

// StaleError refuses an upsert that says which version of a person it changes
// (UpsertPersonVersionsIf) when the register holds another now: someone else recorded a
// version since the caller read the person. errors.Is(err, ErrConflict) holds.
type StaleError struct {
	PersonID string
	Given    int32 // the version the caller read
	Current  int32 // the version the register holds now; 0 for a person not on it
}

func (e *StaleError) Error() string {
	if e.Current == 0 {
		return fmt.Sprintf("person %s: version %d was given, but the person is not on the register", e.PersonID, e.Given)
	}
	return fmt.Sprintf("person %s: version %d was given, but the register holds version %d now", e.PersonID, e.Given, e.Current)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *StaleError) Is(target error) bool { return target == ErrConflict }

// UpsertPersons records the persons as new versions from today on (from the beginning
// for a person not yet on the register): UpsertPersonVersions with no dates.
func (s *Store) UpsertPersons(ctx context.Context, persons []calc.Person) error {
	list := make([]calc.PersonVersion, len(persons))
	for i, p := range persons {
		list[i] = calc.PersonVersion{Person: p, From: calc.NoDate, To: calc.NoDate}
	}
	return s.UpsertPersonVersions(ctx, list)
}

// UpsertPersonVersions records, in one transaction, each version as a new version of its
// person holding from From to To inclusive. From calc.NoDate is today (Today), or the
// beginning for a person not yet on the register; To calc.NoDate is no end. Versions
// already recorded are never edited: the new one overrides them on the days it holds,
// and a settled claim keeps the version it was settled with (the audit reports a claim
// the change would alter). A person's versions that would change nothing (the same
// attributes in force on every day) record nothing, so that sending a register again is
// harmless. A person's versions must come in date order and not overlap. Errors: a
// *VersionError (calc.ErrInvalid) for a version that ends before it starts, overlaps the
// one before or, being one of several of a person, has no From; the database's.
func (s *Store) UpsertPersonVersions(ctx context.Context, versions []calc.PersonVersion) error {
	return s.UpsertPersonVersionsIf(ctx, versions, nil)
}

// UpsertPersonVersionsIf is UpsertPersonVersions on a condition: current[id], for each
// person it names, is the version the caller read as the person's current one (the
// version in force on the last day of their timeline, as PersonVersions' calc.History.Last
// and the persons row give it). If the register holds another, or does not hold the
// person, nothing is stored and the error is a *StaleError. The check and the write are
// in one transaction, the person's row locked on PostgreSQL (SQLite has one writer), so a
// version recorded meanwhile by another upsert is never overwritten unseen. Upserts of
// one person at once take their turns, whether or not the person was registered before;
// on PostgreSQL one that lost a race (a version number taken meanwhile, a deadlock between
// upserts of several persons) is run again from the start, as InPersonYear is.
func (s *Store) UpsertPersonVersionsIf(ctx context.Context, versions []calc.PersonVersion, current map[string]int32) (err error) {
	defer s.classify(&err)
	for attempt := 1; ; attempt++ {
		err = s.upsertPersonVersions(ctx, versions, current)
		if err == nil || !(retryable(err) || raced(err)) || ctx.Err() != nil {
			return err
		}
		if attempt == maxPersonYearAttempts {
			// Other upserts of these persons kept coming first: a conflict the client
			// may retry, not a fault of the server.
			return fmt.Errorf("%w: upsert persons: other upserts of the same persons ran at once %d times; send it again: %w", ErrConflict, attempt, err)
		}
	}
}

// raced reports whether PostgreSQL refused a person's new version because another upsert
// recorded the same version number meanwhile: two upserts of a person not yet on the
// register both read an empty history (there is no row to lock yet), and the one that
// commits second finds the first's version 1 taken. Run again, it reads that version
// under the person's lock, as an upsert of a registered person does.
func raced(err error) bool {
	var pe *pq.Error
	return errors.Is(err, errPersonCreated) || errors.As(err, &pe) && pe.Code == "23505" && pe.Table == "person_versions"
}

func (s *Store) upsertPersonVersions(ctx context.Context, versions []calc.PersonVersion, current map[string]int32) (err error) {
	today := s.Today()
	// Each person's versions, [lo, hi) of versions, taken in the order of their ids: two
	// upserts of the same persons in other orders would otherwise each hold one person's
	// lock while waiting for the other's.
	type span struct{ lo, hi int }
	var people []span
	runs := map[string]int{} // how many runs of versions each person has: one, unless split
	for lo := 0; lo < len(versions); {
		id := versions[lo].ID
		hi := lo + 1
		for hi < len(versions) && versions[hi].ID == id {
			hi++
		}
		runs[id]++
		people = append(people, span{lo, hi})
		lo = hi
	}
	if len(runs) < len(people) {
		for _, p := range people { // the first person whose versions come again further on
			if id := versions[p.lo].ID; runs[id] > 1 {
				return &VersionError{Index: p.hi, PersonID: id, Field: "person_id", Rule: "a person's versions must follow each other"}
			}
		}
	}
	slices.SortFunc(people, func(a, b span) int { return strings.Compare(versions[a.lo].ID, versions[b.lo].ID) })
	ids := make([]string, len(people))
	for i, p := range people {
		ids[i] = versions[p.lo].ID
	}
	change := personsChange(ids)
	err = s.inTx(ctx, func(tx *sqlx.Tx) error {
		for lo := 0; lo < len(people); lo += personsPerRound {
			round := people[lo:min(lo+personsPerRound, len(people))]
			spans := make([][]calc.PersonVersion, len(round))
			ats := make([]int, len(round))
			for i, p := range round {
				spans[i], ats[i] = versions[p.lo:p.hi], p.lo
			}
			if err := s.recordPersons(ctx, tx, spans, ats, today, current); err != nil {
				return err
			}
		}
		return s.cache.notify(ctx, tx, change)
	})
	s.cache.apply(change) // even if the commit failed: it may still have committed
	return err
}

// personsPerRound is how many persons an upsert reads, and then writes, with one statement
// each: on PostgreSQL every statement waits for a round trip (two, with arguments), and one
// person's three statements were 0.5 ms on loopback, most of it waiting.
const personsPerRound = 500

// errPersonCreated is what recordPersons returns when a person it found unregistered, and
// so could not lock, was registered by another upsert before it read their versions: it
// is run again (see raced), and then finds the person and locks them.
var errPersonCreated = errors.New("a person was registered by another upsert meanwhile")

// recordPersons records the new versions of some persons, each one's in spans (one person's
// versions each, in id order), ats[i] the index in the upsert of spans[i]'s first. A person
// named in current must have that version now (see UpsertPersonVersionsIf). On PostgreSQL
// it first locks the persons' rows until COMMIT, in id order, so that an upsert of the same
// person running meanwhile waits and then finds the versions this one records (a
// StaleError for a conditional upsert), rather than both reading the same history and
// numbering their versions alike. A person not yet registered has no row to lock: two
// upserts creating one person find out at the second's INSERT of version 1 (see raced).
func (s *Store) recordPersons(ctx context.Context, tx *sqlx.Tx, spans [][]calc.PersonVersion, ats []int, today calc.Date, current map[string]int32) error {
	ids := make([]string, len(spans))
	for i, news := range spans {
		ids[i] = news[0].ID
	}
	var locked map[string]bool
	if s.dialect.forUpdate != "" {
		q, args, err := sqlx.In(`SELECT person_id FROM persons WHERE person_id IN (?) ORDER BY person_id COLLATE "C"`+s.dialect.forUpdate, ids)
		if err != nil {
			return err
		}
		var got []string
		if err := tx.SelectContext(ctx, &got, tx.Rebind(q), args...); err != nil {
			return fmt.Errorf("lock persons %s...: %w", ids[0], err)
		}
		locked = make(map[string]bool, len(got))
		for _, id := range got {
			locked[id] = true
		}
	}
	// Each statement sees what had committed when it started: an upsert that created a
	// person may have committed between the lock, which found no row, and the histories,
	// which find its versions. Recording after them without the lock would race a locked
	// upsert of the person for the next version number.
	hists, err := historiesOf(ctx, tx, ids)
	if err != nil {
		return err
	}
	var (
		added []calc.PersonVersion
		lasts []calc.Person // the version in force on each one's last day, as the persons row has it
	)
	for i, news := range spans {
		old := hists[ids[i]]
		if locked != nil && !locked[ids[i]] && len(old) > 0 {
			return errPersonCreated
		}
		want, check := current[ids[i]]
		hist, err := newVersions(ats[i], news, old, today, want, check)
		if err != nil {
			return err
		}
		if hist != nil {
			added = append(added, hist[len(old):]...)
			lasts = append(lasts, *hist.Last())
		}
	}
	now := s.now()
	err = insertRows(ctx, tx, `INSERT INTO person_versions (person_id, version, valid_from, valid_to, household_id, registered_poor, aid_category, recorded_at) VALUES `,
		``, len(added), func(i int) []any {
			v := &added[i]
			return []any{v.ID, v.Version, v.From.String(), v.To.String(), v.HouseholdID, v.RegisteredPoor, v.Aid.String(), now}
		})
	if err != nil {
		return fmt.Errorf("record persons %s...: %w", ids[0], err)
	}
	err = insertRows(ctx, tx, `INSERT INTO persons (person_id, household_id, registered_poor, aid_category, version) VALUES `,
		` ON CONFLICT (person_id) DO UPDATE SET household_id = excluded.household_id,
		registered_poor = excluded.registered_poor, aid_category = excluded.aid_category, version = excluded.version`,
		len(lasts), func(i int) []any {
			v := &lasts[i]
			return []any{v.ID, v.HouseholdID, v.RegisteredPoor, v.Aid.String(), v.Version}
		})
	if err != nil {
		return fmt.Errorf("record persons %s...: %w", ids[0], err)
	}
	return nil
}

// rowsPerInsert bounds the rows of one INSERT: eight columns of them are 800 arguments, far
// under SQLite's limit (32,766) and PostgreSQL's (65,535).
const rowsPerInsert = 100

// insertRows inserts n rows, row(i) the arguments of row i, with statements of head, the
// rows' placeholders and tail, rowsPerInsert rows at a time.
func insertRows(ctx context.Context, tx *sqlx.Tx, head, tail string, n int, row func(i int) []any) error {
	var args []any
	var q strings.Builder
	for lo := 0; lo < n; lo += rowsPerInsert {
		hi := min(lo+rowsPerInsert, n)
		args = args[:0]
		q.Reset()
		q.WriteString(head)
		for i := lo; i < hi; i++ {
			r := row(i)
			if i > lo {
				q.WriteString(", ")
			}
			q.WriteString("(?")
			q.WriteString(strings.Repeat(", ?", len(r)-1))
			q.WriteString(")")
			args = append(args, r...)
		}
		q.WriteString(tail)
		if _, err := tx.ExecContext(ctx, tx.Rebind(q.String()), args...); err != nil {
			return err
		}
	}
	return nil
}

// newVersions returns a person's history with their new versions (news, the first at index
// at of the upsert) after their recorded ones (old), numbered on from them; nil if the new
// versions change nothing. With check, the person's current version must be want.
func newVersions(at int, news []calc.PersonVersion, old calc.History, today calc.Date, want int32, check bool) (calc.History, error) {
	id := news[0].ID
	if check {
		var have int32
		if p := old.Last(); p != nil {
			have = p.Version
		}
		if have != want {
			return nil, &StaleError{PersonID: id, Given: want, Current: have}
		}
	}
	next := int32(len(old)) + 1
	hist := slices.Clone(old)
	for i := range news {
		v := news[i]
		if v.From == calc.NoDate {
			switch {
			case len(news) > 1:
				return nil, &VersionError{Index: at + i, PersonID: id, Field: "valid_from", Rule: "is required when a person has several versions in one upsert"}
			case len(old) == 0:
				v.From = calc.Beginning
			default:
				v.From = today
			}
		}
		if v.To == calc.NoDate {
			v.To = calc.End
		}
		switch {
		case v.From < calc.Beginning || v.To > calc.End:
			return nil, &VersionError{Index: at + i, PersonID: id, Field: "valid_from", Rule: "dates run from 0001-01-01 to 9999-12-31"}
		case v.To < v.From:
			rule := fmt.Sprintf("%s is before valid_from %s", v.To, v.From)
			if news[i].From == calc.NoDate {
				rule += " (without valid_from a person on the register changes from today)"
			}
			return nil, &VersionError{Index: at + i, PersonID: id, Field: "valid_to", Rule: rule}
		case i > 0 && v.From <= hist[len(hist)-1].To:
			return nil, &VersionError{Index: at + i, PersonID: id, Field: "valid_from",
				Rule: fmt.Sprintf("%s overlaps the version before it, which holds to %s: a person's versions come in date order and do not overlap", v.From, hist[len(hist)-1].To)}
		}
		v.Version = next + int32(i)
		hist = append(hist, v)
	}
	if len(old) > 0 && calc.SameTimeline(old, hist) {
		return nil, nil
	}
	return hist, nil
}

const versionColumns = `person_id, version, valid_from, valid_to, household_id, registered_poor, aid_category`

// versionRow is a row of person_versions.
type versionRow struct {
	ID             string `db:"person_id"`
	Version        int32  `db:"version"`
	From           string `db:"valid_from"`
	To             string `db:"valid_to"`
	HouseholdID    string `db:"household_id"`
	RegisteredPoor bool   `db:"registered_poor"`
	Aid            string `db:"aid_category"`
}

func (r *versionRow) version() (calc.PersonVersion, error) {
	v := calc.PersonVersion{Person: calc.Person{ID: r.ID, HouseholdID: r.HouseholdID, RegisteredPoor: r.RegisteredPoor, Version: r.Version}}
	var errs [3]error
	v.Aid, errs[0] = calc.ParseAidCategory(r.Aid)
	v.From, errs[1] = calc.ParseDate(r.From)
	v.To, errs[2] = calc.ParseDate(r.To)
	if err := errors.Join(errs[:]...); err != nil {
		return calc.PersonVersion{}, fmt.Errorf("read person %s version %d: %w", r.ID, r.Version, err)
	}
	return v, nil
}

// historiesOf reads the versions of the persons ids, each one's in the order recorded; none
// for an unknown person.
func historiesOf(ctx context.Context, q sqlx.ExtContext, ids []string) (map[string]calc.History, error) {
	query, args, err := sqlx.In(`SELECT `+versionColumns+` FROM person_versions WHERE person_id IN (?) ORDER BY person_id, version`, ids)
	if err != nil {
		return nil, err
	}
	var rows []versionRow
	if err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(query), args...); err != nil {
		return nil, fmt.Errorf("read persons %s...: %w", ids[0], err)
	}
	h := make(map[string]calc.History, len(ids))
	for i := range rows {
		v, err := rows[i].version()
		if err != nil {
			return nil, err
		}
		h[v.ID] = append(h[v.ID], v)
	}
	return h, nil
}

// history reads a person's versions in the order recorded; none for an unknown person.
func history(ctx context.Context, q sqlx.ExtContext, id string) (calc.History, error) {
	var rows []versionRow
	if err := sqlx.SelectContext(ctx, q, &rows, q.Rebind(`SELECT `+versionColumns+` FROM person_versions WHERE person_id = ? ORDER BY version`), id); err != nil {
		return nil, fmt.Errorf("read person %s: %w", id, err)
	}
	h := make(calc.History, len(rows))
	for i := range rows {
		var err error
		if h[i], err = rows[i].version(); err != nil {
			return nil, err
		}
	}
	return h, nil
}

// PersonHistory returns a person's register versions in the order recorded, or
// ErrNotFound.
func (s *Store) PersonHistory(ctx context.Context, id string) (_ calc.History, err error) {
	defer s.classify(&err)
	h, err := history(ctx, s.db, id)
	if err == nil && len(h) == 0 {
		err = refuse(ErrNotFound, "person %s was not found", id)
	}
	return h, err
}

// RecordedVersion is a register version of a person and when it was recorded.
type RecordedVersion struct {
	calc.PersonVersion
	// RecordedAt is when the upsert or import that recorded the version committed, in
	// UTC; zero for the versions migration 0013 made of the persons on file, whose time
	// was not kept.
	RecordedAt time.Time
}

// PersonVersions returns a person's register versions in the order recorded, each with
// when it was recorded, or ErrNotFound.
func (s *Store) PersonVersions(ctx context.Context, id string) (_ []RecordedVersion, err error) {
	defer s.classify(&err)
	var rows []struct {
		versionRow
		RecordedAt string `db:"recorded_at"`
	}
	if err := s.db.SelectContext(ctx, &rows, s.db.Rebind(`SELECT `+versionColumns+`, recorded_at FROM person_versions WHERE person_id = ? ORDER BY version`), id); err != nil {
		return nil, fmt.Errorf("read person %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, refuse(ErrNotFound, "person %s was not found", id)
	}
	out := make([]RecordedVersion, len(rows))
	for i := range rows {
		r := &rows[i]
		v, err := r.version()
		if err != nil {
			return nil, err
		}
		out[i].PersonVersion = v
		if r.RecordedAt != "" {
			if out[i].RecordedAt, err = time.Parse(time.RFC3339Nano, r.RecordedAt); err != nil {
				return nil, fmt.Errorf("read person %s version %d: recorded_at: %w", id, r.Version, err)
			}
		}
	}
	return out, nil
}

// personAt is the person of history h on day d. Errors: ErrNotFound for an unknown
// person (no versions); calc.ErrNotRegistered when no version holds on d.
func personAt(h calc.History, id string, d calc.Date) (calc.Person, error) {
	if len(h) == 0 {
		return calc.Person{}, refuse(ErrNotFound, "person %s was not found", id)
	}
	p := h.At(d)
	if p == nil {
		return calc.Person{}, fmt.Errorf("person %s: %w %s: no version of the person's register entry holds that day", id, calc.ErrNotRegistered, d)
	}
	return *p, nil
}

// Histories returns the register versions of every person whose attributes are not one
// version holding always, by id: the persons Persons gives are the others' only version.
func (s *Store) Histories(ctx context.Context) (_ map[string]calc.History, err error) {
	defer s.classify(&err)
	return histories(ctx, s.db)
}

func histories(ctx context.Context, q sqlx.ExtContext) (map[string]calc.History, error) {
	rows, err := q.QueryxContext(ctx, q.Rebind(`SELECT `+versionColumns+` FROM person_versions WHERE person_id IN
		(SELECT person_id FROM person_versions WHERE version > 1 OR valid_from <> ? OR valid_to <> ?) ORDER BY person_id, version`),
		calc.Beginning.String(), calc.End.String())
	if err != nil {
		return nil, fmt.Errorf("read person versions: %w", err)
	}
	defer rows.Close()
	out := map[string]calc.History{}
	for rows.Next() {
		var r versionRow
		if err := rows.StructScan(&r); err != nil {
			return nil, fmt.Errorf("read person versions: %w", err)
		}
		v, err := r.version()
		if err != nil {
			return nil, err
		}
		out[v.ID] = append(out[v.ID], v)
	}
	return out, rows.Err()
}
