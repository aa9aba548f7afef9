package preflight

import (
	"sort"

	"github.com/ecs-reworked/ecs-reworked/internal/cloudassembly"
)

// The assembly and template types preflight reads (package cloudassembly).
type (
	Assembly = cloudassembly.Assembly
	Stack    = cloudassembly.Stack
	Template = cloudassembly.Template
	Resource = cloudassembly.Resource
	Output   = cloudassembly.Output
)

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
