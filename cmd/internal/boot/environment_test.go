package boot_test

import (
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// A reader that gets a queue's variable name wrong is told twice: the task definition's variable is never read, and
// the wrong one it requires is never set; each message names the manifest's file and key.
func TestEnvironmentProblemsNameTheFileAndKey(t *testing.T) {
	m := &manifest.Manifest{Services: []manifest.Service{{Name: "shipping", Command: "shipping", Port: 8082,
		DrainSeconds: 30, DatabaseUser: "shipping", Consumes: []string{"shipping"}}}}
	reads := func(queueVar string) func(func(string) string) *config.Reader {
		return func(getenv func(string) string) *config.Reader {
			r := config.NewReader(getenv)
			boot.ReadSettings(r, ":8082", 0)
			tracing.ReadConfig(r)
			r.Required(queueVar)
			return r
		}
	}
	if got := boot.EnvironmentProblems(m, "shipping", reads("SHIPPING_QUEUE_URL")); len(got) != 0 {
		t.Fatalf("a reader of exactly the task definition's variables: problems %q; want none", got)
	}
	got := strings.Join(boot.EnvironmentProblems(m, "shipping", reads("SHIPMENTS_QUEUE_URL")), "\n")
	for _, want := range []string{
		"infra/services.yaml: services.shipping.consumes (shipping): the task definition sets SHIPPING_QUEUE_URL, which the shipping service never reads",
		"infra/services.yaml: services.shipping: the shipping service requires SHIPMENTS_QUEUE_URL, which its task definition does not set",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("problems:\n%s\nwant one containing %q", got, want)
		}
	}
	if got := boot.EnvironmentProblems(m, "billing", reads("X")); len(got) != 1 || !strings.Contains(got[0], `no service or job has command "billing"`) {
		t.Errorf("an unknown command: problems %q", got)
	}
}

// A secret the code requires but the manifest does not declare, and one declared but never read, each name the
// file and key; a job is checked the same way, under jobs.
func TestEnvironmentProblemsOfSecretsAndJobs(t *testing.T) {
	m := &manifest.Manifest{
		Services: []manifest.Service{{Name: "shipping", Command: "shipping", Port: 8082, DrainSeconds: 30}},
		Jobs:     []manifest.Job{{Name: "nightly", Command: "nightly", DrainSeconds: 30, Secrets: []string{"report-key"}}},
	}
	reads := func(secret string) func(func(string) string) *config.Reader {
		return func(getenv func(string) string) *config.Reader {
			r := config.NewReader(getenv)
			boot.ReadSettingsWithoutDatabase(r, ":8082", 0)
			tracing.ReadConfig(r)
			if secret != "" {
				r.RequiredSecret(secret)
			}
			return r
		}
	}
	got := strings.Join(boot.EnvironmentProblems(m, "shipping", reads("CARRIER_API_KEY")), "\n")
	if want := "infra/services.yaml: services.shipping: the shipping service requires CARRIER_API_KEY, which its task definition " +
		"does not set: fix the name in the code, or declare the topic (publishes), queue (consumes, sends) or secret (secrets) it stands for"; !strings.Contains(got, want) {
		t.Errorf("an undeclared secret: problems\n%s\nwant %q", got, want)
	}
	if got := boot.EnvironmentProblems(m, "nightly", reads("REPORT_KEY")); len(got) != 0 {
		t.Errorf("a job reading its declared secret: problems %q; want none", got)
	}
	got = strings.Join(boot.EnvironmentProblems(m, "nightly", reads("")), "\n")
	if want := "infra/services.yaml: jobs.nightly.secrets (report-key): the task definition sets REPORT_KEY, which the nightly job never reads"; !strings.Contains(got, want) {
		t.Errorf("a declared secret never read: problems\n%s\nwant %q", got, want)
	}
}
