package scaffold

import "text/template"

// shared are the pieces every kind's generated code has: the fields and the reading of its secrets, and the test
// of its task environment.
var shared = template.Must(template.New("shared").Parse(`
{{- define "secretFields"}}
{{- range .Secrets}}
	// {{.Field}} is the secret {{.Name}} (infra/services.yaml: secrets): Reveal() gives its value; it is masked
	// wherever it is printed or logged. Never log Reveal().
	{{.Field}} config.Secret
{{- end}}
{{- end}}
{{- define "readSecrets"}}
{{- range .Secrets}}
	s.deps.{{.Field}} = r.RequiredSecret(manifest.SecretEnv("{{.Name}}")) // infra/services.yaml: secrets
{{- end}}
{{- end}}
{{- define "sendFields"}}{{- if .Sends}}
	// Send sends a message to a queue directly (messaging.Sender.Send).
	Send func(ctx context.Context, queueURL, group string, m messaging.Message) error
{{- end}}
{{- range .Sends}}
	// {{.Field}}QueueURL is the URL of the {{.Name}} queue, which the service sends to (infra/services.yaml: sends).
	{{.Field}}QueueURL string
{{- end}}
{{- end}}
{{- define "serviceMain"}}// Main runs the service as a process does, with args the arguments after the command's name: it answers the
// container health check (` + "`" + `/app/ecsr {{.Name}} -healthcheck` + "`" + `) or runs until SIGTERM or SIGINT, and returns the exit
// code.
func Main(args []string) int {
	if code, ok := health.HealthcheckMain(args, os.Getenv, defaultAddr, os.Stderr); ok {
		return code
	}
	return boot.Main("{{.Name}}", func(ctx context.Context) error { return Run(ctx, os.Getenv, os.Stdout) })
}
{{- end}}
{{- define "envContractTest"}}// The {{.Name}} {{if eq .Kind "job"}}job{{else}}service{{end}} reads every variable its task definition sets (manifest.Environment, from
// infra/services.yaml) and requires no other: a misspelt name fails here rather than on a deploy.
func TestReadsItsTaskEnvironment(t *testing.T) {
	m, err := manifest.Load("../../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range boot.EnvironmentProblems(m, "{{.Name}}", func(getenv func(string) string) *config.Reader {
		s, _ := readSettings(getenv)
		return s.Env
	}) {
		t.Error(p)
	}
}
{{end}}`))

// parse parses the template text named name, with the shared pieces.
func parse(name, text string) *template.Template {
	return template.Must(template.Must(shared.Clone()).New(name).Parse(text))
}

var cmdTemplate = parse("cmd", `// Package {{.Name}}cmd is the {{.Name}} command, run as `+"`/app/ecsr {{.Name}}`"+` in the image (cmd/ecsr) and by
// `+"`make up`"+`: a worker that handles the events of its queue, {{.Name}} (infra/services.yaml), with
// internal/{{.Name}}. The service kit (boot.Consumer) does the rest: configuration, logs, metrics, health on
// HTTP_ADDR, {{if .DB}}the database as its own role, {{end}}the consumer and the drain within SHUTDOWN_TIMEOUT.
package {{.Name}}cmd

import (
	"context"
	"io"
	"os"
	"time"

{{- if .Sends}}

	"github.com/aws/aws-sdk-go-v2/service/sqs"
{{end}}
	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
{{- if .Sends}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
{{- end}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
	"github.com/ecs-reworked/ecs-reworked/internal/{{.Name}}"
)

{{template "serviceMain" .}}

// Values from infra/services.yaml (a test keeps them equal): the defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT,
// and the visibility timeout of the queue consumed.
const (
	defaultAddr            = ":{{.Port}}"
	defaultShutdownTimeout = {{.Drain}} * time.Second
	queueVisibility        = {{.Visibility}} * time.Second
)

// settings are the service's settings: the kit's consumer and what its handler needs from the environment.
type settings struct {
	boot.Consumer
	deps {{.Name}}.Deps // Log{{if .Sends}} and Send{{end}} are set once the service has started
}

// readSettings reads the environment; every problem is reported in one error.
func readSettings(getenv func(string) string) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{Consumer: boot.Consumer{
		Name:       "{{.Name}}",
		Settings:   boot.ReadSettings{{if not .DB}}WithoutDatabase{{end}}(r, defaultAddr, defaultShutdownTimeout),
		Env:        r,
		Tracing:    tracing.ReadConfig(r),
		QueueURL:   r.Required(manifest.QueueEnv("{{.Name}}")),
		Visibility: queueVisibility,
{{- if .DB}}
		InboxTable: {{.Name}}.InboxTable,
{{- end}}
	}}
{{- range .Sends}}
	s.deps.{{.Field}}QueueURL = r.Required(manifest.QueueEnv("{{.Name}}")) // infra/services.yaml: sends
{{- end}}
{{- template "readSecrets" .}}
	return s, r.Err()
}

// Run runs the service with its settings from getenv and its logs on stdout until ctx ends, then drains.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := readSettings(getenv)
	if err != nil {
		return err // config.Reader's error names every variable and says it is the configuration
	}
	// The handler is built once, when the service has started, before the first message.
	s.Setup = func(base *boot.Base) (func(context.Context, []byte) error, <-chan struct{}, error) {
		d := s.deps
		d.Log = base.Log
{{- if .Sends}}
		d.Send = messaging.NewSender(sqs.NewFromConfig(base.AWS)).Send
{{- end}}
{{- if .DB}}
		return {{.Name}}.New(base.Pool, d).Handle, nil, nil
{{- else}}
		return func(ctx context.Context, body []byte) error { return {{.Name}}.Handle(ctx, d, body) }, nil, nil
{{- end}}
	}
	return s.Run(ctx, stdout)
}
`)

var cmdTestTemplate = parse("cmdtest", `package {{.Name}}cmd

import (
	"strconv"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

{{template "envContractTest" .}}

// The defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT and the queue's visibility timeout are the manifest's.
func TestDefaultsFollowManifest(t *testing.T) {
	m, err := manifest.Load("../../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.Service("{{.Name}}")
	q, _ := m.Queue("{{.Name}}")
	if got, want := defaultAddr, ":"+strconv.Itoa(s.Port); got != want {
		t.Errorf("defaultAddr = %s; infra/services.yaml says %s", got, want)
	}
	if got, want := defaultShutdownTimeout, time.Duration(s.DrainSeconds)*time.Second; got != want {
		t.Errorf("defaultShutdownTimeout = %s; infra/services.yaml says %s", got, want)
	}
	if got, want := queueVisibility, time.Duration(q.VisibilityTimeoutSeconds)*time.Second; got != want {
		t.Errorf("queueVisibility = %s; infra/services.yaml says %s", got, want)
	}
}
`)

var handlerTemplate = parse("handler", `// Package {{.Name}} is what the {{.Name}} service does with the {{if .FIFO}}messages other services send it{{else}}events it receives ({{range $i, $s := .Subscriptions}}{{if $i}}, {{end}}{{range $j, $t := $s.Types}}{{if $j}}, {{end}}{{$t}}{{end}} from {{$s.Topic}}{{end}}){{end}}.
// Handle logs each event{{if .Sends}} and sends it on{{end}}; replace its body with the service's work.
package {{.Name}}

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
{{- if .Secrets}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
{{- end}}
{{- if .Sends}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
{{- end}}
)

// Deps is what the service's handler uses beside the event.
type Deps struct {
	Log *slog.Logger
{{- template "sendFields" .}}
{{- template "secretFields" .}}
}

// Handle handles one event. An error leaves the message to be received again, and after the queue's
// max_receive_count moves it to the dead-letter queue: return one for a message that can never be handled too.
func Handle(ctx context.Context, d Deps, body []byte) error {
	e, err := events.Decode(body)
	if err != nil {
		return fmt.Errorf("not an event: %w", err)
	}
	entity := "subject"
	if strings.HasPrefix(string(e.Type), "order.") {
		entity = "order_id" // an order event's subject is the order
	}
	d.Log.InfoContext(ctx, "event received", "event_id", e.ID, "type", e.Type, entity, e.Subject)
{{- range .Sends}}
	// The event, as received, to the {{.Name}} queue: to a FIFO queue in the group of the event's subject (an
	// order event's order), so one subject's events arrive in order, deduplicated by the event's id if sent again.
	if err := d.Send(ctx, d.{{.Field}}QueueURL, e.Subject, messaging.Message{ID: e.ID, Body: string(body),
		Attributes: map[string]string{"type": string(e.Type)}}); err != nil {
		return fmt.Errorf("event %s to {{.Name}}: %w", e.ID, err)
	}
{{- end}}
	return nil
}
`)

var handlerTestTemplate = parse("handlertest", `package {{.Name}}_test

import (
	"context"
	"log/slog"
{{- if .Sends}}
	"slices"
{{- end}}
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
{{- if .Sends}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
{{- end}}
	"github.com/ecs-reworked/ecs-reworked/internal/{{.Name}}"
)

// Handle logs the event's id and type and the order it is about, and refuses a body that is not an event.
func TestHandleLogsTheEvent(t *testing.T) {
	e, err := events.New(events.OrderFulfilled, events.SourceWorker, "0190c6d6-0000-7000-8000-000000000001",
		events.OrderFulfilledData{OrderID: "0190c6d6-0000-7000-8000-000000000001"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var out logtest.Buffer
	log := slog.New(slog.NewJSONHandler(&out, nil))
	d := {{.Name}}.Deps{Log: log}
{{- if .Sends}}
	var sent []string // "<queue URL> <group> <id>"
	d.Send = func(_ context.Context, queueURL, group string, m messaging.Message) error {
		sent = append(sent, queueURL+" "+group+" "+m.ID)
		return nil
	}
{{- end}}
{{- range .Sends}}
	d.{{.Field}}QueueURL = "https://sqs.example/{{.Name}}.fifo"
{{- end}}
	if err := {{.Name}}.Handle(context.Background(), d, body); err != nil {
		t.Fatalf("Handle() = %v", err)
	}
	for _, want := range []string{`+"`\"event_id\":\"` + e.ID + `\"`, `\"type\":\"order.fulfilled\"`, `\"order_id\":\"` + e.Subject + `\"`"+`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log %s lacks %s", out.String(), want)
		}
	}
{{- range .Sends}}
	if want := "https://sqs.example/{{.Name}}.fifo " + e.Subject + " " + e.ID; !slices.Contains(sent, want) {
		t.Errorf("sent %q; want %q (the event to {{.Name}}, grouped by its subject)", sent, want)
	}
{{- end}}
	if err := {{.Name}}.Handle(context.Background(), d, []byte("not json")); err == nil {
		t.Error("Handle(not an event) = nil; want an error, so the message goes to the dead-letter queue")
	}
}
`)

var handlerDBTemplate = parse("handlerdb", `// Package {{.Name}} is what the {{.Name}} service does with the events it receives ({{range $i, $s := .Subscriptions}}{{if $i}}, {{end}}{{range $j, $t := $s.Types}}{{if $j}}, {{end}}{{$t}}{{end}} from {{$s.Topic}}{{end}}),
// in its own schema, {{.Name}}. Handle records each event in the inbox and logs it; add the service's work to the
// same transaction.
package {{.Name}}

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
{{- if .Secrets}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
{{- end}}
{{- if .Sends}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
{{- end}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
)

// InboxTable holds the ids of the events handled (its migration creates it).
var InboxTable = pgx.Identifier{"{{.Name}}", "inbox"}

// Deps is what the service's handler uses beside the event.
type Deps struct {
	Log *slog.Logger
{{- template "sendFields" .}}
{{- template "secretFields" .}}
}

// Service handles the events, connected as the service's own role.
type Service struct {
	pool  *pgxpool.Pool
	inbox *inbox.Inbox
	d     Deps
}

// New returns the Service of pool.
func New(pool *pgxpool.Pool, d Deps) *Service {
	return &Service{pool: pool, inbox: inbox.New(InboxTable), d: d}
}

// Handle handles one event once: the event's id goes into the inbox in the same transaction as the work, so a
// redelivery does nothing. An error leaves the message to be received again, and after the queue's
// max_receive_count moves it to the dead-letter queue.
func (s *Service) Handle(ctx context.Context, body []byte) error {
	e, err := events.Decode(body)
	if err != nil {
		return fmt.Errorf("not an event: %w", err)
	}
	first := false
	err = database.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		first, err = s.inbox.Record(ctx, tx, e.ID)
		if err != nil || !first {
			return err
		}
		// The service's work goes here, in tx.
		return nil
	})
	if err != nil {
		return fmt.Errorf("event %s: %w", e.ID, err)
	}
	entity := "subject"
	if strings.HasPrefix(string(e.Type), "order.") {
		entity = "order_id" // an order event's subject is the order
	}
	s.d.Log.InfoContext(ctx, "event received", "event_id", e.ID, "type", e.Type, entity, e.Subject, "first", first)
{{- if .Sends}}
	d := s.d // sent on every delivery, a redelivery too: the first send may be what failed
{{- end}}
{{- range .Sends}}
	// The event, as received, to the {{.Name}} queue: to a FIFO queue in the group of the event's subject (an
	// order event's order), so one subject's events arrive in order, deduplicated by the event's id if sent again.
	if err := d.Send(ctx, d.{{.Field}}QueueURL, e.Subject, messaging.Message{ID: e.ID, Body: string(body),
		Attributes: map[string]string{"type": string(e.Type)}}); err != nil {
		return fmt.Errorf("event %s to {{.Name}}: %w", e.ID, err)
	}
{{- end}}
	return nil
}
`)

var handlerDBTestTemplate = parse("handlerdbtest", `package {{.Name}}_test

import (
	"context"
	"log/slog"
{{- if .Sends}}
	"slices"
{{- end}}
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
{{- if .Sends}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
{{- end}}
	"github.com/ecs-reworked/ecs-reworked/internal/{{.Name}}"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// Handle, connected as the service's own role, records an event once and logs it; a redelivery has no second
// effect, and a body that is not an event is refused.
func TestHandleOnce(t *testing.T) {
	db := dbtest.NewDatabase(t)
	pool := dbtest.Connect(t, db.DSNFor("{{.Name}}"))
	admin := dbtest.Connect(t, db.DSN())
	e, err := events.New(events.OrderFulfilled, events.SourceWorker, "0190c6d6-0000-7000-8000-000000000001",
		events.OrderFulfilledData{OrderID: "0190c6d6-0000-7000-8000-000000000001"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	body, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	var out logtest.Buffer
	d := {{.Name}}.Deps{Log: slog.New(slog.NewJSONHandler(&out, nil))}
{{- if .Sends}}
	var sent []string // "<queue URL> <group> <id>"
	d.Send = func(_ context.Context, queueURL, group string, m messaging.Message) error {
		sent = append(sent, queueURL+" "+group+" "+m.ID)
		return nil
	}
{{- end}}
{{- range .Sends}}
	d.{{.Field}}QueueURL = "https://sqs.example/{{.Name}}.fifo"
{{- end}}
	svc := {{.Name}}.New(pool, d)
	for range 2 { // the second is a redelivery
		if err := svc.Handle(context.Background(), body); err != nil {
			t.Fatalf("Handle() = %v", err)
		}
	}
	var n int
	if err := admin.QueryRow(context.Background(), "SELECT count(*) FROM {{.Name}}.inbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("inbox rows = %d; want 1", n)
	}
{{- range .Sends}}
	if want := "https://sqs.example/{{.Name}}.fifo " + e.Subject + " " + e.ID; len(slices.DeleteFunc(slices.Clone(sent), func(s string) bool { return s != want })) != 2 {
		t.Errorf("sent %q; want %q on each delivery (the queue deduplicates by the event's id)", sent, want)
	}
{{- end}}
	for _, want := range []string{`+"`\"event_id\":\"` + e.ID + `\"`, `\"order_id\":\"` + e.Subject + `\"`, `\"first\":true`, `\"first\":false`"+`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log %s lacks %s", out.String(), want)
		}
	}
	if err := svc.Handle(context.Background(), []byte("not json")); err == nil {
		t.Error("Handle(not an event) = nil; want an error, so the message goes to the dead-letter queue")
	}
}
`)
