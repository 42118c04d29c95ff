// Package policyfile reads and writes policy versions as YAML documents (JSON is accepted
// too, being YAML). Every number is read from its literal text, never through a float, so
// "0.85" is exactly 850,000 parts per million. Loading validates the whole document and
// refuses a bad one with an error naming the file, line, column, field and rule.
//
// policyfile owns the file format only: it converts to and from calc.Policy and leaves the
// rules to calc.Policy.Validate. It must never import store, api or cmd packages.
package policyfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"go.yaml.in/yaml/v3"
)

// Error lists every problem found in one policy document. errors.Is(err, calc.ErrInvalid)
// holds for it.
type Error struct {
	File     string
	Problems []Problem
}

// Problem is one broken rule at a position of a document; Line and Column are 1-based, 0
// when the problem has no single position (a missing field).
type Problem struct {
	Line, Column int
	Field        string
	Rule         string
}

func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.File)
		if p.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", p.Line, p.Column)
		}
		if p.Field != "" {
			b.WriteString(": " + p.Field)
		}
		b.WriteString(": " + p.Rule)
	}
	return b.String()
}

// Is makes errors.Is(err, calc.ErrInvalid) true.
func (e *Error) Is(target error) bool { return target == calc.ErrInvalid }

// scalar is a YAML scalar kept as its literal text with its position.
type scalar struct {
	Text         string
	Line, Column int
	Set          bool
}

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: want a single value, got a %s", n.Line, nodeKind(n))
	}
	*s = scalar{Text: n.Value, Line: n.Line, Column: n.Column, Set: true}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "value"
}

type perLevel map[string]scalar

type document struct {
	Version     scalar `yaml:"version"`
	Description string `yaml:"description,omitempty"`
	Effective   struct {
		From   scalar `yaml:"from"`
		To     scalar `yaml:"to"`
		Source string `yaml:"source,omitempty"`
	} `yaml:"effective"`
	Basic struct {
		AnnualCap         scalar  `yaml:"annual_cap"`
		Source            string  `yaml:"source,omitempty"`
		Inpatient         kindDoc `yaml:"inpatient"`
		OutpatientChronic kindDoc `yaml:"outpatient_chronic"`
	} `yaml:"basic"`
	Critical struct {
		Deductible scalar    `yaml:"deductible"`
		Bands      []bandDoc `yaml:"bands"`
		AnnualCap  scalar    `yaml:"annual_cap"`
		Source     string    `yaml:"source,omitempty"`
	} `yaml:"critical"`
	Commercial struct {
		InPolicyRate    scalar `yaml:"in_policy_rate"`
		OutOfPolicyRate scalar `yaml:"out_of_policy_rate"`
		AnnualCap       scalar `yaml:"annual_cap"`
		Source          string `yaml:"source,omitempty"`
	} `yaml:"commercial"`
	Aid struct {
		Dibao  aidDoc `yaml:"dibao"`
		Tekun  aidDoc `yaml:"tekun"`
		Source string `yaml:"source,omitempty"`
	} `yaml:"aid"`
	Backstop struct {
		OOPCeiling scalar `yaml:"oop_ceiling"`
		Source     string `yaml:"source,omitempty"`
	} `yaml:"backstop"`
}

type kindDoc struct {
	Deductible perLevel `yaml:"deductible"`
	Rate       perLevel `yaml:"rate"`
	AnnualCap  scalar   `yaml:"annual_cap,omitempty"`
	Source     string   `yaml:"source,omitempty"`
}

type bandDoc struct {
	From scalar `yaml:"from"`
	Rate scalar `yaml:"rate"`
}

type aidDoc struct {
	Rate      scalar `yaml:"rate"`
	AnnualCap scalar `yaml:"annual_cap"`
	Source    string `yaml:"source,omitempty"`
}

// Load reads and validates the policy file at path.
func Load(path string) (*calc.Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load policy: %w", err)
	}
	return Parse(path, data)
}

// Parse decodes and validates one policy document; name is used in error messages. It
// returns a *Error listing every problem, or the policy.
func Parse(name string, data []byte) (*calc.Policy, error) {
	var doc document
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{File: name, Problems: []Problem{{Rule: "the document is empty"}}}
		}
		return nil, &Error{File: name, Problems: yamlProblems(err)}
	}
	c := converter{positions: map[string]scalar{}}
	p := c.policy(&doc)
	if len(c.problems) == 0 {
		if err := p.Validate(); err != nil {
			var ve *calc.ValidationError
			if !errors.As(err, &ve) {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			for _, f := range ve.Fields {
				pos := c.positions[f.Field]
				c.problems = append(c.problems, Problem{Line: pos.Line, Column: pos.Column, Field: f.Field, Rule: f.Rule})
			}
		}
	}
	if len(c.problems) > 0 {
		sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].Line < c.problems[j].Line })
		return nil, &Error{File: name, Problems: c.problems}
	}
	return p, nil
}

// yamlProblems turns the decoder's error (possibly several lines of "line N: ...") into
// problems.
func yamlProblems(err error) []Problem {
	var te *yaml.TypeError
	var msgs []string
	if errors.As(err, &te) {
		msgs = te.Errors
	} else {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	}
	out := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		var line int
		if _, scanErr := fmt.Sscanf(m, "line %d:", &line); scanErr == nil {
			_, rest, _ := strings.Cut(m, ":")
			m = strings.TrimSpace(rest)
		}
		m = strings.Replace(m, "not found in type policyfile.", "is not a known field of ", 1)
		out = append(out, Problem{Line: line, Column: 1, Rule: m})
	}
	return out
}

type converter struct {
	problems  []Problem
	positions map[string]scalar
}

func (c *converter) fail(s scalar, field, format string, args ...any) {
	c.problems = append(c.problems, Problem{Line: s.Line, Column: s.Column, Field: field, Rule: fmt.Sprintf(format, args...)})
}

func (c *converter) present(s scalar, field string) bool {
	c.positions[field] = s
	if !s.Set || strings.TrimSpace(s.Text) == "" {
		c.fail(s, field, "is required")
		return false
	}
	return true
}

func (c *converter) money(s scalar, field string) calc.Money {
	if !c.present(s, field) {
		return 0
	}
	m, err := calc.ParseMoney(strings.TrimSpace(s.Text))
	if err != nil {
		c.fail(s, field, "%s: want yuan with at most two decimals", err)
	}
	return m
}

// capValue is money, or "none" for no cap.
func (c *converter) capValue(s scalar, field string) calc.Money {
	if s.Set && strings.EqualFold(strings.TrimSpace(s.Text), "none") {
		c.positions[field] = s
		return calc.NoCap
	}
	return c.money(s, field)
}

func (c *converter) rate(s scalar, field string) calc.Rate {
	if !c.present(s, field) {
		return 0
	}
	r, err := calc.ParseRate(strings.TrimSpace(s.Text))
	if err != nil {
		c.fail(s, field, "%s: want a fraction 0–1 with at most 6 decimal places, or a percentage", err)
	}
	return r
}

func (c *converter) date(s scalar, field string) calc.Date {
	if !c.present(s, field) {
		return 0
	}
	d, err := calc.ParseDate(strings.TrimSpace(s.Text))
	if err != nil {
		c.fail(s, field, "%v", err)
	}
	return d
}

// levels reads a mapping with one entry per provider level: all required, no others.
func (c *converter) levels(m perLevel, field string, each func(calc.Level, scalar, string)) {
	for name, s := range m {
		if _, err := calc.ParseLevel(name); err != nil {
			c.fail(s, field+"."+name, "%v", err)
		}
	}
	for _, l := range calc.Levels() {
		each(l, m[l.String()], field+"."+l.String())
	}
}

func (c *converter) policy(d *document) *calc.Policy {
	p := &calc.Policy{}
	if c.present(d.Version, "version") {
		p.Version = strings.TrimSpace(d.Version.Text)
	}
	p.From = c.date(d.Effective.From, "effective.from")
	p.To = c.date(d.Effective.To, "effective.to")

	p.Basic.AnnualCap = c.capValue(d.Basic.AnnualCap, "basic.annual_cap")
	for _, k := range calc.Kinds() {
		kd := &d.Basic.Inpatient
		if k == calc.OutpatientChronic {
			kd = &d.Basic.OutpatientChronic
		}
		base := "basic." + k.String()
		c.levels(kd.Deductible, base+".deductible", func(l calc.Level, s scalar, f string) {
			p.Basic.Deductible[k][l] = c.money(s, f)
		})
		c.levels(kd.Rate, base+".rate", func(l calc.Level, s scalar, f string) {
			p.Basic.Rate[k][l] = c.rate(s, f)
		})
		if k == calc.Inpatient {
			if kd.AnnualCap.Set {
				c.fail(kd.AnnualCap, base+".annual_cap", "inpatient has no sub-cap: basic.annual_cap covers both kinds")
			}
		} else {
			p.Basic.ChronicAnnualCap = c.capValue(kd.AnnualCap, base+".annual_cap")
		}
	}

	p.Critical.Deductible = c.money(d.Critical.Deductible, "critical.deductible")
	p.Critical.AnnualCap = c.capValue(d.Critical.AnnualCap, "critical.annual_cap")
	for i, b := range d.Critical.Bands {
		f := fmt.Sprintf("critical.bands[%d]", i)
		p.Critical.Bands = append(p.Critical.Bands, calc.Band{From: c.money(b.From, f+".from"), Rate: c.rate(b.Rate, f+".rate")})
	}

	p.Commercial.InPolicyRate = c.rate(d.Commercial.InPolicyRate, "commercial.in_policy_rate")
	p.Commercial.OutOfPolicyRate = c.rate(d.Commercial.OutOfPolicyRate, "commercial.out_of_policy_rate")
	p.Commercial.AnnualCap = c.capValue(d.Commercial.AnnualCap, "commercial.annual_cap")

	for _, a := range []struct {
		cat calc.AidCategory
		doc aidDoc
	}{{calc.Dibao, d.Aid.Dibao}, {calc.Tekun, d.Aid.Tekun}} {
		f := "aid." + a.cat.String()
		p.Aid.Rate[a.cat] = c.rate(a.doc.Rate, f+".rate")
		p.Aid.AnnualCap[a.cat] = c.capValue(a.doc.AnnualCap, f+".annual_cap")
	}
	p.Backstop.OOPCeiling = c.rate(d.Backstop.OOPCeiling, "backstop.oop_ceiling")
	return p
}
