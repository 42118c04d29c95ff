package calc

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Level is a provider's level (医疗机构级别).
type Level uint8

// The provider levels, lowest first.
const (
	Township Level = iota
	County
	Municipal
	Provincial
	OutOfProvince
	NumLevels
)

var levelNames = [NumLevels]string{"township", "county", "municipal", "provincial", "out_of_province"}

func (l Level) String() string {
	if l < NumLevels {
		return levelNames[l]
	}
	return fmt.Sprintf("Level(%d)", uint8(l))
}

// Levels lists every level in order.
func Levels() []Level { return []Level{Township, County, Municipal, Provincial, OutOfProvince} }

// ParseLevel parses a level name such as "county"; an unknown name is ErrUnknown.
func ParseLevel(s string) (Level, error) { return parseName[Level]("level", s, levelNames[:]) }

// parseName returns the index of s in names, or an ErrUnknown naming what and the choices.
func parseName[T ~uint8](what, s string, names []string) (T, error) {
	if i := slices.Index(names, s); i >= 0 {
		return T(i), nil
	}
	return 0, fmt.Errorf("%w %s %q (want one of %s)", ErrUnknown, what, s, strings.Join(names, ", "))
}

// Kind is what a claim bills: an inpatient stay or a chronic-disease outpatient bill.
type Kind uint8

// The claim kinds.
const (
	Inpatient         Kind = iota
	OutpatientChronic      // 门诊特殊慢性病
	NumKinds
)

var kindNames = [NumKinds]string{"inpatient", "outpatient_chronic"}

func (k Kind) String() string {
	if k < NumKinds {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// Kinds lists every kind in order.
func Kinds() []Kind { return []Kind{Inpatient, OutpatientChronic} }

// ParseKind parses a kind name; an unknown name is ErrUnknown.
func ParseKind(s string) (Kind, error) { return parseName[Kind]("kind", s, kindNames[:]) }

// AidCategory is a person's civil-affairs aid category; a person has at most one.
type AidCategory uint8

// The aid categories. AidNone is the zero value.
const (
	AidNone AidCategory = iota
	Dibao               // 低保, subsistence allowance
	Tekun               // 特困供养, extreme-poverty support
	NumAidCategories
)

var aidNames = [NumAidCategories]string{"none", "dibao", "tekun"}

func (a AidCategory) String() string {
	if a < NumAidCategories {
		return aidNames[a]
	}
	return fmt.Sprintf("AidCategory(%d)", uint8(a))
}

// AidCategories lists the categories that receive aid.
func AidCategories() []AidCategory { return []AidCategory{Dibao, Tekun} }

// ParseAidCategory parses "dibao", "tekun", or "none" / "" for no category.
func ParseAidCategory(s string) (AidCategory, error) {
	if s == "" {
		return AidNone, nil
	}
	return parseName[AidCategory]("aid category", s, aidNames[:])
}

// MaxBands is the most critical-illness bands a policy may have; a fixed bound lets a
// Settlement record the bands it used without allocating.
const MaxBands = 6

// Band is a slice of the critical-illness burden from From up to the next band's From (the
// last band has no upper end) paid at Rate.
type Band struct {
	From Money
	Rate Rate
}

// Policy is one version of the rules of the five lines, in force for claims discharged
// from From to To inclusive. Every number is a parameter: nothing in the cascade is a
// constant of the code. A zero Policy is invalid; see Validate.
type Policy struct {
	Version string
	From    Date
	To      Date

	Basic struct {
		Deductible       [NumKinds][NumLevels]Money // per admission or bill
		Rate             [NumKinds][NumLevels]Rate
		AnnualCap        Money // both kinds together
		ChronicAnnualCap Money // outpatient_chronic sub-cap
	}
	Critical struct {
		Deductible Money // annual, on the accumulated burden
		Bands      []Band
		AnnualCap  Money // NoCap when none
	}
	Commercial struct {
		InPolicyRate    Rate
		OutOfPolicyRate Rate
		AnnualCap       Money
	}
	Aid struct {
		Rate      [NumAidCategories]Rate // AidNone's entries are unused and must be zero
		AnnualCap [NumAidCategories]Money
	}
	Backstop struct {
		OOPCeiling Rate // share of the claim's total the patient pays at most
	}
}

// Covers reports whether the policy is in force on d.
func (p *Policy) Covers(d Date) bool { return p.From <= d && d <= p.To }

// Clone returns a deep copy of p, safe to change without touching p.
func (p *Policy) Clone() *Policy {
	q := *p
	q.Critical.Bands = slices.Clone(p.Critical.Bands)
	return &q
}

// FieldError names one field of an input and the rule it breaks: Rule in English, and
// the same as Code (one of RuleCodes) with its values Args (Money, Rate, Date, int, string
// or Word), for whoever writes the rule in another language.
type FieldError struct {
	Field string // dotted path, e.g. "basic.rate.inpatient.county"
	Rule  string
	Code  string
	Args  []any
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

// Errors returned by this package; callers branch on them with errors.Is.
var (
	ErrInvalid      = errors.New("invalid")
	ErrUnknown      = errors.New("unknown")
	ErrNoPolicy     = errors.New("no policy in force")
	ErrOverlap      = errors.New("policy periods overlap")
	ErrLedgerYear   = errors.New("ledger is for another year")
	ErrWrongPerson  = errors.New("claim belongs to another person")
	ErrLedgerNegate = errors.New("reversal would make a ledger total negative")
)

// ValidationError lists every field error of one value. errors.Is(err, ErrInvalid) holds.
type ValidationError struct {
	What   string // "policy pingxiang-2018", "claim C1"
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(e.What)
	b.WriteString(" is invalid: ")
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	return b.String()
}

// Is makes errors.Is(err, ErrInvalid) true for a *ValidationError.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalid }

type fieldCheck struct{ errs []FieldError }

// add notes that field breaks the rule code, with its values args, as rule says in
// English.
func (c *fieldCheck) add(field, code, rule string, args ...any) {
	c.errs = append(c.errs, FieldError{Field: field, Rule: rule, Code: code, Args: args})
}

func (c *fieldCheck) rate(field string, r Rate) {
	if r < 0 || r > RateOne {
		c.add(field, RuleRateRange, fmt.Sprintf("rate %s is outside 0–1", r.Decimal()), r)
	}
}

func (c *fieldCheck) money(field string, m Money, what Word) {
	if m < 0 {
		c.add(field, RuleMoneyNegative, fmt.Sprintf("%s %s is negative", what, m), what, m)
	} else if m > MaxAmount && m != NoCap {
		c.add(field, RuleMoneyOver, fmt.Sprintf("%s %s is over %s", what, m.Grouped(), MaxAmount.Grouped()), what, m, MaxAmount)
	}
}

func (c *fieldCheck) result(what string) error {
	if len(c.errs) == 0 {
		return nil
	}
	return &ValidationError{What: what, Fields: c.errs}
}

// Validate checks every rule a policy must keep: a version that is an id (ValidID), a period that ends on or
// after it starts, rates within 0–1, money parameters neither negative nor over MaxAmount,
// critical-illness bands that start at or above the annual deductible with strictly
// increasing starts, at most MaxBands of them. It returns a *ValidationError (errors.Is ErrInvalid) listing every
// broken rule, or nil.
func (p *Policy) Validate() error {
	var c fieldCheck
	c.id("version", p.Version)
	if p.To < p.From {
		c.add("effective.to", RuleEffectiveOrder, fmt.Sprintf("%s is before effective.from %s", p.To, p.From), p.To, p.From)
	}
	for _, k := range Kinds() {
		for _, l := range Levels() {
			c.money(fmt.Sprintf("basic.%s.deductible.%s", k, l), p.Basic.Deductible[k][l], WordDeductible)
			c.rate(fmt.Sprintf("basic.%s.rate.%s", k, l), p.Basic.Rate[k][l])
		}
	}
	c.money("basic.annual_cap", p.Basic.AnnualCap, WordCap)
	c.money("basic.outpatient_chronic.annual_cap", p.Basic.ChronicAnnualCap, WordCap)

	c.money("critical.deductible", p.Critical.Deductible, WordDeductible)
	c.money("critical.annual_cap", p.Critical.AnnualCap, WordCap)
	if len(p.Critical.Bands) == 0 {
		c.add("critical.bands", RuleBandsNone, "at least one band is required")
	}
	if len(p.Critical.Bands) > MaxBands {
		c.add("critical.bands", RuleBandsTooMany, fmt.Sprintf("%d bands, at most %d allowed", len(p.Critical.Bands), MaxBands), len(p.Critical.Bands), MaxBands)
	}
	for i, b := range p.Critical.Bands {
		field := fmt.Sprintf("critical.bands[%d]", i)
		c.money(field+".from", b.From, WordBandStart)
		c.rate(field+".rate", b.Rate)
		if i == 0 && b.From >= 0 && b.From < p.Critical.Deductible {
			c.add(field+".from", RuleBandsFirstBelow, fmt.Sprintf("the first band starts at %s, below the annual deductible %s: bands slice the burden above the deductible",
				b.From.Grouped(), p.Critical.Deductible.Grouped()), b.From, p.Critical.Deductible)
		}
		if i > 0 && b.From <= p.Critical.Bands[i-1].From {
			c.add(field+".from", RuleBandsNotIncreasing, fmt.Sprintf("bands not increasing: %s is not above the previous band's start %s",
				b.From.Grouped(), p.Critical.Bands[i-1].From.Grouped()), b.From, p.Critical.Bands[i-1].From)
		}
	}

	c.rate("commercial.in_policy_rate", p.Commercial.InPolicyRate)
	c.rate("commercial.out_of_policy_rate", p.Commercial.OutOfPolicyRate)
	c.money("commercial.annual_cap", p.Commercial.AnnualCap, WordCap)

	if p.Aid.Rate[AidNone] != 0 || p.Aid.AnnualCap[AidNone] != 0 {
		c.add("aid.none", RuleAidNoneNonZero, "persons without an aid category receive no aid: rate and cap must be zero")
	}
	for _, a := range AidCategories() {
		c.rate(fmt.Sprintf("aid.%s.rate", a), p.Aid.Rate[a])
		c.money(fmt.Sprintf("aid.%s.annual_cap", a), p.Aid.AnnualCap[a], WordCap)
	}
	c.rate("backstop.oop_ceiling", p.Backstop.OOPCeiling)
	return c.result("policy " + p.Version)
}

// PolicySet holds the published versions of a policy, none of whose periods overlap.
type PolicySet struct {
	byFrom []*Policy
}

// NewPolicySet validates each policy and returns them as a set. It returns the policy's
// validation error, or an error wrapping ErrOverlap naming both versions when two periods
// share a day.
func NewPolicySet(policies ...*Policy) (*PolicySet, error) {
	s := &PolicySet{byFrom: slices.Clone(policies)}
	for _, p := range s.byFrom {
		if err := p.Validate(); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(s.byFrom, func(a, b *Policy) int { return int(a.From) - int(b.From) })
	for i := 1; i < len(s.byFrom); i++ {
		prev, cur := s.byFrom[i-1], s.byFrom[i]
		if cur.From <= prev.To {
			return nil, fmt.Errorf("%w: %s (%s to %s) and %s (%s to %s)", ErrOverlap,
				prev.Version, prev.From, prev.To, cur.Version, cur.From, cur.To)
		}
	}
	return s, nil
}

// At returns the policy in force on d, or nil when none is.
func (s *PolicySet) At(d Date) *Policy {
	// Few versions exist; a linear scan beats a binary search at this size.
	for _, p := range s.byFrom {
		if p.Covers(d) {
			return p
		}
	}
	return nil
}

// Policies returns the versions ordered by start date.
func (s *PolicySet) Policies() []*Policy { return slices.Clone(s.byFrom) }
