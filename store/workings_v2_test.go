package store

import (
	"encoding/json"

	"github.com/hpcalc/hpcalc/calc"
)

// encodeWorkings2 is the detail as the store wrote it in version 2, from migration 0008
// until 0010: tests write rows of that layout with it, to read and convert them.
func encodeWorkings2(st *calc.Settlement, after *calc.Ledger, reversal bool) ([]byte, error) {
	w, err := workingsOf(st, after, reversal)
	if err != nil {
		return nil, err
	}
	w.V = 2
	return json.Marshal(w)
}
