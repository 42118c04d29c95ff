package calc_test

import (
	"errors"
	"math"
	"math/big"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/hpcalc/hpcalc/calc"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    calc.Money
		wantErr error
	}{
		{"Zero", "0", 0, nil},
		{"OneDecimal", "12.5", 1250, nil},
		{"TwoDecimals", "12.50", 1250, nil},
		{"Negative", "-3.07", -307, nil},
		{"NegativeZero", "-0", 0, nil},
		{"PlusSign", "+7", 700, nil},
		{"NoIntegerPart", ".5", 50, nil},
		{"NoIntegerPartNegative", "-.5", -50, nil},
		{"NoIntegerPartPlus", "+.05", 5, nil},
		{"OneFen", "0.01", 1, nil},
		{"LeadingZeros", "007.10", 710, nil},
		{"TrailingZerosAreNotPlaces", "1.2300", 123, nil},
		{"MaxAmount", "100000000.00", calc.MaxAmount, nil},
		{"FifteenIntegerDigits", "999999999999999.99", 99_999_999_999_999_999, nil},
		{"LeadingZerosDoNotCount", "0000000000000000001", 100, nil},
		{"Empty", "", 0, calc.ErrSyntax},
		{"Letters", "abc", 0, calc.ErrSyntax},
		{"Exponent", "1e5", 0, calc.ErrSyntax},
		{"DotWithoutDecimals", "12.", 0, calc.ErrSyntax},
		{"DotOnly", ".", 0, calc.ErrSyntax},
		{"SignOnly", "-", 0, calc.ErrSyntax},
		{"TwoSigns", "+-5", 0, calc.ErrSyntax},
		{"TwoDots", "1.5.2", 0, calc.ErrSyntax},
		{"Grouped", "1,234.00", 0, calc.ErrSyntax},
		{"Underscore", "1_000", 0, calc.ErrSyntax},
		{"Hex", "0x10", 0, calc.ErrSyntax},
		{"LeadingSpace", " 5", 0, calc.ErrSyntax},
		{"TrailingSpace", "5 ", 0, calc.ErrSyntax},
		{"UnicodeMinus", "−5", 0, calc.ErrSyntax},
		{"ThreeDecimals", "1.234", 0, calc.ErrPrecision},
		{"ThreeDecimalsTrailingZero", "1.2340", 0, calc.ErrPrecision},
		{"SixteenIntegerDigits", "1234567890123456", 0, calc.ErrRange},
		{"SixteenIntegerDigitsNegative", "-1234567890123456.5", 0, calc.ErrRange},
		{"Huge", "99999999999999999999999", 0, calc.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := calc.ParseMoney(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseMoney(%q) = %d, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				if got != 0 {
					t.Errorf("ParseMoney(%q) = %d with an error, want 0", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseMoney(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestMoneyFormat(t *testing.T) {
	tests := []struct {
		name                string
		m                   calc.Money
		str, grouped, wanTx string
	}{
		{"Zero", 0, "0.00", "0.00", "0.00"},
		{"OneFen", 1, "0.01", "0.01", "0.00"},
		{"TenFen", 10, "0.10", "0.10", "0.00"},
		{"NegativeFen", -5, "-0.05", "-0.05", "0.00"},
		{"ThreeDigits", 99_999, "999.99", "999.99", "0.10"},
		{"FourDigits", 123_450, "1234.50", "1,234.50", "0.12"},
		{"SixDigits", 12_345_600, "123456.00", "123,456.00", "12.35"},
		{"SevenDigits", 123_456_700, "1234567.00", "1,234,567.00", "123.46"},
		{"NegativeGrouped", -123_456_789, "-1234567.89", "-1,234,567.89", "-123.46"},
		{"DistrictTotal", 266_330_000, "2663300.00", "2,663,300.00", "266.33"},
		{"WanRoundsDown", 1_234_500, "12345.00", "12,345.00", "1.23"},
		{"WanExact", 1_500_000, "15000.00", "15,000.00", "1.50"},
		{"WanHalfUp", 1_495_000, "14950.00", "14,950.00", "1.50"},        // 1.495 万 → 1.50
		{"WanJustBelowHalf", 1_494_999, "14949.99", "14,949.99", "1.49"}, // 1.4949999 万
		{"WanNegativeHalf", -1_495_000, "-14950.00", "-14,950.00", "-1.50"},
		{"MaxAmount", calc.MaxAmount, "100000000.00", "100,000,000.00", "10,000.00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := tt.m.String(), tt.str; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if got, want := tt.m.Grouped(), tt.grouped; got != want {
				t.Errorf("Grouped() = %q, want %q", got, want)
			}
			if got, want := tt.m.Wan(), tt.wanTx; got != want {
				t.Errorf("Wan() = %q, want %q", got, want)
			}
			// String reads back exactly.
			if got, err := calc.ParseMoney(tt.m.String()); err != nil || got != tt.m {
				t.Errorf("ParseMoney(String()) = %d, %v; want %d", got, err, tt.m)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    calc.Rate
		wantErr error
	}{
		{"Decimal", "0.85", 850_000, nil},
		{"Percent", "85%", 850_000, nil},
		{"PercentWithFraction", "62.5%", 625_000, nil},
		{"PercentTrailingZero", "62.50%", 625_000, nil},
		{"DecimalTrailingZeros", "0.625000", 625_000, nil},
		{"One", "1", calc.RateOne, nil},
		{"Hundred", "100%", calc.RateOne, nil},
		{"Zero", "0", 0, nil},
		{"ZeroPercent", "0%", 0, nil},
		{"SixPlaces", "0.123456", 123_456, nil},
		{"SmallestDecimal", "0.000001", 1, nil},
		{"SmallestPercent", "0.0001%", 1, nil},
		{"Spaces", " 85 % ", 850_000, nil},
		{"AboveOneIsParsed", "150%", 1_500_000, nil}, // the range is Policy.Validate's rule
		{"NegativeIsParsed", "-5%", -50_000, nil},
		{"SevenPlaces", "0.1234567", 0, calc.ErrPrecision},
		{"PercentFivePlaces", "12.34567%", 0, calc.ErrPrecision},
		{"BelowOnePPM", "0.00001%", 0, calc.ErrPrecision},
		{"Empty", "", 0, calc.ErrSyntax},
		{"PercentOnly", "%", 0, calc.ErrSyntax},
		{"Letters", "x", 0, calc.ErrSyntax},
		{"Exponent", "1e-2", 0, calc.ErrSyntax},
		{"TwoPercentSigns", "5%%", 0, calc.ErrSyntax},
		{"TooLarge", "1234567890", 0, calc.ErrRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := calc.ParseRate(tt.in)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("ParseRate(%q) = %d, %v; want error %v", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseRate(%q) = %d, %v; want %d", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestRateFormat(t *testing.T) {
	tests := []struct {
		name       string
		r          calc.Rate
		pct, fract string
	}{
		{"Zero", 0, "0%", "0"},
		{"One", calc.RateOne, "100%", "1"},
		{"EightyFive", 850_000, "85%", "0.85"},
		{"Ten", 100_000, "10%", "0.1"},
		{"SixtyTwoAndAHalf", 625_000, "62.5%", "0.625"},
		{"SixPlaces", 123_456, "12.3456%", "0.123456"},
		{"OnePPM", 1, "0.0001%", "0.000001"},
		{"AboveOne", 1_500_000, "150%", "1.5"},
		{"Negative", -50_000, "-5%", "-0.05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, want := tt.r.String(), tt.pct; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if got, want := tt.r.Decimal(), tt.fract; got != want {
				t.Errorf("Decimal() = %q, want %q", got, want)
			}
			// Both forms read back exactly.
			for _, s := range []string{tt.r.String(), tt.r.Decimal()} {
				if got, err := calc.ParseRate(s); err != nil || got != tt.r {
					t.Errorf("ParseRate(%q) = %d, %v; want %d", s, got, err, tt.r)
				}
			}
		})
	}
}

// TestMulRate checks the one rounding rule of POLICY.md: half-up, away from zero at
// exactly .5 fen, on either side of it.
func TestMulRate(t *testing.T) {
	tests := []struct {
		name string
		m    string // yuan
		r    string
		want calc.Money // fen
	}{
		{"ExactHalfFenRoundsUp", "0.10", "0.05", 1},                    // 0.5 fen → 1
		{"BelowHalfRoundsDown", "0.09", "0.05", 0},                     // 0.45 fen → 0
		{"AboveHalfRoundsUp", "0.11", "0.05", 1},                       // 0.55 fen → 1
		{"ThreeHalvesRoundsUp", "0.30", "0.05", 2},                     // 1.5 fen → 2
		{"FourAndAHalf", "0.05", "0.90", 5},                            // 4.5 fen → 5
		{"OnePPMBelowHalf", "0.01", "0.499999", 0},                     // 0.499999 fen → 0
		{"ExactlyHalfOfOneFen", "0.01", "0.5", 1},                      // 0.5 fen → 1
		{"OnePPMAboveHalf", "0.01", "0.500001", 1},                     // 0.500001 fen → 1
		{"Thirds", "0.03", "0.333333", 1},                              // 0.999999 fen → 1
		{"Exact", "5000", "0.85", 425_000},                             // 4,250.00
		{"CommercialOut", "50.05", "0.05", 250},                        // 2.5025 → 2.50
		{"Ceiling", "100.05", "0.10", 1001},                            // 10.005 → 10.01
		{"NegativeHalfAwayFromZero", "-0.10", "0.05", -1},              // −0.5 fen → −1
		{"NegativeBelowHalf", "-0.09", "0.05", 0},                      // −0.45 fen → 0
		{"NegativeAboveHalf", "-0.11", "0.05", -1},                     // −0.55 fen → −1
		{"NegativeThreeHalves", "-0.30", "0.05", -2},                   // −1.5 fen → −2
		{"ZeroRate", "1234.56", "0", 0},                                //
		{"RateOne", "1234.56", "1", 123_456},                           //
		{"MaxAmountTimesOne", "100000000", "1", calc.MaxAmount},        //
		{"MaxAmountAlmostOne", "100000000", "0.999999", 9_999_990_000}, // no overflow
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, r := mustMoney(t, tt.m), mustRate(t, tt.r)
			if got, want := calc.MulRate(m, r), tt.want; got != want {
				t.Errorf("MulRate(%s, %s) = %d fen, want %d fen", m, r.Decimal(), got, want)
			}
		})
	}
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		wantDays calc.Date // days since 1970-01-01
		wantYear int
		wantErr  bool
	}{
		{"Epoch", "1970-01-01", 0, 1970, false},
		{"DayBeforeEpoch", "1969-12-31", -1, 1969, false},
		{"FirstDayOf1969", "1969-01-01", -365, 1969, false},
		{"LastDayOf1968", "1968-12-31", -366, 1968, false},
		{"DayAfterEpoch", "1970-01-02", 1, 1970, false},
		{"LastDayOf1970", "1970-12-31", 364, 1970, false},
		{"LeapDay2000", "2000-02-29", 11_016, 2000, false},
		{"AfterLeapDay2000", "2000-03-01", 11_017, 2000, false},
		{"LastDayOf2000", "2000-12-31", 11_322, 2000, false},
		{"FirstDayOf2001", "2001-01-01", 11_323, 2001, false},
		{"LeapDay2016", "2016-02-29", 16_860, 2016, false},
		{"FirstDayOf2018", "2018-01-01", 17_532, 2018, false},
		{"Feb28Of2018", "2018-02-28", 17_590, 2018, false},
		{"Mar1Of2018", "2018-03-01", 17_591, 2018, false},
		{"LastDayOf2018", "2018-12-31", 17_896, 2018, false},
		{"FirstDayOf2019", "2019-01-01", 17_897, 2019, false},
		{"Feb28Of1900", "1900-02-28", -25_509, 1900, false},
		{"Mar1Of1900", "1900-03-01", -25_508, 1900, false},
		{"YearOne", "0001-01-01", -719_162, 1, false},
		{"NoLeapDayIn2018", "2018-02-29", 0, 0, true},
		{"NoLeapDayIn1900", "1900-02-29", 0, 0, true},
		{"February30", "2018-02-30", 0, 0, true},
		{"Month13", "2018-13-01", 0, 0, true},
		{"Slashes", "2018/01/05", 0, 0, true},
		{"ShortMonth", "2018-1-05", 0, 0, true},
		{"ShortDay", "2018-01-5", 0, 0, true},
		{"TwoDigitYear", "18-01-05", 0, 0, true},
		{"DateTime", "2018-01-01T00:00:00Z", 0, 0, true},
		{"LeadingSpace", " 2018-01-01", 0, 0, true},
		{"Empty", "", 0, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := calc.ParseDate(tt.in)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("ParseDate(%q) = %s, want an error", tt.in, got)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseDate(%q): %v", tt.in, err)
			}
			if got != tt.wantDays {
				t.Errorf("ParseDate(%q) = day %d, want %d", tt.in, got, tt.wantDays)
			}
			if got, want := got.String(), tt.in; got != want {
				t.Errorf("String() = %q, want %q", got, want)
			}
			if got, want := got.Year(), tt.wantYear; got != want {
				t.Errorf("Year() = %d, want %d", got, want)
			}
		})
	}
}

// TestNewDate checks NewDate against ParseDate, including normalisation as in time.Date.
func TestNewDate(t *testing.T) {
	tests := []struct {
		name       string
		year       int
		month      time.Month
		day        int
		wantString string
	}{
		{"Plain", 2018, time.March, 7, "2018-03-07"},
		{"Epoch", 1970, time.January, 1, "1970-01-01"},
		{"BeforeEpoch", 1969, time.December, 31, "1969-12-31"},
		{"Month13IsNextJanuary", 2018, 13, 1, "2019-01-01"},
		{"Day0IsLastDayOfPreviousMonth", 2018, time.March, 0, "2018-02-28"},
		{"Day0InLeapYear", 2016, time.March, 0, "2016-02-29"},
		{"Feb29InCommonYear", 2018, time.February, 29, "2018-03-01"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := calc.NewDate(tt.year, tt.month, tt.day)
			if got, want := d.String(), tt.wantString; got != want {
				t.Errorf("NewDate(%d, %d, %d) = %s, want %s", tt.year, tt.month, tt.day, got, want)
			}
			if got, want := d, mustDate(t, tt.wantString); got != want {
				t.Errorf("NewDate = day %d, ParseDate(%s) = day %d", got, tt.wantString, want)
			}
		})
	}
}

// TestDateEveryDay walks every day of 1900–2100 with the time package and checks that
// Date counts days consecutively and that Year, on the settlement hot path, String and
// Time agree with time.Time on each of them.
func TestDateEveryDay(t *testing.T) {
	start := time.Date(1900, time.January, 1, 0, 0, 0, 0, time.UTC)
	end := time.Date(2100, time.December, 31, 0, 0, 0, 0, time.UTC)
	prev := calc.NewDate(1899, time.December, 31)
	days := 0
	for tm := start; !tm.After(end); tm = tm.AddDate(0, 0, 1) {
		d := calc.NewDate(tm.Year(), tm.Month(), tm.Day())
		if d != prev+1 {
			t.Fatalf("%s: day %d follows day %d", tm.Format(time.DateOnly), d, prev)
		}
		prev = d
		days++
		if got, want := d.Year(), tm.Year(); got != want {
			t.Fatalf("%s: Year() = %d, want %d", tm.Format(time.DateOnly), got, want)
		}
		if got, want := d.String(), tm.Format(time.DateOnly); got != want {
			t.Fatalf("String() = %s, want %s", got, want)
		}
		if got, want := d.Time(), tm; !got.Equal(want) {
			t.Fatalf("%s: Time() = %s", want.Format(time.DateOnly), got)
		}
	}
	// 201 years, 49 of them leap (1904–2096 every fourth, 1900 and 2100 not).
	if got, want := days, 201*365+49; got != want {
		t.Errorf("walked %d days, want %d", got, want)
	}
}

// TestParseDateAgreesWithTime checks the hand-written ParseDate against time.Parse for
// every day of 1600–2400 and a set of malformed strings.
func TestParseDateAgreesWithTime(t *testing.T) {
	for day := calc.NewDate(1600, time.January, 1); day <= calc.NewDate(2400, time.December, 31); day++ {
		s := day.String()
		got, err := calc.ParseDate(s)
		if err != nil || got != day {
			t.Fatalf("ParseDate(%q) = %v, %v; want %v", s, got, err, day)
		}
	}
	for _, s := range []string{"2018-02-29", "2000-02-30", "1900-02-29", "2018-00-10", "2018-13-01", "2018-04-31",
		"2018-1-05", "2018/01/05", "20180105", "2018-01-05 ", "+018-01-05", "2018-01-0x", ""} {
		_, want := time.Parse(time.DateOnly, s)
		if _, err := calc.ParseDate(s); (err == nil) != (want == nil) {
			t.Errorf("ParseDate(%q) error %v, time.Parse error %v", s, err, want)
		}
	}
}

// TestFormatAgreesWithBigInt checks every formatter, and its Append form, against
// math/big's decimal formatting of the same fen or ppm, over edges and random values.
func TestFormatAgreesWithBigInt(t *testing.T) {
	values := []int64{0, 1, -1, 5, 9, 10, 99, 100, 101, 999, 1000, 99999, 100000, 123456789,
		-123456789, 1_000_000, 999_999_999_999, math.MaxInt64, math.MinInt64 + 1}
	for p := int64(1); p <= math.MaxInt64/10; p *= 10 { // where a number gains a digit or a group
		values = append(values, p-1, p, p+1, -p, 10*p-1)
	}
	for p := int64(-2); p <= 102; p++ { // whole percentages, which rates take from a table
		values = append(values, p*10_000, p*10_000+1, p*10_000-1)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		values = append(values, r.Int64N(1<<50)-1<<49)
	}
	for _, v := range values {
		wantMoney := refFixed(v, 2, false)
		if got := calc.Money(v).String(); got != wantMoney {
			t.Fatalf("Money(%d).String() = %q, want %q", v, got, wantMoney)
		}
		if got := string(calc.Money(v).Append([]byte("x"))); got != "x"+wantMoney {
			t.Fatalf("Money(%d).Append = %q, want %q", v, got, "x"+wantMoney)
		}
		wantGrouped := refFixed(v, 2, true)
		if got := calc.Money(v).Grouped(); got != wantGrouped {
			t.Fatalf("Money(%d).Grouped() = %q, want %q", v, got, wantGrouped)
		}
		if got := string(calc.Money(v).AppendGrouped([]byte("x"))); got != "x"+wantGrouped {
			t.Fatalf("Money(%d).AppendGrouped = %q, want %q", v, got, "x"+wantGrouped)
		}
		wantDec := strings.TrimRight(strings.TrimRight(refFixed(v, 6, false), "0"), ".")
		if got := calc.Rate(v).Decimal(); got != wantDec {
			t.Fatalf("Rate(%d).Decimal() = %q, want %q", v, got, wantDec)
		}
		wantPct := strings.TrimRight(strings.TrimRight(refFixed(v, 4, false), "0"), ".") + "%"
		if got := string(calc.Rate(v).AppendPercent([]byte("x"))); got != "x"+wantPct {
			t.Fatalf("Rate(%d).AppendPercent = %q, want %q", v, got, "x"+wantPct)
		}
	}
}

// refFixed formats v / 10^places through math/big, grouping the integer part by threes.
func refFixed(v int64, places int, group bool) string {
	s := new(big.Rat).SetFrac(big.NewInt(v), new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)).FloatString(places)
	if !group {
		return s
	}
	sign := ""
	if strings.HasPrefix(s, "-") {
		sign, s = "-", s[1:]
	}
	intPart, frac, _ := strings.Cut(s, ".")
	for i := len(intPart) - 3; i > 0; i -= 3 {
		intPart = intPart[:i] + "," + intPart[i:]
	}
	if places > 0 {
		intPart += "." + frac
	}
	return sign + intPart
}
