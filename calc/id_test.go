package calc_test

import (
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// TestValidID checks the id grammar: letters of any script, decimal digits, '.', '_'
// and '-', 1 to MaxIDLen bytes; every ASCII byte alone and inside an id.
func TestValidID(t *testing.T) {
	for _, tc := range []struct {
		id   string
		want bool
	}{
		{"P0001527", true}, {"户1", true}, {"a.b_c-D", true}, {strings.Repeat("x", calc.MaxIDLen), true},
		{"", false}, {strings.Repeat("x", calc.MaxIDLen+1), false}, {"a b", false}, {"a,b", false},
		{"a\"b", false}, {"a\x00b", false}, {"\xff", false}, {"户 1", false}, {"١٢", true},
	} {
		if got := calc.ValidID(tc.id); got != tc.want {
			t.Errorf("ValidID(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
	for b := range 128 {
		want := b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
		for _, id := range []string{string(rune(b)), "P0" + string(rune(b)) + "1"} {
			if got := calc.ValidID(id); got != want {
				t.Errorf("ValidID(%q) = %v, want %v", id, got, want)
			}
		}
	}
}
