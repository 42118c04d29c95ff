package calc

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxIDLen is the longest identifier, in bytes.
const MaxIDLen = 64

// ValidID reports whether s is an identifier: 1 to MaxIDLen bytes of valid UTF-8, each
// character a letter, a decimal digit, '.', '_' or '-'. Every id hpcalc reads (person,
// household, provider, claim, policy version) keeps this one grammar, whatever it arrives
// in, so that no id can carry a separator, a space, a quote or a control character into
// a list, a log line, a path or a file. Letters include other scripts' (户1 is an id).
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !idBytes[s[i]] {
			return validIDRunes(s)
		}
	}
	return true
}

// idByte reports whether an ASCII byte may be in an id: the fast path of ValidID.
func idByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b >= '0' && b <= '9' || b == '.' || b == '_' || b == '-'
}

// idBytes[b] is idByte(b), looked up in one load: ValidID runs on every id of every row
// of a province's files, and the comparisons were 3% of a what-if's CPU.
var idBytes = func() (t [256]bool) {
	for b := range 256 {
		t[b] = idByte(byte(b))
	}
	return t
}()

func validIDRunes(s string) bool {
	_, bad := firstBadRune(s)
	return bad < 0
}

// firstBadRune returns the first character of s an id may not hold and its byte offset,
// or -1.
func firstBadRune(s string) (rune, int) {
	for i, r := range s {
		switch {
		case r < utf8.RuneSelf && idByte(byte(r)):
		case r == utf8.RuneError: // invalid UTF-8, or U+FFFD, which is no letter either
			return r, i
		case r >= utf8.RuneSelf && (unicode.IsLetter(r) || unicode.Is(unicode.Nd, r)):
		default:
			return r, i
		}
	}
	return 0, -1
}

// IDRule is the rule s breaks as an identifier (see ValidID), or "" if it keeps it.
func IDRule(s string) string {
	rule, _, _ := idRule(s)
	return rule
}

// idRule is IDRule with the rule's code and values.
func idRule(s string) (rule, code string, args []any) {
	switch {
	case s == "":
		return "must not be empty", RuleRequired, nil
	case len(s) > MaxIDLen:
		return fmt.Sprintf("is %d bytes long; an id is at most %d bytes", len(s), MaxIDLen), RuleIDTooLong, []any{len(s), MaxIDLen}
	case !utf8.ValidString(s):
		return "is not valid UTF-8", RuleIDNotUTF8, nil
	}
	if r, at := firstBadRune(s); at >= 0 {
		return fmt.Sprintf("%q is not an id: %q (byte %d) is not a letter, a digit, '.', '_' or '-'", s, r, at+1),
			RuleIDBadRune, []any{s, string(r), at + 1}
	}
	return "", "", nil
}

// id notes the rule field's value s breaks as an identifier, if any.
func (c *fieldCheck) id(field, s string) {
	if rule, code, args := idRule(s); rule != "" {
		c.add(field, code, rule, args...)
	}
}
