package calc

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Money is an amount in fen (分), one hundredth of a yuan.
type Money int64

// Yuan is one yuan in fen.
const Yuan Money = 100

// MaxAmount is the largest amount a claim may carry: 100,000,000.00 yuan. Nothing a hospital
// bills comes near it, and keeping every input below it keeps every product of an amount
// and a rate far inside int64.
const MaxAmount Money = 100_000_000 * Yuan

// NoCap is the cap of a line that has no annual cap. It is larger than any sum of amounts
// a ledger can reach, so the cap room arithmetic needs no special case.
const NoCap Money = math.MaxInt64 / 4

// Errors returned by ParseMoney and ParseRate; callers branch on them with errors.Is.
var (
	ErrSyntax    = errors.New("not a decimal number")
	ErrPrecision = errors.New("too many decimal places")
	ErrRange     = errors.New("out of range")
)

// ParseMoney parses a decimal amount of yuan such as "1234.5" or "-0.07" into fen exactly.
// It accepts at most two decimal places (ErrPrecision) and at most 15 integer digits
// (ErrRange); anything else that is not a plain decimal number is ErrSyntax. Signs are
// kept: rejecting negative amounts is the caller's rule.
func ParseMoney(s string) (Money, error) {
	units, err := parseDecimal(s, 2, 15)
	if err != nil {
		return 0, fmt.Errorf("money %q: %w", s, err)
	}
	return Money(units), nil
}

// String formats m as yuan with exactly two decimals and no grouping, e.g. "-1234.50".
func (m Money) String() string {
	return formatFixed(int64(m), 2, false)
}

// Append appends m as String formats it.
func (m Money) Append(dst []byte) []byte { return appendMoney(dst, m, false) }

// AppendGrouped appends m as Grouped formats it.
func (m Money) AppendGrouped(dst []byte) []byte { return appendMoney(dst, m, true) }

// Grouped formats m as yuan with two decimals and thousands separators, e.g. "1,234.50".
func (m Money) Grouped() string {
	return formatFixed(int64(m), 2, true)
}

// Wan formats m in 万元 (ten thousand yuan) rounded half-up to two decimals, as county
// reports print it: 2,663,300.00 yuan is "266.33".
func (m Money) Wan() string {
	return formatFixed(roundDiv(int64(m), 10000), 2, true)
}

// Rate is an exact decimal fraction held in parts per million: 85% is 850_000.
type Rate int64

// RateOne is the rate 1 (100%).
const RateOne Rate = 1_000_000

// ParseRate parses a decimal fraction such as "0.85" or a percentage such as "85%" exactly.
// At most six decimal places of the fraction are representable (ErrPrecision). The range
// 0–1 is not checked here: that is a policy rule (Policy.Validate).
func ParseRate(s string) (Rate, error) {
	t := strings.TrimSpace(s)
	places := 6
	if strings.HasSuffix(t, "%") {
		// 12.3456% is 0.123456: a percentage has two fewer places to give.
		t = strings.TrimSpace(strings.TrimSuffix(t, "%"))
		places = 4
	}
	units, err := parseDecimal(t, places, 9)
	if err != nil {
		return 0, fmt.Errorf("rate %q: %w", s, err)
	}
	return Rate(units), nil
}

// String formats r as a percentage without trailing zeros, e.g. "85%" or "62.5%".
func (r Rate) String() string {
	var buf [32]byte
	return string(r.AppendPercent(buf[:0]))
}

// AppendPercent appends r as String formats it.
func (r Rate) AppendPercent(dst []byte) []byte {
	if p, ok := r.wholePercent(); ok {
		return append(dst, wholePercents[p].percent...)
	}
	return appendPercent(dst, r)
}

func appendPercent(dst []byte, r Rate) []byte {
	return append(trimZeros(appendFixed(dst, int64(r), 4, false), len(dst)), '%')
}

// wholePercent is r in percent if it is a whole percentage from 0 to 100, as nearly every
// rate of a policy is.
func (r Rate) wholePercent() (int, bool) {
	if r < 0 || r > RateOne || r%(RateOne/100) != 0 {
		return 0, false
	}
	return int(r / (RateOne / 100)), true
}

// wholePercents holds the whole percentages written out, by the general path: a quote's
// answer writes some ten rates, each one a table's look-up rather than six digits and a
// trim.
var wholePercents = func() (t [101]struct{ percent, decimal string }) {
	for p := range t {
		r := Rate(p) * (RateOne / 100)
		t[p].percent = string(appendPercent(nil, r))
		t[p].decimal = string(appendDecimal(nil, r))
	}
	return t
}()

// Decimal formats r as a decimal fraction without trailing zeros, e.g. "0.85".
func (r Rate) Decimal() string {
	var buf [32]byte
	return string(r.AppendDecimal(buf[:0]))
}

// AppendDecimal appends r as Decimal formats it.
func (r Rate) AppendDecimal(dst []byte) []byte {
	if p, ok := r.wholePercent(); ok {
		return append(dst, wholePercents[p].decimal...)
	}
	return appendDecimal(dst, r)
}

func appendDecimal(dst []byte, r Rate) []byte {
	return trimZeros(appendFixed(dst, int64(r), 6, false), len(dst))
}

// trimZeros drops the trailing zeros of the decimal number b[from:], and its point if
// nothing is left after it.
func trimZeros(b []byte, from int) []byte {
	for len(b) > from && b[len(b)-1] == '0' {
		b = b[:len(b)-1]
	}
	if len(b) > from && b[len(b)-1] == '.' {
		b = b[:len(b)-1]
	}
	return b
}

// MulRate returns m × r rounded half-up (away from zero at .5) to the fen. For |m| up to
// MaxAmount and r in 0–1 the product cannot overflow.
func MulRate(m Money, r Rate) Money {
	return Money(roundDiv(int64(m)*int64(r), int64(RateOne)))
}

// roundDiv returns n / d rounded half away from zero; d must be positive.
func roundDiv(n, d int64) int64 {
	if n >= 0 {
		return (n + d/2) / d
	}
	return -((-n + d/2) / d)
}

// parseDecimal parses an optionally signed decimal with at most maxPlaces fractional digits
// and maxInt integer digits, returning it scaled by 10^maxPlaces.
func parseDecimal(s string, maxPlaces, maxInt int) (int64, error) {
	if s == "" {
		return 0, ErrSyntax
	}
	neg := false
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" || hasDot && frac == "" {
		return 0, ErrSyntax
	}
	if !allDigits(intPart) || !allDigits(frac) {
		return 0, ErrSyntax
	}
	intPart = strings.TrimLeft(intPart, "0")
	if len(intPart) > maxInt {
		return 0, ErrRange
	}
	trimmed := strings.TrimRight(frac, "0")
	if len(trimmed) > maxPlaces {
		return 0, ErrPrecision
	}
	var v int64
	if intPart != "" {
		n, err := strconv.ParseInt(intPart, 10, 64)
		if err != nil {
			return 0, ErrRange
		}
		v = n
	}
	for range maxPlaces {
		v *= 10
	}
	var f int64
	for i := range maxPlaces {
		f *= 10
		if i < len(trimmed) {
			f += int64(trimmed[i] - '0')
		}
	}
	v += f
	if neg {
		v = -v
	}
	return v, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatFixed formats v / 10^places with exactly places decimals.
func formatFixed(v int64, places int, group bool) string {
	var buf [32]byte
	return string(appendFixed(buf[:0], v, places, group))
}

// appendMoney is appendFixed(dst, m, 2, group) two digits at a time: a quote's answer
// holds some 50 amounts, and appendFixed's digit at a time was a quarter slower.
func appendMoney(dst []byte, m Money, group bool) []byte {
	var buf [32]byte // 19 digits, 6 separators, the point and the sign at most
	u := uint64(m)
	if m < 0 {
		u = -u
	}
	i := len(buf) - 3
	d := u % 100 * 2
	buf[i], buf[i+1], buf[i+2] = '.', digitPairs[d], digitPairs[d+1]
	u /= 100
	if group {
		for u >= 1000 {
			g := u % 1000
			u /= 1000
			d := g % 100 * 2
			i -= 4
			buf[i], buf[i+1], buf[i+2], buf[i+3] = ',', byte('0'+g/100), digitPairs[d], digitPairs[d+1]
		}
	}
	for u >= 100 {
		d := u % 100 * 2
		u /= 100
		i -= 2
		buf[i], buf[i+1] = digitPairs[d], digitPairs[d+1]
	}
	if u >= 10 {
		i -= 2
		buf[i], buf[i+1] = digitPairs[u*2], digitPairs[u*2+1]
	} else { // at least one digit: 5 fen is 0.05
		i--
		buf[i] = byte('0' + u)
	}
	if m < 0 {
		i--
		buf[i] = '-'
	}
	return append(dst, buf[i:]...)
}

// digitPairs holds the two digits of each number from 00 to 99.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" + "90919293949596979899"

// appendFixed appends v / 10^places with exactly places decimals, and thousands separators
// if group; the JSON answers and explanations of every quote are built with it (some 80
// numbers a quote), so it allocates nothing and writes each digit once, from the right.
func appendFixed(dst []byte, v int64, places int, group bool) []byte {
	var buf [32]byte // 19 digits, 6 separators, the point and the sign at most
	u := uint64(v)
	if v < 0 {
		u = -u
	}
	i := len(buf)
	for range places {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	if places > 0 {
		i--
		buf[i] = '.'
	}
	for n := 0; ; n++ { // the integer part: at least one digit, 5 fen is 0.05
		if group && n > 0 && n%3 == 0 {
			i--
			buf[i] = ','
		}
		i--
		buf[i] = byte('0' + u%10)
		if u /= 10; u == 0 {
			break
		}
	}
	if v < 0 {
		i--
		buf[i] = '-'
	}
	return append(dst, buf[i:]...)
}
