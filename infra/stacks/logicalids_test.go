package stacks

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/stateful-logical-ids.json from the current templates")

// goldenLogicalIDs pins the logical IDs of the stateful stacks' resources.
const goldenLogicalIDs = "testdata/stateful-logical-ids.json"

// pinnedTypes are the resource types whose logical ID must never change: CloudFormation replaces a resource whose
// logical ID changes, and replacing these loses data (database, queued messages, keys that decrypt backups and
// messages, logs) or addresses others depend on (VPC, subnets, NAT addresses, topic ARNs, subscriptions).
var pinnedTypes = []string{
	"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::EIP", "AWS::EC2::NatGateway", "AWS::EC2::SecurityGroup",
	"AWS::KMS::Key", "AWS::Logs::LogGroup",
	"AWS::RDS::DBInstance", "AWS::RDS::DBParameterGroup", "AWS::RDS::DBSubnetGroup", "AWS::RDS::DBProxy",
	"AWS::SNS::Topic", "AWS::SNS::Subscription", "AWS::SQS::Queue",
	"AWS::SecretsManager::Secret",
}

// TestStatefulLogicalIDs compares the stateful resources of every environment with the committed golden file: a
// pinned logical ID that disappears fails (a rename or a removal replaces or deletes the resource); a new one
// only creates a resource, and is reported.
func TestStatefulLogicalIDs(t *testing.T) {
	got := map[string][]string{}
	for _, name := range environments {
		s := synth(t, name)
		tmpl := s.stack(t, "stateful")
		ids := []string{}
		for id, r := range tmpl.Resources {
			if slices.Contains(pinnedTypes, r.Type) {
				ids = append(ids, r.Type+" "+id)
			}
		}
		slices.Sort(ids)
		got[name] = ids
	}
	if *update {
		b, err := json.MarshalIndent(got, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.FromSlash(goldenLogicalIDs), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var want map[string][]string
	readJSON(t, filepath.FromSlash(goldenLogicalIDs), &want)
	for _, name := range environments {
		removed := difference(want[name], got[name])
		added := difference(got[name], want[name])
		if len(removed) == 0 {
			// A new resource replaces nothing: a new queue of a new service deploys as it is. -update pins it.
			if len(added) > 0 {
				t.Logf("ecsr-%s-stateful creates resources the golden file does not pin yet (run -update to pin them):\n  %s",
					name, strings.Join(added, "\n  "))
			}
			continue
		}
		msg := "the logical IDs of ecsr-" + name + "-stateful changed.\n"
		if len(removed) > 0 {
			msg += "Deploying this would DELETE (or replace) these resources - a database, its data, queued messages, " +
				"keys or addresses:\n  " + strings.Join(removed, "\n  ") + "\n"
		}
		if len(added) > 0 {
			msg += "and create:\n  " + strings.Join(added, "\n  ") + "\n"
		}
		msg += "If a construct ID was renamed, rename it back. If the change is intended (a new resource, or a removal " +
			"planned with a migration), run `go test ./stacks -run TestStatefulLogicalIDs -update` in infra and explain " +
			"it in the commit message."
		t.Error(msg)
	}
}

// difference returns the elements of a missing from b.
func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}
