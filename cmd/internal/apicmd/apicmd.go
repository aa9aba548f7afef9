// Package apicmd is the api command, run as `/app/ecsr api` in the image (cmd/ecsr) and as cmd/api locally:
// the orders API, the HTTP API (package api) with its health probes, the relay that publishes the orders outbox to the order-events topic, and the consumer of the order-updates queue that applies
// fulfillment outcomes and records customer notifications. The three run in one process, composed with an
// errgroup, and drain in order on SIGTERM within SHUTDOWN_TIMEOUT.
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

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/errgroup"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/api"
	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
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

type settings struct {
	boot.Settings
	tracing  tracing.Config
	topicARN string
	queueURL string
}

// readSettings reads the environment; every problem is reported in one error.
func readSettings(getenv func(string) string) (settings, *config.Reader, error) {
	r := config.NewReader(getenv)
	s := settings{
		Settings: boot.ReadSettings(r, defaultAddr, defaultShutdownTimeout),
		tracing:  tracing.ReadConfig(r),
		topicARN: r.Required(manifest.TopicEnv(events.OrderEventsTopic)),
		queueURL: r.Required(manifest.QueueEnv(events.OrderUpdatesQueue)),
	}
	return s, r, r.Err()
}

// Run runs the api service with its settings from getenv and its logs on stdout until ctx ends, then drains.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, env, err := readSettings(getenv)
	if err != nil {
		return err // config.Reader's error names every variable and says it is the configuration
	}
	base, err := boot.Start(ctx, "api", s.Settings, env, stdout)
	if err != nil {
		return err
	}
	defer base.Close()
	log, pool, rec, checker := base.Log, base.Pool, base.Metrics, base.Health
	stopTracing, err := tracing.Setup(ctx, s.tracing, "api", log, &base.AWS)
	if err != nil {
		return err
	}
	defer tracing.Flush(ctx, stopTracing) // the spans of the drain go out last, within a bounded wait

	store := ordersdb.New(pool)
	svc := orders.NewService(store, log)
	mux := http.NewServeMux()
	checker.Register(mux)
	api.New(svc, log).Register(mux)
	// The HTTP server drains first (orders placed until the last request answered), then the relay publishes
	// what they wrote, all within SHUTDOWN_TIMEOUT.
	budget := boot.SplitShutdown(s.ShutdownTimeout)
	srv, err := httpserver.New(logging.Middleware(metrics.Middleware(rec, tracing.Middleware(mux, health.LivenessPath, health.ReadinessPath))), log, httpserver.Options{
		Addr:            s.Addr,
		ShutdownTimeout: budget.HTTP,
		ShutdownDelay:   budget.Delay,
		OnShutdown:      checker.Shutdown,
	})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}

	relay, err := outbox.NewRelay(pool, ordersdb.OutboxTable, messaging.NewPublisher(sns.NewFromConfig(base.AWS)), log,
		outbox.RelayOptions{
			Topics:       map[string]string{events.OrderEventsTopic: s.topicARN},
			Wake:         store.Outbox().Wake(),
			DrainTimeout: budget.Relay,
			OnPublished:  base.CountPublished,
		})
	if err != nil {
		return err
	}
	consumer, err := messaging.NewConsumer(sqs.NewFromConfig(base.AWS), applyUpdate(svc, log), log, messaging.ConsumerOptions{
		QueueURL:          s.queueURL,
		VisibilityTimeout: queueVisibility,
		HandlerTimeout:    queueVisibility / 2,
		DrainTimeout:      budget.Consumer,
	})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	// The relay stops only once the HTTP server has drained, so that the events of the last orders placed are
	// published by this task rather than left for another one.
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(gctx))
	g.Go(func() error { defer stopRelay(); return srv.Run(gctx) })
	g.Go(func() error { return rec.Run(gctx, metrics.FlushInterval) })
	// The HTTP server answers at once (/healthz 200, /readyz 503 with the reason, the API 503 while the
	// database cannot be used); what works on the database in the background starts once it accepts the role.
	g.Go(func() error {
		if !base.WaitReady(gctx) {
			return nil // stopping before the database was ready: nothing to drain
		}
		g.Go(func() error { return relay.Run(relayCtx) })
		g.Go(func() error { return consumer.Run(gctx) })
		g.Go(func() error {
			return inbox.New(ordersdb.InboxTable).RunPruner(gctx, pool, inbox.DefaultRetention, time.Hour, log)
		})
		g.Go(func() error { return store.RunKeyPruner(gctx, time.Hour, log) })
		return nil
	})
	err = g.Wait()
	log.Info("stopped", "err", err)
	return err
}

// applyUpdate handles a message of the order-updates queue. A message that is not a valid event is refused
// (and reaches the dead-letter queue after the queue's maxReceiveCount).
func applyUpdate(svc *orders.Service, log *slog.Logger) messaging.Handler {
	return func(ctx context.Context, m messaging.Received) error {
		e, err := events.Decode([]byte(m.Body))
		if err != nil {
			log.WarnContext(ctx, "invalid message", "message_id", m.MessageID, "receive_count", m.ReceiveCount, "err", err)
			return err
		}
		return svc.Apply(ctx, e)
	}
}
