package calc

import (
	"fmt"
	"time"
)

// Date is a calendar day, counted in days since 1970-01-01. It is a plain integer so that
// claims stay small and compare fast; String and ParseDate convert it to ISO 8601.
type Date int32

// NewDate returns the Date of year, month and day; out-of-range parts normalise as in
// time.Date.
func NewDate(year int, month time.Month, day int) Date {
	return Date(time.Date(year, month, day, 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// ParseDate parses an ISO 8601 calendar date such as "2018-03-07". Audits and imports
// parse millions of dates, so it reads the ten characters itself rather than through
// time.Parse; it accepts exactly what time.Parse(time.DateOnly) accepts.
func ParseDate(s string) (Date, error) {
	bad := func() (Date, error) { return 0, fmt.Errorf("date %q: not an ISO 8601 date (YYYY-MM-DD)", s) }
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return bad()
	}
	num := func(part string) (int, bool) {
		n := 0
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return 0, false
			}
			n = n*10 + int(part[i]-'0')
		}
		return n, true
	}
	y, ok1 := num(s[:4])
	m, ok2 := num(s[5:7])
	d, ok3 := num(s[8:])
	if !ok1 || !ok2 || !ok3 || m < 1 || m > 12 || d < 1 || d > daysIn(y, time.Month(m)) {
		return bad()
	}
	return daysFromCivil(y, m, d), nil
}

func daysIn(y int, m time.Month) int {
	switch m {
	case time.February:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// daysFromCivil is Hinnant's days-from-civil: the days since 1970-01-01 of a date.
func daysFromCivil(y, m, d int) Date {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return Date(era*146097 + doe - 719468)
}

// year2100 is 2100-01-01.
const year2100 = 47482

// Time returns d as midnight UTC.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Year returns d's calendar year, which selects the annual ledger. It is on the settlement
// hot path, so it uses Hinnant's days-to-civil arithmetic rather than time.Time.
func (d Date) Year() int {
	// From 1968 to 2099 every fourth year, 1968 first, is a leap year: a year is a quarter
	// of a 1,461-day cycle counted from 1968-01-01 (day -731). Claims' days are in it; the
	// general arithmetic below, several divisions, was 2% of a what-if's CPU.
	if d >= -731 && d < year2100 {
		return 1968 + int(4*(int64(d)+731)/1461)
	}
	z := int64(d) + 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era--
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	y := yoe + era*400
	if mp >= 10 { // January or February belong to the next civil year
		y++
	}
	return int(y)
}

// String formats d as YYYY-MM-DD.
func (d Date) String() string { return d.Time().Format(time.DateOnly) }
