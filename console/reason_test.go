package console

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
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
