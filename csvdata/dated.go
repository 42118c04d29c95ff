package csvdata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
)

// The optional columns of a persons file whose register changed over time: the days a
// row's attributes hold, from and to inclusive (ISO dates). A person may then have
// several rows.
const (
	ValidFromColumn = "valid_from"
	ValidToColumn   = "valid_to"
)

// ReadPersonVersions reads a persons file whose rows may carry the optional columns
// valid_from and valid_to: each row is a version of its person's attributes, holding on
// those days. An empty cell is calc.NoDate (for a file replayed, the beginning or no
// end; for an upsert, see store.UpsertPersonVersions). A person may have several rows
// only in a file with those columns; they may come in any order, must not overlap, and
// only the earliest may leave valid_from out. It returns the versions grouped by person (in the order
// of each person's first row) and in date order, numbered 1, 2, ... per person, or a
// *Error naming every bad cell: those of ReadPersons, a valid_to before its valid_from, a
// second row of a person without valid_from, and overlapping rows of a person. (An upsert
// refuses a person's several versions if one has no valid_from: store.VersionError.)
func ReadPersonVersions(file string, r io.Reader) ([]calc.PersonVersion, error) {
	type row struct {
		v    calc.PersonVersion
		line int
	}
	var (
		rows     []row
		from, to = -1, -1 // the fields of the date columns, -1 if absent
		seen     = newIDTable()
	)
	err := scanRows(file, r, PersonColumns, nil, func(t *table) error {
		if len(rows) == 0 {
			from, to = slices.Index(t.header, ValidFromColumn), slices.Index(t.header, ValidToColumn)
		}
		dated := from >= 0 || to >= 0
		var (
			p   calc.Person
			err error
		)
		if dated {
			p, err = t.person(nil) // several rows of a person are checked below
		} else {
			p, err = t.person(seen)
		}
		if err == errTooMany {
			return err
		}
		v := calc.PersonVersion{Person: p, From: calc.NoDate, To: calc.NoDate}
		for _, c := range []struct {
			field int
			name  string
			day   *calc.Date
		}{{from, ValidFromColumn, &v.From}, {to, ValidToColumn, &v.To}} {
			if c.field < 0 {
				continue
			}
			s := strings.TrimSpace(t.rec[c.field])
			if s == "" {
				continue
			}
			d, perr := calc.ParseDate(s)
			if perr != nil || d < calc.Beginning || d > calc.End {
				if err := t.add(Problem{Line: t.line(), Column: c.field + 1, Field: c.name,
					Rule: fmt.Sprintf("%q is not a calendar date written YYYY-MM-DD, such as 2018-03-07, or empty", s)}); err != nil {
					return err
				}
				continue
			}
			*c.day = d
		}
		if v.From != calc.NoDate && v.To != calc.NoDate && v.To < v.From {
			if err := t.add(Problem{Line: t.line(), Column: to + 1, Field: ValidToColumn,
				Rule: fmt.Sprintf("%s is before valid_from %s", v.To, v.From)}); err != nil {
				return err
			}
		}
		rows = append(rows, row{v: v, line: t.line()})
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Each person's rows together, in date order.
	first := map[string]int{}
	for i, r := range rows {
		if _, ok := first[r.v.ID]; !ok {
			first[r.v.ID] = i
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int {
		if c := first[a.v.ID] - first[b.v.ID]; c != 0 {
			return c
		}
		return int(a.v.From) - int(b.v.From)
	})
	errs := &Error{File: file}
	add := func(line, field int, name, rule string) {
		if len(errs.Problems) >= MaxErrors {
			errs.Truncated = true
			return
		}
		errs.Problems = append(errs.Problems, Problem{Line: line, Column: field + 1, Field: name, Rule: rule})
	}
	out := make([]calc.PersonVersion, len(rows))
	for i := range rows {
		v := &rows[i].v
		n := int32(1)
		if i > 0 && rows[i-1].v.ID == v.ID {
			prev := &rows[i-1]
			n = out[i-1].Version + 1
			switch {
			case v.From == calc.NoDate:
				// Only a person's first row may leave valid_from out (from the beginning).
				add(rows[i].line, from, ValidFromColumn, fmt.Sprintf("is required: person %s has several rows, and only the first may hold from the beginning", v.ID))
			case prev.v.To == calc.NoDate || prev.v.To >= v.From:
				holds := "with no end"
				if prev.v.To != calc.NoDate {
					holds = "to " + prev.v.To.String()
				}
				add(rows[i].line, from, ValidFromColumn, fmt.Sprintf("%s overlaps person %s's row on line %d, which holds %s: a person's rows must not overlap",
					v.From, v.ID, prev.line, holds))
			}
		}
		out[i] = *v
		out[i].Version = n
	}
	if len(errs.Problems) > 0 {
		slices.SortStableFunc(errs.Problems, func(a, b Problem) int { return a.Line - b.Line })
		return nil, errs
	}
	return out, nil
}

// hasDateColumns reports whether the header of the persons file r has valid_from or
// valid_to, and returns a reader of the whole file.
func hasDateColumns(r io.Reader) (bool, io.Reader) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(64 << 10)
	head = bytes.TrimPrefix(head, []byte("\ufeff"))
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	cr := csv.NewReader(bytes.NewReader(head))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	names, _ := cr.Read()
	for _, n := range names {
		if n = strings.TrimSpace(n); n == ValidFromColumn || n == ValidToColumn {
			return true, br
		}
	}
	return false, br
}

// readDatedPersonIndex reads a persons file with date columns (ReadPersonVersions) into
// a PersonIndex: a person's number is that of their first row, and their History holds
// their rows unless they are one row holding always. A replay reads an empty valid_from
// as the beginning and an empty valid_to as no end.
func readDatedPersonIndex(file string, r io.Reader) (*PersonIndex, error) {
	list, err := ReadPersonVersions(file, r)
	if err != nil {
		return nil, err
	}
	x := &PersonIndex{ids: newIDTable(), households: newIDTable(), histories: map[int]calc.History{}}
	for h := range histories(list) {
		n, _ := x.ids.add(h[0].ID, 0)
		last := h.Last()
		hh, _ := x.households.add(last.HouseholdID, 0)
		x.persons.add(indexedPerson{household: uint32(hh), poor: last.RegisteredPoor, aid: last.Aid})
		if changed(h) {
			x.histories[n] = h
		}
	}
	x.ids.dropLines()
	x.households.dropLines()
	x.ids.index()
	x.built.Store(true)
	return x, nil
}

// History returns person n's register versions when the persons file gave them dates
// (more than one, or one that does not hold always); nil otherwise, the person being
// Person(n) on every day.
func (x *PersonIndex) History(n int) calc.History { return x.histories[n] }

// Register is a persons file's versions (ReadPersonVersions) as a register to settle
// with, read as a replay, the audit from files and an import read a dated persons file:
// each person as they stand on the last day of their timeline (calc.History.Last, with
// its version number), and the History of those whose attributes changed or hold on some
// days only (more than one version, or one that does not hold always), an empty
// valid_from being the beginning and an empty valid_to no end. A file without the date
// columns gives every person one version, holding always, and no histories.
func Register(list []calc.PersonVersion) ([]calc.Person, map[string]calc.History) {
	var (
		persons []calc.Person
		changes map[string]calc.History
	)
	for h := range histories(list) {
		persons = append(persons, *h.Last())
		if changed(h) {
			if changes == nil {
				changes = map[string]calc.History{}
			}
			changes[h[0].ID] = h
		}
	}
	return persons, changes
}

// histories yields each person's versions of list (grouped by person, as
// ReadPersonVersions returns them) as a History, the empty dates filled in.
func histories(list []calc.PersonVersion) iter.Seq[calc.History] {
	return func(yield func(calc.History) bool) {
		for lo := 0; lo < len(list); {
			hi := lo + 1
			for hi < len(list) && list[hi].ID == list[lo].ID {
				hi++
			}
			h := calc.History(slices.Clone(list[lo:hi]))
			for i := range h {
				if h[i].From == calc.NoDate {
					h[i].From = calc.Beginning
				}
				if h[i].To == calc.NoDate {
					h[i].To = calc.End
				}
			}
			if !yield(h) {
				return
			}
			lo = hi
		}
	}
}

// changed reports whether h is more than one version holding always.
func changed(h calc.History) bool {
	return len(h) > 1 || h[0].From != calc.Beginning || h[0].To != calc.End
}
