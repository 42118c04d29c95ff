package calc

// Person is an insured person as the cascade sees them.
type Person struct {
	ID             string
	HouseholdID    string
	RegisteredPoor bool        // on the 建档立卡 register: commercial insurance and backstop apply
	Aid            AidCategory // civil-affairs aid category, AidNone if none
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

// Validate checks the rules every claim keeps: an id and a person, a known level and kind,
// amounts that are not negative and at most MaxAmount, in_policy at most total, and a
// discharge on or after admission. It returns a *ValidationError (errors.Is ErrInvalid)
// naming each field and rule, or nil. It does not allocate when the claim is valid.
func (c *Claim) Validate() error {
	if c.ID != "" && c.PersonID != "" && c.Level < NumLevels && c.Kind < NumKinds &&
		0 <= c.InPolicy && c.InPolicy <= c.Total && c.Total <= MaxAmount &&
		c.AdmittedOn <= c.DischargedOn {
		return nil
	}
	var f fieldCheck
	if c.ID == "" {
		f.add("claim_id", "must not be empty")
	}
	if c.PersonID == "" {
		f.add("person_id", "must not be empty")
	}
	if c.Level >= NumLevels {
		f.add("level", "unknown level %d", c.Level)
	}
	if c.Kind >= NumKinds {
		f.add("kind", "unknown kind %d", c.Kind)
	}
	for _, a := range []struct {
		field string
		m     Money
	}{{"total", c.Total}, {"in_policy", c.InPolicy}} {
		switch {
		case a.m < 0:
			f.add(a.field, "must not be negative (got %s)", a.m)
		case a.m > MaxAmount:
			f.add(a.field, "%s is over the limit of %s", a.m.Grouped(), MaxAmount.Grouped())
		}
	}
	if c.InPolicy > c.Total {
		f.add("in_policy", "in_policy %s exceeds total %s", c.InPolicy, c.Total)
	}
	if c.DischargedOn < c.AdmittedOn {
		f.add("discharged_on", "discharge %s is before admission %s", c.DischargedOn, c.AdmittedOn)
	}
	return f.result("claim " + c.ID)
}
