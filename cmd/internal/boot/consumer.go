package boot

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// Consumer is a worker service that handles the messages of one queue: everything but Handle is the kit's.
type Consumer struct {
	// Name is the service's name in infra/services.yaml (its logs, metrics and spans carry it).
	Name string
	// Settings and Env are what ReadSettings (or ReadSettingsWithoutDatabase) read; Tracing what
	// tracing.ReadConfig read with the same reader.
	Settings Settings
	Env      *config.Reader
	Tracing  tracing.Config
	// QueueURL is the queue consumed; Visibility its visibility timeout (visibility_timeout_seconds).
	QueueURL   string
	Visibility time.Duration
	// Handle handles one message's body; an error leaves the message to be received again, and after the queue's
	// max_receive_count to its dead-letter queue. base gives the service's logger, AWS configuration and pool.
	Handle func(ctx context.Context, base *Base, body []byte) error
	// Setup, when set, takes Handle's place for a service whose handler is built once (a store on base.Pool, a
	// domain service): it runs once the Base has started, before the first message, and returns the handler
	// and the wake-up channel of the outbox it writes (outbox.Outbox.Wake; nil, the relay polls).
	Setup func(base *Base) (handle func(ctx context.Context, body []byte) error, wake <-chan struct{}, err error)
	// Outbox, when its Table is set, is relayed to its topics: the events the handler wrote in the same
	// transaction as its work (a service with a database only). It drains after the consumer.
	Outbox Relay
	// InboxTable, when set, is the inbox the handler deduplicates with; it is pruned hourly.
	InboxTable pgx.Identifier
}

// Relay is the outbox a Consumer's relay publishes.
type Relay struct {
	Table  pgx.Identifier    // the outbox table
	Topics map[string]string // the ARN of every topic it publishes to, by name (manifest.TopicEnv)
}

// Run runs the consumer service until ctx ends, then drains within SHUTDOWN_TIMEOUT: the health server
// (/healthz, /readyz on HTTP_ADDR), metrics, and the queue's consumer, the outbox relay and the inbox pruner
// once the database, if the service has one, accepts its role. The consumer drains first, then the relay
// publishes what its last messages wrote. It counts MessagesHandled and MessagesFailed.
func (c Consumer) Run(ctx context.Context, stdout io.Writer) error {
	if (c.Handle == nil) == (c.Setup == nil) {
		return fmt.Errorf("%s: a Consumer needs exactly one of Handle and Setup", c.Name)
	}
	base, stop, err := startTraced(ctx, c.Name, c.Settings, c.Env, c.Tracing, stdout)
	if err != nil {
		return err
	}
	defer stop()
	log, rec, checker := base.Log, base.Metrics, base.Health

	handle := func(ctx context.Context, body []byte) error { return c.Handle(ctx, base, body) }
	var wake <-chan struct{}
	if c.Setup != nil {
		if handle, wake, err = c.Setup(base); err != nil {
			return err
		}
	}
	mux := http.NewServeMux()
	checker.Register(mux)
	// No load balancer routes to a worker: its health server needs no delay before draining.
	budget := SplitShutdown(c.Settings.ShutdownTimeout)
	srv, err := httpserver.New(mux, log, httpserver.Options{Addr: c.Settings.Addr, ShutdownTimeout: budget.HTTP, OnShutdown: checker.Shutdown})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	consumer, err := newConsumer(base, c.QueueURL, c.Visibility, handle, budget)
	if err != nil {
		return err
	}
	relay, err := c.Outbox.relay(c.Name, base, wake, budget)
	if err != nil {
		return err
	}
	if err := needsDatabase(c.Name, "an inbox", c.InboxTable != nil, base); err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	// The relay stops only once the consumer has drained, so that the outcomes of the last messages handled
	// are published by this task rather than left for another one (SplitShutdown).
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(gctx))
	defer stopRelay()
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return rec.Run(gctx, metrics.FlushInterval) })
	// /healthz answers at once and /readyz reports the reason while the database cannot be used; no message is
	// received before the database accepts the role, so none waits in flight for a database that is not there.
	g.Go(func() error {
		if !base.WaitReady(gctx) {
			stopRelay()
			return nil // stopping before the database was ready: nothing to drain
		}
		if relay != nil {
			g.Go(func() error { return relay.Run(relayCtx) })
		}
		g.Go(func() error { defer stopRelay(); return consumer.Run(gctx) })
		if c.InboxTable != nil {
			g.Go(func() error {
				return inbox.New(c.InboxTable).RunPruner(gctx, base.Pool, inbox.DefaultRetention, time.Hour, log)
			})
		}
		return nil
	})
	err = g.Wait()
	log.Info("stopped", "err", err)
	return err
}

// startTraced starts the service's Base and its tracing; stop flushes the spans (those of the drain go out
// last, within a bounded wait), then closes the Base.
func startTraced(ctx context.Context, name string, s Settings, env *config.Reader, tc tracing.Config, stdout io.Writer) (*Base, func(), error) {
	base, err := Start(ctx, name, s, env, stdout)
	if err != nil {
		return nil, nil, err
	}
	stopTracing, err := tracing.Setup(ctx, tc, name, base.Log, &base.AWS)
	if err != nil {
		base.Close()
		return nil, nil, err
	}
	return base, func() { tracing.Flush(ctx, stopTracing); base.Close() }, nil
}

// newConsumer is the consumer of queueURL for handle, counting each outcome (counted), with a handler timeout of
// half the visibility timeout and the consumer's share of the shutdown budget.
func newConsumer(base *Base, queueURL string, visibility time.Duration, handle func(context.Context, []byte) error, budget ShutdownBudget) (*messaging.Consumer, error) {
	return messaging.NewConsumer(sqs.NewFromConfig(base.AWS), counted(handle, base.Metrics, base.Log), base.Log, messaging.ConsumerOptions{
		QueueURL:          queueURL,
		VisibilityTimeout: visibility,
		HandlerTimeout:    visibility / 2,
		DrainTimeout:      budget.Consumer,
	})
}

// counted hands a message's body to handle and counts the outcome.
func counted(handle func(context.Context, []byte) error, rec *metrics.Recorder, log *slog.Logger) messaging.Handler {
	return func(ctx context.Context, m messaging.Received) error {
		if err := handle(ctx, []byte(m.Body)); err != nil {
			rec.Add("MessagesFailed", metrics.Count, 1)
			log.WarnContext(ctx, "message not handled", "message_id", m.MessageID, "receive_count", m.ReceiveCount, "err", err)
			return err
		}
		rec.Add("MessagesHandled", metrics.Count, 1)
		return nil
	}
}

// snsClient is the SNS client of the service's AWS configuration.
func snsClient(base *Base) *sns.Client { return sns.NewFromConfig(base.AWS) }
