package csvdata

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// TestQuickMoney: the fast path reads every amount it takes as calc.ParseMoney does, and
// leaves to it every form it does not take, the ones ParseMoney refuses among them.
func TestQuickMoney(t *testing.T) {
	tests := []struct {
		in   string
		want calc.Money
		ok   bool
	}{
		{"0", 0, true},
		{"0.00", 0, true},
		{"582.80", 58280, true},
		{"582.8", 58280, true},
		{"7", 700, true},
		{"007.05", 705, true},
		{"100000000.00", calc.MaxAmount, true},
		{"100000000.01", 0, false}, // over the limit: ParseMoney's error
		{"999999999999", 0, false},
		{"0000000000001", 0, false}, // longer than the fast path reads; ParseMoney takes it
		{"", 0, false},
		{".5", 0, false},
		{"5.", 0, false},
		{"5.123", 0, false},
		{"5.120", 0, false},
		{"-5.00", 0, false},
		{"+5.00", 0, false},
		{" 5.00", 0, false},
		{"5.00 ", 0, false},
		{"5,00", 0, false},
		{"5.0a", 0, false},
		{"1e3", 0, false},
		{"５", 0, false},
	}
	for _, tt := range tests {
		got, ok := quickMoney(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("quickMoney(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		checkQuickMoney(t, tt.in)
	}
	// Random strings over the characters amounts are made of.
	rng := rand.New(rand.NewPCG(7, 11))
	const chars = "0123456789.-+ ,e"
	for range 200_000 {
		b := make([]byte, rng.IntN(14))
		for i := range b {
			if rng.IntN(4) == 0 {
				b[i] = chars[rng.IntN(len(chars))]
			} else {
				b[i] = chars[rng.IntN(10)]
			}
		}
		checkQuickMoney(t, string(b))
	}
	for m := calc.Money(0); m < 100_000; m += 7 {
		checkQuickMoney(t, m.String())
		checkQuickMoney(t, fmt.Sprintf("%d.%d", m/100, m%100/10))
	}
}

// checkQuickMoney fails unless quickMoney(s), when it takes s, gives what ParseMoney
// gives and an amount csvdata accepts.
func checkQuickMoney(t *testing.T, s string) {
	t.Helper()
	got, ok := quickMoney(s)
	if !ok {
		return
	}
	want, err := calc.ParseMoney(s)
	if err != nil || got != want || got < 0 || got > calc.MaxAmount {
		t.Errorf("quickMoney(%q) = %s; ParseMoney gives %s, %v", s, got, want, err)
	}
}
