package api

import (
	"fmt"

	"github.com/hpcalc/hpcalc/calc"
)

// A quote's or settlement's claim body is read in one pass when it has the shape clients
// send: one object of the eight claim members, each once, each a JSON string of printable
// ASCII with no escapes, every field good and calc's rules met. That is the body of nearly
// every request, and it needs no map of members, no string per member and no second look
// at each byte (json.Valid first took as long as the rest of the decoding). Anything else
// goes decodeClaimSlow's way, which names every field that is wrong and the rule it
// breaks: the fast path answers only bodies that way would accept, with the same claim
// (TestQuickClaimAgrees).

// quickClaim returns the claim of body and true, or false when body is not of the shape
// above or a field or rule is wrong (decodeClaimSlow then says what).
func quickClaim(body []byte) (calc.Claim, bool) {
	var (
		spans [len(claimOK)][2]int // where each member's value lies in body, quotes excluded
		seen  uint
	)
	i := skipSpace(body, 0)
	if i >= len(body) || body[i] != '{' {
		return calc.Claim{}, false
	}
	i = skipSpace(body, i+1)
	for {
		k, end := memberAt(body, i)
		if k < 0 || seen&(1<<k) != 0 {
			return calc.Claim{}, false
		}
		seen |= 1 << k
		i = skipSpace(body, end+1)
		if i >= len(body) || body[i] != ':' {
			return calc.Claim{}, false
		}
		i = skipSpace(body, i+1)
		start, end, id, ok := plainValue(body, i)
		if !ok || k < idMembers && !id {
			return calc.Claim{}, false
		}
		spans[k] = [2]int{start, end}
		i = skipSpace(body, end+1)
		if i >= len(body) {
			return calc.Claim{}, false
		}
		if body[i] == '}' {
			break
		}
		if body[i] != ',' {
			return calc.Claim{}, false
		}
		i = skipSpace(body, i+1)
	}
	if seen != 1<<len(claimOK)-1 || skipSpace(body, i+1) != len(body) {
		return calc.Claim{}, false
	}

	// The ids, copied into one string that the claim's ids are parts of: one allocation,
	// and nothing of the request's buffer is kept. The other values are read in place.
	var (
		buf [3 * calc.MaxIDLen]byte
		ids = buf[:0]
		at  [idMembers + 1]int
	)
	for k, sp := range spans[:idMembers] {
		if n := sp[1] - sp[0]; n == 0 || n > calc.MaxIDLen {
			// calc.ValidID, whose ASCII path (these values are printable ASCII) is a
			// length of 1 to MaxIDLen and id bytes only, which the scan checked.
			return calc.Claim{}, false
		}
		at[k] = len(ids)
		ids = append(ids, body[sp[0]:sp[1]]...)
	}
	at[idMembers] = len(ids)
	all := string(ids)
	value := func(k int) []byte { return body[spans[k][0]:spans[k][1]] }

	var (
		c  calc.Claim
		ok bool
	)
	c.ID, c.PersonID, c.ProviderID = all[at[0]:at[1]], all[at[1]:at[2]], all[at[2]:at[3]]
	if c.Kind, ok = quickKind(value(3)); !ok {
		return calc.Claim{}, false
	}
	if c.AdmittedOn, ok = quickDate(value(4)); !ok {
		return calc.Claim{}, false
	}
	if c.DischargedOn, ok = quickDate(value(5)); !ok {
		return calc.Claim{}, false
	}
	if c.Total, ok = calc.QuickMoney(value(6)); !ok {
		return calc.Claim{}, false
	}
	if c.InPolicy, ok = calc.QuickMoney(value(7)); !ok {
		return calc.Claim{}, false
	}
	if c.Validate() != nil {
		return calc.Claim{}, false
	}
	return c, true
}

// quickKind is calc.ParseKind of s, false for a name it refuses.
func quickKind(s []byte) (calc.Kind, bool) {
	for k := range calc.NumKinds {
		if string(s) == k.String() {
			return k, true
		}
	}
	return 0, false
}

// quickDate is calc.ParseDate of s, read directly for the years of firstDays (from 1900
// to 2155), whose first days calc gave, and by ParseDate otherwise; false for a date
// ParseDate refuses (TestQuickDateAgrees).
func quickDate(s []byte) (calc.Date, bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, false
	}
	y, m, d := 0, 0, 0
	for _, c := range s[:4] {
		y = y*10 + int(c-'0')
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	for _, c := range s[5:7] {
		m = m*10 + int(c-'0')
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	for _, c := range s[8:] {
		d = d*10 + int(c-'0')
		if c < '0' || c > '9' {
			return 0, false
		}
	}
	if y < firstYear || y >= firstYear+len(firstDays) {
		day, err := calc.ParseDate(string(s))
		return day, err == nil
	}
	leap := 0
	if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
		leap = 1
	}
	if m < 1 || m > 12 || d < 1 || d > daysBefore[leap][m]-daysBefore[leap][m-1] {
		return 0, false
	}
	return firstDays[y-firstYear] + calc.Date(daysBefore[leap][m-1]+d-1), true
}

// firstYear is the first year of firstDays.
const firstYear = 1900

// firstDays holds the first day of each year from 1900 to 2155, as calc.ParseDate reads
// it.
var firstDays = func() (t [256]calc.Date) {
	for i := range t {
		d, err := calc.ParseDate(fmt.Sprintf("%04d-01-01", firstYear+i))
		if err != nil {
			panic(err)
		}
		t[i] = d
	}
	return t
}()

// daysBefore[leap][m] is how many days a year (a leap year if leap is 1) has before its
// month m+1: 0, 31, 59 (60), ..., 365 (366).
var daysBefore = [2][13]int{
	{0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334, 365},
	{0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335, 366},
}

// memberAt reads the name of a member, the JSON string that starts at b[i], if it is the
// name of one of claimOK's members written as it is (no escapes: a JSON string then equals
// its bytes): it returns the member's place in claimOK and where the name's closing quote
// is, or -1. The name is compared whole with the one or two names that start with its
// first letter rather than scanned for escapes first.
func memberAt(b []byte, i int) (k, end int) {
	if i+1 >= len(b) || b[i] != '"' {
		return -1, 0
	}
	for _, m := range membersByInitial[b[i+1]] {
		if m < 0 {
			break
		}
		if name := quotedMembers[m]; len(b)-i-1 >= len(name) && string(b[i+1:i+1+len(name)]) == name {
			return int(m), i + len(name)
		}
	}
	return -1, 0
}

// quotedMembers are claimOK's names, each with the quote that closes it.
var quotedMembers = func() (q [len(claimOK)]string) {
	for k, name := range claimOK {
		q[k] = name + `"`
	}
	return q
}()

// membersByInitial lists, by a name's first byte, the places in claimOK of the names that
// start with it (at most two: person_id and provider_id), -1 after the last.
var membersByInitial = func() (t [256][2]int8) {
	for c := range t {
		t[c] = [2]int8{-1, -1}
	}
	for k, name := range claimOK {
		at := &t[name[0]]
		switch {
		case at[0] < 0:
			at[0] = int8(k)
		case at[1] < 0:
			at[1] = int8(k)
		default:
			panic("three claim members start with " + name[:1])
		}
	}
	return t
}()

// idMembers is how many of claimOK's first members are ids (claim, person, provider).
const idMembers = 3

// plainValue reads the JSON string that starts at b[i] if it holds only printable ASCII
// and no escape, which it then equals byte for byte: it returns where its content starts
// and ends (the closing quote), and whether every byte of the string is one
// calc.ValidID takes (a letter, a digit, '.', '_' or '-'): the member's value is read
// and, if it is an id, checked in the same pass.
func plainValue(b []byte, i int) (start, end int, id, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false, false
	}
	all := byte(idByte)
	for j := i + 1; j < len(b); j++ {
		c := b[j]
		class := byteClass[c]
		if class == 0 {
			if c == '"' {
				return i + 1, j, all != 0, true
			}
			return 0, 0, false, false
		}
		all &= class
	}
	return 0, 0, false, false
}

// The classes of bytes in a claim's strings, by bit: plainByte, printable ASCII but a quote
// or backslash (a string holding only these needs no decoding); idByte, a plain byte
// calc.ValidID takes in an id.
const (
	plainByte = 1 << iota
	idByte
)

var byteClass = func() (t [256]byte) {
	for c := 0x20; c <= 0x7e; c++ {
		if c == '"' || c == '\\' {
			continue
		}
		t[c] = plainByte
		if calc.ValidID(string(rune(c))) {
			t[c] |= idByte
		}
	}
	return t
}()
