package csvdata

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// Reading on every core.
//
// A file's rows after the header are cut into blocks of whole lines. One worker per core
// reads the next block (taking turns: reading only looks for line ends and double
// quotes), splits it into fields and checks its rows, each problem kept with its row, and
// then takes, in file order, every block that is next and parsed, doing what must be done
// in order: checking that an id does not repeat an earlier row's, keeping the first
// MaxErrors problems and handing the rows on. Problems therefore come out in the order the
// sequential reading finds them, each row's in the order its checks run (the check for a
// repeated id is a row's first, as it is there), and reading stops at the same row. No
// goroutine waits for another to hand it work: on a machine busier than its cores, a
// goroutine that sleeps waits long to run again.
//
// From the first line with a double quote on, encoding/csv reads the rest of the file
// once the blocks before it are taken, as records does, so that quoted fields and their
// errors stay encoding/csv's.

// blockSize is about how many bytes a block holds (a line longer than that makes a longer
// block). Tests make it small, so that small files span many blocks.
var blockSize = 256 << 10

// parallel turns the reading on every core off when false, for tests to compare it with
// the sequential reading it must match.
var parallel = true

// blocksAhead is how many blocks may be read and not yet taken: while the persons are
// read, a claims file is parsed at most this far ahead of them.
const blocksAhead = 16

// parsedRow is a row as a worker read it.
type parsedRow[V any] struct {
	v    V
	line int
	id   string // the row's id when valid, to be checked for repeats; "" when not
	end  int    // the row's problems end at its block's probs[end]
}

// block is a run of whole lines of a file.
type block[V any] struct {
	raw   []byte // the buffer text is read into
	text  []byte
	first int  // the line text starts on
	lines int  // the line ends in text
	last  bool // text runs to the end of the file
	// tail, if not nil, is the text from the first line with a double quote on: the rest
	// of the file is read by encoding/csv, from tail and then the file.
	tail []byte
	err  error // an error reading the file after text

	seq  int // the block's place in the file: 0, 1, 2, ...
	rows []parsedRow[V]
	prob []Problem
	// perr is the error that ends the rows (a row with the wrong number of fields), and
	// perrFields that row's number of fields.
	perr       error
	perrFields int
}

// rowReader is how the rows of one kind of file are read on every core.
type rowReader[V any] struct {
	what  string // what the rows' ids name, for the problem of a repeated id
	idCol column
	seen  *idTable
	// check reads t.rec into v on a worker, recording its problems with t.fail; it checks
	// the id column with t.uniqueID, which on a worker (t.seen nil) leaves the check for
	// repeats to the consumer.
	check func(t *table, v *V) error
	// wait, if not nil, is called on the consumer before the first row is checked there
	// (by encoding/csv's reading); it returns an error that ends the reading.
	wait func() error
	// finish, if not nil, is called on the worker once a block's rows are read.
	finish func(b *block[V])
	// resolve, if not nil, is called on the consumer before each block's rows are taken:
	// it may add problems to rows, keeping b.rows[i].end right. It returns an error that
	// ends the reading.
	resolve func(b *block[V]) error
	// deliver hands on a row while the file is clean, in file order.
	deliver func(t *table, v *V)
	// takeRow, if not nil, replaces the check for a repeated id: on the consumer, in file
	// order, it records the row's problems, those the worker found (probs) among its own,
	// and reports whether reading must stop (MaxErrors reached). row then replaces
	// sequential for rows read one at a time, from the first double quote on.
	takeRow func(t *table, v *V, probs []Problem) (tooMany bool)
	row     func(t *table) error
}

// sequential reads the current row of t as the sequential reading does.
func (rr *rowReader[V]) sequential(t *table) error {
	if rr.row != nil {
		return rr.row(t)
	}
	var v V
	t.seen = rr.seen
	err := rr.check(t, &v)
	if t.clean() {
		rr.deliver(t, &v)
	}
	return err
}

// scanParallel reads the rows of t, whose header has been read from br, on every core.
// It returns nil, or a *Error listing the problems, or an error of the file.
func scanParallel[V any](t *table, br *bufio.Reader, rr *rowReader[V]) error {
	s := &scanState[V]{t: t, rr: rr, br: br, line: t.recLine, free: make(chan *block[V], blocksAhead),
		waiting: map[int]*block[V]{}}
	s.turn = sync.NewCond(&s.mu)
	var wg sync.WaitGroup
	for range runtime.GOMAXPROCS(0) - 1 {
		wg.Go(s.work)
	}
	s.work()
	wg.Wait()
	if s.err != nil {
		return s.err
	}
	if s.tail != nil {
		// The rest of the file is encoding/csv's, read here.
		b := s.tail
		cr := csv.NewReader(io.MultiReader(bytes.NewReader(b.tail), br))
		cr.FieldsPerRecord, cr.ReuseRecord = len(t.header), true
		t.records = startRecords(nil, cr, 0, b.first-1+bytes.Count(b.text, []byte{'\n'}), len(t.header), nil, 0)
		return scanSequential(t, rr)
	}
	return t.result()
}

// scanState is a file being read on every core.
type scanState[V any] struct {
	t  *table
	rr *rowReader[V]

	readMu sync.Mutex // held while reading the next block
	br     *bufio.Reader
	line   int    // lines read
	carry  []byte // the start of a line read with the block before
	read   int    // blocks read
	ended  bool   // no more blocks: the file ended, failed, or reached a quote

	free chan *block[V] // blocks taken, to be used again

	mu      sync.Mutex // guards what follows
	turn    *sync.Cond // signalled as blocks are taken
	next    int        // the next block to take
	waiting map[int]*block[V]
	taking  bool  // a worker is taking blocks
	stop    bool  // taking has ended: an error, or a tail
	err     error // what ended it
	tail    *block[V]
}

// work reads, parses and takes blocks until there are none or reading must stop.
func (s *scanState[V]) work() {
	for {
		b := s.nextBlock()
		if b == nil {
			return
		}
		parseBlock(s.t, s.rr, b)
		s.take(b)
	}
}

// nextBlock reads the next block, once the reading is at most blocksAhead blocks ahead of
// the taking; nil when reading has ended.
func (s *scanState[V]) nextBlock() *block[V] {
	s.readMu.Lock()
	defer s.readMu.Unlock()
	if s.ended {
		return nil
	}
	s.mu.Lock()
	for !s.stop && s.read-s.next >= blocksAhead {
		s.turn.Wait()
	}
	stop := s.stop
	s.mu.Unlock()
	if stop {
		s.ended = true
		return nil
	}
	var b *block[V]
	select {
	case b = <-s.free:
		// Rows and problems kept from before would keep their text alive.
		clear(b.rows)
		clear(b.prob)
		*b = block[V]{raw: b.raw, rows: b.rows[:0], prob: b.prob[:0]}
	default:
		b = &block[V]{}
	}
	for {
		buf := b.raw
		if size := max(blockSize, 2*len(s.carry)); cap(buf) < size {
			buf = make([]byte, 0, size)
		}
		buf = append(buf[:0], s.carry...)
		n, err := io.ReadFull(s.br, buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		b.raw = buf
		switch {
		case err == nil:
		case errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF):
			b.last, s.ended = true, true
		default:
			b.err, s.ended = err, true
		}
		cut := len(buf) // where the block's text ends
		if !b.last {
			cut = bytes.LastIndexByte(buf, '\n') + 1
		}
		if q := bytes.IndexByte(buf[:cut], '"'); q >= 0 {
			cut = bytes.LastIndexByte(buf[:q], '\n') + 1
			b.tail, b.last, b.err, s.ended = buf[cut:], false, nil, true
		} else if b.err == nil && !b.last && cut == 0 {
			s.carry = append(s.carry[:0], buf...) // a line longer than the buffer: read on
			b.raw = nil
			continue
		}
		b.text = buf[:cut]
		s.carry = append(s.carry[:0], buf[cut:]...)
		b.first = s.line + 1
		b.lines = bytes.Count(b.text, []byte{'\n'})
		s.line += b.lines
		b.seq = s.read
		s.read++
		return b
	}
}

// take hands b over to be taken in file order. The worker that finds no other taking
// takes b and every block after it already parsed; the others go back to parsing rather
// than wait their turn.
func (s *scanState[V]) take(b *block[V]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stop {
		return
	}
	s.waiting[b.seq] = b
	if s.taking {
		return
	}
	s.taking = true
	defer func() { s.taking = false }()
	for !s.stop {
		b, ok := s.waiting[s.next]
		if !ok {
			return
		}
		delete(s.waiting, s.next)
		s.mu.Unlock()
		err := s.takeBlock(b)
		s.mu.Lock()
		s.next++
		s.turn.Broadcast()
		switch {
		case err != nil:
			s.stop, s.err = true, err
		case b.tail != nil:
			s.stop, s.tail = true, b
		case b.err != nil:
			s.stop, s.err = true, s.t.readError(b.err, 0)
		default:
			select {
			case s.free <- b:
			default:
			}
		}
	}
}

// takeBlock takes the rows of one block, in order.
func (s *scanState[V]) takeBlock(b *block[V]) error {
	if s.rr.resolve != nil {
		if err := s.rr.resolve(b); err != nil {
			return err
		}
	}
	return consume(s.t, s.rr, b)
}

// scanSequential reads the rest of t's rows one at a time, on this goroutine.
func scanSequential[V any](t *table, rr *rowReader[V]) error {
	defer t.close()
	if rr.wait != nil {
		if err := rr.wait(); err != nil {
			return err
		}
	}
	for {
		ok, err := t.next()
		if err != nil {
			return err
		}
		if !ok {
			break
		}
		if err := rr.sequential(t); err != nil {
			return t.errs
		}
	}
	return t.result()
}

// consume takes the rows of b in order; it returns t.errs once reading must stop.
func consume[V any](t *table, rr *rowReader[V], b *block[V]) error {
	start := 0
	for i := range b.rows {
		r := &b.rows[i]
		t.recLine = r.line
		var tooMany bool
		if rr.takeRow != nil {
			tooMany = rr.takeRow(t, &r.v, b.prob[start:r.end])
		} else {
			if r.id != "" {
				if n, added := rr.seen.add(r.id, r.line); !added {
					tooMany = t.fail(rr.idCol, "duplicate %s %s (first on line %d)", rr.what, r.id, rr.seen.line(n)) != nil
				}
			}
			for _, p := range b.prob[start:r.end] {
				tooMany = t.add(p) != nil || tooMany
			}
		}
		start = r.end
		if t.clean() {
			rr.deliver(t, &r.v)
		}
		if tooMany {
			return t.errs
		}
	}
	if b.perr != nil {
		rerr := t.readError(b.perr, b.perrFields)
		var e *Error
		if len(t.errs.Problems) > 0 && errors.As(rerr, &e) {
			for _, p := range e.Problems {
				_ = t.add(p)
			}
			return t.errs
		}
		return rerr
	}
	return nil
}

// parseBlock splits b's lines into rows as records does, and checks each.
func parseBlock[V any](t0 *table, rr *rowReader[V], b *block[V]) {
	t := &table{file: t0.file, required: t0.required, field: t0.field, header: t0.header, errs: &Error{File: t0.file},
		rec: make([]string, len(t0.header))}
	width := len(t0.header)
	// A row per line at most (one more for a last line without its end): made at that
	// size once, rather than grown by copying, and kept with the block for the next, with
	// room for a few more lines than this one's (blocks of the same size hold a few more
	// or fewer lines): made to each block's measure, a province's claims file took 60
	// blocks' rows, 25 MB, for 18 blocks at most in use.
	if n := b.lines + 1; cap(b.rows) < n {
		b.rows = make([]parsedRow[V], 0, n+n/8)
	}
	// The fields are slices of the block's own buffer, seen as a string without a copy:
	// copying each block into a string of its own touched as many fresh pages as both
	// files have bytes (a third of a what-if's page faults, each costly on a virtual
	// machine). The buffer is used again for a later block once this one is taken, so
	// nothing may keep a field past its row's delivery: whatever consume, deliver and the
	// callers of ScanClaims and ScanPaid keep, they copy.
	all := unsafe.String(unsafe.SliceData(b.text), len(b.text))
	line := b.first - 1
	for len(all) > 0 {
		var raw string
		nl := strings.IndexByte(all, '\n')
		if nl < 0 {
			raw, all = all, ""
		} else {
			raw, all = all[:nl+1], all[nl+1:]
		}
		line++
		// The line without its end: \n or \r\n, or at the end of the file a lone \r.
		text := raw
		switch n := len(text); {
		case n >= 2 && text[n-2] == '\r' && text[n-1] == '\n':
			text = text[:n-2]
		case text[n-1] == '\n' || nl < 0 && b.last && text[n-1] == '\r':
			text = text[:n-1]
		}
		if len(text) == 0 {
			continue // encoding/csv skips empty lines
		}
		// Split as the commas are found, the count checked on the way (counting them in a
		// pass of their own first was 2% of a what-if's CPU).
		whole, fields := text, 1
		for fields < width {
			i := strings.IndexByte(text, ',')
			if i < 0 {
				break
			}
			t.rec[fields-1] = text[:i]
			text = text[i+1:]
			fields++
		}
		if fields != width || strings.IndexByte(text, ',') >= 0 {
			b.perr = &csv.ParseError{StartLine: line, Line: line, Column: 1, Err: csv.ErrFieldCount}
			b.perrFields = strings.Count(whole, ",") + 1
			break
		}
		t.rec[width-1] = text
		t.recLine = line
		t.errs.Problems = t.errs.Problems[:0]
		t.validID = ""
		// The row is checked in its place in b.rows: a row of its own, whose address the
		// check takes, would be moved to the heap, one allocation a row.
		b.rows = append(b.rows, parsedRow[V]{line: line})
		r := &b.rows[len(b.rows)-1]
		_ = rr.check(t, &r.v) // a row's problems are never too many on their own
		r.id = t.validID
		b.prob = append(b.prob, t.errs.Problems...)
		r.end = len(b.prob)
	}
	if rr.finish != nil {
		rr.finish(b)
	}
}
