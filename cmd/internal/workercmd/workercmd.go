// Package workercmd is the worker command, run as `/app/ecsr worker` in the image (cmd/ecsr) and as cmd/worker
// locally: the fulfillment worker. It consumes order.placed events from the fulfillment queue,
// reserves stock or rejects each order (package fulfillment), and publishes the outcome to order-events and the
// customer's notification to notifications through its outbox relay. It serves /healthz and /readyz on
// HTTP_ADDR for ECS; it is not behind the load balancer. The run loop is the service kit's (boot.Consumer).
//
// Configuration is by environment variables only (docs/configuration.md): LOG_FORMAT, LOG_LEVEL, HTTP_ADDR
// (default :8081), SHUTDOWN_TIMEOUT (default 60s), AWS_REGION, ORDER_EVENTS_TOPIC_ARN, NOTIFICATIONS_TOPIC_ARN,
// FULFILLMENT_QUEUE_URL, the DATABASE_* variables, and the AWS SDK's own (AWS_ENDPOINT_URL, credentials).
package workercmd

import (
	"context"
	"io"
	"os"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/fulfillment"
	"github.com/ecs-reworked/ecs-reworked/internal/fulfillment/fulfillmentdb"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// Main runs the worker service as a process does, with args the arguments after the command's name: it answers
// the container health check (`/app/ecsr worker -healthcheck`) or runs until SIGTERM or SIGINT, and returns the
// exit code.
func Main(args []string) int {
	if code, ok := health.HealthcheckMain(args, os.Getenv, defaultAddr, os.Stderr); ok {
		return code
	}
	return boot.Main("worker", func(ctx context.Context) error { return Run(ctx, os.Getenv, os.Stdout) })
}

// Values from infra/services.yaml (a test keeps them equal): the defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT,
// and the visibility timeout of the queue consumed.
const (
	defaultAddr            = ":8081"
	defaultShutdownTimeout = 60 * time.Second
	queueVisibility        = 60 * time.Second
)

// readSettings reads the environment; every problem is reported in one error.
func readSettings(getenv func(string) string) (boot.Consumer, error) {
	r := config.NewReader(getenv)
	c := boot.Consumer{
		Name:       "worker",
		Settings:   boot.ReadSettings(r, defaultAddr, defaultShutdownTimeout),
		Env:        r,
		Tracing:    tracing.ReadConfig(r),
		QueueURL:   r.Required(manifest.QueueEnv(events.FulfillmentQueue)),
		Visibility: queueVisibility,
		Outbox: boot.Relay{Table: fulfillmentdb.OutboxTable, Topics: map[string]string{
			events.OrderEventsTopic:   r.Required(manifest.TopicEnv(events.OrderEventsTopic)),
			events.NotificationsTopic: r.Required(manifest.TopicEnv(events.NotificationsTopic)),
		}},
		InboxTable: fulfillmentdb.InboxTable,
		Setup:      setup,
	}
	return c, r.Err()
}

// setup builds the fulfillment service on the worker's database; its outbox wakes the relay.
func setup(base *boot.Base) (func(context.Context, []byte) error, <-chan struct{}, error) {
	store := fulfillmentdb.New(base.Pool)
	return fulfillment.NewService(store, base.Log).Handle, store.Outbox().Wake(), nil
}

// Run runs the worker with its settings from getenv and its logs on stdout until ctx ends, then drains.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	c, err := readSettings(getenv)
	if err != nil {
		return err // config.Reader's error names every variable and says it is the configuration
	}
	return c.Run(ctx, stdout)
}
