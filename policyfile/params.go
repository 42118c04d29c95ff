package policyfile

import (
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Parameter is one number of a policy document as written: its dotted path, its value,
// the source its section cites and the note written beside it.
type Parameter struct {
	Path   string // "backstop.oop_ceiling"; what Change and a sweep take
	Value  string // as written: "0.10", "3000.00", "none"
	Source string // the source: line of its top-level section
	Note   string // the comment on its line, without "#"
}

// Parameters lists the parameters of a policy document in the order it writes them: every
// scalar under the five lines but their source notes, and not the lists (bands), which a
// change replaces whole. The version, description and effective period are not
// parameters. Errors: the document is not YAML or JSON.
func Parameters(doc []byte) ([]Parameter, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, fmt.Errorf("policy document: %w", err)
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("policy document: not a mapping")
	}
	var out []Parameter
	top := root.Content[0]
	for i := 0; i+1 < len(top.Content); i += 2 {
		key, val := top.Content[i].Value, top.Content[i+1]
		if val.Kind != yaml.MappingNode {
			continue // version, description
		}
		if key == "effective" {
			continue
		}
		source := ""
		if s, ok := lookup(val, "source"); ok {
			source = s.Value
		}
		walkParams(val, key, source, "", &out)
	}
	return out, nil
}

// walkParams lists the scalars under m; a parameter without a note of its own takes the
// note of the mapping it is in ("deductible: # modelled: per admission" over its levels).
func walkParams(m *yaml.Node, prefix, source, inherited string, out *[]Parameter) {
	comment := func(n *yaml.Node) string {
		return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(n.LineComment), "#"))
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		path := prefix + "." + k.Value
		note := comment(v)
		if note == "" {
			note = comment(k)
		}
		if note == "" {
			note = inherited
		}
		switch {
		case k.Value == "source":
		case v.Kind == yaml.MappingNode:
			walkParams(v, path, source, note, out)
		case v.Kind == yaml.ScalarNode:
			*out = append(*out, Parameter{Path: path, Value: v.Value, Source: source, Note: note})
		}
	}
}
