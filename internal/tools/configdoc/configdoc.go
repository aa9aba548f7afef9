// Package configdoc renders the per-service section of docs/configuration.md from the manifest: for each service
// of infra/services.yaml, every variable its task definition sets (manifest.Environment) and what it is set to.
// The section is generated so that a new service appears in the documentation without a hand edit; a test fails
// when the page is stale (`make configdoc` rewrites it).
package configdoc

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// The markers around the generated section of the page.
const (
	Begin = "<!-- begin: generated from infra/services.yaml by `make configdoc`; do not edit -->"
	End   = "<!-- end: generated -->"
)

// described marks a value that describes what the deployment sets rather than the value itself.
const described = "\x00"

// where describes the values that differ between environments.
var where = manifest.Where{
	Region:         described + "the environment's region",
	DatabaseHost:   described + "the DB instance's endpoint, or the RDS Proxy's",
	DatabasePort:   described + "the database's port",
	DatabaseName:   described + "`database.name` of the environment file",
	DatabaseCAFile: described + "the RDS CA bundle the image ships, or `system` behind RDS Proxy",
	TopicARN:       func(name string) string { return described + "ARN of topic `" + name + "`" },
	QueueURL:       func(name string) string { return described + "URL of queue `" + name + "`" },
	TracesEndpoint: described + "X-Ray's OTLP endpoint of the region, when `tracing.sample_ratio` is above 0",
	// Any ratio above 0 sets the variables; the value rendered is replaced below.
	TraceSampleRatio: 1,
}

// Render returns the generated section for m, markers included.
func Render(m *manifest.Manifest) string {
	var b strings.Builder
	b.WriteString(Begin + "\n")
	all := slices.Clone(m.Services)
	for _, j := range m.Jobs {
		all = append(all, j.Service())
	}
	for _, s := range all {
		fmt.Fprintf(&b, "### `%s` (`%s %s`, %s)\n", s.Name, manifest.ImageBinary, s.Command, s.Kind)
		b.WriteString("| variable | on ECS |\n|---|---|\n")
		env := manifest.Environment(s, where)
		env[manifest.TraceSampleRatioEnv] = described + "`tracing.sample_ratio` of the environment file"
		for k, name := range manifest.SecretEnvironment(s) {
			env[k] = described + "secret `" + name + "` from Secrets Manager (the task definition's secrets; see Secrets)"
		}
		names := make([]string, 0, len(env))
		for k := range env {
			names = append(names, k)
		}
		slices.Sort(names)
		for _, k := range names {
			v := env[k]
			if d, ok := strings.CutPrefix(v, described); ok {
				v = d
			} else {
				v = "`" + v + "`"
			}
			fmt.Fprintf(&b, "| `%s` | %s |\n", k, v)
		}
		b.WriteString("\n")
	}
	b.WriteString(End)
	return b.String()
}

// Splice returns page with its generated section replaced by section, or an error naming the page when the
// markers are missing.
func Splice(page, section, name string) (string, error) {
	i := strings.Index(page, Begin)
	j := strings.Index(page, End)
	if i < 0 || j < i {
		return "", fmt.Errorf("%s: no generated section: the page needs the lines %q and %q", name, Begin, End)
	}
	return page[:i] + section + page[j+len(End):], nil
}

// Update rewrites the generated section of the page at path from m and reports whether it changed.
func Update(path string, m *manifest.Manifest) (bool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return false, err
	}
	out, err := Splice(string(b), Render(m), path)
	if err != nil {
		return false, err
	}
	if out == string(b) {
		return false, nil
	}
	return true, os.WriteFile(path, []byte(out), 0o644) //nolint:gosec // a documentation page, world-readable like the rest of the repository
}
