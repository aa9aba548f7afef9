package preflight

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/cloudassembly"
)

// runBaseline runs a baseline rule with before as the deployed stacks and after as the new assembly.
func runBaseline(t *testing.T, rule Rule, before, after []testStack, spec *Spec) ([]string, []Finding, []Finding) {
	t.Helper()
	asm := newAssembly(t, after...)
	o := Options{Env: "dev", Baseline: newAssembly(t, before...), Spec: spec}
	c := &check{rule: rule, w: newWorld(asm), asm: asm, o: o, env: asm.Environment(o.Env)}
	rule.check(c)
	var ids []string
	for _, f := range c.findings {
		ids = append(ids, f.Stack+"/"+f.LogicalID)
	}
	return ids, c.findings, c.notices
}

func TestImportedExports(t *testing.T) {
	exporter := func(outputs string) testStack {
		return testStack{name: "ecsr-dev-db", template: `{"Resources":{"Instance":{"Type":"AWS::RDS::DBInstance","Properties":{}}},
			"Outputs":{` + outputs + `}}`}
	}
	host := `"Host":{"Value":{"Fn::GetAtt":["Instance","Endpoint.Address"]},"Export":{"Name":"db-host"}}`
	movedHost := `"Host":{"Value":{"Fn::GetAtt":["Proxy","Endpoint"]},"Export":{"Name":"db-host"}}`
	importer := testStack{name: "ecsr-dev-app", template: `{"Resources":{"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{
		"ContainerDefinitions":[{"Environment":[{"Name":"DATABASE_HOST","Value":{"Fn::ImportValue":"db-host"}}]}]}}}}`}
	notImporting := testStack{name: "ecsr-dev-app", template: `{"Resources":{}}`}
	for _, tc := range []struct {
		name          string
		before, after []testStack
		want          []string
	}{
		{"unchanged export", []testStack{exporter(host), importer}, []testStack{exporter(host), importer}, nil},
		{"imported export removed", []testStack{exporter(host), importer}, []testStack{exporter(""), notImporting},
			[]string{"ecsr-dev-db/Host"}},
		{"imported export changes value", []testStack{exporter(host), importer}, []testStack{exporter(movedHost), importer},
			[]string{"ecsr-dev-db/Host"}},
		{"export nothing deployed imports", []testStack{exporter(host), notImporting}, []testStack{exporter(""), notImporting}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, findings, _ := runBaseline(t, importedExportsRule, tc.before, tc.after, nil)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, findings)
			}
		})
	}
}

// TestRDSProxyToggleRemovesAnImportedExport replays turning database.rds_proxy on in staging: the two
// assemblies are trimmed from syntheses of staging with rds_proxy false and true. The deployed stateless stack
// imports the instance's DbiResourceId (its IAM policy grants rds-db:connect on the instance); with the proxy the
// new stateful stack no longer exports it, which CloudFormation refuses while the import exists.
func TestRDSProxyToggleRemovesAnImportedExport(t *testing.T) {
	before, err := cloudassembly.Load(filepath.Join("testdata", "d4", "proxy-off"))
	if err != nil {
		t.Fatal(err)
	}
	after, err := cloudassembly.Load(filepath.Join("testdata", "d4", "proxy-on"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(after, Options{Env: "staging", Baseline: before, Spec: &Spec{}})
	if err != nil {
		t.Fatal(err)
	}
	const export = "ecsr-staging-stateful:ExportsOutputFnGetAttDatabaseInstanceAA8A5FDEDbiResourceId3CEFC695"
	var found []Finding
	for _, f := range r.Findings {
		if f.Rule == importedExportsRule.ID {
			found = append(found, f)
		}
	}
	if len(found) != 1 || found[0].Stack != "ecsr-staging-stateful" || !strings.Contains(found[0].Message, export) ||
		!strings.Contains(found[0].Message, "ecsr-staging-stateless") {
		t.Fatalf("imported-export findings = %+v; want one naming %s, imported by ecsr-staging-stateless", found, export)
	}
	// The reverse toggle removes the proxy's exports the same way.
	back, err := Run(before, Options{Env: "staging", Baseline: after, Spec: &Spec{}})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, f := range back.Findings {
		if f.Rule == importedExportsRule.ID {
			n++
		}
	}
	if n == 0 {
		t.Error("turning the proxy off again: no imported-export finding")
	}
}

func TestStatefulReplacement(t *testing.T) {
	spec := &Spec{Version: "test", Replacement: map[string]map[string]string{
		"AWS::SQS::Queue":      {"QueueName": "yes", "FifoQueue": "yes"},
		"AWS::RDS::DBInstance": {"MultiAZ": "maybe", "KmsKeyId": "yes"},
	}}
	stack := func(resources string) []testStack {
		return []testStack{{name: "ecsr-dev-data", template: `{"Resources":{` + resources + `}}`}}
	}
	const queue = `"Queue":{"Type":"AWS::SQS::Queue","Properties":{"VisibilityTimeout":30}}`
	for _, tc := range []struct {
		name          string
		before, after []testStack
		want          []string
		notices       int
	}{
		{"no change", stack(queue), stack(queue), nil, 0},
		{"a property that updates in place", stack(queue),
			stack(`"Queue":{"Type":"AWS::SQS::Queue","Properties":{"VisibilityTimeout":"60"}}`), nil, 0},
		{"same value spelled as a string", stack(queue),
			stack(`"Queue":{"Type":"AWS::SQS::Queue","Properties":{"VisibilityTimeout":"30"}}`), nil, 0},
		{"logical ID disappears", stack(queue), stack(`"Renamed":{"Type":"AWS::SQS::Queue","Properties":{}}`),
			[]string{"ecsr-dev-data/Queue"}, 0},
		{"explicit name changes", stack(`"Queue":{"Type":"AWS::SQS::Queue","Properties":{"QueueName":"ecsr-dev-a"}}`),
			stack(`"Queue":{"Type":"AWS::SQS::Queue","Properties":{"QueueName":"ecsr-dev-b"}}`), []string{"ecsr-dev-data/Queue"}, 0},
		{"a replacing property changes", stack(queue),
			stack(`"Queue":{"Type":"AWS::SQS::Queue","Properties":{"VisibilityTimeout":30,"FifoQueue":true}}`), []string{"ecsr-dev-data/Queue"}, 0},
		{"a maybe-replacing property changes", stack(`"DB":{"Type":"AWS::RDS::DBInstance","Properties":{"MultiAZ":false}}`),
			stack(`"DB":{"Type":"AWS::RDS::DBInstance","Properties":{"MultiAZ":true}}`), nil, 1},
		{"a stateless resource disappears", stack(`"Role":{"Type":"AWS::IAM::Role","Properties":{}}`), stack(""), nil, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, findings, notices := runBaseline(t, statefulReplacementRule, tc.before, tc.after, spec)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("findings (-want +got):\n%s\n%+v", diff, findings)
			}
			if len(notices) != tc.notices {
				t.Errorf("notices = %+v; want %d", notices, tc.notices)
			}
		})
	}
}

// TestLoadSpec reads the pinned @aws-cdk/aws-service-spec package that scripts/deps.sh installs and checks
// properties the AWS documentation marks "Update requires: Replacement" (and one it does not).
func TestLoadSpec(t *testing.T) {
	spec, err := LoadSpec(filepath.Join("..", "..", "..", SpecPackage))
	if err != nil {
		t.Fatalf("%v (make deps installs the package)", err)
	}
	for _, tc := range []struct{ typ, prop, want string }{
		{"AWS::RDS::DBProxy", "DBProxyName", "yes"},
		{"AWS::RDS::DBInstance", "DBInstanceIdentifier", "yes"},
		{"AWS::RDS::DBInstance", "KmsKeyId", "yes"},
		{"AWS::SQS::Queue", "QueueName", "yes"},
		{"AWS::SQS::Queue", "FifoQueue", "yes"},
		{"AWS::SQS::Queue", "VisibilityTimeout", ""},
		{"AWS::Logs::LogGroup", "LogGroupName", "yes"},
	} {
		if got := spec.Replacement[tc.typ][tc.prop]; got != tc.want {
			t.Errorf("spec %s: %s.%s causesReplacement = %q; want %q", spec.Version, tc.typ, tc.prop, got, tc.want)
		}
	}
	for typ := range statefulTypes {
		if _, ok := spec.Replacement[typ]; !ok {
			t.Errorf("stateful type %s is not in the specification", typ)
		}
	}
}
