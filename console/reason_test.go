package console

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fixtures"
	"github.com/hpcalc/hpcalc/replay"
)

// TestReasonCodes checks that every code of the engine's explanations, and every word
// they carry, has its text in every language.
func TestReasonCodes(t *testing.T) {
	locales, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	for code, l := range locales {
		for _, c := range calc.ReasonCodes() {
			if _, ok := l.msgs["reason."+c]; !ok {
				t.Errorf("locales/%s.json lacks the explanation %q", code, "reason."+c)
			}
		}
		for _, w := range calc.ReasonWords() {
			if _, ok := l.msgs["reason.word."+string(w)]; !ok {
				t.Errorf("locales/%s.json lacks the word %q", code, "reason.word."+w)
			}
		}
	}
}

// englishWord finds a word of English (two Latin letters or more) in a text.
var englishWord = regexp.MustCompile(`[A-Za-z]{2,}`)

// TestReasonsEnglish renders the explanations of thousands of settlements (the shipped
// claims, and variations of them: other amounts and kinds, persons not registered poor
// or without aid) from their steps in English and in Chinese: the English equals calc's
// Explain, character for character, so the steps carry every value of the explanation;
// the Chinese has no English left in it. Every code appears.
func TestReasonsEnglish(t *testing.T) {
	locales, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	en, zh := locales["en"], locales["zh"]
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(8, 2018))
	seen := map[string]int{}
	// A policy whose first band starts above the deductible leaves burdens in no band.
	var gapped []*calc.Policy
	for _, p := range d.Policies.Policies() {
		g := p.Clone()
		g.Critical.Bands[0].From = g.Critical.Deductible + 20_000_00
		if len(g.Critical.Bands) > 1 && g.Critical.Bands[1].From <= g.Critical.Bands[0].From {
			g.Critical.Bands = g.Critical.Bands[:1]
		}
		gapped = append(gapped, g)
	}
	gappedSet, err := calc.NewPolicySet(gapped...)
	if err != nil {
		t.Fatal(err)
	}
	for round := range 9 {
		policies := d.Policies
		if round == 8 {
			policies = gappedSet
		}
		persons := maps.Clone(d.Persons)
		claims := slices.Clone(d.Claims.Claims)
		if round > 0 {
			for id, p := range persons {
				if r.IntN(4) == 0 {
					p.RegisteredPoor = false
				}
				if r.IntN(4) == 0 {
					p.Aid = calc.AidNone
				}
				persons[id] = p
			}
			for i := range claims {
				c := &claims[i]
				c.Total = calc.Money(r.Int64N(int64(round)*40_000_00)) + 1
				c.InPolicy = c.Total * calc.Money(r.IntN(101)) / 100
				if r.IntN(3) == 0 {
					c.Kind = calc.OutpatientChronic
					c.AdmittedOn = c.DischargedOn
				}
			}
		}
		res, err := replay.Run(policies, persons, claims)
		if err != nil {
			t.Fatal(err)
		}
		for i := range res.Settlements {
			st := &res.Settlements[i]
			for _, l := range calc.Lines() {
				steps := st.Reason(l)
				for _, s := range steps {
					seen[s.Code]++
				}
				if got, want := en.Reason(steps), st.Explain(l); got != want {
					t.Fatalf("claim %s, %s: the steps in English give\n%q, Explain gives\n%q", st.ClaimID, l, got, want)
				}
				if got := zh.Reason(steps); englishWord.MatchString(got) {
					t.Errorf("claim %s, %s: the Chinese explanation %q has English in it", st.ClaimID, l, got)
				}
			}
		}
	}
	for _, c := range calc.ReasonCodes() {
		if seen[c] == 0 {
			t.Errorf("no settlement explained with %q: the test does not reach it", c)
		}
	}
	t.Log(fmt.Sprint(seen))
}

// TestRuleCodes checks that every rule calc's checks name has its text, and each word
// its label, in every language; and that every rule, broken by a claim or a policy,
// writes in each language without a formatting error, in Chinese not as calc's English.
func TestRuleCodes(t *testing.T) {
	locales, err := loadLocales()
	if err != nil {
		t.Fatal(err)
	}
	for code, l := range locales {
		for _, c := range calc.RuleCodes() {
			if _, ok := l.msgs["rule."+c]; !ok {
				t.Errorf("locales/%s.json lacks the rule %q", code, "rule."+c)
			}
		}
		for _, w := range calc.RuleWords() {
			if _, ok := l.msgs["rule.word."+string(w)]; !ok {
				t.Errorf("locales/%s.json lacks the word %q", code, "rule.word."+w)
			}
		}
	}
	d, err := fixtures.Load()
	if err != nil {
		t.Fatal(err)
	}
	day := calc.NewDate(2018, 3, 15)
	good := calc.Claim{ID: "C1", PersonID: "P00001", ProviderID: "TWN01", Level: calc.Township, Kind: calc.Inpatient,
		AdmittedOn: day - 3, DischargedOn: day, Total: 1000_00, InPolicy: 800_00}
	claims := []func(c *calc.Claim){
		func(c *calc.Claim) { c.ID, c.PersonID = "", "" },
		func(c *calc.Claim) { c.Level, c.Kind = 9, 9 },
		func(c *calc.Claim) { c.InPolicy = -5 },
		func(c *calc.Claim) { c.Total = calc.MaxAmount + 1 },
		func(c *calc.Claim) { c.Total, c.InPolicy = 0, 0 },
		func(c *calc.Claim) { c.InPolicy = c.Total + 1 },
		func(c *calc.Claim) { c.AdmittedOn = c.DischargedOn + 2 },
		func(c *calc.Claim) { c.AdmittedOn = c.DischargedOn - 400 },
		func(c *calc.Claim) { c.Kind, c.AdmittedOn = calc.OutpatientChronic, c.DischargedOn-100 },
	}
	var errs []error
	for _, change := range claims {
		c := good
		change(&c)
		errs = append(errs, c.Validate())
	}
	base := d.Policies.Policies()[0]
	policies := []func(p *calc.Policy){
		func(p *calc.Policy) { p.Version = "" },
		func(p *calc.Policy) { p.Version = strings.Repeat("v", calc.MaxIDLen+1) },
		func(p *calc.Policy) { p.Version = "bad\xff" },
		func(p *calc.Policy) { p.Version = "版本 一" },
		func(p *calc.Policy) { p.To = p.From - 1 },
		func(p *calc.Policy) { p.Commercial.InPolicyRate = calc.RateOne * 2 },
		func(p *calc.Policy) { p.Critical.Deductible = -1 },
		func(p *calc.Policy) { p.Critical.AnnualCap = calc.MaxAmount + 1 },
		func(p *calc.Policy) { p.Critical.Bands = nil },
		func(p *calc.Policy) {
			p.Critical.Bands = slices.Repeat([]calc.Band{p.Critical.Bands[0]}, calc.MaxBands+1)
		},
		func(p *calc.Policy) { p.Critical.Bands[0].From = p.Critical.Deductible - 1 },
		func(p *calc.Policy) { p.Critical.Bands = append(p.Critical.Bands, p.Critical.Bands[0]) },
		func(p *calc.Policy) { p.Aid.Rate[calc.AidNone] = 1 },
	}
	for _, change := range policies {
		p := base.Clone()
		change(p)
		errs = append(errs, p.Validate())
	}
	seen := map[string]bool{}
	for _, err := range errs {
		var ve *calc.ValidationError
		if !errors.As(err, &ve) {
			t.Fatalf("a broken rule gave %v, want a *calc.ValidationError", err)
		}
		for _, fe := range ve.Fields {
			seen[fe.Code] = true
			for code, l := range locales {
				got := l.Rule(fe.Code, fe.Args, fe.Rule)
				if strings.Contains(got, "%!") || got == "" {
					t.Errorf("%s, %s: %q writes in %s as %q", fe.Field, fe.Code, fe.Rule, code, got)
				}
				if code == "zh" && got == fe.Rule {
					t.Errorf("%s: %q is not written in Chinese", fe.Field, fe.Rule)
				}
			}
		}
	}
	for _, c := range calc.RuleCodes() {
		if !seen[c] {
			t.Errorf("no broken rule had the code %q: the test does not reach it", c)
		}
	}
}
