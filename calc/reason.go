package calc

// Step is one part of a line's explanation as data: Code names what the engine did and
// Args are its values (Money, Rate, or a Word), in the order the code's text takes them.
// Explain writes the steps in English; whoever shows them in another language renders
// each code from its own texts (the console from its locale files), so that calc knows no
// language but Explain's. ReasonCodes lists every code.
type Step struct {
	Code string
	Args []any
}

// Word is an argument of a Step that is itself a word to translate, such as an aid
// category ("dibao"); ReasonWords lists them.
type Word string

// The codes of the steps of an explanation. The head of each line comes first; "result"
// and "cap" follow the working of a line.
const (
	ReasonHeadBasic        = "head.basic"         // basic
	ReasonHeadBasicChronic = "head.basic_chronic" // basic, of a chronic outpatient bill
	ReasonHeadCritical     = "head.critical"
	ReasonHeadCommercial   = "head.commercial"
	ReasonHeadAid          = "head.aid"
	ReasonHeadBackstop     = "head.backstop"

	ReasonBasicUnder      = "basic.under"      // base, deductible: the base is under the deductible
	ReasonBasicDeductible = "basic.deductible" // rate, base, deductible: rate × (base − deductible)
	ReasonBasicRate       = "basic.rate"       // rate, base: rate × base

	ReasonCriticalBurden    = "critical.burden"     // before, after: the year's burden before and after
	ReasonCriticalNoBase    = "critical.no_base"    // nothing left after basic
	ReasonCriticalUnder     = "critical.under"      // deductible: the burden stays under it
	ReasonCriticalNoBand    = "critical.no_band"    // the burden falls in no paying band
	ReasonCriticalCrosses   = "critical.crosses"    // deductible: the burden crosses it
	ReasonCriticalBandFirst = "critical.band_first" // rate, width: the first band used
	ReasonCriticalBand      = "critical.band"       // rate, width: each further band

	ReasonCommercialNotPoor = "commercial.not_poor" // not registered poor: nothing
	ReasonCommercialRates   = "commercial.rates"    // rate, base, rate out, base out

	ReasonAidNone = "aid.none" // no aid category: nothing
	ReasonAidRate = "aid.rate" // category (Word), rate, base

	ReasonBackstopNotPoor = "backstop.not_poor" // out-of-pocket: not registered poor
	ReasonBackstopWithin  = "backstop.within"   // share, rate, total, ceiling: share within the ceiling, nothing
	ReasonBackstopOver    = "backstop.over"     // share, rate, total, ceiling, amount: pays the share over the ceiling

	ReasonResult = "result" // amount: " = amount"
	ReasonCap    = "cap"    // cap room: the line is limited to the room under its annual cap
)

// ReasonCodes lists every code a Step may have.
func ReasonCodes() []string {
	return []string{ReasonHeadBasic, ReasonHeadBasicChronic, ReasonHeadCritical, ReasonHeadCommercial, ReasonHeadAid, ReasonHeadBackstop,
		ReasonBasicUnder, ReasonBasicDeductible, ReasonBasicRate,
		ReasonCriticalBurden, ReasonCriticalNoBase, ReasonCriticalUnder, ReasonCriticalNoBand, ReasonCriticalCrosses, ReasonCriticalBandFirst, ReasonCriticalBand,
		ReasonCommercialNotPoor, ReasonCommercialRates, ReasonAidNone, ReasonAidRate,
		ReasonBackstopNotPoor, ReasonBackstopWithin, ReasonBackstopOver, ReasonResult, ReasonCap}
}

// ReasonWords lists every Word a Step may carry: the aid categories.
func ReasonWords() []Word {
	var out []Word
	for _, a := range AidCategories() {
		out = append(out, Word(a.String()))
	}
	return out
}

// Reason returns what line l did as steps: the same explanation as Explain, as data.
func (s *Settlement) Reason(l Line) []Step {
	r := &s.Lines[l]
	var out []Step
	add := func(code string, args ...any) { out = append(out, Step{Code: code, Args: args}) }
	switch l {
	case Basic:
		if s.Kind == OutpatientChronic {
			add(ReasonHeadBasicChronic)
		} else {
			add(ReasonHeadBasic)
		}
		switch {
		case r.Base < r.Deductible:
			add(ReasonBasicUnder, r.Base, r.Deductible)
		case r.Deductible > 0:
			add(ReasonBasicDeductible, r.Rate, r.Base, r.Deductible)
		default:
			add(ReasonBasicRate, r.Rate, r.Base)
		}
		add(ReasonResult, r.Computed)
	case Critical:
		add(ReasonHeadCritical)
		add(ReasonCriticalBurden, s.BurdenBefore, s.BurdenBefore+r.Base)
		if s.NumBands == 0 {
			switch {
			case r.Base == 0:
				add(ReasonCriticalNoBase)
			case s.BurdenBefore+r.Base <= r.Deductible:
				add(ReasonCriticalUnder, r.Deductible)
			default:
				add(ReasonCriticalNoBand)
			}
			add(ReasonResult, r.Computed)
			break
		}
		if s.BurdenBefore < r.Deductible {
			add(ReasonCriticalCrosses, r.Deductible)
		}
		for i := range s.NumBands {
			u := s.Bands[i]
			code := ReasonCriticalBand
			if i == 0 {
				code = ReasonCriticalBandFirst
			}
			add(code, u.Rate, u.To-u.From)
		}
		add(ReasonResult, r.Computed)
	case Commercial:
		add(ReasonHeadCommercial)
		if !r.Applies {
			add(ReasonCommercialNotPoor)
			return out
		}
		add(ReasonCommercialRates, r.Rate, r.Base, r.RateOut, r.BaseOut)
		add(ReasonResult, r.Computed)
	case Aid:
		add(ReasonHeadAid)
		if !r.Applies {
			add(ReasonAidNone)
			return out
		}
		add(ReasonAidRate, Word(s.Aid.String()), r.Rate, r.Base)
		add(ReasonResult, r.Computed)
	case Backstop:
		add(ReasonHeadBackstop)
		switch {
		case !r.Applies:
			add(ReasonBackstopNotPoor, s.OutOfPocket)
		case r.Amount == 0:
			add(ReasonBackstopWithin, r.Base, r.Rate, s.Total, r.Deductible)
		default:
			add(ReasonBackstopOver, r.Base, r.Rate, s.Total, r.Deductible, r.Amount)
		}
		return out
	}
	if r.Capped() {
		add(ReasonCap, r.CapRoom)
		if r.Amount != r.CapRoom {
			add(ReasonResult, r.Amount)
		}
	}
	return out
}

// The codes of the rules of FieldError, and the words their values carry.
const (
	RuleRequired                 = "required"                   // the field is empty
	RuleUnknownLevel             = "level.unknown"              // n
	RuleUnknownKind              = "kind.unknown"               // n
	RuleAmountNegative           = "amount.negative"            // amount
	RuleAmountOver               = "amount.over"                // amount, limit
	RuleTotalZero                = "total.zero"                 // a total of nothing
	RuleInPolicyOverTotal        = "in_policy.over_total"       // in-policy, total
	RuleDischargeBeforeAdmission = "discharge.before_admission" // discharge, admission
	RulePeriodTooLong            = "period.too_long"            // admission, days, discharge, what (Word), most days
	RuleIDTooLong                = "id.too_long"                // bytes, most bytes
	RuleIDNotUTF8                = "id.not_utf8"
	RuleIDBadRune                = "id.bad_rune" // id, character, byte
	RuleRateRange                = "rate.range"  // rate
	RuleMoneyNegative            = "money.negative"
	RuleMoneyOver                = "money.over"           // what (Word), amount, limit
	RuleEffectiveOrder           = "effective.order"      // to, from
	RuleBandsNone                = "bands.none"           // no band
	RuleBandsTooMany             = "bands.too_many"       // bands, most bands
	RuleBandsFirstBelow          = "bands.first_below"    // band start, deductible
	RuleBandsNotIncreasing       = "bands.not_increasing" // band start, previous start
	RuleAidNoneNonZero           = "aid.none_nonzero"     // aid for persons without a category

	WordDeductible    Word = "deductible"
	WordCap           Word = "cap"
	WordBandStart     Word = "band start"
	WordInpatientStay Word = "inpatient_stay"
	WordChronicBill   Word = "chronic_bill"
)

// RuleCodes lists every code a FieldError of calc may have.
func RuleCodes() []string {
	return []string{RuleRequired, RuleUnknownLevel, RuleUnknownKind, RuleAmountNegative, RuleAmountOver, RuleTotalZero,
		RuleInPolicyOverTotal, RuleDischargeBeforeAdmission, RulePeriodTooLong, RuleIDTooLong, RuleIDNotUTF8, RuleIDBadRune,
		RuleRateRange, RuleMoneyNegative, RuleMoneyOver, RuleEffectiveOrder, RuleBandsNone, RuleBandsTooMany,
		RuleBandsFirstBelow, RuleBandsNotIncreasing, RuleAidNoneNonZero}
}

// RuleWords lists every Word a FieldError may carry.
func RuleWords() []Word {
	return []Word{WordDeductible, WordCap, WordBandStart, WordInpatientStay, WordChronicBill}
}
