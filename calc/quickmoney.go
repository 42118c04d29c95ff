package calc

// QuickMoney reads s as ParseMoney does when s is the shape amounts nearly always have,
// digits with at most two decimals ("1234", "1234.5", "1234.50"), and is no more than
// MaxAmount; ok is false for any other s (a sign, spaces, three decimals, an exponent,
// more than MaxAmount), which ParseMoney then reads, or refuses with its errors. It is the
// fast path of the readers of a province's files and of the API's claims, which read
// millions of amounts; it takes bytes as they are, with no copy into a string.
func QuickMoney[S ~string | ~[]byte](s S) (m Money, ok bool) {
	const maxLen = len("100000000.00")
	n := len(s)
	if n == 0 || n > maxLen {
		return 0, false
	}
	i := 0
	var v Money
	for ; i < n && s[i] != '.'; i++ {
		d := s[i] - '0'
		if d > 9 {
			return 0, false
		}
		v = v*10 + Money(d)
	}
	if i == 0 {
		return 0, false
	}
	v *= 100
	switch n - i {
	case 0:
	case 2, 3:
		for j, scale := i+1, Money(10); j < n; j, scale = j+1, scale/10 {
			d := s[j] - '0'
			if d > 9 {
				return 0, false
			}
			v += Money(d) * scale
		}
	default:
		return 0, false
	}
	if v > MaxAmount {
		return 0, false
	}
	return v, true
}
