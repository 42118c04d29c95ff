package api

import (
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
		name, end, ok := plainString(body, i)
		if !ok {
			return calc.Claim{}, false
		}
		k := claimMember(body[name:end])
		if k < 0 || seen&(1<<k) != 0 {
			return calc.Claim{}, false
		}
		seen |= 1 << k
		i = skipSpace(body, end+1)
		if i >= len(body) || body[i] != ':' {
			return calc.Claim{}, false
		}
		i = skipSpace(body, i+1)
		start, end, ok := plainString(body, i)
		if !ok {
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

	// The values, copied into one string that the claim's strings are parts of: one
	// allocation, and nothing of the request's buffer is kept.
	var (
		buf  [256]byte
		vals = buf[:0]
		at   [len(claimOK) + 1]int
	)
	for k, sp := range spans {
		at[k] = len(vals)
		vals = append(vals, body[sp[0]:sp[1]]...)
	}
	at[len(claimOK)] = len(vals)
	all := string(vals)
	field := func(k int) string { return all[at[k]:at[k+1]] }

	var c calc.Claim
	c.ID, c.PersonID, c.ProviderID = field(0), field(1), field(2)
	// ValidID is IDRule's "" with a fast path for ASCII, which these values are.
	if !calc.ValidID(c.ID) || !calc.ValidID(c.PersonID) || !calc.ValidID(c.ProviderID) {
		return calc.Claim{}, false
	}
	var err error
	if c.Kind, err = calc.ParseKind(field(3)); err != nil {
		return calc.Claim{}, false
	}
	if c.AdmittedOn, err = calc.ParseDate(field(4)); err != nil {
		return calc.Claim{}, false
	}
	if c.DischargedOn, err = calc.ParseDate(field(5)); err != nil {
		return calc.Claim{}, false
	}
	if c.Total, err = quickMoney(field(6)); err != nil || c.Total < 0 || c.Total > calc.MaxAmount {
		return calc.Claim{}, false
	}
	if c.InPolicy, err = quickMoney(field(7)); err != nil || c.InPolicy < 0 || c.InPolicy > calc.MaxAmount {
		return calc.Claim{}, false
	}
	if c.Validate() != nil {
		return calc.Claim{}, false
	}
	return c, true
}

// quickMoney is calc.ParseMoney, read directly when s is what clients send, 1 to 15 digits
// and then none, one or two decimals ("20000.00"), and by ParseMoney otherwise.
func quickMoney(s string) (calc.Money, error) {
	var v calc.Money
	i := 0
	for ; i < len(s) && i < 15 && '0' <= s[i] && s[i] <= '9'; i++ {
		v = v*10 + calc.Money(s[i]-'0')
	}
	switch {
	case i == 0:
	case i == len(s):
		return v * 100, nil
	case s[i] != '.':
	case len(s) == i+2 && '0' <= s[i+1] && s[i+1] <= '9':
		return v*100 + calc.Money(s[i+1]-'0')*10, nil
	case len(s) == i+3 && '0' <= s[i+1] && s[i+1] <= '9' && '0' <= s[i+2] && s[i+2] <= '9':
		return v*100 + calc.Money(s[i+1]-'0')*10 + calc.Money(s[i+2]-'0'), nil
	}
	return calc.ParseMoney(s)
}

// claimMember is the place in claimOK of the member named name, -1 if none.
func claimMember(name []byte) int {
	switch string(name) { // compared in place: no string is made
	case "claim_id":
		return 0
	case "person_id":
		return 1
	case "provider_id":
		return 2
	case "kind":
		return 3
	case "admitted_on":
		return 4
	case "discharged_on":
		return 5
	case "total":
		return 6
	case "in_policy":
		return 7
	}
	return -1
}

// plainString reads the JSON string that starts at b[i] if it holds only printable ASCII
// and no escape, which it then equals byte for byte; it returns where its content starts
// and ends (the closing quote).
func plainString(b []byte, i int) (start, end int, ok bool) {
	if i >= len(b) || b[i] != '"' {
		return 0, 0, false
	}
	for j := i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			return i + 1, j, true
		case c < 0x20 || c > 0x7e || c == '\\':
			return 0, 0, false
		}
	}
	return 0, 0, false
}
