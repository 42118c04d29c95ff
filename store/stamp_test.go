package store

import (
	"testing"
	"time"
)

// TestStampsSortAsText: text stamps are compared as text in SQL (tokens are ordered by
// created_at), so text order must be time order, whatever the fraction.
func TestStampsSortAsText(t *testing.T) {
	base := time.Date(2018, 3, 7, 8, 0, 5, 0, time.UTC)
	var prev string
	for _, ns := range []int{0, 1, 100_000_000, 120_000_000, 123_456_789, 999_999_999, 1_000_000_000} {
		s := (&Store{Now: func() time.Time { return base.Add(time.Duration(ns)) }}).now()
		if s <= prev {
			t.Errorf("stamp %q sorts before or with the earlier %q", s, prev)
		}
		if got, err := time.Parse(time.RFC3339Nano, s); err != nil || !got.Equal(base.Add(time.Duration(ns))) {
			t.Errorf("time.Parse(%q) = %v, %v", s, got, err)
		}
		prev = s
	}
}
