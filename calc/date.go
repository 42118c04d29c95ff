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

// ParseDate parses an ISO 8601 calendar date such as "2018-03-07".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return 0, fmt.Errorf("date %q: not an ISO 8601 date (YYYY-MM-DD)", s)
	}
	return Date(t.Unix() / 86400), nil
}

// Time returns d as midnight UTC.
func (d Date) Time() time.Time { return time.Unix(int64(d)*86400, 0).UTC() }

// Year returns d's calendar year, which selects the annual ledger. It is on the settlement
// hot path, so it uses Hinnant's days-to-civil arithmetic rather than time.Time.
func (d Date) Year() int {
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
