package csvdata

import (
	"io"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
)

// PaidColumns is the header of a paid file: what another system paid on each claim. It is
// the header replay --out writes, so that one replay's output can be an audit's input.
var PaidColumns = SettlementColumns

// The columns of a paid file, in the order of PaidColumns.
const (
	paidID column = iota
	paidFirstLine
	paidOutOfPocket = paidFirstLine + column(calc.NumLines)
)

// PaidRow is a row of a paid file as ScanPaid hands it on.
type PaidRow struct {
	SettlementRow
	Line int // the line the row starts on
	Row  int // the claim's row in the claims file, as PaidClaims.Find gives it; -1 for a claim it does not know
	// Columns are the 1-based columns of PaidColumns in the file: the same slice for
	// every row.
	Columns []int
}

// PaidClaims is how ScanPaid finds the claims of a paid file in the claims file: Find
// returns a claim's row (0 to N-1) and total cost, if the claims file has the claim.
type PaidClaims struct {
	N    int
	Find func(claimID string) (row int, total calc.Money, ok bool)
	// At, if not nil, reports whether row k of the claims file (0 to N-1) is the claim
	// claimID, and its total. ScanPaid asks it first, from several goroutines at once, of
	// the row of the claims file that a paid file in the claims file's order (as replay
	// --out writes it) has at the same place, and calls Find only for the claims At does
	// not find there.
	At func(k int, claimID string) (total calc.Money, ok bool)
}

// ScanPaid reads a paid file (header PaidColumns; more columns are ignored) and hands each
// row to add in file order; add must not keep row, which is reused, nor row.ClaimID
// without copying it (it is read in place from a buffer that later rows reuse). A claim the claims
// file has must be paid amounts that sum to its total; a claim it lacks cannot be held to
// that (the caller reports it as paid but not claimed). Each amount must be a
// non-negative amount of yuan, and a claim id must not repeat. Duplicates of known claims
// are found by their row, in 4 bytes a claim rather than a table of a million ids.
//
// Like ScanClaims, add is only called while no problem has been found, and the caller
// must throw away what it built when ScanPaid returns an error: nil, a *Error listing
// every problem (up to MaxErrors), or an error of r.
func ScanPaid(file string, r io.Reader, claims PaidClaims, add func(row *PaidRow)) error {
	t, br, cr, err := readHeader(file, r, PaidColumns)
	if err != nil {
		return err
	}
	firstLine := make([]int32, claims.N) // the line a known claim was first paid on
	unknown := map[string]int{}          // the line each unknown claim was first paid on
	var row PaidRow
	taken := 0 // rows taken: the next row's place in the file
	// find looks claim id up in the claims file, in file order, and checks that it is not
	// paid twice; it returns the claim's row (-1 if unknown) and total. at is the row At
	// found the claim at, or -1.
	find := func(id string, at int, atTotal calc.Money) (int, calc.Money, bool) {
		k := taken
		taken++
		r, total, known := at, atTotal, at >= 0
		if !known && claims.At != nil && k < claims.N {
			total, known = claims.At(k, id)
			r = k
		}
		if !known {
			r, total, known = claims.Find(id)
		}
		if known {
			if first := firstLine[r]; first > 0 {
				return r, total, t.fail(paidID, "duplicate claim %s (first on line %d)", id, first) != nil
			}
			firstLine[r] = int32(t.line())
			return r, total, false
		}
		if first, dup := unknown[id]; dup {
			return -1, 0, t.fail(paidID, "duplicate claim %s (first on line %d)", id, first) != nil
		}
		unknown[strings.Clone(id)] = t.line()
		return -1, 0, false
	}
	// sumRule checks that a known claim's amounts sum to its total.
	sumRule := func(row *PaidRow, sum, total calc.Money) error {
		if sum != total {
			return t.fail(paidOutOfPocket, "%s is %s, but claim %s's total in the claims file is %s: the amounts paid on a claim must sum to its total",
				strings.Join(PaidColumns[1:], "+"), sum, row.ClaimID, total)
		}
		return nil
	}
	columns := t.columns()
	deliver := func(t *table, v *paidValue) {
		row = v.row
		row.Line, row.Columns = t.line(), columns
		add(&row)
	}
	rr := &rowReader[paidValue]{deliver: deliver}
	// On a worker: the row's cells, the id's problem first.
	rr.check = func(t *table, v *paidValue) error {
		n := len(t.errs.Problems)
		v.row.ClaimID, _ = t.id(paidID)
		v.idProblems = len(t.errs.Problems) - n
		v.row.Row, v.sum, v.at = -1, 0, -1
		// A row alone never has MaxErrors problems: the errors of money are nil here.
		for l := range calc.NumLines {
			v.row.Lines[l], _ = t.money(paidFirstLine + column(l))
			v.sum += v.row.Lines[l]
		}
		v.row.OutOfPocket, _ = t.money(paidOutOfPocket)
		v.sum += v.row.OutOfPocket
		return nil
	}
	// On a worker, once a block's rows are read: the claim at the same place in the
	// claims file as each row (a row on line L is the paid file's row L-2 when no line
	// before it is empty), looked up a block at a time so that the processor waits for
	// several of the lookups' cache misses at once.
	if claims.At != nil {
		rr.finish = func(b *block[paidValue]) {
			for i := range b.rows {
				v := &b.rows[i].v
				if k := b.rows[i].line - 2; v.idProblems == 0 && k >= 0 && k < claims.N {
					if total, ok := claims.At(k, v.row.ClaimID); ok {
						v.at, v.total = k, total
					}
				}
			}
		}
	}
	// On the consumer, in file order: the checks of ids against the claims file and the
	// rows before, between the id's problem and the amounts', as the sequential reading
	// makes them.
	rr.takeRow = func(t *table, v *paidValue, probs []Problem) bool {
		n := len(t.errs.Problems)
		tooMany := false
		for _, p := range probs[:v.idProblems] {
			tooMany = t.add(p) != nil || tooMany
		}
		r, total, stop := find(v.row.ClaimID, v.at, v.total)
		tooMany = tooMany || stop
		v.row.Row = r
		for _, p := range probs[v.idProblems:] {
			tooMany = t.add(p) != nil || tooMany
		}
		if len(t.errs.Problems) == n && r >= 0 {
			tooMany = sumRule(&v.row, v.sum, total) != nil || tooMany
		}
		return tooMany
	}
	// One row at a time, as ScanPaid has always read them.
	rr.row = func(t *table) error {
		var stop error
		check := func(err error) {
			if stop == nil {
				stop = err
			}
		}
		n := len(t.errs.Problems)
		id, err := t.id(paidID)
		check(err)
		row.ClaimID, row.Row = id, -1
		var total calc.Money
		known := false
		if err == nil {
			r, tot, tooMany := find(id, -1, 0)
			if tooMany {
				check(errTooMany)
			}
			if r >= 0 {
				row.Row, total, known = r, tot, true
			}
		}
		var sum calc.Money
		for l := range calc.NumLines {
			row.Lines[l], err = t.money(paidFirstLine + column(l))
			check(err)
			sum += row.Lines[l]
		}
		row.OutOfPocket, err = t.money(paidOutOfPocket)
		check(err)
		sum += row.OutOfPocket
		if len(t.errs.Problems) == n && known {
			check(sumRule(&row, sum, total))
		}
		if t.clean() {
			row.Line, row.Columns = t.line(), columns
			add(&row)
		}
		return stop
	}
	if cr != nil || !parallel {
		t.records = startRecords(br, cr, t.recLine, 0, len(t.header), nil, 0)
		return scanSequential(t, rr)
	}
	return scanParallel(t, br, rr)
}

// paidValue is a paid file's row as a worker reads it.
type paidValue struct {
	row        PaidRow
	idProblems int        // the problems of the id cell: they come before those found in order
	sum        calc.Money // the amounts' sum
	at         int        // the row of the claims file At found the claim at, or -1
	total      calc.Money // that claim's total
}
