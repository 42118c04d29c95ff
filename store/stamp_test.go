package store

import (
	"testing"
	"time"
)

func TestParseStamp(t *testing.T) {
	base := time.Date(2018, 3, 7, 23, 59, 58, 0, time.UTC)
	for _, ns := range []int{0, 1, 120_000_000, 123_456_789, 999_999_999} {
		want := base.Add(time.Duration(ns))
		s := want.Format(time.RFC3339Nano)
		got, err := parseStamp(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseStamp(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"2018-03-07T24:00:00Z", "2018-02-30T01:00:00Z", "2018-03-07T01:00:00.Z", "2018-03-07 01:00:00Z", "x"} {
		_, want := time.Parse(time.RFC3339Nano, s)
		if _, err := parseStamp(s); (err == nil) != (want == nil) {
			t.Errorf("parseStamp(%q) error %v, time.Parse error %v", s, err, want)
		}
	}
	// Another offset falls back to time.Parse.
	if got, err := parseStamp("2018-03-07T08:00:00+08:00"); err != nil || !got.Equal(time.Date(2018, 3, 7, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("offset: %v, %v", got, err)
	}
}

// TestStampsSortAsText: stamps are compared as text in SQL (a person's settlements are
// ordered by created_at), so text order must be time order, whatever the fraction.
func TestStampsSortAsText(t *testing.T) {
	base := time.Date(2018, 3, 7, 8, 0, 5, 0, time.UTC)
	var prev string
	for _, ns := range []int{0, 1, 100_000_000, 120_000_000, 123_456_789, 999_999_999, 1_000_000_000} {
		s := (&Store{Now: func() time.Time { return base.Add(time.Duration(ns)) }}).now()
		if s <= prev {
			t.Errorf("stamp %q sorts before or with the earlier %q", s, prev)
		}
		if got, err := parseStamp(s); err != nil || !got.Equal(base.Add(time.Duration(ns))) {
			t.Errorf("parseStamp(%q) = %v, %v", s, got, err)
		}
		prev = s
	}
}
