package store

import (
	"slices"
	"testing"
)

func TestSplit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		n    int
		want []string
	}{
		{"a b c", 3, []string{"a", "b", "c"}},
		{"a b", 2, []string{"a", "b", ""}},
		{"a b c d e", 5, []string{"a", "b", "c d e"}},
		{"", 1, []string{"", "", ""}},
	} {
		f := make([]string, 3)
		if n := split(tt.in, f); n != tt.n || !slices.Equal(f, tt.want) {
			t.Errorf("split(%q) = %d %q, want %d %q", tt.in, n, f, tt.n, tt.want)
		}
	}
}
