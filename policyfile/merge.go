package policyfile

import (
	"errors"
	"fmt"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"go.yaml.in/yaml/v3"
)

// Merge applies a change — a partial policy document, such as a what-if scenario's
// "commercial: {in_policy_rate: 0.50}" — to a base document, and returns the resulting
// document and policy, validated like a policy file. Mappings merge key by key; any other
// value, lists included, replaces the base's. Without a version of its own the result is
// the base's version with ".whatif" appended (a version is an id: calc.ValidID). Problems
// of the result are reported against changeName, with the lines of the merged document.
func Merge(base []byte, changeName string, change []byte) (*calc.Policy, []byte, error) {
	var b, c yaml.Node
	if err := yaml.Unmarshal(base, &b); err != nil {
		return nil, nil, fmt.Errorf("base policy: %w", err)
	}
	if err := yaml.Unmarshal(change, &c); err != nil {
		return nil, nil, &Error{File: changeName, Problems: yamlProblems(err)}
	}
	if len(b.Content) == 0 || b.Content[0].Kind != yaml.MappingNode {
		return nil, nil, errors.New("base policy: not a mapping")
	}
	root := b.Content[0]
	if len(c.Content) > 0 {
		if c.Content[0].Kind != yaml.MappingNode {
			return nil, nil, &Error{File: changeName, Problems: []Problem{{Line: c.Content[0].Line, Column: c.Content[0].Column,
				Rule: "a change is a mapping of the policy's fields, such as commercial: {in_policy_rate: 0.50}"}}}
		}
		if _, ok := lookup(c.Content[0], "version"); !ok {
			if v, ok := lookup(root, "version"); ok {
				v.Value += ".whatif"
			}
		}
		mergeMapping(root, c.Content[0])
	}
	merged, err := yaml.Marshal(root)
	if err != nil {
		return nil, nil, err
	}
	p, err := Parse(changeName, merged)
	if err != nil {
		return nil, nil, err
	}
	return p, merged, nil
}

func lookup(m *yaml.Node, key string) (*yaml.Node, bool) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1], true
		}
	}
	return nil, false
}

// mergeMapping overlays change onto base, in place.
func mergeMapping(base, change *yaml.Node) {
	for i := 0; i+1 < len(change.Content); i += 2 {
		key, val := change.Content[i], change.Content[i+1]
		if old, ok := lookup(base, key.Value); ok {
			if old.Kind == yaml.MappingNode && val.Kind == yaml.MappingNode {
				mergeMapping(old, val)
			} else {
				*old = *val
			}
			continue
		}
		base.Content = append(base.Content, key, val)
	}
}

// Change returns the change document that sets one parameter, named by its dotted path
// ("backstop.oop_ceiling"), to value: "{backstop: {oop_ceiling: 0.1}}".
func Change(field, value string) []byte {
	keys := strings.Split(field, ".")
	doc := value
	for i := len(keys) - 1; i >= 0; i-- {
		doc = "{" + keys[i] + ": " + doc + "}"
	}
	return []byte(doc)
}

// Steps returns the values from start to stop inclusive in steps of step, as exact
// decimals (at most six places). It refuses a range that is empty, backwards, or of more
// than maxSteps steps.
func Steps(start, stop, step string, maxSteps int) ([]calc.Rate, error) {
	var b [3]calc.Rate
	for i, s := range []string{start, stop, step} {
		r, err := calc.ParseRate(s)
		if err != nil {
			return nil, err
		}
		b[i] = r
	}
	if b[2] <= 0 || b[1] < b[0] || int((b[1]-b[0])/b[2]) >= maxSteps {
		return nil, fmt.Errorf("want start ≤ stop and a positive step giving at most %d steps", maxSteps)
	}
	var out []calc.Rate
	for v := b[0]; v <= b[1]; v += b[2] {
		out = append(out, v)
	}
	return out, nil
}
