package scaffold

import (
	"bytes"
	"fmt"
	"go/format"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/connections"
)

// addToManifest inserts the service's queue at the end of queues and the service at the end of services, keeping
// the file's comments and layout. It relies on the manifest's order: topics, queues, services, then jobs.
func addToManifest(text string, d data) (string, error) {
	const servicesKey = "\nservices:\n"
	i := strings.Index(text, servicesKey)
	if i < 0 {
		return "", fmt.Errorf("%s: no top-level services: key to add the service to", ManifestPath)
	}
	var queue, service bytes.Buffer
	if d.Kind != manifest.KindWeb { // a web service consumes no queue
		if err := queueTemplate.Execute(&queue, d); err != nil {
			return "", err
		}
	}
	if err := serviceTemplate.Execute(&service, d); err != nil {
		return "", err
	}
	head, tail := text[:i+1], text[i+1:]
	if queue.Len() > 0 {
		head = strings.TrimRight(head, "\n") + "\n" + queue.String() + "\n"
	}
	// The service goes at the end of services:, before the jobs: that may follow it (and the comment lines above
	// that key).
	rest := ""
	if j := strings.Index(tail, "\njobs:\n"); j >= 0 {
		lines := strings.SplitAfter(tail[:j+1], "\n")
		k := len(lines) - 1 // lines ends with "" after the final newline
		for k > 0 && (strings.HasPrefix(lines[k-1], "#") || strings.TrimSpace(lines[k-1]) == "") {
			k--
		}
		cut := len(strings.Join(lines[:k], ""))
		tail, rest = tail[:cut], "\n"+strings.TrimLeft(tail[cut:], "\n")
	}
	return head + strings.TrimRight(tail, "\n") + "\n" + service.String() + rest, nil
}

// addSizing inserts the service's sizing at the end of the environment file's services: map.
func addSizing(text, path string, d data) (string, error) {
	lines := strings.SplitAfter(text, "\n")
	start := -1
	for i, l := range lines {
		if strings.TrimRight(l, "\n") == "services:" {
			start = i
			break
		}
	}
	if start < 0 {
		return "", fmt.Errorf("%s: no top-level services: key to add the sizing of %s to", path, d.Name)
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\n")
		if l != "" && !strings.HasPrefix(l, " ") && !strings.HasPrefix(l, "#") {
			end = i
			break
		}
	}
	for end > start+1 && strings.TrimSpace(lines[end-1]) == "" { // before the blank lines that end the block
		end--
	}
	production := regexp.MustCompile(`(?m)^production:\s*true\s*(#.*)?$`).MatchString(text)
	var b bytes.Buffer
	if err := sizingTemplate.Execute(&b, struct {
		Data       data
		Production bool
		Pool       int
	}{d, production, connections.PerServiceTask}); err != nil {
		return "", err
	}
	if end > 0 && !strings.HasSuffix(lines[end-1], "\n") {
		lines[end-1] += "\n"
	}
	out := append(append(append([]string{}, lines[:end]...), b.String()), lines[end:]...)
	return strings.Join(out, ""), nil
}

// registerCommand puts cmd/ecsr/main.go with the service's command registered (addCommand) into writes.
func registerCommand(root string, d data, writes map[string][]byte) error {
	src, err := os.ReadFile(filepath.Join(root, EcsrPath))
	if err != nil {
		return err
	}
	out, err := addCommand(string(src), d)
	if err != nil {
		return err
	}
	writes[EcsrPath] = out
	return nil
}

// addCommand registers the service's command in the image's one binary: its import, its usage line and its
// entry in the commands map.
func addCommand(src string, d data) ([]byte, error) {
	const (
		importAnchor = "\t\"github.com/ecs-reworked/ecs-reworked/cmd/internal/"
		usageAnchor  = "//\tecsr migrate "
		mapAnchor    = "var commands = map[string]func(args []string) int{\n"
	)
	for _, a := range []string{importAnchor, usageAnchor, mapAnchor} {
		if !strings.Contains(src, a) {
			return nil, fmt.Errorf("%s: cannot find %q to register the command %s", EcsrPath, strings.TrimSpace(a), d.Name)
		}
	}
	i := strings.Index(src, importAnchor)
	src = src[:i] + "\t\"github.com/ecs-reworked/ecs-reworked/cmd/internal/" + d.Name + "cmd\"\n" + src[i:]
	i = strings.Index(src, usageAnchor)
	usage := fmt.Sprintf("//\tecsr %s [-healthcheck]%s the %s worker (cmd/internal/%scmd)\n",
		d.Name, strings.Repeat(" ", max(1, 37-len(d.Name)-len(" [-healthcheck]"))), d.Name, d.Name)
	if d.Kind == manifest.KindWeb {
		usage = fmt.Sprintf("//\tecsr %s [-healthcheck]%s the %s web service (cmd/internal/%scmd)\n",
			d.Name, strings.Repeat(" ", max(1, 37-len(d.Name)-len(" [-healthcheck]"))), d.Name, d.Name)
	}
	if d.Kind == manifest.KindJob {
		usage = fmt.Sprintf("//\tecsr %s%s the %s job, one run (cmd/internal/%scmd)\n", d.Name, strings.Repeat(" ", max(1, 37-len(d.Name))), d.Name, d.Name)
	}
	src = src[:i] + usage + src[i:]
	i = strings.Index(src, mapAnchor) + len(mapAnchor)
	src = src[:i] + fmt.Sprintf("\t%q: %scmd.Main,\n", d.Name, d.Name) + src[i:]
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("%s with %s registered does not parse: %w", EcsrPath, d.Name, err)
	}
	return out, nil
}

var queueTemplate = template.Must(template.New("queue").Parse(`  - name: {{.Name}}
{{- if .FIFO}}
    description: Messages other services send the {{.Name}} service directly (their sends), in order per message group.
{{- else}}
    description: Events the {{.Name}} service handles.
{{- end}}
    visibility_timeout_seconds: {{.Visibility}}
    max_receive_count: 5
    retention_seconds: 345600 # 4 days; its dead-letter queue keeps messages 14 days
{{- if .FIFO}}
    fifo: true
    direct: true # fed by the services that list it in their sends, not by a topic
{{- else}}
    subscriptions:
{{- range .Subscriptions}}
      - topic: {{.Topic}}
        raw_message_delivery: true
        filter_policy_scope: MessageAttributes
        filter_policy: {"type": [{{range $i, $t := .Types}}{{if $i}}, {{end}}"{{$t}}"{{end}}]}
{{- end}}
{{- end}}
`))

var serviceTemplate = template.Must(template.New("service").Parse(`  - name: {{.Name}}
    description: The {{.Name}} service (cmd/internal/{{.Name}}cmd, internal/{{.Name}}).
{{- if eq .Kind "web"}}
    kind: web
    command: {{.Name}}
    port: {{.Port}}
    health_path: /healthz
    readiness_path: /readyz
    path_pattern: /api/{{.Name}}/* # CloudFront's /api/* reaches the load balancer, whose rule sends these here
    smoke: probes # a blue/green release checks /healthz, /readyz and these through the new tasks first
    smoke_paths: [/api/{{.Name}}/hello]
{{- else}}
    kind: worker
    command: {{.Name}}
    port: {{.Port}} # health only, not behind the load balancer
    health_path: /healthz
    readiness_path: /readyz
{{- end}}
{{- if .DB}}
    database_user: {{.Name}}
{{- end}}
{{- if ne .Kind "web"}}
    consumes: [{{.Name}}]
{{- end}}
{{- if .Sends}}
    sends: [{{range $i, $q := .Sends}}{{if $i}}, {{end}}{{$q.Name}}{{end}}]
{{- end}}
{{- if .Secrets}}
    secrets: [{{range $i, $x := .Secrets}}{{if $i}}, {{end}}{{$x.Name}}{{end}}] # Secrets Manager on AWS, .local/secrets/{{.Name}}/ locally
{{- end}}
    drain_seconds: {{.Drain}}
{{- if ne .Kind "web"}}
    # Backlog scaling: the target backlog per task is acceptable_latency_seconds / seconds_per_message. Measure
    # seconds_per_message for this service (docs/benchmarks.md, "Worker throughput") before relying on it.
    acceptable_latency_seconds: 30
    seconds_per_message: 0.012
{{- end}}
`))

// sizingTemplate is the service's sizing; a production environment (production: true) runs two tasks at least,
// and a service with a database runs one task at most elsewhere, where the instance is small.
var sizingTemplate = template.Must(template.New("sizing").Parse(`  {{.Data.Name}}:
    cpu: 256
    memory: 512
    min_tasks: {{if .Production}}2{{else}}1{{end}}
{{- if and .Data.DB (not .Production)}}
    # Each task opens up to {{.Pool}} database connections: one task keeps the small instance of this environment within
    # its max_connections (make preflight, rule db-connections). Raise it with the instance class.
    max_tasks: 1
{{- else}}
    max_tasks: {{if .Production}}4{{else}}2{{end}}
{{- end}}
    spot: false
    scale_from_zero: false
`))

// nextMigration returns the path of the service's migration, numbered after the last one: goose applies
// migrations in order and refuses one numbered below a migration a deployed database already has.
func nextMigration(dir, name string) (string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.sql"))
	if err != nil {
		return "", err
	}
	last := 0
	for _, f := range files {
		n, err := strconv.Atoi(strings.SplitN(filepath.Base(f), "_", 2)[0])
		if err == nil {
			last = max(last, n)
		}
	}
	if last == 0 {
		return "", fmt.Errorf("%s: no numbered migration to follow", dir)
	}
	return filepath.Join(MigrationsDir, fmt.Sprintf("%05d_%s.sql", last+1, name)), nil
}

// addRole adds the service's role to migrations.ServiceRoles, which local systems and tests give a password.
func addRole(src string, d data) ([]byte, error) {
	const anchor = "func ServiceRoles() []string { return []string{"
	i := strings.Index(src, anchor)
	if i < 0 {
		return nil, fmt.Errorf("%s: cannot find %q to add the role %s", RolesPath, anchor, d.Name)
	}
	i += len(anchor)
	src = src[:i] + strconv.Quote(d.Name) + ", " + src[i:]
	out, err := format.Source([]byte(src))
	if err != nil {
		return nil, fmt.Errorf("%s with %s added does not parse: %w", RolesPath, d.Name, err)
	}
	return out, nil
}

// migrationTemplate creates the service's schema, role and grants, and its inbox. Names are quoted: the role is
// cluster-wide, created once, and keeps its grants in each database.
var migrationTemplate = template.Must(template.New("migration").Parse(`-- The {{.Name}} service's schema and role (make service): the role may use its own schema only. Its inbox records
-- the events it handled, in the same transaction as their effect, so a redelivery has no second effect. On RDS
-- the role authenticates with IAM tokens (rds_iam is granted where it exists); locally cmd/migrate sets a
-- password.
-- +goose Up
CREATE SCHEMA "{{.Name}}";

-- +goose StatementBegin
DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{{.Name}}') THEN
        CREATE ROLE "{{.Name}}" LOGIN;
    ELSE
        ALTER ROLE "{{.Name}}" LOGIN;
    END IF;
    IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'rds_iam') THEN
        GRANT rds_iam TO "{{.Name}}";
    END IF;
END
$$;
-- +goose StatementEnd

CREATE TABLE "{{.Name}}".inbox (
    event_id     uuid        PRIMARY KEY,
    processed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbox_processed_at ON "{{.Name}}".inbox (processed_at);

GRANT USAGE ON SCHEMA "{{.Name}}" TO "{{.Name}}";
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{{.Name}}" TO "{{.Name}}";
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{{.Name}}" TO "{{.Name}}";
ALTER DEFAULT PRIVILEGES IN SCHEMA "{{.Name}}" GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO "{{.Name}}";
ALTER DEFAULT PRIVILEGES IN SCHEMA "{{.Name}}" GRANT USAGE, SELECT ON SEQUENCES TO "{{.Name}}";

-- +goose Down
-- The role is shared by every database of the cluster: going down drops this database's schema and leaves it.
ALTER DEFAULT PRIVILEGES IN SCHEMA "{{.Name}}" REVOKE USAGE, SELECT ON SEQUENCES FROM "{{.Name}}";
ALTER DEFAULT PRIVILEGES IN SCHEMA "{{.Name}}" REVOKE SELECT, INSERT, UPDATE, DELETE ON TABLES FROM "{{.Name}}";
DROP SCHEMA "{{.Name}}" CASCADE;
`))
