package secrets_test

import (
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/secrets"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

// Each secret of each service is one Secrets Manager secret, generated (so the first deploy starts), named by
// CloudFormation, kept with the removal policy given, described and output for an operator, and clean of cdk-nag
// findings.
func TestOneSecretPerServiceSecret(t *testing.T) {
	stack := constructtest.NewStack(t, "ecsr-dev-stateful", "eu-west-1")
	m := &manifest.Manifest{Services: []manifest.Service{
		{Name: "shipping", Secrets: []string{"carrier-api-key", "webhook-key"}},
		{Name: "api"},
	}}
	s := secrets.New(stack, "Secrets", secrets.Props{Manifest: m, Environment: "dev", Removal: awscdk.RemovalPolicy_RETAIN})
	if got := len(s.ByService["shipping"]); got != 2 || s.ByService["api"] != nil {
		t.Fatalf("ByService = %v; want shipping's two secrets only", s.ByService)
	}
	tpl := constructtest.TemplateOf(stack)
	all := tpl.Resources("AWS::SecretsManager::Secret")
	if len(all) != 2 {
		t.Fatalf("secrets = %d; want 2", len(all))
	}
	for id, r := range all {
		p := constructtest.Props(r)
		if p["Name"] != nil || p["SecretString"] != nil || p["GenerateSecretString"] == nil {
			t.Errorf("%s: Name %v, SecretString %v, GenerateSecretString %v; want a generated value and a generated name",
				id, p["Name"], p["SecretString"], p["GenerateSecretString"])
		}
		if r["DeletionPolicy"] != "Retain" {
			t.Errorf("%s DeletionPolicy = %v; want Retain", id, r["DeletionPolicy"])
		}
		if d, _ := p["Description"].(string); !strings.Contains(d, "shipping") || !strings.Contains(d, "docs/runbook.md") {
			t.Errorf("%s description %q does not name its service and the runbook", id, d)
		}
	}
	outputs, _ := tpl["Outputs"].(map[string]any)
	if _, ok := outputs[secrets.OutputName("shipping", "carrier-api-key")]; !ok {
		t.Errorf("outputs %v lack %s", outputs, secrets.OutputName("shipping", "carrier-api-key"))
	}
	// The runbook's example queries that output by its name.
	runbook, err := os.ReadFile("../../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(runbook), "OutputKey=='"+secrets.OutputName("shipping", "carrier-api-key")+"'") {
		t.Errorf("docs/runbook.md does not query the output %s", secrets.OutputName("shipping", "carrier-api-key"))
	}
	if f := constructtest.NagFindings(t, stack); len(f) > 0 {
		t.Errorf("cdk-nag: %s", strings.Join(f, "\n"))
	}
}

func TestValidateNamesEveryBadField(t *testing.T) {
	err := secrets.Props{}.Validate()
	for _, want := range []string{"Manifest", "Environment"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v; want it to name %s", err, want)
		}
	}
}
