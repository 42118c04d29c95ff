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
}

// ScanPaid reads a paid file (header PaidColumns; more columns are ignored) and hands each
// row to add in file order; add must not keep row, which is reused. A claim the claims
// file has must be paid amounts that sum to its total; a claim it lacks cannot be held to
// that (the caller reports it as paid but not claimed). Each amount must be a
// non-negative amount of yuan, and a claim id must not repeat. Duplicates of known claims
// are found by their row, in 4 bytes a claim rather than a table of a million ids.
//
// Like ScanClaims, add is only called while no problem has been found, and the caller
// must throw away what it built when ScanPaid returns an error: nil, a *Error listing
// every problem (up to MaxErrors), or an error of r.
func ScanPaid(file string, r io.Reader, claims PaidClaims, add func(row *PaidRow)) error {
	firstLine := make([]int32, claims.N) // the line a known claim was first paid on
	unknown := map[string]int{}          // the line each unknown claim was first paid on
	var row PaidRow
	return scanRows(file, r, PaidColumns, nil, func(t *table) error {
		var stop error
		check := func(err error) {
			if stop == nil {
				stop = err
			}
		}
		n := len(t.errs.Problems)
		if row.Columns == nil {
			row.Columns = t.columns()
		}
		id, err := t.id(paidID)
		check(err)
		row.ClaimID, row.Row = id, -1
		var total calc.Money
		known := false
		if err == nil {
			var r int
			if r, total, known = claims.Find(id); known {
				row.Row = r
				if first := firstLine[r]; first > 0 {
					check(t.fail(paidID, "duplicate claim %s (first on line %d)", id, first))
				} else {
					firstLine[r] = int32(t.line())
				}
			} else if first, dup := unknown[id]; dup {
				check(t.fail(paidID, "duplicate claim %s (first on line %d)", id, first))
			} else {
				unknown[strings.Clone(id)] = t.line()
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
		if len(t.errs.Problems) == n && known && sum != total {
			check(t.fail(paidOutOfPocket, "%s is %s, but claim %s's total in the claims file is %s: the amounts paid on a claim must sum to its total",
				strings.Join(PaidColumns[1:], "+"), sum, id, total))
		}
		if t.clean() {
			row.Line = t.line()
			add(&row)
		}
		return stop
	})
}
