// Package scaffold adds a service or a scheduled job to the repository (`make service`): its manifest entry (for a
// worker, its queue, dead-letter queue and the filtered subscription to the event types it names, or a FIFO queue
// other services send to; for a job, its schedule), a worker's sizing in every environment file, its command in
// the image's one binary, and a package with a handler (or a job's Run) and tests. The result builds, runs in
// `make up`, synthesizes and passes `make test` before anyone edits it. It refuses to overwrite anything: run twice,
// the second run fails naming what exists.
package scaffold

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/schedule"
)

// Options say what service to add.
type Options struct {
	// Name is the service's name: lowercase letters and digits, starting with a letter (also its command, its
	// queue and its Go package).
	Name string
	// Kind is manifest.KindWorker, manifest.KindWeb or manifest.KindJob.
	Kind manifest.Kind
	// Subscribe are the event types the worker receives; each must be in the event catalog (internal/events).
	Subscribe []events.Type
	// DB gives the service a database: its own schema and role (named after it), created by a new migration, with
	// an inbox so that a redelivered event has no second effect.
	DB bool
	// FIFO makes the service's queue a FIFO queue fed by direct sends (other services' sends) rather than by
	// topics: each message group is received in order, and a message sent twice is stored once. It takes no
	// Subscribe.
	FIFO bool
	// Sends are queues the service sends each event it receives to, directly (each must declare direct: true);
	// to a FIFO queue in the group of the event's subject (for an order event, its order), deduplicated by the
	// event's id.
	Sends []string
	// Secrets are the service's own secrets (Secrets Manager on AWS, files locally); the service requires each.
	Secrets []string
	// Schedule is a job's (KIND=job) EventBridge Scheduler expression, such as rate(1 hour) or cron(0 3 * * ? *).
	Schedule string
}

var (
	namePattern   = regexp.MustCompile(`^[a-z][a-z0-9]{1,30}$`)
	secretPattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,38}[a-z0-9]$`)
)

// reserved are names a service cannot take: its schema and role would collide with PostgreSQL's or RDS's own.
var reserved = regexp.MustCompile(`^(pg|rds).*$|^(public|postgres|admin|information)$`)

// Files the scaffold edits, relative to the repository's root.
const (
	ManifestPath  = "infra/services.yaml"
	EnvDir        = "infra/environments"
	EcsrPath      = "cmd/ecsr/main.go"
	MigrationsDir = "migrations"
	RolesPath     = "migrations/migrations.go"
)

// Run adds the service to the repository at root and returns the files it wrote, or an error naming the option,
// file or key at fault; on an error it has written nothing.
func Run(root string, o Options) ([]string, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	m, err := manifest.Load(filepath.Join(root, ManifestPath))
	if err != nil {
		return nil, err
	}
	if o.Kind == manifest.KindJob {
		return runJob(root, o, m)
	}
	if _, ok := m.Service(o.Name); ok {
		return nil, fmt.Errorf("%s: services already has %q; the scaffold never overwrites", ManifestPath, o.Name)
	}
	if _, ok := m.Queue(o.Name); ok {
		return nil, fmt.Errorf("%s: queues already has %q; the scaffold never overwrites", ManifestPath, o.Name)
	}
	for _, q := range o.Sends {
		if mq, ok := m.Queue(q); !ok || !mq.Direct {
			return nil, fmt.Errorf("SENDS=%s: %s has no queue %q with direct: true to send to (make service NAME=%s KIND=worker FIFO=yes adds one)",
				q, ManifestPath, q, q)
		}
	}
	d := data{Name: o.Name, Kind: o.Kind, Port: nextPort(m), Drain: 30, Visibility: 30,
		Subscriptions: subscriptions(o.Subscribe), DB: o.DB, FIFO: o.FIFO, Sends: named(o.Sends), Secrets: named(o.Secrets)}

	writes := map[string][]byte{}
	manifestText, err := os.ReadFile(filepath.Join(root, ManifestPath))
	if err != nil {
		return nil, err
	}
	newManifest, err := addToManifest(string(manifestText), d)
	if err != nil {
		return nil, err
	}
	if _, err := manifest.Decode(strings.NewReader(newManifest)); err != nil {
		return nil, fmt.Errorf("%s with %s added does not load: %w", ManifestPath, o.Name, err)
	}
	writes[ManifestPath] = []byte(newManifest)

	envFiles, err := filepath.Glob(filepath.Join(root, EnvDir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EnvDir, err)
	}
	if len(envFiles) == 0 {
		return nil, fmt.Errorf("%s: no environment file to size the service in", EnvDir)
	}
	for _, f := range envFiles {
		text, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		rel, _ := filepath.Rel(root, f)
		out, err := addSizing(string(text), rel, d)
		if err != nil {
			return nil, err
		}
		writes[rel] = []byte(out)
	}

	if err := registerCommand(root, d, writes); err != nil {
		return nil, err
	}

	if o.DB {
		migration, err := nextMigration(filepath.Join(root, MigrationsDir), d.Name)
		if err != nil {
			return nil, err
		}
		var b bytes.Buffer
		if err := migrationTemplate.Execute(&b, d); err != nil {
			return nil, err
		}
		writes[migration] = b.Bytes()
		roles, err := os.ReadFile(filepath.Join(root, RolesPath))
		if err != nil {
			return nil, err
		}
		newRoles, err := addRole(string(roles), d)
		if err != nil {
			return nil, err
		}
		writes[RolesPath] = newRoles
	}

	cmd, cmdTest, handler, handlerTest := cmdTemplate, cmdTestTemplate, handlerTemplate, handlerTestTemplate
	switch {
	case d.Kind == manifest.KindWeb:
		cmd, cmdTest, handler, handlerTest = webCmdTemplate, webCmdTestTemplate, webTemplate, webTestTemplate
	case d.DB:
		handler, handlerTest = handlerDBTemplate, handlerDBTestTemplate
	}
	if err := render(root, d, writes, cmd, cmdTest, handler, handlerTest); err != nil {
		return nil, err
	}

	return write(root, writes)
}

func (o Options) validate() error {
	var errs []error
	if !namePattern.MatchString(o.Name) {
		errs = append(errs, fmt.Errorf("NAME=%q: want 2 to 31 lowercase letters and digits, starting with a letter (it names the "+
			"service, its command, its queue and its Go package)", o.Name))
	}
	if reserved.MatchString(o.Name) {
		errs = append(errs, fmt.Errorf("NAME=%q: the name of a PostgreSQL or RDS schema or role; choose another", o.Name))
	}
	switch o.Kind {
	case manifest.KindWorker:
		switch {
		case len(o.Subscribe) == 0 && !o.FIFO:
			errs = append(errs, errors.New("SUBSCRIBE: a worker needs at least one event type to receive, such as SUBSCRIBE=order.fulfilled "+
				"(or FIFO=yes for a queue other services send to)"))
		case len(o.Subscribe) > 0 && o.FIFO:
			errs = append(errs, errors.New("FIFO=yes with SUBSCRIBE: a FIFO queue is fed by direct sends, not by the manifest's standard "+
				"topics; drop one of them"))
		}
	case manifest.KindJob:
		if err := schedule.Validate(o.Schedule); err != nil {
			errs = append(errs, fmt.Errorf("SCHEDULE: %w", err))
		}
		if o.DB || o.FIFO || len(o.Subscribe) > 0 || len(o.Sends) > 0 {
			errs = append(errs, errors.New("KIND=job: a job takes SCHEDULE and SECRETS; DB, FIFO, SUBSCRIBE and SENDS are generated "+
				"for workers (a job may declare database_user, publishes and sends in its infra/services.yaml entry: docs/configuration.md, \"Scheduled jobs\")"))
		}
	case manifest.KindWeb:
		if o.FIFO || len(o.Subscribe) > 0 || len(o.Sends) > 0 {
			errs = append(errs, errors.New("KIND=web: a web service takes DB and SECRETS; FIFO, SUBSCRIBE and SENDS are for workers"))
		}
	default:
		errs = append(errs, fmt.Errorf("KIND=%q: want worker, web or job", o.Kind))
	}
	for _, sec := range o.Secrets {
		if !secretPattern.MatchString(sec) {
			errs = append(errs, fmt.Errorf("SECRETS: %q: want 2 to 40 lowercase letters, digits or dashes, starting with a letter "+
				"(the service reads it as %s)", sec, manifest.SecretEnv(sec)))
		}
	}
	if slices.Contains(o.Sends, o.Name) {
		errs = append(errs, fmt.Errorf("SENDS=%s: a service does not send to its own queue", o.Name))
	}
	for _, t := range o.Subscribe {
		if _, ok := events.TopicOf(t); !ok {
			errs = append(errs, fmt.Errorf("SUBSCRIBE: event type %q is in no topic of the event catalog (internal/events): nobody "+
				"publishes it; known types: %s", t, strings.Join(knownTypes(), ", ")))
		}
	}
	return errors.Join(errs...)
}

func knownTypes() []string {
	var out []string
	for _, t := range events.Types() {
		out = append(out, string(t))
	}
	return out
}

// data is what the templates and edits fill in.
type data struct {
	Name          string
	Kind          manifest.Kind
	Port          int
	Drain         int
	Visibility    int
	Subscriptions []subscription
	DB            bool
	FIFO          bool
	Sends         []namedValue
	Secrets       []namedValue
	Schedule      string
}

// namedValue is a queue the service sends to or a secret it reads: its manifest name and its Go field name.
type namedValue struct {
	Name  string
	Field string
}

// QueueEnv is the variable of the queue's URL.
func (n namedValue) QueueEnv() string { return manifest.QueueEnv(n.Name) }

// SecretEnv is the variable of the secret's value.
func (n namedValue) SecretEnv() string { return manifest.SecretEnv(n.Name) }

func named(names []string) []namedValue {
	out := make([]namedValue, 0, len(names))
	for _, n := range names {
		var field strings.Builder
		for _, part := range strings.Split(n, "-") {
			if part != "" {
				field.WriteString(strings.ToUpper(part[:1]) + part[1:])
			}
		}
		out = append(out, namedValue{Name: n, Field: field.String()})
	}
	return out
}

// subscription is one topic and the event types received from it.
type subscription struct {
	Topic string
	Types []events.Type
}

// Env is the environment variable of the service's queue.
func (d data) Env() string { return manifest.QueueEnv(d.Name) }

// subscriptions groups types by their topic, in the order first named.
func subscriptions(types []events.Type) []subscription {
	var out []subscription
	for _, t := range types {
		topic, _ := events.TopicOf(t)
		i := slices.IndexFunc(out, func(s subscription) bool { return s.Topic == topic })
		if i < 0 {
			out = append(out, subscription{Topic: topic})
			i = len(out) - 1
		}
		if !slices.Contains(out[i].Types, t) {
			out[i].Types = append(out[i].Types, t)
		}
	}
	return out
}

func nextPort(m *manifest.Manifest) int {
	port := 8080
	for _, s := range m.Services {
		port = max(port, s.Port)
	}
	return port + 1
}
