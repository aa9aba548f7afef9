package configdoc_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/configdoc"
)

// docs/configuration.md lists, for every service of the manifest, the variables its task definition sets: a new
// service or a new topic, queue or setting shows up there, or this test fails.
func TestConfigurationPageIsCurrent(t *testing.T) {
	root := devenvtest.Root(t)
	m, err := manifest.Load(filepath.Join(root, "infra", "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(root, "docs", "configuration.md"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := configdoc.Splice(string(page), configdoc.Render(m), "docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	if want != string(page) {
		t.Errorf("docs/configuration.md is stale: run `make configdoc` and commit it")
	}
}

// A service's section names each variable with its value, or what the deployment sets it to, and each topic and
// queue by name.
func TestRenderNamesEveryVariable(t *testing.T) {
	m := &manifest.Manifest{Services: []manifest.Service{{Name: "shipping", Command: "shipping", Kind: manifest.KindWorker,
		Port: 8082, DrainSeconds: 30, DatabaseUser: "shipping", Publishes: []string{"order-events"}, Consumes: []string{"shipping"}}}}
	got := configdoc.Render(m)
	for _, want := range []string{
		"### `shipping` (`/app/ecsr shipping`, worker)",
		"| `DATABASE_USER` | `shipping` |",
		"| `HTTP_ADDR` | `:8082` |",
		"| `SHUTDOWN_TIMEOUT` | `30s` |",
		"| `ORDER_EVENTS_TOPIC_ARN` | ARN of topic `order-events` |",
		"| `SHIPPING_QUEUE_URL` | URL of queue `shipping` |",
		"| `OTEL_TRACES_SAMPLER_ARG` | `tracing.sample_ratio` of the environment file |",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Render() =\n%s\nwant a line %q", got, want)
		}
	}
	if _, err := configdoc.Splice("no markers", got, "page.md"); err == nil || !strings.Contains(err.Error(), "page.md") {
		t.Errorf("Splice(page without markers) = %v; want an error naming the page", err)
	}
}
