package boot

import (
	"context"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"golang.org/x/sync/errgroup"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
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
}

// Run runs the consumer service until ctx ends, then drains within SHUTDOWN_TIMEOUT: the health server
// (/healthz, /readyz on HTTP_ADDR), metrics, and the queue's consumer once the database, if the service has one,
// accepts its role. It counts MessagesHandled and MessagesFailed.
func (c Consumer) Run(ctx context.Context, stdout io.Writer) error {
	base, err := Start(ctx, c.Name, c.Settings, c.Env, stdout)
	if err != nil {
		return err
	}
	defer base.Close()
	log, rec, checker := base.Log, base.Metrics, base.Health
	stopTracing, err := tracing.Setup(ctx, c.Tracing, c.Name, log, &base.AWS)
	if err != nil {
		return err
	}
	defer tracing.Flush(ctx, stopTracing)

	mux := http.NewServeMux()
	checker.Register(mux)
	budget := SplitShutdown(c.Settings.ShutdownTimeout)
	srv, err := httpserver.New(mux, log, httpserver.Options{Addr: c.Settings.Addr, ShutdownTimeout: budget.HTTP, OnShutdown: checker.Shutdown})
	if err != nil {
		return err
	}
	if err := srv.Listen(); err != nil {
		return err
	}
	handler := func(ctx context.Context, m messaging.Received) error {
		if err := c.Handle(ctx, base, []byte(m.Body)); err != nil {
			rec.Add("MessagesFailed", metrics.Count, 1)
			log.WarnContext(ctx, "message not handled", "message_id", m.MessageID, "receive_count", m.ReceiveCount, "err", err)
			return err
		}
		rec.Add("MessagesHandled", metrics.Count, 1)
		return nil
	}
	consumer, err := messaging.NewConsumer(sqs.NewFromConfig(base.AWS), handler, log, messaging.ConsumerOptions{
		QueueURL:          c.QueueURL,
		VisibilityTimeout: c.Visibility,
		HandlerTimeout:    c.Visibility / 2,
		DrainTimeout:      budget.Consumer,
	})
	if err != nil {
		return err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx) })
	g.Go(func() error { return rec.Run(gctx, metrics.FlushInterval) })
	g.Go(func() error {
		if !base.WaitReady(gctx) {
			return nil // stopping before the database was ready: nothing to drain
		}
		g.Go(func() error { return consumer.Run(gctx) })
		return nil
	})
	err = g.Wait()
	log.Info("stopped", "err", err)
	return err
}
