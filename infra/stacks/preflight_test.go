package stacks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/cloudassembly"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/preflight"
)

// TestPreflightOfEveryEnvironment runs preflight's rules (all but the deploy-only and the baseline ones, which
// make preflight runs before a deploy) on the synthesis of every shipped environment the other tests share. The
// environments are checked together, as one account and region would hold them, for the physical-name rule.
func TestPreflightOfEveryEnvironment(t *testing.T) {
	var parts []*cloudassembly.Assembly
	for _, env := range environments {
		asm, err := cloudassembly.Load(synth(t, env).dir)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, asm)
	}
	all, err := cloudassembly.Merge(parts...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := manifest.Load("../services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	opts := preflight.ProjectOptions(m)
	for _, env := range environments {
		t.Run(env, func(t *testing.T) {
			o := opts
			o.Env = env
			o.Production = synth(t, env).env.Production
			report, err := preflight.Run(all, o)
			if err != nil {
				t.Fatal(err)
			}
			// A shipped environment has no finding: each one is a deploy that would fail or misbehave.
			for _, f := range report.Findings {
				t.Errorf("preflight finding: %s %s %s (%s)\n  %s\n  source: %s", f.Rule, f.Stack, f.LogicalID, f.Path, f.Message, f.Source)
			}
		})
	}
}

// TestRDSProxyToggleKeepsImportedExports turns database.rds_proxy on in staging, as an environment file change
// would, and runs preflight's update-safety rules with the assembly of the shipped file as what is deployed. The
// stateful stack deploys first; it must keep every export the deployed stateless stack imports (the imported-export
// rule). The same rules on the assemblies from before the fix (internal/tools/preflight/testdata/d4, synthesized
// without the stable export) find the removed DbiResourceId export: the test shows what the rule catches. Turning
// the proxy off is checked too: refused in one deploy, accepted in the documented two steps.
func TestRDSProxyToggleKeepsImportedExports(t *testing.T) {
	m, err := manifest.Load("../services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "environments", "staging.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := config.Decode("staging.yaml", data, m)
	if err != nil {
		t.Fatal(err)
	}
	if env.Database.RDSProxy {
		t.Fatal("staging already runs RDS Proxy; the test turns it on")
	}
	proxyOn := *env
	proxyOn.Database.RDSProxy = true

	load := func(dir string) *cloudassembly.Assembly {
		t.Helper()
		asm, err := cloudassembly.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		return asm
	}
	importedExports := func(after, before *cloudassembly.Assembly) []preflight.Finding {
		t.Helper()
		r, err := preflight.Run(after, preflight.Options{Env: "staging", Baseline: before, Spec: &preflight.Spec{}})
		if err != nil {
			t.Fatal(err)
		}
		var found []preflight.Finding
		for _, f := range r.Findings {
			if f.Rule == "imported-export" {
				found = append(found, f)
			}
		}
		return found
	}

	// The old way: the export of the instance's resource ID disappears while the deployed stateless stack
	// imports it.
	old := importedExports(load("../../internal/tools/preflight/testdata/d4/proxy-on"), load("../../internal/tools/preflight/testdata/d4/proxy-off"))
	if len(old) != 1 || !strings.Contains(old[0].Message, "DbiResourceId") {
		t.Fatalf("old assemblies: imported-export findings %+v; want the removed DbiResourceId export", old)
	}

	// The new way: nothing the deployed stateless stack imports disappears.
	before := load(synth(t, "staging").dir)
	after := load(synthEnvironment(t, &proxyOn, m).dir)
	if got := importedExports(after, before); len(got) != 0 {
		for _, f := range got {
			t.Errorf("turning rds_proxy on: %s %s: %s", f.Stack, f.LogicalID, f.Message)
		}
	}

	// Turning it off again in one deploy (stateful first) would delete the proxy's exports while the services
	// still import them, which the rule catches; the documented two steps (the stateless stack alone first, then
	// the stateful stack, docs/infrastructure.md) pass.
	if got := importedExports(before, after); len(got) == 0 {
		t.Error("turning rds_proxy off in one deploy: no imported-export finding; the proxy's exports are still imported")
	}
	stateless := "ecsr-staging-stateless"
	step1 := &cloudassembly.Assembly{Dir: "stateless without the proxy, stateful with it", Stacks: map[string]*cloudassembly.Stack{}}
	for name, st := range after.Stacks {
		step1.Stacks[name] = st
	}
	step1.Stacks[stateless] = before.Stacks[stateless]
	for _, step := range []struct {
		name          string
		after, before *cloudassembly.Assembly
	}{
		{"step 1, the stateless stack alone", step1, after},
		{"step 2, the stateful stack", before, step1},
	} {
		for _, f := range importedExports(step.after, step.before) {
			t.Errorf("turning rds_proxy off, %s: %s %s: %s", step.name, f.Stack, f.LogicalID, f.Message)
		}
	}
}
