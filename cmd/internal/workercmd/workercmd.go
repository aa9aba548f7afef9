// Package workercmd is the worker command, run as `/app/ecsr worker` in the image (cmd/ecsr) and as cmd/worker
// locally: the fulfillment worker. It consumes order.placed events from the fulfillment queue,
// reserves stock or rejects each order (package fulfillment), and publishes the outcome to order-events and the
// customer's notification to notifications through its outbox relay. It serves /healthz and /readyz on
// HTTP_ADDR for ECS; it is not behind the load balancer.
//
// Configuration is by environment variables only (docs/configuration.md): LOG_FORMAT, LOG_LEVEL, HTTP_ADDR
// (default :8081), SHUTDOWN_TIMEOUT (default 60s), AWS_REGION, ORDER_EVENTS_TOPIC_ARN, NOTIFICATIONS_TOPIC_ARN,
// FULFILLMENT_QUEUE_URL, the DATABASE_* variables, and the AWS SDK's own (AWS_ENDPOINT_URL, credentials).
package workercmd

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/errgroup"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/fulfillment"
	"github.com/ecs-reworked/ecs-reworked/internal/fulfillment/fulfillmentdb"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
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

type settings struct {
	boot.Settings
	tracing   tracing.Config
	topicARNs map[string]string // by topic name
	queueURL  string
}

// readSettings reads the environment; every problem is reported in one error.
func readSettings(getenv func(string) string) (settings, *config.Reader, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings: boot.ReadSettings(r, defaultAddr, defaultShutdownTimeout),
		tracing:  tracing.ReadConfig(r),
		topicARNs: map[string]string{
			events.OrderEventsTopic:   r.Required(manifest.TopicEnv(events.OrderEventsTopic)),
			events.NotificationsTopic: r.Required(manifest.TopicEnv(events.NotificationsTopic)),
		},
		queueURL: r.Required(manifest.QueueEnv(events.FulfillmentQueue)),
	}
	return s, r, r.Err()
}

// Run runs the worker with its settings from getenv and its logs on stdout until ctx ends, then drains.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, env, err := readSettings(getenv)
	if err != nil {
		return err // config.Reader's error names every variable and says it is the configuration
	}
	base, err := boot.Start(ctx, "worker", s.Settings, env, stdout)
	if err != nil {
		return err
	}
	defer base.Close()
	log, pool, rec, checker := base.Log, base.Pool, base.Metrics, base.Health
	stopTracing, err := tracing.Setup(ctx, s.tracing, "worker", log, &base.AWS)
	if err != nil {
		return err
	}
	defer tracing.Flush(ctx, stopTracing) // the spans of the drain go out last, within a bounded wait

	store := fulfillmentdb.New(pool)
	svc := fulfillment.NewService(store, log)
	mux := http.NewServeMux()
	checker.Register(mux)
	// No load balancer routes to the worker: its health server needs no delay before draining.
	budget := boot.SplitShutdown(s.ShutdownTimeout)
	srv, err := httpserver.New(mux, log, httpserver.Options{
		Addr:            s.Addr,
		ShutdownTimeout: budget.HTTP,
		OnShutdown:      checker.Shutdown,
	})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}

	relay, err := outbox.NewRelay(pool, fulfillmentdb.OutboxTable, messaging.NewPublisher(sns.NewFromConfig(base.AWS)), log,
		outbox.RelayOptions{
			Topics:       s.topicARNs,
			Wake:         store.Outbox().Wake(),
			DrainTimeout: budget.Relay,
			OnPublished:  base.CountPublished,
		})
	if err != nil {
		return err
	}
	consumer, err := messaging.NewConsumer(sqs.NewFromConfig(base.AWS), handle(svc, rec, log), log, messaging.ConsumerOptions{
		QueueURL:          s.queueURL,
		VisibilityTimeout: queueVisibility,
		HandlerTimeout:    queueVisibility / 2,
		DrainTimeout:      budget.Consumer,
	})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	// The relay stops only once the consumer has drained, so that the outcomes of the last messages handled
	// are published by this task rather than left for another one (boot.SplitShutdown).
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(gctx))
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return rec.Run(gctx, metrics.FlushInterval) })
	// /healthz answers at once and /readyz reports the reason while the database cannot be used; no message is
	// received before the database accepts the role, so none waits in flight for a database that is not there.
	g.Go(func() error {
		if !base.WaitReady(gctx) {
			stopRelay()
			return nil // stopping before the database was ready: nothing to drain
		}
		g.Go(func() error { return relay.Run(relayCtx) })
		g.Go(func() error { defer stopRelay(); return consumer.Run(gctx) })
		g.Go(func() error {
			return inbox.New(fulfillmentdb.InboxTable).RunPruner(gctx, pool, inbox.DefaultRetention, time.Hour, log)
		})
		return nil
	})
	err = g.Wait()
	log.Info("stopped", "err", err)
	return err
}

// handle hands a message of the fulfillment queue to the service and counts the outcome.
func handle(svc *fulfillment.Service, rec *metrics.Recorder, log *slog.Logger) messaging.Handler {
	return func(ctx context.Context, m messaging.Received) error {
		if err := svc.Handle(ctx, []byte(m.Body)); err != nil {
			rec.Add("MessagesFailed", metrics.Count, 1)
			log.WarnContext(ctx, "order.placed not handled", "message_id", m.MessageID, "receive_count", m.ReceiveCount, "err", err)
			return err
		}
		rec.Add("MessagesHandled", metrics.Count, 1)
		return nil
	}
}
