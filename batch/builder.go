package batch

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/hpcalc/hpcalc/calc"
)

// Persons are the persons a Builder's claims belong to, numbered from 0, each with a
// distinct ID. *csvdata.PersonIndex is one.
type Persons interface {
	Len() int
	Person(n int) calc.Person
}

// PersonsOf is what a Builder's Persons may also do: return several persons at once, each
// as Person(n) returns it, more cheaply than one at a time. *csvdata.PersonIndex does.
type PersonsOf interface {
	PersonsOf(ns []int32) []calc.Person
}

// InIDOrder is what a Builder's Persons may also tell: whether they are numbered in id
// order (a persons file sorted by id, the usual kind). *csvdata.PersonIndex does.
type InIDOrder interface {
	InIDOrder() bool
}

// Households is what a Builder's Persons may also tell: each person's household, numbered
// from 0 to Households()-1. *csvdata.PersonIndex does.
type Households interface {
	Households() int
	HouseholdOf(n int) int
}

// Histories are Persons some of whose attributes changed over time: History(n) is person
// n's register versions, nil for a person with one version holding always. A Builder's
// table settles each claim with the version in force on its discharge day.
type Histories interface {
	History(n int) calc.History
}

// Builder makes a ClaimTable from claims added one at a time, each naming its person by
// number.
//
// It exists so that a province's claims can go from a file to a ClaimTable without a
// []calc.Claim of them all in between: a calc.Claim takes 80 bytes and its strings keep
// their whole CSV row alive, the slice is copied each time it grows, and NewClaimTable then
// copies every claim once more. A Builder keeps the claims in fixed-size chunks that are
// never copied, about 60 bytes a claim with no pointers for the garbage collector to scan:
// the claim ids back to back, each provider id once, and the rest as numbers.
type Builder struct {
	persons   Persons
	nPersons  int
	chunks    []claimChunk
	n         int
	providers []string         // each provider id once
	byName    map[string]int32 // provider id → its index in providers
	// count[p] is person p's number of claims in the chunks before chunks[counted];
	// unordered reports whether a claim was added before one it comes after in settlement
	// order (discharge day, then id). Kept as claims are added, while the files are still
	// being read on every core, so that Table, which runs on one, need neither count them
	// all nor check each person's order. A chunk's claims are counted once it is full, in a
	// loop of their own: counted one by one in Add, each count was a cache miss that Add
	// waited for.
	count     []int32
	counted   int
	unordered bool
}

// claimChunk holds claimsPerChunk claims (the last one fewer), a column each, so that
// Table can let each column go once it has filled the table's: the Builder and the table
// are then never both whole in memory (they were, at the peak of a what-if from files).
type claimChunk struct {
	person     []int32
	provider   []int32 // index in Builder.providers
	idEnd      []int32 // claim i's id ends at text[idEnd[i]]
	level      []calc.Level
	kind       []calc.Kind
	admitted   []calc.Date
	discharged []calc.Date
	total      []calc.Money
	inPolicy   []calc.Money
	text       []byte // the claim ids back to back
}

const (
	chunkBits      = 13
	claimsPerChunk = 1 << chunkBits
)

// NewBuilder returns an empty Builder of claims of persons. With persons nil, the claims'
// persons are numbered by the caller as it goes, from 0, and given by SetPersons before
// Table: a reader that meets the claims before their persons numbers each claimant at its
// first claim.
func NewBuilder(persons Persons) *Builder {
	b := &Builder{persons: persons, byName: map[string]int32{}}
	if persons != nil {
		b.nPersons = persons.Len()
	}
	return b
}

// Add adds claim c of person number p. c.PersonID is not read: p says whose claim it is.
// Add copies what it keeps of c. It panics if p is not a person's number, which is a bug
// of the caller.
func (b *Builder) Add(p int, c *calc.Claim) {
	switch {
	case b.persons == nil && p >= 0 && p < 1<<31-1:
		b.nPersons = max(b.nPersons, p+1)
	case p < 0 || p >= b.nPersons:
		panic(fmt.Sprintf("batch: claim %s of person number %d: there are %d persons", c.ID, p, b.nPersons))
	}
	prov, ok := b.byName[c.ProviderID]
	if !ok {
		prov = int32(len(b.providers))
		b.providers = append(b.providers, strings.Clone(c.ProviderID))
		b.byName[b.providers[prov]] = prov
	}
	if b.n > 0 && !b.unordered {
		last := int32(b.n - 1)
		d := b.discharged(last)
		b.unordered = c.DischargedOn < d || c.DischargedOn == d && string(b.id(last)) > c.ID
	}
	if b.n&(claimsPerChunk-1) == 0 {
		b.countChunks(len(b.chunks))
		const n = claimsPerChunk
		b.chunks = append(b.chunks, claimChunk{
			person: make([]int32, 0, n), provider: make([]int32, 0, n), idEnd: make([]int32, 0, n),
			level: make([]calc.Level, 0, n), kind: make([]calc.Kind, 0, n),
			admitted: make([]calc.Date, 0, n), discharged: make([]calc.Date, 0, n),
			total: make([]calc.Money, 0, n), inPolicy: make([]calc.Money, 0, n),
			text: make([]byte, 0, n*12),
		})
	}
	k := &b.chunks[len(b.chunks)-1]
	k.text = append(k.text, c.ID...)
	k.person = append(k.person, int32(p))
	k.provider = append(k.provider, prov)
	k.idEnd = append(k.idEnd, int32(len(k.text)))
	k.level = append(k.level, c.Level)
	k.kind = append(k.kind, c.Kind)
	k.admitted = append(k.admitted, c.AdmittedOn)
	k.discharged = append(k.discharged, c.DischargedOn)
	k.total = append(k.total, c.Total)
	k.inPolicy = append(k.inPolicy, c.InPolicy)
	b.n++
}

// countChunks counts the claims of the chunks from b.counted up to chunks[end].
func (b *Builder) countChunks(end int) {
	if len(b.count) < b.nPersons {
		// Persons numbered as the claims come (SetPersons) grow the count.
		// Doubled when it grows, as the persons do by a chunk's claimants at a time: grown
		// by append's quarter, a province's count was made 70 times, 10 MB for 1.6.
		if cap(b.count) < b.nPersons {
			count := make([]int32, len(b.count), max(b.nPersons, 2*cap(b.count)))
			copy(count, b.count)
			b.count = count
		}
		b.count = b.count[:b.nPersons]
	}
	for ; b.counted < end; b.counted++ {
		for _, p := range b.chunks[b.counted].person {
			b.count[p]++
		}
	}
}

// SetPersons gives a Builder made with no persons the persons of its claims: the claims
// added as person p's are person renumber[p]'s. It panics if the Builder has persons
// already, or if renumber does not map every number added to one of persons', which are
// bugs of the caller.
func (b *Builder) SetPersons(persons Persons, renumber []int32) {
	n := persons.Len()
	if b.persons != nil || len(renumber) < b.nPersons {
		panic(fmt.Sprintf("batch: SetPersons of %d numbers on a Builder of %d, with persons %v", len(renumber), b.nPersons, b.persons != nil))
	}
	to := renumber[:b.nPersons]
	for _, q := range to {
		if q < 0 || int(q) >= n {
			panic(fmt.Sprintf("batch: SetPersons: number %d of %d persons", q, n))
		}
	}
	for k := range b.chunks {
		person := b.chunks[k].person
		for i, p := range person {
			person[i] = to[p]
		}
	}
	if b.count != nil {
		count := make([]int32, n)
		for p, c := range b.count {
			if c > 0 {
				count[to[p]] += c
			}
		}
		b.count = count
	}
	b.persons, b.nPersons = persons, n
}

// discharged returns claim i's discharge day.
func (b *Builder) discharged(i int32) calc.Date {
	return b.chunks[i>>chunkBits].discharged[i&(claimsPerChunk-1)]
}

// idSpan returns where claim i's id is in its chunk's text.
func (b *Builder) idSpan(i int32) (chunk *claimChunk, start, end int) {
	chunk = &b.chunks[i>>chunkBits]
	start, end = chunk.idSpan(i & (claimsPerChunk - 1))
	return chunk, start, end
}

// id returns claim i's id; the bytes must not be kept or changed.
func (b *Builder) id(i int32) []byte {
	chunk, start, end := b.idSpan(i)
	return chunk.text[start:end]
}

// Table returns the claims added as a ClaimTable: the one NewClaimTable returns for the
// same persons and the claims in the order they were added, whose Input numbers claims in
// that order. (Claims of one person with the same discharge day and the same id, which
// NewClaimTable may put either way round, stay in the order added.) It leaves the Builder
// empty.
func (b *Builder) Table() *ClaimTable {
	defer func() { *b = *NewBuilder(b.persons) }()
	n := b.n

	// Number the claimants in person-id order, as NewClaimTable orders them. count[p] is first
	// person p's number of claims, then the row of p's next claim.
	b.countChunks(len(b.chunks))
	count := b.count
	var claimants []int32
	for p, c := range count {
		if c > 0 {
			claimants = append(claimants, int32(p))
		}
	}
	s := &ClaimTable{Start: make([]int32, 0, len(claimants)+1), Input: make([]int32, n)}
	// place numbers the rows: each claimant's claims in the order added, claimants in id
	// order (byID), then each one's few claims in settlement order.
	place := func(byID []int32) {
		row := int32(0)
		for _, i := range byID {
			p := claimants[i]
			s.Start = append(s.Start, row)
			row, count[p] = row+count[p], row
		}
		s.Start = append(s.Start, int32(n))
		// A counting sort: each person's claims in the order added, persons in id order.
		i := int32(0)
		for _, k := range b.chunks {
			for _, p := range k.person {
				s.Input[count[p]] = i
				count[p]++
				i++
			}
		}
		if !b.unordered {
			return // each person's claims were added in settlement order
		}
		settlementOrder := func(x, y int32) int {
			return calc.CompareOrder(b.discharged(x), b.id(x), b.discharged(y), b.id(y))
		}
		for k := range len(byID) {
			rows := s.Input[s.Start[k]:s.Start[k+1]]
			if !slices.IsSortedFunc(rows, settlementOrder) {
				slices.SortStableFunc(rows, settlementOrder)
			}
		}
	}
	// byID lists the claimants' indexes in people in id order. Persons numbered in id
	// order, the usual persons file, give it at once: the rows are then placed while the
	// claimants are made, each on a core of its own (both were a fifth of a what-if from
	// files, on one core).
	byID := make([]int32, len(claimants))
	for k := range byID {
		byID[k] = int32(k)
	}
	var placed sync.WaitGroup
	sorted := false
	if o, ok := b.persons.(InIDOrder); ok && o.InIDOrder() {
		sorted = true
		placed.Go(func() { place(byID) })
	}
	var people []calc.Person
	if many, ok := b.persons.(PersonsOf); ok {
		people = many.PersonsOf(claimants)
	} else {
		people = make([]calc.Person, len(claimants))
		for k, p := range claimants {
			people[k] = b.persons.Person(int(p))
		}
	}
	inOrder := sorted
	if !sorted {
		idOrder := func(x, y int32) int { return cmp.Compare(people[x].ID, people[y].ID) }
		if inOrder = slices.IsSortedFunc(byID, idOrder); !inOrder {
			slices.SortFunc(byID, idOrder)
		}
		place(byID)
	}
	switch {
	case inOrder && len(people) > 0:
		s.Persons = people
	case len(people) > 0:
		s.Persons = make([]calc.Person, len(people))
		for k, i := range byID {
			s.Persons[k] = people[i]
		}
	}
	if hs, ok := b.persons.(Households); ok && len(s.Persons) > 0 {
		// The claimants' households, numbered anew in the order they first come.
		dense := make([]int32, hs.Households())
		s.Household = make([]int32, len(s.Persons))
		for k, i := range byID {
			h := hs.HouseholdOf(int(claimants[i]))
			if dense[h] == 0 {
				s.NumHouseholds++
				dense[h] = int32(s.NumHouseholds)
			}
			s.Household[k] = dense[h] - 1
		}
	}
	if h, ok := b.persons.(Histories); ok {
		for k, i := range byID {
			if x := h.History(int(claimants[i])); x != nil {
				if s.Histories == nil {
					s.Histories = map[int32]calc.History{}
				}
				s.Histories[int32(k)] = x
			}
		}
	}
	placed.Wait()

	for k := range b.chunks {
		b.chunks[k].person = nil
	}
	b.fill(s)
	return s
}

// fill fills s's columns from the chunks, one column at a time, each on every core (each
// row is a likely cache miss in the chunks), letting go of each of the chunks' columns
// once it is copied.
func (b *Builder) fill(s *ClaimTable) {
	n := len(s.Input)
	parts := runtime.GOMAXPROCS(0)
	if n < 1<<16 {
		parts = 1
	}
	each := func(f func(r int, k *claimChunk, j int32)) {
		var wg sync.WaitGroup
		for part := range parts {
			wg.Go(func() {
				for r := n * part / parts; r < n*(part+1)/parts; r++ {
					i := s.Input[r]
					f(r, &b.chunks[i>>chunkBits], i&(claimsPerChunk-1))
				}
			})
		}
		wg.Wait()
	}
	s.Total, s.InPolicy = make([]calc.Money, n), make([]calc.Money, n)
	each(func(r int, k *claimChunk, j int32) { s.Total[r], s.InPolicy[r] = k.total[j], k.inPolicy[j] })
	for k := range b.chunks {
		b.chunks[k].total, b.chunks[k].inPolicy = nil, nil
	}
	s.Admitted, s.Discharged = make([]calc.Date, n), make([]calc.Date, n)
	each(func(r int, k *claimChunk, j int32) { s.Admitted[r], s.Discharged[r] = k.admitted[j], k.discharged[j] })
	for k := range b.chunks {
		b.chunks[k].admitted, b.chunks[k].discharged = nil, nil
	}
	s.Level, s.Kind, s.Provider = make([]calc.Level, n), make([]calc.Kind, n), make([]int32, n)
	each(func(r int, k *claimChunk, j int32) {
		s.Level[r], s.Kind[r], s.Provider[r] = k.level[j], k.kind[j], k.provider[j]
	})
	s.Providers = b.providers
	for k := range b.chunks {
		b.chunks[k].level, b.chunks[k].kind, b.chunks[k].provider = nil, nil, nil
	}
	// The ids in row order: each one's length, where each ends, then the bytes.
	s.IDEnd = make([]uint32, n)
	each(func(r int, k *claimChunk, j int32) {
		start, end := k.idSpan(j)
		s.IDEnd[r] = uint32(end - start)
	})
	size := uint32(0)
	for r, length := range s.IDEnd {
		size += length
		s.IDEnd[r] = size
	}
	text := make([]byte, size)
	each(func(r int, k *claimChunk, j int32) {
		start, end := k.idSpan(j)
		copy(text[s.IDEnd[r]-uint32(end-start):], k.text[start:end])
	})
	for k := range b.chunks {
		b.chunks[k] = claimChunk{}
	}
	// The bytes are never written again: the string is theirs, without a copy.
	s.IDs = unsafe.String(unsafe.SliceData(text), len(text))
}

// idSpan returns where claim j of the chunk has its id in the chunk's text.
func (k *claimChunk) idSpan(j int32) (start, end int) {
	if j > 0 {
		start = int(k.idEnd[j-1])
	}
	return start, int(k.idEnd[j])
}
