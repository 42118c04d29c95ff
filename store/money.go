package store

import (
	"fmt"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/shopspring/decimal"
)

// dec is a money amount as the database sees it: a decimal of yuan.
func dec(m calc.Money) decimal.Decimal { return decimal.New(int64(m), -2) }

// fen converts a decimal read from the database back to fen; a value with more than two
// decimal places or beyond int64 is corrupt data, not something to round.
func fen(d decimal.Decimal) (calc.Money, error) {
	shifted := d.Shift(2)
	if !shifted.IsInteger() || !shifted.BigInt().IsInt64() {
		return 0, fmt.Errorf("money %s is not a whole number of fen", d)
	}
	return calc.Money(shifted.IntPart()), nil
}

// moneyScanner converts a list of scanned decimals into fen, failing on the first bad one.
type moneyScanner struct{ err error }

func (ms *moneyScanner) fen(d decimal.Decimal) calc.Money {
	m, err := fen(d)
	if err != nil && ms.err == nil {
		ms.err = err
	}
	return m
}

// textMoney parses money read as text ("1234.50", as both databases return NUMERIC and
// TEXT) exactly, failing on the first bad one.
type textMoney struct{ err error }

func (tm *textMoney) fen(s string) calc.Money {
	m, err := calc.ParseMoney(s)
	if err != nil && tm.err == nil {
		tm.err = err
	}
	return m
}
