package csvdata

// Writers that only the tests use, to make files for the readers.

import (
	"encoding/csv"
	"io"
	"strconv"

	"github.com/hpcalc/hpcalc/calc"
)

// WritePersons writes persons with the PersonColumns header.
func WritePersons(w io.Writer, persons []calc.Person) error {
	cw := csv.NewWriter(w)
	_ = cw.Write(PersonColumns)
	for _, p := range persons {
		_ = cw.Write([]string{p.ID, p.HouseholdID, strconv.FormatBool(p.RegisteredPoor), aidText(p.Aid)})
	}
	cw.Flush()
	return cw.Error()
}

func aidText(a calc.AidCategory) string {
	if a == calc.AidNone {
		return ""
	}
	return a.String()
}

// WriteSettlements writes one row per settlement with the SettlementColumns header.
func WriteSettlements(w io.Writer, settlements []calc.Settlement) error {
	return writeSettlements(w, len(settlements), func(i int, row *SettlementRow) {
		s := &settlements[i]
		row.ClaimID, row.OutOfPocket = s.ClaimID, s.OutOfPocket
		for l := range calc.NumLines {
			row.Lines[l] = s.Lines[l].Amount
		}
	})
}
