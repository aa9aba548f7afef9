package preflight

import (
	"sort"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/cloudassembly"
)

// Assembly is the set of stacks preflight checks (package cloudassembly).
type Assembly = cloudassembly.Assembly

// Stack is one stack of an Assembly.
type Stack = cloudassembly.Stack

// Template is the part of a stack's template the rules read.
type Template = cloudassembly.Template

// Resource is one template resource.
type Resource = cloudassembly.Resource

// Output is one template output.
type Output = cloudassembly.Output

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
