package calc_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
)

// TestQuickMoney: wherever QuickMoney reads an amount, from a string or from bytes, it
// reads what ParseMoney does, at most MaxAmount, on edge cases and on random strings of
// digits, points, signs, spaces and others; and it reads the usual ones.
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
		got, ok := calc.QuickMoney(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("calc.QuickMoney(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
	cases := []string{"", "0", "00", "0.0", "0.00", "00.00", "1.", "12.", ".5", ".50", "1.5", "1.50", "1.500", "1.505",
		"-1.00", "+1.00", "1e3", " 1", "1 ", "1.0a", "1a.00", "1,000.00", "1234.50", "99999999.99", "100000000.00",
		"100000000.01", "9999999999999.99", "99999999999999.99", "123456789012345", "000000000000000001.00"}
	rng := rand.New(rand.NewPCG(5, 6))
	const alphabet = "0123456789.-+ e,x"
	for range 200_000 {
		b := make([]byte, rng.IntN(19))
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
			if rng.IntN(3) > 0 {
				b[i] = '0' + byte(rng.IntN(10))
			}
		}
		if len(b) > 3 && rng.IntN(2) == 0 {
			b[len(b)-3] = '.'
		}
		cases = append(cases, string(b))
	}
	for m := calc.Money(0); m < 100_000; m += 7 {
		cases = append(cases, m.String(), fmt.Sprintf("%d.%d", m/100, m%100/10))
	}
	read := 0
	for _, s := range cases {
		got, ok := calc.QuickMoney(s)
		if gotB, okB := calc.QuickMoney([]byte(s)); gotB != got || okB != ok {
			t.Fatalf("QuickMoney(%q) = %s, %v from a string, %s, %v from bytes", s, got, ok, gotB, okB)
		}
		if !ok {
			continue
		}
		read++
		want, err := calc.ParseMoney(s)
		if err != nil || got != want || got > calc.MaxAmount {
			t.Fatalf("QuickMoney(%q) = %s; ParseMoney gives %s, %v", s, got, want, err)
		}
	}
	for _, s := range []string{"0", "0.00", "1234.5", "1234.50", "100000000.00"} {
		if _, ok := calc.QuickMoney(s); !ok {
			t.Errorf("QuickMoney(%q) does not read it", s)
		}
	}
	if read < 10_000 {
		t.Errorf("only %d of the random amounts were read quickly: the test checks too little", read)
	}
}
