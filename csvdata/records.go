package csvdata

import (
	"encoding/csv"
	"strings"
	"sync/atomic"
)

// records reads a CSV file's records on a goroutine of its own and hands them over in
// batches, so that splitting the text into fields (a third of the time it takes to read
// a province's files) runs beside the checks of the rows instead of before each one. It
// may also look up one cell of each record there (a claim's person, whose lookup in a
// table of millions is mostly waiting for memory), to even out the two goroutines' work.
type records struct {
	r     *csv.Reader
	width int // fields per record: the header's
	ahead *lookahead
	field int // the field ahead looks up
	full  chan *recordBatch
	empty chan *recordBatch
	stop  atomic.Bool
	done  chan struct{}

	cur *recordBatch // the batch being read from
	pos int          // the next record's index in cur
}

// lookahead is a lookup of one column's cell, without surrounding spaces, made for every
// record as it is read. find must be safe to call from another goroutine.
type lookahead struct {
	column column
	find   func(cell string) (int, bool)
}

// recordBatch holds records read one after the other, and what ended them.
type recordBatch struct {
	fields []string // record i is fields[i*width : (i+1)*width]
	lines  []int    // the line each record starts on
	found  []int    // with a lookahead: what it found for each record, or -1
	// err is the error Read returned after the records, io.EOF at the end of the file, or
	// nil when more records follow; errFields is the number of fields of the record that
	// came with it.
	err       error
	errFields int
}

const (
	batchRecords = 512
	batches      = 4 // in flight at once: the reading goroutine is at most this many ahead
)

// startRecords starts reading the records of r after its header, which has width fields,
// looking up field field of each with ahead if it is not nil. The records' strings are
// shared with nothing else, so rows may keep them.
func startRecords(r *csv.Reader, width int, ahead *lookahead, field int) *records {
	rs := &records{r: r, width: width, ahead: ahead, field: field, full: make(chan *recordBatch, batches),
		empty: make(chan *recordBatch, batches), done: make(chan struct{}), cur: &recordBatch{}}
	for range batches {
		rs.empty <- &recordBatch{fields: make([]string, 0, batchRecords*width), lines: make([]int, 0, batchRecords)}
	}
	go rs.read()
	return rs
}

func (rs *records) read() {
	defer close(rs.done)
	for !rs.stop.Load() {
		b := <-rs.empty
		b.fields, b.lines, b.err, b.errFields = b.fields[:0], b.lines[:0], nil, 0
		for len(b.lines) < batchRecords && !rs.stop.Load() {
			rec, err := rs.r.Read()
			if err != nil {
				b.err, b.errFields = err, len(rec)
				break
			}
			line, _ := rs.r.FieldPos(0)
			b.fields = append(b.fields, rec...)
			b.lines = append(b.lines, line)
		}
		if rs.ahead != nil {
			b.found = b.found[:0]
			for i := range b.lines {
				n, ok := -1, false
				if cell := strings.TrimSpace(b.fields[i*rs.width+rs.field]); cell != "" {
					n, ok = rs.ahead.find(cell)
				}
				if !ok {
					n = -1
				}
				b.found = append(b.found, n)
			}
		}
		rs.full <- b
		if b.err != nil {
			return
		}
	}
}

// found is what the lookahead found for the record next returned last, or -1.
func (rs *records) found() int { return rs.cur.found[rs.pos-1] }

// next returns the next record and the line it starts on; or, when there is none, the
// number of fields of the record that came with the error that ended the records, and
// that error (io.EOF at the end of the file). rec is valid until the next call.
func (rs *records) next() (rec []string, line, errFields int, err error) {
	for rs.pos == len(rs.cur.lines) {
		if rs.cur.err != nil {
			return nil, 0, rs.cur.errFields, rs.cur.err
		}
		if cap(rs.cur.lines) > 0 { // not the empty batch startRecords begins with
			rs.empty <- rs.cur
		}
		rs.cur, rs.pos = <-rs.full, 0
	}
	i := rs.pos
	rs.pos++
	return rs.cur.fields[i*rs.width : (i+1)*rs.width : (i+1)*rs.width], rs.cur.lines[i], 0, nil
}

// close stops the reading goroutine and waits for it to end, so that r is not read
// after close returns.
func (rs *records) close() {
	rs.stop.Store(true)
	for {
		select {
		case <-rs.done:
			return
		case b := <-rs.full: // make room, should the goroutine wait to hand over a batch
			rs.empty <- b
		}
	}
}
