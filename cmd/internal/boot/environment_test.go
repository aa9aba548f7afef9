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
