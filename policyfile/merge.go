package policyfile

import (
	"errors"
	"fmt"

	"github.com/hpcalc/hpcalc/calc"
	"go.yaml.in/yaml/v3"
)

// Merge applies a change — a partial policy document, such as a what-if scenario's
// "commercial: {in_policy_rate: 0.50}" — to a base document, and returns the resulting
// document and policy, validated like a policy file. Mappings merge key by key; any other
// value, lists included, replaces the base's. Without a version of its own the result is
// the base's version with "+whatif" appended. Problems of the result are reported against
// changeName, with the lines of the merged document.
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
				v.Value += "+whatif"
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
