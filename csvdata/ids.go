package csvdata

import (
	"hash/maphash"
	"math"
	"math/bits"
	"runtime"
	"sync"
	"sync/atomic"
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
	slots   []idSlot // nil until needed; an open-addressing table
	mask    int      // len(slots) less 1: an id's first slot is the bottom bits of its hash
	mixSeed uint64   // mixed into a short id's hash, so that no file can choose its slots
	chunks  []idChunk
	n       int

	// lastOnly says the table keeps only its last id (last, first seen on lastLine) and
	// each id's 64-bit hash, for finding a repeat, not for numbering or reporting it: while
	// the ids come in increasing order a repeat can only be of the last; once one breaks
	// the order, add looks its hash up among all of theirs (hashSet). Two ids of one hash
	// count as a repeat: a seeded hash makes that as good as never, and a caller that must
	// be sure (ScanClaimantsFirst) reads the file again exactly on any repeat.
	lastOnly bool
	last     []byte
	lastLine int
	hashes   [][]uint64 // the hash of each id added in increasing order, hashesPerChunk a chunk; nil once hashSet is made
	hashSet  []uint64   // an open-addressing set of the hashes, made when an id breaks the order; 0 is empty

	// filter, if not nil, has the bit h>>filterShift set for the hash h of every id
	// (buildFilter).
	filter      []uint64
	filterShift uint

	// dense says the table may be seven eighths full rather than three quarters: for a
	// table of claimants, which is rebuilt at each doubling as the claims are read, and
	// whose last doubling (a province's 397,645 claimants are just over three quarters of
	// 524,288 slots) would add as many bytes as all the ones before.
	dense bool
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
	if len(id) >= 8 {
		// The first eight bytes in one load (the compiler joins the byte loads), checked
		// for a zero byte all at once: most ids are 8 or 9 bytes long.
		_ = id[7]
		key = uint64(id[0]) | uint64(id[1])<<8 | uint64(id[2])<<16 | uint64(id[3])<<24 |
			uint64(id[4])<<32 | uint64(id[5])<<40 | uint64(id[6])<<48 | uint64(id[7])<<56
		if (key-0x0101010101010101)&^key&0x8080808080808080 != 0 {
			return 0, 0, false
		}
		for i := 8; i < len(id); i++ {
			b := uint64(id[i])
			if b == 0 {
				return 0, 0, false
			}
			hi |= b << (8 * (i - 8))
		}
		return key, hi, true
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
func (t *idTable) line(n int) int {
	if t.lastOnly {
		return t.lastLine
	}
	return int(t.chunks[n>>idChunkBits].line[n&(idsPerChunk-1)])
}

// maxLoad is how many ids the table holds before it grows: three quarters of its slots,
// so that probes stay short, or seven eighths of a dense table's.
func (t *idTable) maxLoad() int {
	if t.dense {
		return len(t.slots) / 8 * 7
	}
	return len(t.slots) / 4 * 3
}

// newLastOnly returns an empty table that keeps only its last id (see lastOnly).
func newLastOnly() *idTable {
	t := newIDTable()
	t.lastOnly = true
	return t
}

// addHash adds id, first seen on line, to a lastOnly table, as add does.
func (t *idTable) addHash(id string, line int) (int, bool) {
	_, _, h := slotFor(t, id)
	h |= 1 // 0 marks an empty slot of hashSet
	if t.hashSet == nil {
		switch {
		case t.n == 0 || string(t.last) < id:
			t.last, t.lastLine = append(t.last[:0], id...), line
			if len(t.hashes) == 0 || len(t.hashes[len(t.hashes)-1]) == hashesPerChunk {
				// Chunks rather than one slice: appending to a slice of a million would
				// copy it as it grows, 40 MB of garbage for 8 MB of hashes.
				t.hashes = append(t.hashes, make([]uint64, 0, hashesPerChunk))
			}
			last := &t.hashes[len(t.hashes)-1]
			*last = append(*last, h)
			t.n++
			return t.n - 1, true
		case string(t.last) == id:
			return t.n - 1, false
		}
		t.hashSet = make([]uint64, hashSetSize(t.n+1))
		for _, chunk := range t.hashes {
			for _, old := range chunk {
				insertHash(t.hashSet, old)
			}
		}
		t.hashes = nil
	}
	if (t.n+1)*4 > len(t.hashSet)*3 {
		bigger := make([]uint64, 2*len(t.hashSet))
		for _, old := range t.hashSet {
			if old != 0 {
				insertHash(bigger, old)
			}
		}
		t.hashSet = bigger
	}
	if !insertHash(t.hashSet, h) {
		return t.n - 1, false
	}
	t.lastLine = line
	t.n++
	return t.n - 1, true
}

// hashesPerChunk is how many hashes a chunk of a lastOnly table's holds (512 KiB).
const hashesPerChunk = 1 << 16

// hashSetSize is the number of slots, a power of two, of a hash set for n hashes: at most
// three quarters full.
func hashSetSize(n int) int {
	size := 1024
	for size/4*3 < n {
		size *= 2
	}
	return size
}

// insertHash adds h (not 0) to set, a power of two of slots; false if h was there.
func insertHash(set []uint64, h uint64) bool {
	mask := uint64(len(set) - 1)
	for i := h >> 1 & mask; ; i = (i + 1) & mask { // not bit 0, which is always set
		switch set[i] {
		case 0:
			set[i] = h
			return true
		case h:
			return false
		}
	}
}

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
	for i := int(h) & t.mask; ; i = (i + 1) & t.mask {
		s := &t.slots[i]
		if s.val == 0 {
			return 0, false, i
		}
		if s.key == key && s.val>>32 == hi && (hi != longMark || string(t.at(int(uint32(s.val))-1)) == id) {
			return int(uint32(s.val)) - 1, true, i
		}
	}
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
//
// With a filter (buildFilter), an id whose hash's bit is not set is not looked up.
func (t *idTable) findMany(n int, id func(k int) string, found []int) {
	var key, hi, h [64]uint64
	for k := range n {
		key[k], hi[k], h[k] = slotFor(t, id(k))
		if t.filter != nil && t.filter[h[k]>>t.filterShift>>6]&(1<<(h[k]>>t.filterShift&63)) == 0 {
			found[k] = -1
			continue
		}
		found[k] = 0
		prefetch(&t.slots[int(h[k])&t.mask])
	}
	for k := range n {
		if found[k] < 0 {
			continue
		}
		m, ok, _ := t.lookup(id(k), key[k], hi[k], h[k])
		if !ok {
			m = -1
		}
		found[k] = m
	}
}

// buildFilter makes the table's filter: a bit for each id's hash, in a bitmap of about
// sixteen bits an id, so that findMany passes over most ids that are not in the table
// with one read of a bitmap that stays in the processor's cache (one in sixteen or so is
// looked up for nothing). It is for a table of a few of many ids looked up: the
// claimants among a province's persons, three quarters of whom have no claim, whose
// lookups, each probing a table seven eighths full until an empty slot, were 5% of a
// what-if's CPU. The table must be built; ids added after are not in the filter.
func (t *idTable) buildFilter() {
	size := 64
	for size < 16*t.n {
		size *= 2
	}
	t.filter = make([]uint64, size/64)
	t.filterShift = uint(64 - bits.Len(uint(size-1)))
	for _, s := range t.slots {
		if s.val == 0 {
			continue
		}
		h := s.key // a long id's key is its hash
		if hi := s.val >> 32; hi != longMark {
			h = mix(s.key^t.mixSeed, hi)
		}
		if t.collide {
			h = 0
		}
		t.filter[h>>t.filterShift>>6] |= 1 << (h >> t.filterShift & 63)
	}
}

// addMany adds id(k) for k below n, as add does with line 0, setting number[k] to its
// number: add for several ids at once, their slots' places worked out and prefetched
// before any is read, as findMany does. The table must be built.
func (t *idTable) addMany(n int, id func(k int) string, number []int) {
	var key, hi, h [64]uint64
	for k := range n {
		key[k], hi[k], h[k] = slotFor(t, id(k))
		prefetch(&t.slots[int(h[k])&t.mask])
	}
	for k := range n {
		// The table may have grown since the prefetch: lookup places h anew.
		m, found, slot := t.lookup(id(k), key[k], hi[k], h[k])
		if !found {
			m = t.push(id(k), 0)
			t.slots[slot] = idSlot{key: key[k], val: hi[k]<<32 | uint64(m+1)}
			if t.n > t.maxLoad() {
				t.rehash(2 * len(t.slots))
			}
		}
		number[k] = m
	}
}

// add adds id, first seen on line, unless it was added before. It returns id's number
// and whether it is new.
func (t *idTable) add(id string, line int) (int, bool) {
	if t.lastOnly {
		return t.addHash(id, line)
	}
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
	// Keep the table at most three quarters full, so that probes stay short.
	if t.n > t.maxLoad() {
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
// A table of 1<<18 slots or more is filled on every core, each goroutine entering its
// share of the ids, claiming each id's slot with a compare-and-swap: building the table of
// a province's 1,500,000 persons took a tenth of a what-if's time on one core while the
// others waited for it. (The ids are distinct, so no goroutine needs another's key: only
// whether a slot is taken.) The ids are entered a batch at a time: their slots' places are
// worked out and prefetched first, so that the processor waits for the batch's cache
// misses together rather than one after the other.
func (t *idTable) rehash(size int) {
	t.slots = make([]idSlot, size)
	t.mask = size - 1
	workers := runtime.GOMAXPROCS(0)
	if t.collide || size < 1<<18 || workers < 2 {
		t.fill(0, t.n, false)
		return
	}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { t.fill(t.n*w/workers, t.n*(w+1)/workers, true) })
	}
	wg.Wait()
}

// fill enters ids lo to hi-1, which are not in the table; shared says other goroutines
// are filling it at the same time.
func (t *idTable) fill(lo, hi int, shared bool) {
	const batch = 32
	var key, top, at [batch]uint64
	for lo < hi {
		m := min(batch, hi-lo)
		for k := range m {
			var h uint64
			key[k], top[k], h = slotFor(t, t.at(lo+k))
			at[k] = h & uint64(t.mask)
			prefetch(&t.slots[at[k]])
		}
		for k := range m {
			val := top[k]<<32 | uint64(lo+k+1)
			i := int(at[k])
			for {
				s := &t.slots[i]
				if !shared && s.val == 0 {
					s.val = val
					break
				}
				if shared && atomic.LoadUint64(&s.val) == 0 && atomic.CompareAndSwapUint64(&s.val, 0, val) {
					break
				}
				i = (i + 1) & t.mask
			}
			// The key is read only once the table is built, after every fill returned.
			t.slots[i].key = key[k]
		}
		lo += m
	}
}
