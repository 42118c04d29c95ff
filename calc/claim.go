package calc

import "fmt"

// Person is an insured person as the cascade sees them.
type Person struct {
	ID             string
	HouseholdID    string
	RegisteredPoor bool        // on the 建档立卡 register: commercial insurance and backstop apply
	Aid            AidCategory // civil-affairs aid category, AidNone if none
	// Version is the number of the register's version of these attributes (1, 2, ... in
	// the order recorded, see History), 0 for a person of no versioned register. A stored
	// settlement records the version it was settled with.
	Version int32
}

// Provider is a hospital or health centre; its level sets the rates of basic insurance.
type Provider struct {
	ID    string
	Name  string
	Level Level
}

// Claim is one bill: an inpatient stay or a chronic-disease outpatient bill.
type Claim struct {
	ID           string
	PersonID     string
	ProviderID   string
	Level        Level
	Kind         Kind
	AdmittedOn   Date
	DischargedOn Date
	Total        Money // 医疗总费用
	InPolicy     Money // 政策范围内费用
}

// OutOfPolicy is the part of the bill the insurance catalogues do not recognise.
func (c *Claim) OutOfPolicy() Money { return c.Total - c.InPolicy }

// The longest period one claim may bill, in days from admission to discharge. The
// shipped data's longest stay is 28 days and its chronic bills cover a day; the bounds
// sit far above real bills and far below a mistyped year (an admission in 1900 for a
// 2018 discharge), which would otherwise be settled as if it were true.
const (
	// MaxStayDays bounds an inpatient stay: a year. Longer stays are billed in parts.
	MaxStayDays = 365
	// MaxBillingDays bounds the period of a chronic outpatient bill: a quarter (the
	// longest is July to September, 92 days), the longest period such bills are drawn up
	// for.
	MaxBillingDays = 92
)

// LongestPeriod is the most days from admission to discharge a claim of kind k may span.
func LongestPeriod(k Kind) int {
	if k == OutpatientChronic {
		return MaxBillingDays
	}
	return MaxStayDays
}

// PeriodRule is the rule a claim of kind k admitted on from and discharged on to breaks
// by its length, or "". A discharge before admission is another rule.
func PeriodRule(k Kind, from, to Date) string {
	rule, _ := periodRule(k, from, to)
	return rule
}

// periodRule is PeriodRule with the values of RulePeriodTooLong.
func periodRule(k Kind, from, to Date) (string, []any) {
	if days := int(to - from); days > LongestPeriod(k) {
		what, word := "an inpatient stay", WordInpatientStay
		if k == OutpatientChronic {
			what, word = "a chronic outpatient bill", WordChronicBill
		}
		return fmt.Sprintf("admission %s is %d days before discharge %s; %s spans at most %d days", from, days, to, what, LongestPeriod(k)),
			[]any{from, days, to, word, LongestPeriod(k)}
	}
	return "", nil
}

// Validate checks the rules every claim keeps: an id and a person, a known level and kind,
// a total above zero, amounts that are not negative and at most MaxAmount, in_policy at
// most total, a discharge on or after admission, and at most LongestPeriod days from
// admission to discharge. It returns a *ValidationError (errors.Is ErrInvalid) naming
// each field and rule, or nil. It does not allocate when the claim is valid. The ids
// are not checked against ValidID here: readers check them where they read them.
func (c *Claim) Validate() error {
	if c.ID != "" && c.PersonID != "" && c.Level < NumLevels && c.Kind < NumKinds &&
		0 <= c.InPolicy && c.InPolicy <= c.Total && 0 < c.Total && c.Total <= MaxAmount &&
		c.AdmittedOn <= c.DischargedOn && int(c.DischargedOn-c.AdmittedOn) <= LongestPeriod(c.Kind) {
		return nil
	}
	var f fieldCheck
	if c.ID == "" {
		f.add("claim_id", RuleRequired, "must not be empty")
	}
	if c.PersonID == "" {
		f.add("person_id", RuleRequired, "must not be empty")
	}
	if c.Level >= NumLevels {
		f.add("level", RuleUnknownLevel, fmt.Sprintf("unknown level %d", c.Level), int(c.Level))
	}
	if c.Kind >= NumKinds {
		f.add("kind", RuleUnknownKind, fmt.Sprintf("unknown kind %d", c.Kind), int(c.Kind))
	}
	for _, a := range []struct {
		field string
		m     Money
	}{{"total", c.Total}, {"in_policy", c.InPolicy}} {
		switch {
		case a.m < 0:
			f.add(a.field, RuleAmountNegative, fmt.Sprintf("must not be negative (got %s)", a.m), a.m)
		case a.m > MaxAmount:
			f.add(a.field, RuleAmountOver, fmt.Sprintf("%s is over the limit of %s", a.m.Grouped(), MaxAmount.Grouped()), a.m, MaxAmount)
		}
	}
	if c.Total == 0 {
		f.add("total", RuleTotalZero, "must be more than 0.00: a bill of nothing is not a claim")
	}
	if c.InPolicy > c.Total {
		f.add("in_policy", RuleInPolicyOverTotal, fmt.Sprintf("in_policy %s exceeds total %s", c.InPolicy, c.Total), c.InPolicy, c.Total)
	}
	if c.DischargedOn < c.AdmittedOn {
		f.add("discharged_on", RuleDischargeBeforeAdmission, fmt.Sprintf("discharge %s is before admission %s", c.DischargedOn, c.AdmittedOn), c.DischargedOn, c.AdmittedOn)
	}
	if rule, args := periodRule(c.Kind, c.AdmittedOn, c.DischargedOn); rule != "" && c.Kind < NumKinds {
		f.add("admitted_on", RulePeriodTooLong, rule, args...)
	}
	return f.result("claim " + c.ID)
}
