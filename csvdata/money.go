package csvdata

import "github.com/hpcalc/hpcalc/calc"

// quickMoney, table.money's fast path, reads s as calc.ParseMoney does when s is digits
// with at most two decimals and no more than calc.MaxAmount; ok is false for any other s
// (a sign, spaces, three decimals, ...), which calc.ParseMoney then reads, or refuses,
// with its errors.
func quickMoney(s string) (m calc.Money, ok bool) {
	const maxLen = len("100000000.00")
	n := len(s)
	if n == 0 || n > maxLen {
		return 0, false
	}
	i := 0
	var v calc.Money
	for ; i < n && s[i] != '.'; i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + calc.Money(d)
	}
	if i == 0 {
		return 0, false
	}
	v *= 100
	switch n - i {
	case 0:
	case 2, 3:
		for j, scale := i+1, calc.Money(10); j < n; j, scale = j+1, scale/10 {
			d := s[j] - '0'
			if d > 9 {
				return 0, false
			}
			v += calc.Money(d) * scale
		}
	default:
		return 0, false
	}
	if v > calc.MaxAmount {
		return 0, false
	}
	return v, true
}
