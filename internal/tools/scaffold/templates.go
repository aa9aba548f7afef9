package scaffold

import "text/template"

var cmdTemplate = template.Must(template.New("cmd").Parse(`// Package {{.Name}}cmd is the {{.Name}} command, run as ` + "`/app/ecsr {{.Name}}`" + ` in the image (cmd/ecsr) and by
// ` + "`make up`" + `: a worker that handles the events of its queue, {{.Name}} (infra/services.yaml), with
// internal/{{.Name}}. The service kit (boot.Consumer) does the rest: configuration, logs, metrics, health on
// HTTP_ADDR, {{if .DB}}the database as its own role, {{end}}the consumer and the drain within SHUTDOWN_TIMEOUT.
package {{.Name}}cmd

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
	"github.com/ecs-reworked/ecs-reworked/internal/{{.Name}}"
)

// Main runs the service as a process does, with args the arguments after the command's name: it answers the
// container health check (` + "`/app/ecsr {{.Name}} -healthcheck`" + `) or runs until SIGTERM or SIGINT, and returns the exit
// code.
func Main(args []string) int {
	if code, ok := health.HealthcheckMain(args, os.Getenv, defaultAddr, os.Stderr); ok {
		return code
	}
	return boot.Main("{{.Name}}", func(ctx context.Context) error { return Run(ctx, os.Getenv, os.Stdout) })
}

// Values from infra/services.yaml (a test keeps them equal): the defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT,
// and the visibility timeout of the queue consumed.
const (
	defaultAddr            = ":{{.Port}}"
	defaultShutdownTimeout = {{.Drain}} * time.Second
	queueVisibility        = {{.Visibility}} * time.Second
)

// readSettings reads the environment; every problem is reported in one error.
func readSettings(getenv func(string) string) (boot.Consumer, error) {
	r := config.NewReader(getenv)
	c := boot.Consumer{
		Name:       "{{.Name}}",
		Settings:   boot.ReadSettings{{if not .DB}}WithoutDatabase{{end}}(r, defaultAddr, defaultShutdownTimeout),
		Env:        r,
		Tracing:    tracing.ReadConfig(r),
		QueueURL:   r.Required(manifest.QueueEnv("{{.Name}}")),
		Visibility: queueVisibility,
{{- if .DB}}
		InboxTable: {{.Name}}.InboxTable,
{{- end}}
	}
	return c, r.Err()
}

// Run runs the service with its settings from getenv and its logs on stdout until ctx ends, then drains.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	c, err := readSettings(getenv)
	if err != nil {
		return err // config.Reader's error names every variable and says it is the configuration
	}
{{- if .DB}}
	// The service is built once, on the pool, before the first message.
	c.Setup = func(base *boot.Base) (func(context.Context, []byte) error, <-chan struct{}, error) {
		return {{.Name}}.New(base.Pool, base.Log).Handle, nil, nil
	}
{{- else}}
	c.Handle = func(ctx context.Context, base *boot.Base, body []byte) error {
		return {{.Name}}.Handle(ctx, base.Log, body)
	}
{{- end}}
	return c.Run(ctx, stdout)
}
`))

var cmdTestTemplate = template.Must(template.New("cmdtest").Parse(`package {{.Name}}cmd

import (
	"strconv"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

// The {{.Name}} service reads every variable its task definition sets (manifest.Environment, from
// infra/services.yaml) and requires no other: a misspelt name fails here rather than on a deploy.
func TestReadsItsTaskEnvironment(t *testing.T) {
	m, err := manifest.Load("../../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range boot.EnvironmentProblems(m, "{{.Name}}", func(getenv func(string) string) *config.Reader {
		c, _ := readSettings(getenv)
		return c.Env
	}) {
		t.Error(p)
	}
}

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
`))

var handlerTemplate = template.Must(template.New("handler").Parse(`// Package {{.Name}} is what the {{.Name}} service does with the events it receives ({{range $i, $s := .Subscriptions}}{{if $i}}, {{end}}{{range $j, $t := $s.Types}}{{if $j}}, {{end}}{{$t}}{{end}} from {{$s.Topic}}{{end}}).
// Handle logs each event; replace its body with the service's work.
package {{.Name}}

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
)

// Handle handles one event. An error leaves the message to be received again, and after the queue's
// max_receive_count moves it to the dead-letter queue: return one for a message that can never be handled too.
func Handle(ctx context.Context, log *slog.Logger, body []byte) error {
	e, err := events.Decode(body)
	if err != nil {
		return fmt.Errorf("not an event: %w", err)
	}
	entity := "subject"
	if strings.HasPrefix(string(e.Type), "order.") {
		entity = "order_id" // an order event's subject is the order
	}
	log.InfoContext(ctx, "event received", "event_id", e.ID, "type", e.Type, entity, e.Subject)
	return nil
}
`))

var handlerTestTemplate = template.Must(template.New("handlertest").Parse(`package {{.Name}}_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
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
	if err := {{.Name}}.Handle(context.Background(), log, body); err != nil {
		t.Fatalf("Handle() = %v", err)
	}
	for _, want := range []string{` + "`\"event_id\":\"` + e.ID + `\"`, `\"type\":\"order.fulfilled\"`, `\"order_id\":\"` + e.Subject + `\"`" + `} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log %s lacks %s", out.String(), want)
		}
	}
	if err := {{.Name}}.Handle(context.Background(), log, []byte("not json")); err == nil {
		t.Error("Handle(not an event) = nil; want an error, so the message goes to the dead-letter queue")
	}
}
`))

var handlerDBTemplate = template.Must(template.New("handlerdb").Parse(`// Package {{.Name}} is what the {{.Name}} service does with the events it receives ({{range $i, $s := .Subscriptions}}{{if $i}}, {{end}}{{range $j, $t := $s.Types}}{{if $j}}, {{end}}{{$t}}{{end}} from {{$s.Topic}}{{end}}),
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
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
)

// InboxTable holds the ids of the events handled (its migration creates it).
var InboxTable = pgx.Identifier{"{{.Name}}", "inbox"}

// Service handles the events, connected as the service's own role.
type Service struct {
	pool  *pgxpool.Pool
	inbox *inbox.Inbox
	log   *slog.Logger
}

// New returns the Service of pool.
func New(pool *pgxpool.Pool, log *slog.Logger) *Service {
	return &Service{pool: pool, inbox: inbox.New(InboxTable), log: log}
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
	s.log.InfoContext(ctx, "event received", "event_id", e.ID, "type", e.Type, entity, e.Subject, "first", first)
	return nil
}
`))

var handlerDBTestTemplate = template.Must(template.New("handlerdbtest").Parse(`package {{.Name}}_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
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
	svc := {{.Name}}.New(pool, slog.New(slog.NewJSONHandler(&out, nil)))
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
	for _, want := range []string{` + "`\"event_id\":\"` + e.ID + `\"`, `\"order_id\":\"` + e.Subject + `\"`, `\"first\":true`, `\"first\":false`" + `} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("log %s lacks %s", out.String(), want)
		}
	}
	if err := svc.Handle(context.Background(), []byte("not json")); err == nil {
		t.Error("Handle(not an event) = nil; want an error, so the message goes to the dead-letter queue")
	}
}
`))
