package api

import (
	"encoding/json"
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
	b = strconv.AppendInt(b, int64(st.Year), 10)
	b = append(b, `,"policy_version":`...)
	b = appendJSONString(b, st.PolicyVersion)
	if personVersion != 0 {
		b = append(b, `,"person_version":`...)
		b = strconv.AppendInt(b, int64(personVersion), 10)
	}
	b = append(b, `,"total":"`...)
	b = st.Total.Append(b)
	b = append(b, `","in_policy":"`...)
	b = st.InPolicy.Append(b)
	b = append(b, `","lines":[`...)
	for l := range calc.NumLines {
		if l > 0 {
			b = append(b, ',')
		}
		b = appendComputedLine(b, st, l)
	}
	b = append(b, `],"out_of_pocket":"`...)
	b = st.OutOfPocket.Append(b)
	b = append(b, `","ledger_after":{`...)
	if st.PersonID != "" {
		b = append(b, `"person_id":`...)
		b = appendJSONString(b, st.PersonID)
		b = append(b, ',')
	}
	b = append(b, `"year":`...)
	b = strconv.AppendInt(b, int64(ledger.Year), 10)
	b = append(b, `,"claims":`...)
	b = strconv.AppendInt(b, int64(ledger.Claims), 10)
	b = append(b, `,"basic_inpatient":"`...)
	b = ledger.BasicInpatient.Append(b)
	b = append(b, `","basic_chronic":"`...)
	b = ledger.BasicChronic.Append(b)
	b = append(b, `","basic_paid":"`...)
	b = ledger.BasicPaid().Append(b)
	b = append(b, `","critical_burden":"`...)
	b = ledger.CriticalBurden.Append(b)
	b = append(b, `","critical_paid":"`...)
	b = ledger.CriticalPaid.Append(b)
	b = append(b, `","commercial_paid":"`...)
	b = ledger.CommercialPaid.Append(b)
	b = append(b, `","aid_paid":"`...)
	b = ledger.AidPaid.Append(b)
	b = append(b, `","backstop_paid":"`...)
	b = ledger.BackstopPaid.Append(b)
	b = append(b, `","out_of_pocket":"`...)
	b = ledger.OutOfPocket.Append(b)
	b = append(b, `","total":"`...)
	b = ledger.Total.Append(b)
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
	b = r.Amount.Append(b)
	b = append(b, `","base":"`...)
	b = r.Base.Append(b)
	b = append(b, `","deductible":"`...)
	b = r.Deductible.Append(b)
	switch l {
	case calc.Critical:
		b = append(b, `","bands":[`...)
		for i, band := range st.Bands[:st.NumBands] {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"from":"`...)
			b = band.From.Append(b)
			b = append(b, `","to":"`...)
			b = band.To.Append(b)
			b = append(b, `","rate":"`...)
			b = band.Rate.AppendDecimal(b)
			b = append(b, `"}`...)
		}
		b = append(b, `],"computed":"`...)
	case calc.Commercial:
		b = append(b, `","rate":"`...)
		b = r.Rate.AppendDecimal(b)
		b = append(b, `","base_out":"`...)
		b = r.BaseOut.Append(b)
		b = append(b, `","rate_out":"`...)
		b = r.RateOut.AppendDecimal(b)
		b = append(b, `","computed":"`...)
	default:
		b = append(b, `","rate":"`...)
		b = r.Rate.AppendDecimal(b)
		b = append(b, `","computed":"`...)
	}
	b = r.Computed.Append(b)
	if r.CapRoom != calc.NoCap && r.Applies {
		b = append(b, `","cap_room":"`...)
		b = r.CapRoom.Append(b)
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
