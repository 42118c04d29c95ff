package csvdata

import (
	"io"

	"github.com/hpcalc/hpcalc/calc"
)

// PersonIndex is a persons file as read for bulk work: every person numbered in file
// order from 0, found by id. Give it to ClaimChecks.PersonIndex to check claims against
// it and learn each claim's person by number.
//
// It exists for province-sized files. A map[string]calc.Person of 1,500,000 persons, with
// the CSV text its strings keep alive, takes about 175 MB, most of it pointers that the
// garbage collector scans again and again while the claims are read; PersonIndex keeps
// the ids back to back, each household id once and a few bytes per person, about 63 MB,
// with no pointers to scan.
type PersonIndex struct {
	ids        *idTable
	persons    chunked[indexedPerson]
	households *idTable // each household id once
}

// indexedPerson is a person of a PersonIndex but the id.
type indexedPerson struct {
	household uint32 // the number of the person's household id in households
	poor      bool
	aid       calc.AidCategory
}

// ReadPersonIndex reads a persons file with the checks and errors of ReadPersons. It
// returns the persons, or a *Error naming every bad cell (up to MaxErrors) and no persons,
// or an error of r.
func ReadPersonIndex(file string, r io.Reader) (*PersonIndex, error) {
	x := &PersonIndex{ids: newIDTable(), households: newIDTable()}
	last, lastID := -1, "" // the household of the row before
	err := scanRows(file, r, PersonColumns, nil, func(t *table) error {
		p, err := t.person(x.ids)
		if !t.clean() {
			return err // the file is refused: nothing more needs keeping
		}
		// A household's members usually follow each other.
		if last < 0 || p.HouseholdID != lastID {
			last, _ = x.households.add(p.HouseholdID, 0)
			lastID = p.HouseholdID
		}
		x.persons.add(indexedPerson{household: uint32(last), poor: p.RegisteredPoor, aid: p.Aid})
		return err
	})
	if err != nil {
		return nil, err
	}
	// Only duplicate ids need lines, and the file has been read.
	x.ids.dropLines()
	x.households.dropLines()
	x.ids.index() // now, so that Find may be called from several goroutines
	return x, nil
}

// Len is the number of persons.
func (x *PersonIndex) Len() int { return x.ids.len() }

// Find returns the number of the person with id, if there is one. It may be called from
// several goroutines at once.
func (x *PersonIndex) Find(id string) (int, bool) { return x.ids.find(id) }

// Person returns person n. Its ID and HouseholdID are new strings each call.
func (x *PersonIndex) Person(n int) calc.Person {
	p := x.persons.at(n)
	return calc.Person{ID: x.ids.id(n), HouseholdID: x.households.id(int(p.household)), RegisteredPoor: p.poor, Aid: p.aid}
}
