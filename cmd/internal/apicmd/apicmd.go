// Package apicmd is the api command, run as `/app/ecsr api` in the image (cmd/ecsr) and as cmd/api locally:
// the orders API, the HTTP API (package api) with its health probes, the relay that publishes the orders outbox to the order-events topic, and the consumer of the order-updates queue that applies
// fulfillment outcomes and records customer notifications. The three run in one process on the service kit's
// run loop of a web service (boot.Web), and drain in order on SIGTERM within SHUTDOWN_TIMEOUT.
//
// Configuration is by environment variables only (docs/configuration.md): LOG_FORMAT, LOG_LEVEL, HTTP_ADDR
// (default :8080), SHUTDOWN_TIMEOUT (default 20s), AWS_REGION, ORDER_EVENTS_TOPIC_ARN, ORDER_UPDATES_QUEUE_URL,
// the DATABASE_* variables, and the AWS SDK's own (AWS_ENDPOINT_URL, credentials).
package apicmd

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/api"
	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// Main runs the api service as a process does, with args the arguments after the command's name: it answers
// the container health check (`/app/ecsr api -healthcheck`) or runs until SIGTERM or SIGINT, and returns the
// exit code.
func Main(args []string) int {
	if code, ok := health.HealthcheckMain(args, os.Getenv, defaultAddr, os.Stderr); ok {
		return code
	}
	return boot.Main("api", func(ctx context.Context) error { return Run(ctx, os.Getenv, os.Stdout) })
}

// Values from infra/services.yaml (a test keeps them equal): the defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT,
// and the visibility timeout of the queue consumed.
const (
	defaultAddr            = ":8080"
	defaultShutdownTimeout = 20 * time.Second
	queueVisibility        = 30 * time.Second
)

// readSettings reads the environment; every problem is reported in one error.
func readSettings(getenv func(string) string) (boot.Web, error) {
	r := config.NewReader(getenv)
	w := boot.Web{
		Name:       "api",
		Settings:   boot.ReadSettings(r, defaultAddr, defaultShutdownTimeout),
		Env:        r,
		Tracing:    tracing.ReadConfig(r),
		QueueURL:   r.Required(manifest.QueueEnv(events.OrderUpdatesQueue)),
		Visibility: queueVisibility,
		Outbox: boot.Relay{Table: ordersdb.OutboxTable, Topics: map[string]string{
			events.OrderEventsTopic: r.Required(manifest.TopicEnv(events.OrderEventsTopic)),
		}},
		InboxTable: ordersdb.InboxTable,
		Setup:      setup,
	}
	return w, r.Err()
}

// setup builds the orders service on the api's database: the HTTP API, the handler of the order-updates queue
// and the pruner of idempotency keys.
func setup(base *boot.Base, mux *http.ServeMux) (boot.WebService, error) {
	store := ordersdb.New(base.Pool)
	svc := orders.NewService(store, base.Log)
	api.New(svc, base.Log).Register(mux)
	return boot.WebService{
		Handle: applyUpdate(svc, base.Log),
		Wake:   store.Outbox().Wake(),
		Background: []func(context.Context) error{
			func(ctx context.Context) error { return store.RunKeyPruner(ctx, time.Hour, base.Log) },
		},
	}, nil
}

// Run runs the api service with its settings from getenv and its logs on stdout until ctx ends, then drains.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	w, err := readSettings(getenv)
	if err != nil {
		return err // config.Reader's error names every variable and says it is the configuration
	}
	return w.Run(ctx, stdout)
}

// applyUpdate handles a message of the order-updates queue. A message that is not a valid event is refused
// (and reaches the dead-letter queue after the queue's maxReceiveCount).
func applyUpdate(svc *orders.Service, log *slog.Logger) func(context.Context, []byte) error {
	return func(ctx context.Context, body []byte) error {
		e, err := events.Decode(body)
		if err != nil {
			log.WarnContext(ctx, "invalid message", "err", err)
			return err
		}
		return svc.Apply(ctx, e)
	}
}
