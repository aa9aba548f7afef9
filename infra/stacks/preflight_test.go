package stacks

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/cloudassembly"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/preflight"
)

// knownPreflightFindings are the preflight findings of the shipped environments that the code on this branch
// still has, as "rule stack logicalID". Each is a defect that a change in progress fixes (the pre-deploy review's
// D1 migrate-first, D2 db-trust-anchor, D3 spot-arm64, D5 physical-names; the web ACL alarm's dimension and the
// proxy's duplicate security group rules found by preflight itself). The test requires every entry to be
// present, so a fix turns into a failing "expected finding disappeared": remove its entries here with the fix.
var knownPreflightFindings = map[string][]string{
	"dev": {
		"alarm-dimensions ecsr-dev-edge WebACLBlockedAlarmAF2E9464",
		"migrate-first ecsr-dev-stateless ServiceapiService40B436B6",
		"migrate-first ecsr-dev-stateless ServiceworkerServiceF90D3099",
		"spot-arm64 ecsr-dev-stateless ServiceapiService40B436B6",
		"spot-arm64 ecsr-dev-stateless ServiceworkerServiceF90D3099",
	},
	"staging": {
		"alarm-dimensions ecsr-staging-edge WebACLBlockedAlarmAF2E9464",
		"migrate-first ecsr-staging-stateless ServiceapiService40B436B6",
		"migrate-first ecsr-staging-stateless ServiceworkerServiceF90D3099",
		"spot-arm64 ecsr-staging-stateless ServiceworkerServiceF90D3099",
	},
	"prod": {
		"alarm-dimensions ecsr-prod-edge WebACLBlockedAlarmAF2E9464",
		"db-trust-anchor ecsr-prod-stateless ServiceapiTask6BD2BFAC",
		"db-trust-anchor ecsr-prod-stateless ServiceworkerTask9E48462A",
		"migrate-first ecsr-prod-stateless ServiceapiService40B436B6",
		"migrate-first ecsr-prod-stateless ServiceworkerServiceF90D3099",
		"physical-names ecsr-prod-stateful DatabaseProxyE01FC4E6",
		"sg-duplicate-rules ecsr-prod-stateful DatabaseProxySecurityGrouptoecsrprodstatefulDatabaseSecurityGroupEF213C0FIndirectPort46AE4EA7",
		"sg-duplicate-rules ecsr-prod-stateful DatabaseSecurityGroupfromecsrprodstatefulDatabaseProxySecurityGroupD465EA6EIndirectPort90B5CDD9",
		"spot-arm64 ecsr-prod-stateless ServiceworkerServiceF90D3099",
	},
}

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
			var got []string
			for _, f := range report.Findings {
				key := fmt.Sprintf("%s %s %s", f.Rule, f.Stack, f.LogicalID)
				got = append(got, key)
				if !slices.Contains(knownPreflightFindings[env], key) {
					t.Errorf("new preflight finding: %s (%s)\n  %s\n  source: %s", key, f.Path, f.Message, f.Source)
				}
			}
			for _, want := range knownPreflightFindings[env] {
				if !slices.Contains(got, want) {
					t.Errorf("expected finding disappeared: %s; remove it from knownPreflightFindings", want)
				}
			}
		})
	}
}
