package batch

import (
	"cmp"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/hpcalc/hpcalc/calc"
)

// Persons are the persons a Builder's claims belong to, numbered from 0, each with a
// distinct ID. *csvdata.PersonIndex is one.
type Persons interface {
	Len() int
	Person(n int) calc.Person
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
}

// claimChunk holds claimsPerChunk claims (the last one fewer).
type claimChunk struct {
	rows []claimRow
	text []byte // the claim ids back to back
}

// claimRow is a claim in a Builder.
type claimRow struct {
	person     int32
	provider   int32 // index in Builder.providers
	idEnd      int   // the claim's id ends at its chunk's text[idEnd]
	level      calc.Level
	kind       calc.Kind
	admitted   calc.Date
	discharged calc.Date
	total      calc.Money
	inPolicy   calc.Money
}

const (
	chunkBits      = 13
	claimsPerChunk = 1 << chunkBits
)

// NewBuilder returns an empty Builder of claims of persons.
func NewBuilder(persons Persons) *Builder {
	return &Builder{persons: persons, nPersons: persons.Len(), byName: map[string]int32{}}
}

// Add adds claim c of person number p. c.PersonID is not read: p says whose claim it is.
// Add copies what it keeps of c. It panics if p is not a person's number, which is a bug
// of the caller.
func (b *Builder) Add(p int, c *calc.Claim) {
	if p < 0 || p >= b.nPersons {
		panic(fmt.Sprintf("batch: claim %s of person number %d: there are %d persons", c.ID, p, b.nPersons))
	}
	prov, ok := b.byName[c.ProviderID]
	if !ok {
		prov = int32(len(b.providers))
		b.providers = append(b.providers, strings.Clone(c.ProviderID))
		b.byName[b.providers[prov]] = prov
	}
	if b.n&(claimsPerChunk-1) == 0 {
		b.chunks = append(b.chunks, claimChunk{rows: make([]claimRow, 0, claimsPerChunk), text: make([]byte, 0, claimsPerChunk*12)})
	}
	k := &b.chunks[len(b.chunks)-1]
	k.text = append(k.text, c.ID...)
	k.rows = append(k.rows, claimRow{
		person: int32(p), provider: prov, idEnd: len(k.text), level: c.Level, kind: c.Kind,
		admitted: c.AdmittedOn, discharged: c.DischargedOn, total: c.Total, inPolicy: c.InPolicy,
	})
	b.n++
}

// row returns claim i.
func (b *Builder) row(i int32) *claimRow {
	return &b.chunks[i>>chunkBits].rows[i&(claimsPerChunk-1)]
}

// idSpan returns where claim i's id is in its chunk's text.
func (b *Builder) idSpan(i int32) (chunk *claimChunk, start, end int) {
	chunk = &b.chunks[i>>chunkBits]
	j := i & (claimsPerChunk - 1)
	if j > 0 {
		start = chunk.rows[j-1].idEnd
	}
	return chunk, start, chunk.rows[j].idEnd
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
	count := make([]int32, b.nPersons)
	for _, k := range b.chunks {
		for i := range k.rows {
			count[k.rows[i].person]++
		}
	}
	var claimants []int32
	for p, c := range count {
		if c > 0 {
			claimants = append(claimants, int32(p))
		}
	}
	people := make([]calc.Person, len(claimants))
	for k, p := range claimants {
		people[k] = b.persons.Person(int(p))
	}
	byID := make([]int32, len(claimants)) // the claimants' indexes in people, in id order
	for k := range byID {
		byID[k] = int32(k)
	}
	idOrder := func(x, y int32) int { return cmp.Compare(people[x].ID, people[y].ID) }
	// Persons files are usually in id order already.
	inOrder := slices.IsSortedFunc(byID, idOrder)
	if !inOrder {
		slices.SortFunc(byID, idOrder)
	}

	s := &ClaimTable{
		Start: make([]int32, 0, len(claimants)+1),
		ID:    make([]string, n), Provider: make([]string, n), Level: make([]calc.Level, n), Kind: make([]calc.Kind, n),
		Admitted: make([]calc.Date, n), Discharged: make([]calc.Date, n), Total: make([]calc.Money, n),
		InPolicy: make([]calc.Money, n), Input: make([]int32, n),
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
		for j := range k.rows {
			p := k.rows[j].person
			s.Input[count[p]] = i
			count[p]++
			i++
		}
	}
	// Then each person's few claims in settlement order: discharge date, then claim id.
	settlementOrder := func(x, y int32) int {
		return calc.CompareOrder(b.row(x).discharged, b.id(x), b.row(y).discharged, b.id(y))
	}
	for k := range s.Persons {
		rows := s.Input[s.Start[k]:s.Start[k+1]]
		if !slices.IsSortedFunc(rows, settlementOrder) {
			slices.SortStableFunc(rows, settlementOrder)
		}
	}

	// One string holds every claim's id; the ClaimTable's IDs are slices of it.
	var all strings.Builder
	size := 0
	for k := range b.chunks {
		size += len(b.chunks[k].text)
	}
	all.Grow(size)
	base := make([]int, len(b.chunks)) // where each chunk's text starts in all
	for k := range b.chunks {
		base[k] = all.Len()
		all.Write(b.chunks[k].text)
	}
	ids := all.String()
	// Fill the columns on every core: each row is a likely cache miss in the chunks.
	parts := runtime.GOMAXPROCS(0)
	if n < 1<<16 {
		parts = 1
	}
	var wg sync.WaitGroup
	for part := range parts {
		wg.Go(func() {
			for r := n * part / parts; r < n*(part+1)/parts; r++ {
				i := s.Input[r]
				c := b.row(i)
				_, start, end := b.idSpan(i)
				off := base[i>>chunkBits]
				s.ID[r] = ids[off+start : off+end]
				s.Provider[r] = b.providers[c.provider]
				s.Level[r], s.Kind[r] = c.level, c.kind
				s.Admitted[r], s.Discharged[r] = c.admitted, c.discharged
				s.Total[r], s.InPolicy[r] = c.total, c.inPolicy
			}
		})
	}
	wg.Wait()
	return s
}
