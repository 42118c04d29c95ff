package policyfile

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/hpcalc/hpcalc/calc"
	"go.yaml.in/yaml/v3"
)

// Merge applies a change — a partial policy document, such as a what-if scenario's
// "commercial: {in_policy_rate: 0.50}" — to a base document, and returns the resulting
// document and policy, validated like a policy file. Mappings merge key by key; any other
// value, lists included, replaces the base's. Without a version of its own the result is
// the base's version with ".whatif" appended (a version is an id: calc.ValidID). Problems
// are reported against changeName at their place in the change, which is all the user
// wrote: the change's own shape (unknown fields, sections of the wrong kind) is checked
// before merging, and a problem of the result is given the position of the value in the
// change it concerns, or none when the change does not hold that value.
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
		sc := shapeCheck{}
		sc.node(c.Content[0], reflect.TypeFor[document](), "")
		if len(sc.problems) > 0 {
			return nil, nil, &Error{File: changeName, Problems: sc.problems}
		}
		mergeMapping(root, c.Content[0])
	}
	merged, err := yaml.Marshal(root)
	if err != nil {
		return nil, nil, err
	}
	p, err := Parse(changeName, merged)
	if pe := (*Error)(nil); errors.As(err, &pe) {
		out := &Error{File: pe.File, Problems: slices.Clone(pe.Problems), Truncated: pe.Truncated}
		for i := range out.Problems {
			pr := &out.Problems[i]
			pr.Line, pr.Column = 0, 0
			if len(c.Content) > 0 {
				if n, ok := nodeAt(c.Content[0], pr.Field); ok {
					pr.Line, pr.Column = n.Line, n.Column
				}
			}
		}
		return nil, nil, out
	}
	if err != nil {
		return nil, nil, err
	}
	return p, merged, nil
}

// nodeAt is the node of a document at field, a path such as "critical.bands[1].rate".
func nodeAt(n *yaml.Node, field string) (*yaml.Node, bool) {
	if field == "" {
		return nil, false
	}
	for _, part := range strings.Split(field, ".") {
		key, rest, indexed := strings.Cut(part, "[")
		if n.Kind != yaml.MappingNode {
			return nil, false
		}
		v, ok := lookup(n, key)
		if !ok {
			return nil, false
		}
		n = v
		for indexed {
			var idx string
			idx, rest, _ = strings.Cut(rest, "]")
			i, err := strconv.Atoi(idx)
			if err != nil || n.Kind != yaml.SequenceNode || i < 0 || i >= len(n.Content) {
				return nil, false
			}
			n = n.Content[i]
			_, rest, indexed = strings.Cut(rest, "[")
		}
	}
	return n, true
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

// CheckParameter reports whether field, a dotted path such as "backstop.oop_ceiling", names
// one number of a policy document, the thing a sweep can vary. Its error names the part of
// field that is wrong and the names valid there, without field itself: the caller says how
// the user wrote it (a flag, a request field).
func CheckParameter(field string) error {
	t, at := reflect.TypeFor[document](), ""
	for _, key := range strings.Split(field, ".") {
		switch {
		case key == "":
			return errors.New("want a dotted path such as backstop.oop_ceiling, with no empty part")
		case t == scalarType:
			return fmt.Errorf("%s is a single value, with no %q under it", at, key)
		case t == perLevelType:
			if _, err := calc.ParseLevel(key); err != nil {
				return fmt.Errorf("unknown provider level %q under %s (want one of %s)", key, at, strings.Join(levelNames(), ", "))
			}
			t = scalarType
		case t.Kind() == reflect.Struct:
			f, ok := fieldByKey(t, key)
			if !ok {
				where := "the sections are"
				if at != "" {
					where = "the parameters under " + at + " are"
				}
				return fmt.Errorf("unknown parameter %q (%s %s)", key, where, strings.Join(numbersOf(t), ", "))
			}
			t = f.Type
		default:
			return fmt.Errorf("%s is a single value, with no %q under it", at, key)
		}
		if at != "" {
			at += "."
		}
		at += key
	}
	switch {
	case t == scalarType:
		return nil
	case t == perLevelType:
		return fmt.Errorf("%s has one value per provider level: add one of %s, e.g. %s.%s", at, strings.Join(levelNames(), ", "), at, levelNames()[0])
	case t.Kind() == reflect.Struct:
		return fmt.Errorf("%s is a section, not a parameter (its parameters are %s)", at, strings.Join(numbersOf(t), ", "))
	}
	return fmt.Errorf("%s is not a number that can be swept", at)
}

// numbersOf lists the keys of t that hold numbers or sections of them: what a sweep can
// name. Text (sources, descriptions) and lists (bands) are left out.
func numbersOf(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		k, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		ft := t.Field(i).Type
		if k != "" && k != "version" && (ft == scalarType || ft == perLevelType || ft.Kind() == reflect.Struct && ft != scalarType) {
			keys = append(keys, k)
		}
	}
	return keys
}
