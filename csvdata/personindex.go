package csvdata

import (
	"io"
	"strings"
	"sync"
	"sync/atomic"

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
	mu         sync.Mutex  // held while the table of ids is built again
	built      atomic.Bool // the table of ids is built
	ids        *idTable
	persons    chunked[indexedPerson]
	households *idTable             // each household id once
	histories  map[int]calc.History // by number; only from a file with dates (dated.go)
	inIDOrder  bool                 // the file listed the persons in id order
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
	return readPersonIndex(file, r)
}

// readPersonIndex is ReadPersonIndex.
func readPersonIndex(file string, r io.Reader) (*PersonIndex, error) {
	// A file whose rows carry dates has its own reader (dated.go).
	dated, r := hasDateColumns(r)
	if dated {
		return readDatedPersonIndex(file, r)
	}
	t, br, cr, err := readHeader(file, r, PersonColumns)
	if err != nil {
		return nil, err
	}
	x := &PersonIndex{ids: newIDTable(), households: newIDTable()}
	last := -1 // the household of the row before
	rr := &rowReader[calc.Person]{what: "person", idCol: personID, seen: x.ids}
	rr.check = func(t *table, v *calc.Person) error {
		var err error
		*v, err = t.person(t.seen)
		return err
	}
	rr.deliver = func(_ *table, v *calc.Person) {
		// A household's members usually follow each other.
		// (Compared with the table's copy: v's strings are gone once its block is taken.)
		if last < 0 || string(x.households.at(last)) != v.HouseholdID {
			last, _ = x.households.add(v.HouseholdID, 0)
		}
		x.persons.add(indexedPerson{household: uint32(last), poor: v.RegisteredPoor, aid: v.Aid})
	}
	if cr != nil || !parallel {
		t.records = startRecords(br, cr, t.recLine, 0, len(t.header), nil, 0)
		err = scanSequential(t, rr)
	} else {
		err = scanParallel(t, br, rr)
	}
	if err != nil {
		return nil, err
	}
	// Only duplicate ids need lines, and the file has been read.
	x.ids.dropLines()
	x.households.dropLines()
	// The table of ids is built only once an id breaks their increasing order.
	x.inIDOrder = x.ids.slots == nil
	x.ids.index() // now, so that Find may be called from several goroutines
	x.built.Store(true)
	return x, nil
}

// Len is the number of persons.
func (x *PersonIndex) Len() int { return x.ids.len() }

// Find returns the number of the person with id, if there is one. It may be called from
// several goroutines at once.
func (x *PersonIndex) Find(id string) (int, bool) {
	if !x.built.Load() {
		x.mu.Lock()
		x.ids.index()
		x.built.Store(true)
		x.mu.Unlock()
	}
	return x.ids.find(id)
}

// dropTable lets the table of ids go (a third of the index's memory) once no claim is
// left to look up; Find builds it again if it is called.
func (x *PersonIndex) dropTable() {
	x.built.Store(false)
	x.ids.slots = nil
}

// InIDOrder reports whether the persons are numbered in id order: whether the file
// listed them so.
func (x *PersonIndex) InIDOrder() bool { return x.inIDOrder }

// Households is the number of households.
func (x *PersonIndex) Households() int { return x.households.len() }

// HouseholdOf is the number of person n's household, from 0 to Households()-1.
func (x *PersonIndex) HouseholdOf(n int) int { return int(x.persons.at(n).household) }

// Person returns person n. Its ID and HouseholdID are new strings each call.
func (x *PersonIndex) Person(n int) calc.Person {
	p := x.persons.at(n)
	return calc.Person{ID: x.ids.id(n), HouseholdID: x.households.id(int(p.household)), RegisteredPoor: p.poor, Aid: p.aid}
}

// PersonsOf returns persons ns, each as Person returns it, their ids slices of two
// strings made for them all: a province's 400,000 claimants one by one were 800,000
// allocations, on a what-if's one-core path.
func (x *PersonIndex) PersonsOf(ns []int32) []calc.Person {
	return personsOf(ns, func(n int32) []byte { return x.ids.at(int(n)) },
		func(n int32) *indexedPerson { return x.persons.at(int(n)) }, x.households)
}

// personsOf returns persons ns, person n's id being id(n) and the rest person(n) with its
// household in households, their ids slices of two strings made for them all.
func personsOf(ns []int32, id func(n int32) []byte, person func(n int32) *indexedPerson, households *idTable) []calc.Person {
	var ids, hids strings.Builder
	size, hsize := 0, 0
	for _, n := range ns {
		size += len(id(n))
		hsize += len(households.at(int(person(n).household)))
	}
	ids.Grow(size)
	hids.Grow(hsize)
	for _, n := range ns {
		ids.Write(id(n))
		hids.Write(households.at(int(person(n).household)))
	}
	idText, householdText := ids.String(), hids.String()
	out := make([]calc.Person, len(ns))
	at, hat := 0, 0
	for k, n := range ns {
		p := person(n)
		end, hend := at+len(id(n)), hat+len(households.at(int(p.household)))
		out[k] = calc.Person{ID: idText[at:end], HouseholdID: householdText[hat:hend], RegisteredPoor: p.poor, Aid: p.aid}
		at, hat = end, hend
	}
	return out
}
