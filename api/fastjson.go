package api

import (
	"encoding/binary"
	"encoding/json"
	"math/bits"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/hpcalc/hpcalc/calc"
)

// The settlement answer is written by hand: it is the body of every quote and settlement,
// and encoding/json's reflection took a fifth of a quote's time. The output is byte for
// byte what json.Marshal gives for the same settlementJSON (TestFastJSONMatchesMarshal), so
// the struct's tags stay the one description of the shape.

// jsonBuffers recycles the buffers answers are built in.
var jsonBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 4096); return &b }}

func appendSettlementJSON(b []byte, v *settlementJSON) []byte {
	b = append(b, `{"type":`...)
	b = appendJSONString(b, v.Type)
	if v.SettlementID != "" {
		b = append(b, `,"settlement_id":`...)
		b = appendJSONString(b, v.SettlementID)
	}
	if v.Reverses != "" {
		b = append(b, `,"reverses":`...)
		b = appendJSONString(b, v.Reverses)
	}
	if v.ReversedBy != "" {
		b = append(b, `,"reversed_by":`...)
		b = appendJSONString(b, v.ReversedBy)
	}
	if v.Reason != "" {
		b = append(b, `,"reason":`...)
		b = appendJSONString(b, v.Reason)
	}
	if v.Imported {
		b = append(b, `,"imported":true`...)
	}
	b = append(b, `,"claim_id":`...)
	b = appendJSONString(b, v.ClaimID)
	b = append(b, `,"person_id":`...)
	b = appendJSONString(b, v.PersonID)
	if v.ProviderID != "" {
		b = append(b, `,"provider_id":`...)
		b = appendJSONString(b, v.ProviderID)
	}
	b = append(b, `,"kind":`...)
	b = appendJSONString(b, v.Kind)
	b = append(b, `,"level":`...)
	b = appendJSONString(b, v.Level)
	b = append(b, `,"aid_category":`...)
	b = appendJSONString(b, v.AidCategory)
	b = append(b, `,"year":`...)
	b = strconv.AppendInt(b, int64(v.Year), 10)
	b = append(b, `,"policy_version":`...)
	b = appendJSONString(b, v.PolicyVersion)
	if v.PersonVersion != 0 {
		b = append(b, `,"person_version":`...)
		b = strconv.AppendInt(b, int64(v.PersonVersion), 10)
	}
	b = appendMoneyMember(b, `,"total":`, v.Total)
	b = appendMoneyMember(b, `,"in_policy":`, v.InPolicy)
	b = append(b, `,"lines":`...)
	if v.Lines == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range v.Lines {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendLineJSON(b, &v.Lines[i])
		}
		b = append(b, ']')
	}
	b = appendMoneyMember(b, `,"out_of_pocket":`, v.OutOfPocket)
	b = append(b, `,"ledger_after":`...)
	b = appendLedgerJSON(b, &v.LedgerAfter)
	if v.CreatedAt != nil {
		b = append(b, `,"created_at":"`...)
		b = v.CreatedAt.AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	if v.Corrections != nil {
		// Only stored settlements carry corrections, never the hot path's answers.
		c, err := json.Marshal(v.Corrections)
		if err != nil {
			panic(err) // maps of strings and strings only: encoding/json does not fail
		}
		b = append(b, `,"corrections":`...)
		b = append(b, c...)
	}
	return append(b, '}')
}

func appendLineJSON(b []byte, l *lineJSON) []byte {
	b = append(b, `{"name":`...)
	b = appendJSONString(b, l.Name)
	b = append(b, `,"applies":`...)
	b = strconv.AppendBool(b, l.Applies)
	b = appendMoneyMember(b, `,"amount":`, l.Amount)
	b = appendMoneyMember(b, `,"base":`, l.Base)
	b = appendMoneyMember(b, `,"deductible":`, l.Deductible)
	if l.Rate != nil {
		b = appendRateMember(b, `,"rate":`, *l.Rate)
	}
	if l.Bands != nil {
		b = append(b, `,"bands":[`...)
		for i, band := range l.Bands {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendMoneyMember(b, `{"from":`, band.From)
			b = appendMoneyMember(b, `,"to":`, band.To)
			b = appendRateMember(b, `,"rate":`, band.Rate)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if l.BaseOut != nil {
		b = appendMoneyMember(b, `,"base_out":`, *l.BaseOut)
	}
	if l.RateOut != nil {
		b = appendRateMember(b, `,"rate_out":`, *l.RateOut)
	}
	b = appendMoneyMember(b, `,"computed":`, l.Computed)
	if l.CapRoom != nil {
		b = appendMoneyMember(b, `,"cap_room":`, *l.CapRoom)
	} else {
		b = append(b, `,"cap_room":null`...)
	}
	b = append(b, `,"explanation":`...)
	b = appendJSONString(b, l.Explanation)
	return append(b, '}')
}

func appendLedgerJSON(b []byte, l *ledgerJSON) []byte {
	b = append(b, '{')
	if l.PersonID != "" {
		b = append(b, `"person_id":`...)
		b = appendJSONString(b, l.PersonID)
		b = append(b, ',')
	}
	b = append(b, `"year":`...)
	b = strconv.AppendInt(b, int64(l.Year), 10)
	b = append(b, `,"claims":`...)
	b = strconv.AppendInt(b, int64(l.Claims), 10)
	b = appendMoneyMember(b, `,"basic_inpatient":`, l.BasicInpatient)
	b = appendMoneyMember(b, `,"basic_chronic":`, l.BasicChronic)
	b = appendMoneyMember(b, `,"basic_paid":`, l.BasicPaid)
	b = appendMoneyMember(b, `,"critical_burden":`, l.CriticalBurden)
	b = appendMoneyMember(b, `,"critical_paid":`, l.CriticalPaid)
	b = appendMoneyMember(b, `,"commercial_paid":`, l.CommercialPaid)
	b = appendMoneyMember(b, `,"aid_paid":`, l.AidPaid)
	b = appendMoneyMember(b, `,"backstop_paid":`, l.BackstopPaid)
	b = appendMoneyMember(b, `,"out_of_pocket":`, l.OutOfPocket)
	b = appendMoneyMember(b, `,"total":`, l.Total)
	return append(b, '}')
}

func appendMoneyMember(b []byte, name string, m money) []byte {
	b = append(b, name...)
	b = append(b, '"')
	b = calc.Money(m).Append(b)
	return append(b, '"')
}

func appendRateMember(b []byte, name string, r rate) []byte {
	b = append(b, name...)
	b = append(b, '"')
	b = calc.Rate(r).AppendDecimal(b)
	return append(b, '"')
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string exactly as encoding/json does with its
// default HTML escaping: <, > and & escaped, invalid UTF-8 as U+FFFD, U+2028 and U+2029
// escaped.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if plainASCII[c] {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendComputedJSON appends what appendSettlementJSON appends for settlementOut(typ, st,
// ledger, providerID) with PersonVersion personVersion, straight from calc's values: a
// quote's answer builds no settlementJSON, no line structs and no explanation strings
// (TestComputedJSONMatches). It is most of a quote's own CPU, so the text between two values
// is appended as one constant (a member's closing quote, the next one's name and opening
// quote), names of calc's enumerations come quoted from tables, and each explanation is
// appended in place with no check for characters JSON escapes: it has none
// (TestExplanationsNeedNoEscaping).
func appendComputedJSON(b []byte, typ string, st *calc.Settlement, ledger *calc.Ledger, personVersion int32, providerID string) []byte {
	if typ == "quote" {
		b = append(b, `{"type":"quote"`...)
	} else {
		b = append(b, `{"type":`...)
		b = appendJSONString(b, typ)
	}
	if st.Imported {
		b = append(b, `,"imported":true`...)
	}
	b = append(b, `,"claim_id":`...)
	b = appendJSONString(b, st.ClaimID)
	b = append(b, `,"person_id":`...)
	b = appendJSONString(b, st.PersonID)
	if providerID != "" {
		b = append(b, `,"provider_id":`...)
		b = appendJSONString(b, providerID)
	}
	b = append(b, `,"kind":`...)
	b = appendJSONName(b, int(st.Kind), kindsJSON[:], st.Kind.String)
	b = append(b, `,"level":`...)
	b = appendJSONName(b, int(st.Level), levelsJSON[:], st.Level.String)
	b = append(b, `,"aid_category":`...)
	b = appendJSONName(b, int(st.Aid), aidsJSON[:], st.Aid.String)
	b = append(b, `,"year":`...)
	b = appendSmallInt(b, st.Year)
	b = append(b, `,"policy_version":`...)
	b = appendJSONString(b, st.PolicyVersion)
	if personVersion != 0 {
		b = append(b, `,"person_version":`...)
		b = appendSmallInt(b, int(personVersion))
	}
	b = append(b, `,"total":"`...)
	b = appendAmount(b, st.Total)
	b = append(b, `","in_policy":"`...)
	b = appendAmount(b, st.InPolicy)
	b = append(b, `","lines":[`...)
	for l := range calc.NumLines {
		if l > 0 {
			b = append(b, ',')
		}
		b = appendComputedLine(b, st, l)
	}
	b = append(b, `],"out_of_pocket":"`...)
	b = appendAmount(b, st.OutOfPocket)
	b = append(b, `","ledger_after":{`...)
	if st.PersonID != "" {
		b = append(b, `"person_id":`...)
		b = appendJSONString(b, st.PersonID)
		b = append(b, ',')
	}
	b = append(b, `"year":`...)
	b = appendSmallInt(b, ledger.Year)
	b = append(b, `,"claims":`...)
	b = appendSmallInt(b, ledger.Claims)
	b = append(b, `,"basic_inpatient":"`...)
	b = appendAmount(b, ledger.BasicInpatient)
	b = append(b, `","basic_chronic":"`...)
	b = appendAmount(b, ledger.BasicChronic)
	b = append(b, `","basic_paid":"`...)
	b = appendAmount(b, ledger.BasicPaid())
	b = append(b, `","critical_burden":"`...)
	b = appendAmount(b, ledger.CriticalBurden)
	b = append(b, `","critical_paid":"`...)
	b = appendAmount(b, ledger.CriticalPaid)
	b = append(b, `","commercial_paid":"`...)
	b = appendAmount(b, ledger.CommercialPaid)
	b = append(b, `","aid_paid":"`...)
	b = appendAmount(b, ledger.AidPaid)
	b = append(b, `","backstop_paid":"`...)
	b = appendAmount(b, ledger.BackstopPaid)
	b = append(b, `","out_of_pocket":"`...)
	b = appendAmount(b, ledger.OutOfPocket)
	b = append(b, `","total":"`...)
	b = appendAmount(b, ledger.Total)
	return append(b, `"}}`...)
}

// appendComputedLine is appendLineJSON of settlementOut's line l.
func appendComputedLine(b []byte, st *calc.Settlement, l calc.Line) []byte {
	r := &st.Lines[l]
	if r.Applies {
		b = append(b, lineHeadsJSON[l][1]...)
	} else {
		b = append(b, lineHeadsJSON[l][0]...)
	}
	b = appendAmount(b, r.Amount)
	b = append(b, `","base":"`...)
	b = appendAmount(b, r.Base)
	b = append(b, `","deductible":"`...)
	b = appendAmount(b, r.Deductible)
	switch l {
	case calc.Critical:
		b = append(b, `","bands":[`...)
		for i, band := range st.Bands[:st.NumBands] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"from":"`...)
			b = appendAmount(b, band.From)
			b = append(b, `","to":"`...)
			b = appendAmount(b, band.To)
			b = append(b, `","rate":"`...)
			b = band.Rate.AppendDecimal(b)
			b = append(b, `"}`...)
		}
		b = append(b, `],"computed":"`...)
	case calc.Commercial:
		b = append(b, `","rate":"`...)
		b = r.Rate.AppendDecimal(b)
		b = append(b, `","base_out":"`...)
		b = appendAmount(b, r.BaseOut)
		b = append(b, `","rate_out":"`...)
		b = r.RateOut.AppendDecimal(b)
		b = append(b, `","computed":"`...)
	default:
		b = append(b, `","rate":"`...)
		b = r.Rate.AppendDecimal(b)
		b = append(b, `","computed":"`...)
	}
	b = appendAmount(b, r.Computed)
	if r.CapRoom != calc.NoCap && r.Applies {
		b = append(b, `","cap_room":"`...)
		b = appendAmount(b, r.CapRoom)
		b = append(b, `","explanation":"`...)
	} else {
		b = append(b, `","cap_room":null,"explanation":"`...)
	}
	b = st.AppendExplanation(b, l)
	return append(b, `"}`...)
}

// lineHeadsJSON[l][applies] is what a line's object starts with, up to its amount's
// opening quote.
var lineHeadsJSON = func() (h [calc.NumLines][2]string) {
	for _, l := range calc.Lines() {
		for applies := range 2 {
			b := appendJSONString([]byte(`{"name":`), l.String())
			b = strconv.AppendBool(append(b, `,"applies":`...), applies == 1)
			h[l][applies] = string(append(b, `,"amount":"`...))
		}
	}
	return h
}()

// The names of calc's enumerations as JSON strings, quotes included.
var (
	kindsJSON  = quotedNames(calc.NumKinds)
	levelsJSON = quotedNames(calc.NumLevels)
	aidsJSON   = quotedNames(calc.NumAidCategories)
)

// quotedNames holds the JSON string of each value below n.
func quotedNames[T interface {
	~uint8
	String() string
}](n T) []string {
	names := make([]string, n)
	for v := range n {
		names[v] = string(appendJSONString(nil, v.String()))
	}
	return names
}

// appendJSONName appends names[v], or name() as a JSON string if v is not in the table.
func appendJSONName(b []byte, v int, names []string, name func() string) []byte {
	if v >= 0 && v < len(names) {
		return append(b, names[v]...)
	}
	return appendJSONString(b, name())
}

// plainASCII holds the ASCII bytes appendJSONString copies as they are.
var plainASCII = func() (t [utf8.RuneSelf]bool) {
	for c := range t {
		t[c] = c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendAmount appends m as calc.Money.Append does ("-1234.50"), by arithmetic on all
// digits at once: the yuan of an amount under 100,000,000 yuan (every amount of a claim,
// and of nearly every ledger) become eight ASCII digits in one machine word (eightDigits;
// under 10,000 yuan, four in a 32-bit word by half the work, fourDigits), stored at once
// and then cut after the significant ones; the fen follow from a table.
// calc's writes a digit pair at a time into a buffer of its own and copies it, and both
// the pairs' dependent divisions and the copy (whose wide reads of bytes just written
// singly wait for them) cost more than the digits. A quote's answer holds some 40 amounts
// (TestAppendAmountAgrees); other amounts go calc's way.
func appendAmount(b []byte, m calc.Money) []byte {
	u := uint64(m)
	if m < 0 {
		u = -u
	}
	yuan, fen := u/100, u%100
	if yuan >= 100_000_000 || cap(b)-len(b) < 17 {
		return m.Append(b)
	}
	if m < 0 {
		b = append(b, '-')
	}
	at := len(b)
	o := b[at : at+16] // within b's capacity: the word is stored whole, only n+3 bytes kept
	var n int
	if yuan < 10000 {
		d := fourDigits(yuan)
		skip := bits.TrailingZeros32(d) >> 3 // the leading zeros, 4 for 0
		if skip == 4 {
			skip = 3 // 5 fen is 0.05
		}
		binary.LittleEndian.PutUint32(o, (d+0x30303030)>>(skip<<3))
		n = 4 - skip
	} else {
		d := eightDigits(yuan)
		skip := bits.TrailingZeros64(d) >> 3 // the leading zeros
		binary.LittleEndian.PutUint64(o, (d+0x3030303030303030)>>(skip<<3))
		n = 8 - skip
	}
	o[n], o[n+1], o[n+2] = '.', digitPairs[fen*2], digitPairs[fen*2+1]
	return b[:at+n+3]
}

// fourDigits is eightDigits of v < 10,000, in a 32-bit word.
func fourDigits(v uint64) uint32 {
	x := uint32(v)
	hi := (x * 10486 >> 20) & 0x7f // v / 100
	x = hi | (x-hi*100)<<16
	hi = (x * 103 >> 10) & 0x000f000f
	return hi | (x-hi*10)<<8
}

// eightDigits returns the eight decimal digits of v < 100,000,000 as the bytes of a
// little-endian word, the most significant first (each byte a digit, 0 to 9): the halves
// of v in the word's two 32-bit lanes, each lane's number split into two 16-bit lanes by
// one multiplication by a reciprocal, then each of those into two bytes. No lane's
// product reaches the next lane, so one multiplication serves every lane.
func eightDigits(v uint64) uint64 {
	x := v/10000 | v%10000<<32                    // [0, 10000) in each 32-bit lane
	hi := (x * 10486 >> 20) & 0x0000007f_0000007f // each lane / 100: exact below 10,000
	x = hi | (x-hi*100)<<16                       // [0, 100) in each 16-bit lane
	hi = (x * 103 >> 10) & 0x000f000f_000f000f    // each lane / 10: exact below 100
	return hi | (x-hi*10)<<8
}

// appendSmallInt is strconv.AppendInt(b, v, 10) with numbers from 0 to 9999 (a year, a
// count of claims, a register version) written from the digit pairs' table
// (TestAppendSmallIntAgrees).
func appendSmallInt(b []byte, v int) []byte {
	switch {
	case v < 0 || v >= 10000:
		return strconv.AppendInt(b, int64(v), 10)
	case v < 10:
		return append(b, byte('0'+v))
	case v < 100:
		return append(b, digitPairs[2*v], digitPairs[2*v+1])
	case v < 1000:
		lo := v % 100 * 2
		return append(b, byte('0'+v/100), digitPairs[lo], digitPairs[lo+1])
	}
	hi, lo := v/100*2, v%100*2
	return append(b, digitPairs[hi], digitPairs[hi+1], digitPairs[lo], digitPairs[lo+1])
}

// digitPairs holds the two digits of each number from 00 to 99.
const digitPairs = "00010203040506070809" + "10111213141516171819" + "20212223242526272829" +
	"30313233343536373839" + "40414243444546474849" + "50515253545556575859" +
	"60616263646566676869" + "70717273747576777879" + "80818283848586878889" + "90919293949596979899"
