package preflight

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testAccount is an account ID no placeholder pattern matches.
const testAccount = "210987654321"

// testStack is a stack of a test assembly: its template as JSON, its region ("" for eu-west-1) and the stacks
// it depends on.
type testStack struct {
	name, region, template string
	deps                   []string
}

// newAssembly builds an assembly from test stacks.
func newAssembly(t *testing.T, stacks ...testStack) *Assembly {
	t.Helper()
	asm := &Assembly{Dir: "test", Stacks: map[string]*Stack{}}
	for _, ts := range stacks {
		s := &Stack{Name: ts.name, Account: testAccount, Region: ts.region, DependsOn: ts.deps}
		if s.Region == "" {
			s.Region = "eu-west-1"
		}
		if err := json.Unmarshal([]byte(ts.template), &s.Template); err != nil {
			t.Fatalf("template of %s: %v", ts.name, err)
		}
		asm.Stacks[ts.name] = s
	}
	return asm
}

// runRule runs one rule over env's stacks and returns "stack/logicalID" of its findings, sorted, and the
// findings themselves.
func runRule(t *testing.T, rule Rule, asm *Assembly, o Options) ([]string, []Finding) {
	t.Helper()
	if o.Env == "" {
		o.Env = "dev"
	}
	c := &check{rule: rule, w: newWorld(asm), asm: asm, o: o, env: asm.Environment(o.Env)}
	rule.check(c)
	var ids []string
	for _, f := range c.findings {
		ids = append(ids, f.Stack+"/"+f.LogicalID)
		if f.Rule != rule.ID || f.Message == "" || f.Source == "" {
			t.Errorf("finding %+v lacks its rule, message or source", f)
		}
	}
	slices.Sort(ids)
	return ids, c.findings
}

// ruleCase is one row of a rule's table test: the stacks and the findings expected ("stack/logicalID").
type ruleCase struct {
	name   string
	stacks []testStack
	opts   Options
	want   []string
}

// runCases runs a rule's table.
func runCases(t *testing.T, rule Rule, cases []ruleCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, findings := runRule(t, rule, newAssembly(t, tc.stacks...), tc.opts)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("%s findings (-want +got):\n%s\n%+v", rule.ID, diff, findings)
			}
		})
	}
}
