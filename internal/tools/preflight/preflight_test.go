package preflight

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

func TestPrint(t *testing.T) {
	var b bytes.Buffer
	Print(&b, "dev", &Report{Findings: []Finding{{Rule: "spot-arm64", Stack: "ecsr-dev-app", LogicalID: "Service",
		Path: "/ecsr-dev-app/Service/Resource", Message: "what is wrong", Source: "https://docs.aws.amazon.com/x"}}})
	for _, want := range []string{"FAIL [spot-arm64] ecsr-dev-app Service (/ecsr-dev-app/Service/Resource)", "what is wrong",
		"source: https://docs.aws.amazon.com/x", "preflight dev: 1 finding(s), 0 notice(s)"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("Print output lacks %q:\n%s", want, b.String())
		}
	}
}

// TestRulesAreDocumented checks that every rule has an ID, a summary and an AWS source, and that
// docs/preflight.md describes it.
func TestRulesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "preflight.md"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, r := range Rules() {
		if r.ID == "" || r.Summary == "" || !strings.HasPrefix(r.Source, "https://") {
			t.Errorf("rule %+v lacks an ID, a summary or a source", r)
		}
		if seen[r.ID] {
			t.Errorf("rule ID %s is used twice", r.ID)
		}
		seen[r.ID] = true
		if !strings.Contains(string(doc), "`"+r.ID+"`") || !strings.Contains(string(doc), r.Source) {
			t.Errorf("docs/preflight.md does not describe rule %s with its source %s", r.ID, r.Source)
		}
	}
	for _, name := range []string{RDSBundle, "DATABASE_CA_FILE=" + SystemTrustStore, MigrateEntryPoint, SpecPackage[:len("infra/_spec")]} {
		if !strings.Contains(string(doc), name) {
			t.Errorf("docs/preflight.md does not mention %s", name)
		}
	}
}

func TestRunNeedsTheEnvironment(t *testing.T) {
	asm := newAssembly(t, testStack{name: "ecsr-dev-app", template: `{}`})
	if _, err := Run(asm, Options{Env: "prod"}); err == nil || !strings.Contains(err.Error(), "ecsr-prod-") {
		t.Errorf("Run(unknown environment) = %v; want an error naming the stacks it looked for", err)
	}
}

func TestProjectOptions(t *testing.T) {
	m, err := manifest.Load(filepath.Join("..", "..", "..", "infra", "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	o := ProjectOptions(m)
	if len(o.MetricsServices) != len(m.Services) || len(o.ServiceRoles) == 0 || o.PoolSize == 0 || o.MigrationPoolSize == 0 ||
		o.MetricsNamespace == "" || o.MetricsDimension == "" {
		t.Errorf("ProjectOptions = %+v; want every service, the roles, the pool sizes and the metrics shape", o)
	}
}
