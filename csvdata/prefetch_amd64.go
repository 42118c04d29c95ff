package csvdata

// prefetch asks the processor to bring p's cache line in and returns at once, without
// waiting for it: entering or finding a batch of ids in a table of millions, each slot
// a likely cache miss, a plain read of each slot first (the portable prefetch_other.go)
// let only a few of the batch's misses be in flight at once, since every read must
// finish before the instructions after it retire. Building the table of a province's
// persons was 16% of a what-if's CPU, three quarters of it waiting on those reads.
//
//go:noescape
func prefetch(p *idSlot)
