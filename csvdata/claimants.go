package csvdata

import (
	"errors"
	"fmt"
	"io"

	"github.com/hpcalc/hpcalc/calc"
)

// Reading the claims before the persons.
//
// A province's register lists every poor person, and a year's claims name about a quarter
// of them. ScanPersonsAndClaims indexes every person, then looks each claim's person up:
// an index of 1,500,000 persons, its ids and its table of slots were most of a what-if's
// memory, and every page a run touches for the first time is a page fault (on a virtual
// machine, a costly one). ScanClaimantsFirst reads the claims first, numbering each
// claimant at its first claim, then reads the persons and keeps only the claimants: a
// fifth of the memory, and the persons' lookups go to a table a quarter of the size.
//
// It gives up, with ErrNeedsFullRead, on any file it cannot read that way with the
// certainty of the full reading: a problem in either file (whose errors ScanPersonsAndClaims
// orders and words, the persons file's first), a repeated claim id or two claim ids of one
// 64-bit hash (a province's million claim ids were 20 MB of fresh memory and 5% of the
// CPU: the claims' hashes are 8, and while the ids come in increasing order a repeat can
// only be of the last one), a persons file that is not in increasing id order (the
// claimants are numbered in id order), a persons file with dates (dated.go), a persons
// file with quoted fields, or a claimant not in the persons file. The caller then reads
// both files again with ScanPersonsAndClaims, which says what is wrong.

// ErrNeedsFullRead is what ScanClaimantsFirst returns when the files must be read with
// ScanPersonsAndClaims.
var ErrNeedsFullRead = errors.New("the files need reading persons first")

// ClaimantIndex is the persons of a persons file that have claims in a claims file, as
// ScanClaimantsFirst reads them: numbered from 0 in file order, which is id order.
type ClaimantIndex struct {
	claimants  *idTable        // the claimants' ids, numbered by their first claim
	number     []int32         // a claimant's number in the index, by its number in claimants
	persons    []indexedPerson // by number in the index
	claimant   []int32         // the number in claimants of each person of the index
	households *idTable        // each claimant's household id once
}

// Len is the number of claimants.
func (x *ClaimantIndex) Len() int { return len(x.persons) }

// Numbers maps the person numbers ScanClaimantsFirst gave the claim rows to the persons'
// numbers in x: row.Person n is person Numbers()[n].
func (x *ClaimantIndex) Numbers() []int32 { return x.number }

// InIDOrder reports that the persons are numbered in id order, as they always are: a
// persons file out of id order is refused with ErrNeedsFullRead.
func (x *ClaimantIndex) InIDOrder() bool { return true }

// Households is the number of the claimants' households.
func (x *ClaimantIndex) Households() int { return x.households.len() }

// HouseholdOf is the number of person n's household, from 0 to Households()-1.
func (x *ClaimantIndex) HouseholdOf(n int) int { return int(x.persons[n].household) }

// Person returns person n. Its ID and HouseholdID are new strings each call.
func (x *ClaimantIndex) Person(n int) calc.Person {
	p := &x.persons[n]
	return calc.Person{ID: x.claimants.id(int(x.claimant[n])), HouseholdID: x.households.id(int(p.household)),
		RegisteredPoor: p.poor, Aid: p.aid}
}

// PersonsOf returns persons ns as Person returns them, their ids slices of two strings
// made for them all.
func (x *ClaimantIndex) PersonsOf(ns []int32) []calc.Person {
	return personsOf(ns, func(n int32) []byte { return x.claimants.at(int(x.claimant[n])) },
		func(n int32) *indexedPerson { return &x.persons[n] }, x.households)
}

// claimantPerson is a row of a persons file as ScanClaimantsFirst reads it.
type claimantPerson struct {
	person   calc.Person
	claimant int // the person's number among the claimants; -1 if the person has none
}

// ScanClaimantsFirst reads a claims file and then a persons file, each on every core, with
// the checks of ScanPersonsAndClaims. It calls add with each claim in file order, as
// ScanClaims does, its row.Person numbering the claimants from 0 in the order of their
// first claims; then returns the claimants, whose Numbers map those numbers to theirs.
// Errors: ErrNeedsFullRead (wrapping what it met) for files it does not read this way (see
// above), when the caller must throw away what add was given and read the files again
// with ScanPersonsAndClaims.
func ScanClaimantsFirst(personsFile string, persons io.Reader, claimsFile string, claims io.Reader, checks ClaimChecks,
	add func(row *ClaimRow)) (*ClaimantIndex, error) {
	if !parallel {
		return nil, fmt.Errorf("%w: reading on one core", ErrNeedsFullRead)
	}
	x := &ClaimantIndex{claimants: newIDTable(), households: newIDTable()}
	x.claimants.dense = true
	checks.Persons, checks.PersonIndex = nil, nil
	err := scanClaims(claimsFile, claims, checks, nil, x.claimants, add)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNeedsFullRead, claimsFile, err)
	}
	x.claimants.dropLines()
	x.claimants.buildFilter() // most persons have no claim
	if err := x.readPersons(personsFile, persons); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrNeedsFullRead, personsFile, err)
	}
	if len(x.persons) != x.claimants.len() {
		return nil, fmt.Errorf("%w: %s: %d of the %d claimants are not in it", ErrNeedsFullRead, personsFile,
			x.claimants.len()-len(x.persons), x.claimants.len())
	}
	x.households.dropLines()
	return x, nil
}

// errNotFast ends the reading of a persons file that ScanClaimantsFirst cannot read.
var errNotFast = errors.New("not read claimants first")

// readPersons reads the persons file, keeping the claimants.
func (x *ClaimantIndex) readPersons(file string, r io.Reader) error {
	dated, r := hasDateColumns(r)
	if dated {
		return errors.New("the persons have dates")
	}
	t, br, cr, err := readHeader(file, r, PersonColumns)
	if err != nil {
		return err
	}
	if cr != nil {
		return errors.New("a quoted header")
	}
	n := x.claimants.len()
	x.number = make([]int32, n)
	x.persons, x.claimant = make([]indexedPerson, 0, n), make([]int32, 0, n)
	var last []byte // the id of the row before
	household := -1 // the household of the claimant before
	var why error   // why reading stopped
	rr := &rowReader[claimantPerson]{what: "person", idCol: personID}
	rr.check = func(t *table, v *claimantPerson) error {
		var err error
		v.person, err = t.person(nil)
		return err
	}
	rr.finish = func(b *block[claimantPerson]) {
		// The claimants are looked up together, some at a time, so that the processor
		// waits for several of the table's cache misses at once.
		rows := b.rows
		var found [64]int
		for lo := 0; lo < len(rows); lo += len(found) {
			n := min(len(found), len(rows)-lo)
			x.claimants.findMany(n, func(k int) string { return rows[lo+k].v.person.ID }, found[:n])
			for k := range n {
				rows[lo+k].v.claimant = found[k]
			}
		}
	}
	rr.takeRow = func(t *table, v *claimantPerson, probs []Problem) bool {
		id := v.person.ID
		switch {
		case len(probs) > 0:
			why = fmt.Errorf("line %d: %s", t.recLine, probs[0].Rule)
		case last != nil && string(last) >= id:
			why = fmt.Errorf("line %d: person %s is not after %s", t.recLine, id, last)
		}
		if why != nil {
			return true
		}
		last = append(last[:0], id...)
		if v.claimant < 0 {
			return false
		}
		// A household's members usually follow each other.
		if household < 0 || string(x.households.at(household)) != v.person.HouseholdID {
			household, _ = x.households.add(v.person.HouseholdID, 0)
		}
		x.number[v.claimant] = int32(len(x.persons))
		x.persons = append(x.persons, indexedPerson{household: uint32(household), poor: v.person.RegisteredPoor, aid: v.person.Aid})
		x.claimant = append(x.claimant, int32(v.claimant))
		return false
	}
	rr.deliver = func(*table, *claimantPerson) {}
	rr.row = func(*table) error {
		why = errors.New("a quoted field")
		return errNotFast
	}
	err = scanParallel(t, br, rr)
	switch {
	case why != nil:
		return why
	case err != nil:
		return err
	}
	return nil
}
