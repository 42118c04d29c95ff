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
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"github.com/hpcalc/hpcalc/fileerr"
	"go.yaml.in/yaml/v3"
)

// Error lists every problem found in one policy document. errors.Is(err, calc.ErrInvalid)
// holds for it.
type Error = fileerr.Error

// Problem is one broken rule at a position of a document; Line and Column are 1-based, 0
// when the problem has no single position (a missing field). A YAML syntax error has a
// Line but Column 0: the parser does not report one.
type Problem = fileerr.Problem

// scalar is a YAML scalar kept as its literal text with its position. A mapping or list
// where a single value belongs is kept too, with Shape naming it, so that the converter
// reports it with its field and decoding goes on to find the document's other problems.
type scalar struct {
	Text         string
	Line, Column int
	Set          bool
	Shape        string // "mapping" or "list" when the value is not a single value
}

func (s *scalar) UnmarshalYAML(n *yaml.Node) error {
	*s = scalar{Text: n.Value, Line: n.Line, Column: n.Column, Set: true}
	if n.Kind != yaml.ScalarNode {
		*s = scalar{Line: n.Line, Column: n.Column, Set: true, Shape: nodeKind(n)}
	}
	return nil
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	}
	return "single value"
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
	var root yaml.Node
	empty := &Error{File: name, Problems: []Problem{{Rule: "the document is empty"}}}
	if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, empty
		}
		return nil, &Error{File: name, Problems: yamlProblems(err)}
	}
	if top := root.Content[0]; top.Kind == yaml.ScalarNode && top.ShortTag() == "!!null" {
		return nil, empty // "---" or "null" alone
	}
	// The shape check reports unknown fields and values of the wrong kind with their
	// position and field path; the decoder only knows their line.
	sc := shapeCheck{}
	sc.node(root.Content[0], reflect.TypeFor[document](), "")
	if sc.broken[""] {
		return nil, &Error{File: name, Problems: sc.problems}
	}
	var doc document
	if err := root.Decode(&doc); err != nil {
		// Each of the decoder's type errors is one the shape check has reported better;
		// should it find one the check missed, report that as the decoder words it.
		var te *yaml.TypeError
		if !errors.As(err, &te) || len(sc.problems) == 0 {
			return nil, &Error{File: name, Problems: append(sc.problems, yamlProblems(err)...)}
		}
	}
	c := converter{problems: sc.problems, positions: map[string]scalar{}}
	p := c.policy(&doc)
	// Check the rules even when some values could not be read, so that every problem is
	// reported at once; a field already reported is not reported again.
	if err := p.Validate(); err != nil {
		var ve *calc.ValidationError
		if !errors.As(err, &ve) {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		reported := map[string]bool{}
		for _, pr := range c.problems {
			reported[pr.Field] = true
		}
		for _, f := range ve.Fields {
			if reported[f.Field] {
				continue
			}
			pos := c.positions[f.Field]
			c.problems = append(c.problems, Problem{Line: pos.Line, Column: pos.Column, Field: f.Field, Rule: f.Rule, Code: f.Code, Args: f.Args})
		}
	}
	// A section the decoder could not read leaves its fields unset; they are not missing.
	c.problems = slices.DeleteFunc(c.problems, func(pr Problem) bool { return pr.Line == 0 && sc.within(pr.Field) })
	if len(c.problems) > 0 {
		sort.SliceStable(c.problems, func(i, j int) bool { return c.problems[i].Line < c.problems[j].Line })
		return nil, &Error{File: name, Problems: c.problems}
	}
	return p, nil
}

// yamlProblems turns the decoder's error (possibly several lines of "line N: ...") into
// problems. The decoder gives a line but no column.
func yamlProblems(err error) []Problem {
	var te *yaml.TypeError
	var msgs []string
	syntax := !errors.As(err, &te)
	if syntax {
		msgs = []string{strings.TrimPrefix(err.Error(), "yaml: ")}
	} else {
		msgs = te.Errors
	}
	out := make([]Problem, 0, len(msgs))
	for _, m := range msgs {
		var line int
		if _, scanErr := fmt.Sscanf(m, "line %d:", &line); scanErr == nil {
			_, rest, _ := strings.Cut(m, ":")
			m = strings.TrimSpace(rest)
		}
		if syntax {
			m = "not well-formed YAML: " + m + " (check the indentation, colons and brackets on this line and the one before)"
		}
		out = append(out, Problem{Line: line, Rule: m})
	}
	return out
}

// shapeCheck walks a document's nodes along the Go type they decode into. It reports
// every unknown field, repeated key, unknown provider level and section of the wrong
// kind at the key or value concerned, and records the sections the decoder cannot read.
// Scalars are left to the converter, which reports them with their field's rule.
type shapeCheck struct {
	problems []Problem
	broken   map[string]bool // fields the decoder leaves unset; "" is the whole document
}

func (c *shapeCheck) fail(n *yaml.Node, field, format string, args ...any) {
	c.problems = append(c.problems, Problem{Line: n.Line, Column: n.Column, Field: field, Rule: fmt.Sprintf(format, args...)})
}

func (c *shapeCheck) breaks(field string) {
	if c.broken == nil {
		c.broken = map[string]bool{}
	}
	c.broken[field] = true
}

// within reports whether field is a broken field or part of one.
func (c *shapeCheck) within(field string) bool {
	for b := range c.broken {
		if field == b || strings.HasPrefix(field, b+".") || strings.HasPrefix(field, b+"[") {
			return true
		}
	}
	return false
}

var (
	scalarType   = reflect.TypeFor[scalar]()
	perLevelType = reflect.TypeFor[perLevel]()
)

func (c *shapeCheck) node(n *yaml.Node, t reflect.Type, field string) {
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	if t == scalarType || n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null" {
		return // an empty section or list: the converter reports what it lacks
	}
	switch t.Kind() {
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			c.fail(n, field, "want text; got a %s", nodeKind(n))
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			c.fail(n, field, "want a list; got a %s", nodeKind(n))
			c.breaks(field)
			return
		}
		for i, item := range n.Content {
			c.node(item, t.Elem(), fmt.Sprintf("%s[%d]", field, i))
		}
	case reflect.Struct, reflect.Map:
		if n.Kind != yaml.MappingNode {
			c.fail(n, field, "want a mapping of %s; got a %s", fieldsHere(t), nodeKind(n))
			c.breaks(field)
			return
		}
		c.mapping(n, t, field)
	}
}

func (c *shapeCheck) mapping(n *yaml.Node, t reflect.Type, field string) {
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() == "!!merge" { // "<<: *anchor" merges another mapping's fields
			if v.Kind == yaml.SequenceNode {
				for _, m := range v.Content {
					c.node(m, t, field)
				}
			} else {
				c.node(v, t, field)
			}
			continue
		}
		path := k.Value
		if field != "" {
			path = field + "." + k.Value
		}
		if first, ok := seen[k.Value]; ok {
			c.fail(k, path, "given twice (first at line %d): keep one", first.Line)
			c.breaks(field) // the decoder refuses the whole mapping
			continue
		}
		seen[k.Value] = k
		if t == perLevelType {
			if _, err := calc.ParseLevel(k.Value); err != nil {
				c.fail(k, path, "%v", err)
			}
			continue
		}
		f, ok := fieldByKey(t, k.Value)
		if !ok {
			c.fail(k, path, "unknown field %q (the fields here are %s)", k.Value, strings.Join(keysOf(t), ", "))
			continue
		}
		c.node(v, f.Type, path)
	}
}

// keysOf lists the keys of a document struct type, in order.
func keysOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k != "" {
			keys = append(keys, k)
		}
	}
	return keys
}

func fieldByKey(t reflect.Type, key string) (reflect.StructField, bool) {
	for i := range t.NumField() {
		if k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ","); k == key {
			return t.Field(i), true
		}
	}
	return reflect.StructField{}, false
}

func fieldsHere(t reflect.Type) string {
	if t == perLevelType {
		return "one value per provider level (" + strings.Join(levelNames(), ", ") + ")"
	}
	return "the fields " + strings.Join(keysOf(t), ", ")
}

func levelNames() []string {
	var names []string
	for _, l := range calc.Levels() {
		names = append(names, l.String())
	}
	return names
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
	if s.Shape != "" {
		c.fail(s, field, "want a single value, got a %s", s.Shape)
		return false
	}
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

// levels reads a mapping with one entry per provider level, all required; the shape
// check has reported any other key.
func (c *converter) levels(m perLevel, field string, each func(calc.Level, scalar, string)) {
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
	if len(d.Critical.Bands) > calc.MaxBands {
		// Too many bands: point at the first band over the limit.
		c.positions["critical.bands"] = d.Critical.Bands[calc.MaxBands].From
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
