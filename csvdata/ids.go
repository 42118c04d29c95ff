package csvdata

import (
	"hash/maphash"
	"math"
)

// idTable is a set of ids numbered 0, 1, 2, ... in the order they were first added, with
// the line each was first seen on.
//
// It exists because a province's files hold millions of ids. A map[string]int keyed by the
// ids read keeps, per id, a string header and a map slot, and keeps alive the text the id
// was cut from (encoding/csv allocates one string per row and the fields are slices of
// it): several times the ids' own bytes, and pointers for the garbage collector to scan.
// idTable keeps the ids' bytes back to back in fixed-size chunks, which never move once
// written, and finds them through an open-addressing table of 8-byte slots holding no
// pointers: about 30 bytes an id beside its text while the file is read. It is exact: a
// slot whose hash matches is confirmed by comparing the bytes.
//
// Files are often sorted by id. While the ids come in increasing order none can repeat
// an earlier one, so the table is not built until an id breaks the order or one must be
// found: every probe of a table of millions is a likely cache and TLB miss, the most
// costly step of reading a sorted claims file.
type idTable struct {
	seed    maphash.Seed
	collide bool     // every id hashes to 0: lets tests check that lookups are exact
	slots   []uint64 // 0 or the top 32 bits of an id's hash << 32 | its number + 1; nil until needed
	chunks  []idChunk
	n       int
}

// idChunk holds idsPerChunk ids (the last one fewer).
type idChunk struct {
	text []byte // the ids' bytes back to back
	end  []int  // id i of the chunk ends at text[end[i]]
	line []int  // the line id i of the chunk was first seen on; nil once not needed
}

const (
	idChunkBits = 13
	idsPerChunk = 1 << idChunkBits
)

func newIDTable() *idTable {
	return &idTable{seed: maphash.MakeSeed()}
}

// len is the number of ids added.
func (t *idTable) len() int { return t.n }

// at returns id n's bytes; they must not be kept or changed.
func (t *idTable) at(n int) []byte {
	c := &t.chunks[n>>idChunkBits]
	i := n & (idsPerChunk - 1)
	start := 0
	if i > 0 {
		start = c.end[i-1]
	}
	return c.text[start:c.end[i]]
}

// id returns id n as a new string.
func (t *idTable) id(n int) string { return string(t.at(n)) }

// line returns the line id n was first seen on.
func (t *idTable) line(n int) int { return t.chunks[n>>idChunkBits].line[n&(idsPerChunk-1)] }

// dropLines forgets the lines, once no more ids will be added.
func (t *idTable) dropLines() {
	for i := range t.chunks {
		t.chunks[i].line = nil
	}
}

func (t *idTable) hash(id string) uint64 {
	if t.collide {
		return 0
	}
	return maphash.String(t.seed, id)
}

func (t *idTable) hashBytes(id []byte) uint64 {
	if t.collide {
		return 0
	}
	return maphash.Bytes(t.seed, id)
}

// lookup returns the number of id, if it was added, or else the empty slot where id goes.
func (t *idTable) lookup(id string, h uint64) (n int, found bool, slot int) {
	mask := len(t.slots) - 1
	tag := h >> 32
	for i := int(h) & mask; ; i = (i + 1) & mask {
		s := t.slots[i]
		if s == 0 {
			return 0, false, i
		}
		if s>>32 == tag && string(t.at(int(uint32(s))-1)) == id {
			return int(uint32(s)) - 1, true, i
		}
	}
}

// find returns the number of id, if it was added. It builds the table if it is not built:
// call index first when several goroutines may find at once.
func (t *idTable) find(id string) (int, bool) {
	t.index()
	n, found, _ := t.lookup(id, t.hash(id))
	return n, found
}

// add adds id, first seen on line, unless it was added before. It returns id's number
// and whether it is new.
func (t *idTable) add(id string, line int) (int, bool) {
	if t.slots == nil {
		// Still in increasing order?
		switch {
		case t.n == 0 || string(t.at(t.n-1)) < id:
			return t.push(id, line), true
		case string(t.at(t.n-1)) == id:
			return t.n - 1, false
		}
		t.index()
	}
	h := t.hash(id)
	n, found, slot := t.lookup(id, h)
	if found {
		return n, false
	}
	n = t.push(id, line)
	t.slots[slot] = h>>32<<32 | uint64(n+1)
	// Keep the table at most three quarters full, so that probes stay short.
	if t.n > len(t.slots)/4*3 {
		t.rehash(2 * len(t.slots))
	}
	return n, true
}

// push stores id as the next number, which it returns, without entering it in the table.
func (t *idTable) push(id string, line int) int {
	if t.n == math.MaxUint32-1 {
		// Unreachable in practice: the ids would take over 100 GB of memory first.
		panic("csvdata: more than 2^32-2 ids in one file")
	}
	n := t.n
	if n&(idsPerChunk-1) == 0 {
		t.chunks = append(t.chunks, idChunk{
			text: make([]byte, 0, idsPerChunk*12),
			end:  make([]int, 0, idsPerChunk),
			line: make([]int, 0, idsPerChunk),
		})
	}
	c := &t.chunks[len(t.chunks)-1]
	c.text = append(c.text, id...)
	c.end = append(c.end, len(c.text))
	c.line = append(c.line, line)
	t.n++
	return n
}

// index builds the table, if it is not built, as small as add keeps it.
func (t *idTable) index() {
	if t.slots != nil {
		return
	}
	size := 1024
	for size/4*3 <= t.n {
		size *= 2
	}
	t.rehash(size)
}

// rehash makes the table size slots (a power of two) and enters every id in it.
func (t *idTable) rehash(size int) {
	t.slots = make([]uint64, size)
	mask := len(t.slots) - 1
	for n := range t.n {
		h := t.hashBytes(t.at(n))
		i := int(h) & mask
		for t.slots[i] != 0 {
			i = (i + 1) & mask
		}
		t.slots[i] = h>>32<<32 | uint64(n+1)
	}
}
