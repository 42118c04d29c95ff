package csvdata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"sync/atomic"
)

// records reads a CSV file's records on a goroutine of its own and hands them over in
// batches, so that splitting the text into fields (a third of the time it takes to read
// a province's files) runs beside the checks of the rows instead of before each one. It
// may also look up one cell of each record there (a claim's person, whose lookup in a
// table of millions is mostly waiting for memory), to even out the two goroutines' work.
//
// Lines without a double quote (every line of the shipped and generated files) it
// splits itself, as encoding/csv would, into fields that share one string per batch:
// encoding/csv allocates a string per record, and those millions of allocations were
// the largest cost of reading left. From the first line with a double quote on,
// encoding/csv reads the rest of the file, so that quoted fields, and the errors of
// quotes, are exactly encoding/csv's.
type records struct {
	br    *bufio.Reader // the file after the lines read so far
	line  int           // lines read so far, while lines are split here
	long  []byte        // a line longer than br's buffer
	csv   *csv.Reader   // once not nil, reads the rest of the file
	base  int           // what to add to csv's line numbers to get the file's
	width int           // fields per record: the header's
	batch int           // records per batch
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
	// err is the error reading returned after the records, io.EOF at the end of the file,
	// or nil when more records follow; errFields is the number of fields of the record
	// that came with it.
	err       error
	errFields int

	text []byte // while split here: the records' text, without line ends
	ends []int  // record i's text ends at text[ends[i]]
}

const (
	// batchFields is about how many fields a batch holds: 256 rows of a claims file. A
	// batch holds at least one record, however wide.
	batchFields = 256 * 10
	batches     = 4 // in flight at once: the reading goroutine is at most this many ahead
)

// startRecords starts reading records of width fields from br. If cr is not nil, it
// reads them all, adding base to its line numbers; otherwise br is at the start of line
// line+1 and lines without a double quote are split here. ahead, if not nil, looks up field field of each record. The
// records' strings are shared with nothing else, so rows may keep them.
func startRecords(br *bufio.Reader, cr *csv.Reader, line, base, width int, ahead *lookahead, field int) *records {
	rs := &records{br: br, csv: cr, line: line, base: base, width: width, batch: max(1, batchFields/width), ahead: ahead, field: field,
		full: make(chan *recordBatch, batches), empty: make(chan *recordBatch, batches),
		done: make(chan struct{}), cur: &recordBatch{}}
	for range batches {
		rs.empty <- &recordBatch{fields: make([]string, 0, rs.batch*width), lines: make([]int, 0, rs.batch)}
	}
	go rs.read()
	return rs
}

func (rs *records) read() {
	defer close(rs.done)
	for !rs.stop.Load() {
		b := <-rs.empty
		b.fields, b.lines, b.found, b.err, b.errFields = b.fields[:0], b.lines[:0], b.found[:0], nil, 0
		rs.fill(b)
		if rs.ahead != nil {
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

// fill reads records into b until it holds rs.batch or reading ends.
func (rs *records) fill(b *recordBatch) {
	if rs.csv == nil {
		rs.split(b)
	}
	for rs.csv != nil && b.err == nil && len(b.lines) < rs.batch && !rs.stop.Load() {
		rec, err := rs.csv.Read()
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				shifted := *pe
				shifted.StartLine += rs.base
				shifted.Line += rs.base
				err = &shifted
			}
			b.err, b.errFields = err, len(rec)
			return
		}
		line, _ := rs.csv.FieldPos(0)
		b.fields = append(b.fields, rec...)
		b.lines = append(b.lines, line+rs.base)
	}
}

// split reads lines into b as encoding/csv would read them, until b is full, reading
// ends, or a line has a double quote: then encoding/csv is set to read from that line on.
func (rs *records) split(b *recordBatch) {
	b.text, b.ends = b.text[:0], b.ends[:0]
	for len(b.ends) < rs.batch && !rs.stop.Load() {
		raw, err := rs.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			rs.long = append(rs.long[:0], raw...)
			for errors.Is(err, bufio.ErrBufferFull) {
				raw, err = rs.br.ReadSlice('\n')
				rs.long = append(rs.long, raw...)
			}
			raw = rs.long
		}
		switch {
		case len(raw) == 0 && err != nil:
			b.err = err // io.EOF at the end of the file
		case err != nil && !errors.Is(err, io.EOF):
			b.err = err // encoding/csv would read the row, then fail for the error
		}
		if b.err != nil {
			break
		}
		rs.line++
		if bytes.IndexByte(raw, '"') >= 0 {
			rs.csv = csv.NewReader(io.MultiReader(bytes.NewReader(bytes.Clone(raw)), rs.br))
			rs.csv.FieldsPerRecord, rs.csv.ReuseRecord = rs.width, true
			rs.base = rs.line - 1
			break
		}
		// The line without its end: \n or \r\n, or at the end of the file a lone \r.
		text := raw
		switch n := len(text); {
		case n >= 2 && text[n-2] == '\r' && text[n-1] == '\n':
			text = text[:n-2]
		case text[n-1] == '\n' || err != nil && text[n-1] == '\r':
			text = text[:n-1]
		}
		if len(text) == 0 {
			continue // encoding/csv skips empty lines
		}
		if n := bytes.Count(text, []byte{','}) + 1; n != rs.width {
			b.err = &csv.ParseError{StartLine: rs.line, Line: rs.line, Column: 1, Err: csv.ErrFieldCount}
			b.errFields = n
			break
		}
		b.text = append(b.text, text...)
		b.ends = append(b.ends, len(b.text))
		b.lines = append(b.lines, rs.line)
	}
	// One string for the batch, which the fields are slices of.
	all, start := string(b.text), 0
	for _, end := range b.ends {
		rec := all[start:end]
		for range rs.width - 1 {
			i := strings.IndexByte(rec, ',')
			b.fields = append(b.fields, rec[:i])
			rec = rec[i+1:]
		}
		b.fields = append(b.fields, rec)
		start = end
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

// close stops the reading goroutine and waits for it to end, so that the file is not
// read after close returns.
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
