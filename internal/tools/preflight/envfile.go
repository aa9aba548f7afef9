package preflight

import (
	"fmt"
	"strconv"

	"go.yaml.in/yaml/v3"
)

// EnvironmentFilePlaceholders finds the example values (see placeholdersRule) in an environment file, by key, so
// that a deploy refused for a placeholder names the line to edit: the account IDs (`account`, `image.account`),
// the hosted zone, the domain names and the certificate ARNs. file names the file in the findings; data is its
// content. A file that is not YAML is an error.
func EnvironmentFilePlaceholders(file string, data []byte) ([]Finding, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	var out []Finding
	var walk func(n *yaml.Node, key string)
	walk = func(n *yaml.Node, key string) {
		switch n.Kind {
		case yaml.DocumentNode:
			for _, c := range n.Content {
				walk(c, key)
			}
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i].Value
				if key != "" {
					k = key + "." + k
				}
				walk(n.Content[i+1], k)
			}
		case yaml.SequenceNode:
			for i, c := range n.Content {
				walk(c, key+"["+strconv.Itoa(i)+"]")
			}
		case yaml.ScalarNode:
			v := n.Value
			for _, why := range placeholderReasons(v) {
				out = append(out, Finding{
					Rule: placeholdersRule.ID, Stack: file, Path: fmt.Sprintf("%s:%d %s", file, n.Line, key),
					Message: fmt.Sprintf("%s: %s in %q: replace it with the environment's real value before deploying.", key, why, v),
					Source:  placeholdersRule.Source,
				})
			}
		}
	}
	walk(&doc, "")
	return out, nil
}
