package scaffold

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// runJob adds a scheduled job (KIND=job): its entry under jobs: in the manifest, its command in the image's
// binary, and a package whose Run the kit's boot.Job runs on the schedule. It writes nothing on an error.
func runJob(root string, o Options, m *manifest.Manifest) ([]string, error) {
	if _, ok := m.Job(o.Name); ok {
		return nil, fmt.Errorf("%s: jobs already has %q; the scaffold never overwrites", ManifestPath, o.Name)
	}
	d := data{Name: o.Name, Kind: o.Kind, Drain: 30, Schedule: o.Schedule, Secrets: named(o.Secrets)}
	writes := map[string][]byte{}
	text, err := os.ReadFile(filepath.Join(root, ManifestPath))
	if err != nil {
		return nil, err
	}
	var entry bytes.Buffer
	if err := jobManifestTemplate.Execute(&entry, d); err != nil {
		return nil, err
	}
	out := strings.TrimRight(string(text), "\n") + "\n"
	if !strings.Contains(out, "\njobs:\n") {
		out += "\n# Scheduled jobs: a task that runs `ecsr <command>` to completion on its schedule (EventBridge Scheduler on AWS,\n" +
			"# make up locally; make job NAME=<name> runs one now). See docs/configuration.md, \"Scheduled jobs\".\njobs:\n"
	}
	out += entry.String()
	if _, err := manifest.Decode(strings.NewReader(out)); err != nil {
		return nil, fmt.Errorf("%s with %s added does not load: %w", ManifestPath, o.Name, err)
	}
	writes[ManifestPath] = []byte(out)

	if err := registerCommand(root, d, writes); err != nil {
		return nil, err
	}
	if err := render(root, d, writes, jobCmdTemplate, jobCmdTestTemplate, jobTemplate, jobTestTemplate); err != nil {
		return nil, err
	}
	return write(root, writes)
}

// render renders the service's four Go files into writes: cmd/internal/<name>cmd/<name>cmd.go and its test from
// cmd and cmdTest, internal/<name>/<name>.go and its test from code and codeTest, each gofmt-ed. A file that exists
// is an error: the scaffold never overwrites.
func render(root string, d data, writes map[string][]byte, cmd, cmdTest, code, codeTest *template.Template) error {
	for path, tmpl := range map[string]*template.Template{
		filepath.Join("cmd", "internal", d.Name+"cmd", d.Name+"cmd.go"):      cmd,
		filepath.Join("cmd", "internal", d.Name+"cmd", d.Name+"cmd_test.go"): cmdTest,
		filepath.Join("internal", d.Name, d.Name+".go"):                      code,
		filepath.Join("internal", d.Name, d.Name+"_test.go"):                 codeTest,
	} {
		if _, err := os.Stat(filepath.Join(root, path)); err == nil {
			return fmt.Errorf("%s already exists; the scaffold never overwrites", path)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, d); err != nil {
			return fmt.Errorf("render %s: %w", path, err)
		}
		src, err := format.Source(b.Bytes())
		if err != nil {
			return fmt.Errorf("render %s: %w\n%s", path, err, b.String())
		}
		writes[path] = src
	}
	return nil
}

// write writes every file of writes under root and returns their paths, sorted.
func write(root string, writes map[string][]byte) ([]string, error) {
	paths := make([]string, 0, len(writes))
	for p := range writes {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	for _, p := range paths {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil { //nolint:gosec // source directories of the repository
			return nil, err
		}
		if err := os.WriteFile(full, writes[p], 0o644); err != nil { //nolint:gosec // source files of the repository
			return nil, err
		}
	}
	return paths, nil
}

var jobManifestTemplate = parse("jobentry", `  - name: {{.Name}}
    description: The {{.Name}} job (cmd/internal/{{.Name}}cmd, internal/{{.Name}}).
    command: {{.Name}}
    schedule: {{.Schedule}} # UTC; EventBridge Scheduler on AWS, make up locally
{{- if .Secrets}}
    secrets: [{{range $i, $x := .Secrets}}{{if $i}}, {{end}}{{$x.Name}}{{end}}] # Secrets Manager on AWS, .local/secrets/{{.Name}}/ locally
{{- end}}
    drain_seconds: {{.Drain}}
`)

var jobCmdTemplate = parse("jobcmd", `// Package {{.Name}}cmd is the {{.Name}} job, run as `+"`/app/ecsr {{.Name}}`"+` by its schedule ({{.Schedule}},
// infra/services.yaml: jobs) on AWS and by `+"`make up`"+` locally: internal/{{.Name}}'s Run, once, under the kit's
// boot.Job (configuration, logs, metrics, the exit code).
package {{.Name}}cmd

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
	"github.com/ecs-reworked/ecs-reworked/internal/{{.Name}}"
)

// Main runs the job as a process does, with args the arguments after the command's name, and returns the exit
// code: 0 when the run succeeded.
func Main(_ []string) int {
	return boot.Main("{{.Name}}", func(ctx context.Context) error { return Run(ctx, os.Getenv, os.Stdout) })
}

// defaultShutdownTimeout is the job's drain_seconds in infra/services.yaml (a test keeps them equal).
const defaultShutdownTimeout = {{.Drain}} * time.Second

// settings are the job's settings: the kit's job and what its Run needs from the environment.
type settings struct {
	boot.Job
	deps {{.Name}}.Deps // Log are set once the job has started
}

// readSettings reads the environment; every problem is reported in one error.
func readSettings(getenv func(string) string) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{Job: boot.Job{
		Name:     "{{.Name}}",
		Settings: boot.ReadSettingsWithoutDatabase(r, ":0", defaultShutdownTimeout),
		Env:      r,
		Tracing:  tracing.ReadConfig(r),
	}}
{{- template "readSecrets" .}}
	return s, r.Err()
}

// Run runs the job once with its settings from getenv and its logs on stdout.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := readSettings(getenv)
	if err != nil {
		return err // config.Reader's error names every variable and says it is the configuration
	}
	s.Do = func(ctx context.Context, base *boot.Base) error {
		d := s.deps
		d.Log = base.Log
		return {{.Name}}.Run(ctx, d)
	}
	return s.Job.Run(ctx, stdout)
}
`)

var jobCmdTestTemplate = parse("jobcmdtest", `package {{.Name}}cmd

import (
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

{{template "envContractTest" .}}

// The default of SHUTDOWN_TIMEOUT is the manifest's drain_seconds.
func TestDefaultsFollowManifest(t *testing.T) {
	m, err := manifest.Load("../../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	j, _ := m.Job("{{.Name}}")
	if got, want := defaultShutdownTimeout, time.Duration(j.DrainSeconds)*time.Second; got != want {
		t.Errorf("defaultShutdownTimeout = %s; infra/services.yaml says %s", got, want)
	}
}
`)

var jobTemplate = parse("job", `// Package {{.Name}} is what the {{.Name}} job does on each run ({{.Schedule}}). Run logs the run; replace its
// body with the job's work.
package {{.Name}}

import (
	"context"
	"log/slog"
	"time"
{{- if .Secrets}}

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
{{- end}}
)

// Deps is what the job uses.
type Deps struct {
	Log *slog.Logger
{{- template "secretFields" .}}
}

// Run does one run of the job. An error fails the run: the task exits 1, the kit logs "job failed" and counts
// JobsFailed, which alarms on AWS; the next run comes on the schedule.
func Run(ctx context.Context, d Deps) error {
	d.Log.InfoContext(ctx, "job ran", "at", time.Now().UTC().Format(time.RFC3339))
	return nil
}
`)

var jobTestTemplate = parse("jobtest", `package {{.Name}}_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/{{.Name}}"
)

// A run logs that it ran.
func TestRun(t *testing.T) {
	var out logtest.Buffer
	d := {{.Name}}.Deps{Log: slog.New(slog.NewJSONHandler(&out, nil))}
	if err := {{.Name}}.Run(context.Background(), d); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if !strings.Contains(out.String(), `+"`"+`"msg":"job ran"`+"`"+`) {
		t.Errorf("log %s lacks the run", out.String())
	}
}
`)
