package csvdata

import (
	"hash/maphash"
	"math"
	"runtime"
	"sync"
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
// pointers: about 40 bytes an id beside its text while the file is read. It is exact: an id
// of at most 12 bytes (a province's person ids have 8 or 9) is held in its slot itself and
// compared there, so that finding it costs one memory access rather than three dependent
// ones (the slot, the chunk's offsets, the id's text): the person lookup of a claim was a
// fifth of the time of a what-if from files. A longer id's slot holds its hash, confirmed
// by comparing the bytes.
//
// Files are often sorted by id. While the ids come in increasing order none can repeat
// an earlier one, so the table is not built until an id breaks the order or one must be
// found: every probe of a table of millions is a likely cache and TLB miss, the most
// costly step of reading a sorted claims file.
type idTable struct {
	seed    maphash.Seed
	collide bool     // every id hashes to 0: lets tests check that lookups are exact
	slots   []idSlot // nil until needed
	// A large table is cut into regions of its own (see rehash), each an open-addressing
	// table: an id's region is the top regionBits of its hash, and its place within the
	// region the bottom bits (mask). regionShift is 64-regionBits (64: one region), and
	// count each region's ids while add enters them.
	mask        int // the size of a region less 1
	regionShift uint
	regionSlots uint // log2 of a region's size
	count       []int32
	mixSeed     uint64 // mixed into a short id's hash, so that no file can choose its regions
	chunks      []idChunk
	n           int
}

// idSlot is an empty slot (val 0) or an id's. For an id of at most shortID bytes, key and
// the top half of val hold its bytes, zero-padded (a valid id has no zero byte, so the
// packing is exact); for a longer id, key is its hash and the top half of val is
// longMark, which no packed id has (0xff is never in valid UTF-8). The bottom half of val
// is the id's number + 1.
type idSlot struct {
	key, val uint64
}

const (
	shortID  = 12
	longMark = 0xffffffff
)

// pack returns the slot key and top half of an id of at most shortID bytes without a zero
// byte; ok is false for any other.
func pack[S string | []byte](id S) (key, hi uint64, ok bool) {
	if len(id) > shortID {
		return 0, 0, false
	}
	for i := 0; i < len(id); i++ {
		b := uint64(id[i])
		if b == 0 {
			return 0, 0, false
		}
		if i < 8 {
			key |= b << (8 * i)
		} else {
			hi |= b << (8 * (i - 8))
		}
	}
	return key, hi, true
}

// mix spreads a packed id's bits over a hash (the finaliser of splitmix64).
func mix(key, hi uint64) uint64 {
	h := key ^ hi*0x9e3779b97f4a7c15
	h = (h ^ h>>30) * 0xbf58476d1ce4e5b9
	h = (h ^ h>>27) * 0x94d049bb133111eb
	return h ^ h>>31
}

// idChunk holds idsPerChunk ids (the last one fewer).
type idChunk struct {
	text []byte  // the ids' bytes back to back
	end  []int32 // id i of the chunk ends at text[end[i]]
	line []int32 // the line id i of the chunk was first seen on; nil once not needed
}

const (
	idChunkBits = 13
	idsPerChunk = 1 << idChunkBits
)

func newIDTable() *idTable {
	seed := maphash.MakeSeed()
	return &idTable{seed: seed, mixSeed: maphash.Comparable(seed, 0)}
}

// len is the number of ids added.
func (t *idTable) len() int { return t.n }

// at returns id n's bytes; they must not be kept or changed.
func (t *idTable) at(n int) []byte {
	c := &t.chunks[n>>idChunkBits]
	i := n & (idsPerChunk - 1)
	start := int32(0)
	if i > 0 {
		start = c.end[i-1]
	}
	return c.text[start:c.end[i]]
}

// id returns id n as a new string.
func (t *idTable) id(n int) string { return string(t.at(n)) }

// line returns the line id n was first seen on.
func (t *idTable) line(n int) int { return int(t.chunks[n>>idChunkBits].line[n&(idsPerChunk-1)]) }

// dropLines forgets the lines, once no more ids will be added.
func (t *idTable) dropLines() {
	for i := range t.chunks {
		t.chunks[i].line = nil
	}
}

// slotFor returns the slot id has or would have: its key, the top half of its val, and
// the hash that places it.
func slotFor[S string | []byte](t *idTable, id S) (key, hi, h uint64) {
	if k, top, ok := pack(id); ok {
		key, hi, h = k, top, mix(k^t.mixSeed, top)
	} else {
		switch any(id).(type) {
		case string:
			h = maphash.String(t.seed, string(id))
		default:
			h = maphash.Bytes(t.seed, []byte(id))
		}
		key, hi = h, longMark
	}
	if t.collide {
		h = 0
	}
	return key, hi, h
}

// lookup returns the number of id, if it was added, or else the empty slot where id goes.
func (t *idTable) lookup(id string, key, hi, h uint64) (n int, found bool, slot int) {
	base := int(h>>t.regionShift) << t.regionSlots
	for i := int(h) & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[base+i]
		if s.val == 0 {
			return 0, false, base + i
		}
		if s.key == key && s.val>>32 == hi && (hi != longMark || string(t.at(int(uint32(s.val))-1)) == id) {
			return int(uint32(s.val)) - 1, true, base + i
		}
	}
}

// home is the first slot an id of hash h may have.
func (t *idTable) home(h uint64) int {
	return int(h>>t.regionShift)<<t.regionSlots + int(h)&t.mask
}

// find returns the number of id, if it was added. It builds the table if it is not built:
// call index first when several goroutines may find at once.
func (t *idTable) find(id string) (int, bool) {
	t.index()
	key, hi, h := slotFor(t, id)
	n, found, _ := t.lookup(id, key, hi, h)
	return n, found
}

// findMany sets found[k] to the number of id(k), or -1, for k below n: find for several
// ids at once, their slots' places worked out before any is read, so that the processor
// can wait for several slots at once rather than one after the other. The table must be
// built.
func (t *idTable) findMany(n int, id func(k int) string, found []int) {
	var key, hi, h [64]uint64
	for k := range n {
		key[k], hi[k], h[k] = slotFor(t, id(k))
		prefetch(&t.slots[t.home(h[k])])
	}
	for k := range n {
		m, ok, _ := t.lookup(id(k), key[k], hi[k], h[k])
		if !ok {
			m = -1
		}
		found[k] = m
	}
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
	key, hi, h := slotFor(t, id)
	n, found, slot := t.lookup(id, key, hi, h)
	if found {
		return n, false
	}
	n = t.push(id, line)
	t.slots[slot] = idSlot{key: key, val: hi<<32 | uint64(n+1)}
	// Keep the table at most three quarters full, so that probes stay short, and each
	// region at most seven eighths.
	full := t.n > len(t.slots)/4*3
	if t.count != nil {
		r := slot >> t.regionSlots
		t.count[r]++
		full = full || int(t.count[r]) > (t.mask+1)/8*7
	}
	if full {
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
			end:  make([]int32, 0, idsPerChunk),
			line: make([]int32, 0, idsPerChunk),
		})
	}
	c := &t.chunks[len(t.chunks)-1]
	c.text = append(c.text, id...)
	c.end = append(c.end, int32(len(c.text)))
	c.line = append(c.line, int32(line))
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
//
// A table of 1<<18 slots or more is cut into 64 regions, filled on every core, each
// goroutine entering the ids of its own regions: building the table of a province's
// 1,500,000 persons took a tenth of a what-if's time on one core while the others
// waited for it. (Should any region come out over seven eighths full, which a seeded hash
// makes as good as impossible, the table is built as one region instead.) Within a
// goroutine the ids are entered a batch at a time: their slots' places are worked out and
// prefetched first, so that the processor waits for the batch's cache misses together
// rather than one after the other.
func (t *idTable) rehash(size int) {
	t.slots = make([]idSlot, size)
	workers := runtime.GOMAXPROCS(0)
	if t.collide || size < 1<<18 || workers < 2 {
		t.setRegions(size, 0)
		t.fill(0, 1)
		return
	}
	t.setRegions(size, 6)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { t.fill(w, workers) })
	}
	wg.Wait()
	for _, c := range t.count {
		if int(c) > (t.mask+1)/8*7 {
			clear(t.slots)
			t.setRegions(size, 0)
			t.fill(0, 1)
			return
		}
	}
}

// setRegions cuts a table of size slots into 1<<bits regions.
func (t *idTable) setRegions(size int, bits uint) {
	t.regionShift = 64 - bits
	t.regionSlots = uint(bits64(size)) - bits
	t.mask = size>>bits - 1
	t.count = nil
	if bits > 0 {
		t.count = make([]int32, 1<<bits)
	}
}

// bits64 returns log2 of n, a power of two.
func bits64(n int) int {
	b := 0
	for n > 1 {
		n >>= 1
		b++
	}
	return b
}

// fill enters the ids of goroutine w's share of the regions (the w-th of workers runs of
// them), counting them.
func (t *idTable) fill(w, workers int) {
	const batch = 32
	var key, hi, at [batch]uint64
	var num [batch]int
	regionBits := 64 - t.regionShift
	for lo := 0; lo < t.n; {
		m := 0
		for ; lo < t.n && m < batch; lo++ {
			k, top, h := slotFor(t, t.at(lo))
			r := int(h >> t.regionShift)
			if r*workers>>regionBits != w {
				continue
			}
			key[m], hi[m], num[m] = k, top, lo
			at[m] = uint64(r<<t.regionSlots) | h&uint64(t.mask)
			prefetch(&t.slots[at[m]])
			m++
		}
		for k := range m {
			base := int(at[k]) &^ t.mask
			i := int(at[k]) & t.mask
			for t.slots[base+i].val != 0 {
				i = (i + 1) & t.mask
			}
			t.slots[base+i] = idSlot{key: key[k], val: hi[k]<<32 | uint64(num[k]+1)}
			if t.count != nil {
				t.count[base>>t.regionSlots]++
			}
		}
	}
}
