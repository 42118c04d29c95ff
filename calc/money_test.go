package calc_test

import (
	"errors"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		in   string
		want calc.Money
		err  error
	}{
		{"0", 0, nil},
		{"12.5", 1250, nil},
		{"12.50", 1250, nil},
		{"-3.07", -307, nil},
		{".5", 50, nil},
		{"+7", 700, nil},
		{"100000000.00", calc.MaxAmount, nil},
		{"1.230", 123, nil}, // trailing zeros are not places
		{"", 0, calc.ErrSyntax},
		{"abc", 0, calc.ErrSyntax},
		{"1e5", 0, calc.ErrSyntax},
		{"12.", 0, calc.ErrSyntax},
		{"1,234.00", 0, calc.ErrSyntax},
		{"1.234", 0, calc.ErrPrecision},
		{"1234567890123456", 0, calc.ErrRange},
	}
	for _, tt := range tests {
		got, err := calc.ParseMoney(tt.in)
		if !errors.Is(err, tt.err) || err == nil && got != tt.want {
			t.Errorf("ParseMoney(%q) = %d, %v; want %d, %v", tt.in, got, err, tt.want, tt.err)
		}
	}
}

func TestMoneyFormat(t *testing.T) {
	tests := []struct {
		m                   calc.Money
		plain, grouped, wan string
	}{
		{266330000, "2663300.00", "2,663,300.00", "266.33"},
		{1234500, "12345.00", "12,345.00", "1.23"},
		{1500000, "15000.00", "15,000.00", "1.50"},
		{1495000, "14950.00", "14,950.00", "1.50"}, // 1.495 万元 rounds half-up
		{1494999, "14949.99", "14,949.99", "1.49"},
		{-5, "-0.05", "-0.05", "0.00"},
		{0, "0.00", "0.00", "0.00"},
	}
	for _, tt := range tests {
		if got := tt.m.String(); got != tt.plain {
			t.Errorf("%d.String() = %q, want %q", tt.m, got, tt.plain)
		}
		if got := tt.m.Grouped(); got != tt.grouped {
			t.Errorf("%d.Grouped() = %q, want %q", tt.m, got, tt.grouped)
		}
		if got := tt.m.Wan(); got != tt.wan {
			t.Errorf("%d.Wan() = %q, want %q", tt.m, got, tt.wan)
		}
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		in      string
		want    calc.Rate
		err     error
		str, dc string
	}{
		{"0.85", 850_000, nil, "85%", "0.85"},
		{"85%", 850_000, nil, "85%", "0.85"},
		{"62.5%", 625_000, nil, "62.5%", "0.625"},
		{"1", calc.RateOne, nil, "100%", "1"},
		{"0.123456", 123_456, nil, "12.3456%", "0.123456"},
		{"0.1234567", 0, calc.ErrPrecision, "", ""},
		{"12.34567%", 0, calc.ErrPrecision, "", ""},
		{"x", 0, calc.ErrSyntax, "", ""},
	}
	for _, tt := range tests {
		got, err := calc.ParseRate(tt.in)
		if !errors.Is(err, tt.err) || err == nil && (got != tt.want || got.String() != tt.str || got.Decimal() != tt.dc) {
			t.Errorf("ParseRate(%q) = %d (%s, %s), %v; want %d (%s, %s), %v", tt.in, got, got, got.Decimal(), err, tt.want, tt.str, tt.dc, tt.err)
		}
	}
}

func TestMulRateRoundsHalfUp(t *testing.T) {
	tests := []struct {
		m    calc.Money
		r    calc.Rate
		want calc.Money
	}{
		{10, 50_000, 1},   // 5% × 0.10 = 0.5 fen → 1
		{9, 50_000, 0},    // 0.45 fen → 0
		{11, 50_000, 1},   // 0.55 fen → 1
		{5, 900_000, 5},   // 4.5 fen → 5
		{-10, 50_000, -1}, // away from zero
		{-9, 50_000, 0},
		{calc.MaxAmount, calc.RateOne, calc.MaxAmount},
		{calc.MaxAmount, 999_999, calc.MaxAmount - calc.MaxAmount/1_000_000},
	}
	for _, tt := range tests {
		if got := calc.MulRate(tt.m, tt.r); got != tt.want {
			t.Errorf("MulRate(%d, %d) = %d, want %d", tt.m, tt.r, got, tt.want)
		}
	}
}

func TestDate(t *testing.T) {
	d, err := calc.ParseDate("2018-03-07")
	if err != nil || d.String() != "2018-03-07" || d.Year() != 2018 {
		t.Fatalf("ParseDate(2018-03-07) = %v (%d), %v", d, d.Year(), err)
	}
	for _, bad := range []string{"2018-02-30", "2018/01/05", "", "18-01-05"} {
		if _, err := calc.ParseDate(bad); err == nil {
			t.Errorf("ParseDate(%q) accepted", bad)
		}
	}
	// Year, on the hot path, agrees with the time package on every day of 1900–2100.
	for day := calc.NewDate(1900, time.January, 1); day <= calc.NewDate(2100, time.December, 31); day++ {
		if got, want := day.Year(), day.Time().Year(); got != want {
			t.Fatalf("%s: Year() = %d, want %d", day, got, want)
		}
	}
}
