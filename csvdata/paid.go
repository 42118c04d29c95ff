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
}

// ScanPaid reads a paid file (header PaidColumns; more columns are ignored) and hands each
// row to add in file order; add must not keep row, which is reused. total returns the
// total cost of the claim with an id, if the claims file has it: a known claim's six
// amounts must sum to its total, a rule an unknown claim cannot be held to (the caller
// reports it as paid but not claimed). Each amount must be a non-negative amount of yuan
// and claim ids must not repeat.
//
// Like ScanClaims, add is only called while no problem has been found, and the caller
// must throw away what it built when ScanPaid returns an error: nil, a *Error listing
// every problem (up to MaxErrors), or an error of r.
func ScanPaid(file string, r io.Reader, total func(claimID string) (calc.Money, bool), add func(row *PaidRow)) error {
	seen := newIDTable()
	var row PaidRow
	return scanRows(file, r, PaidColumns, nil, func(t *table) error {
		var stop error
		check := func(err error) {
			if stop == nil {
				stop = err
			}
		}
		var err error
		n := len(t.errs.Problems)
		row.ClaimID, err = t.uniqueID(paidID, "claim", seen)
		check(err)
		var sum calc.Money
		for l := range calc.NumLines {
			row.Lines[l], err = t.money(paidFirstLine + column(l))
			check(err)
			sum += row.Lines[l]
		}
		row.OutOfPocket, err = t.money(paidOutOfPocket)
		check(err)
		sum += row.OutOfPocket
		if len(t.errs.Problems) == n {
			if want, ok := total(row.ClaimID); ok && sum != want {
				check(t.fail(paidOutOfPocket, "%s is %s, but claim %s's total in the claims file is %s: the amounts paid on a claim must sum to its total",
					strings.Join(PaidColumns[1:], "+"), sum, row.ClaimID, want))
			}
		}
		if t.clean() {
			row.Line = t.line()
			add(&row)
		}
		return stop
	})
}
