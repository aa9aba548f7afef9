package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/sync/errgroup"

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

// Web is a web service behind the load balancer: its routes, served with the kit's middleware (access logs,
// metrics, traces) beside /healthz and /readyz, and optionally the consumer of one queue, an outbox relay and
// an inbox; everything but Setup is the kit's.
type Web struct {
	// Name is the service's name in infra/services.yaml (its logs, metrics and spans carry it).
	Name string
	// Settings and Env are what ReadSettings (or ReadSettingsWithoutDatabase) read; Tracing what
	// tracing.ReadConfig read with the same reader.
	Settings Settings
	Env      *config.Reader
	Tracing  tracing.Config
	// QueueURL, when set, is a queue the service consumes beside serving (WebService.Handle handles its
	// messages); Visibility is its visibility timeout (visibility_timeout_seconds).
	QueueURL   string
	Visibility time.Duration
	// Outbox, when its Table is set, is relayed to its topics; it drains after the HTTP server and the consumer,
	// so that what their last requests and messages wrote is published by this task.
	Outbox Relay
	// InboxTable, when set, is the inbox the queue's handler deduplicates with; it is pruned hourly.
	InboxTable pgx.Identifier
	// Setup builds the service once the Base has started (a store on base.Pool, a domain service): it registers
	// the service's routes on mux and returns what runs beside them.
	Setup func(base *Base, mux *http.ServeMux) (WebService, error)
}

// WebService is what a Web's Setup built.
type WebService struct {
	// Handle handles one message of the Web's queue (required with QueueURL); an error leaves it to be
	// received again, and after max_receive_count to the dead-letter queue.
	Handle func(ctx context.Context, body []byte) error
	// Wake is the wake-up channel of the outbox the service writes (outbox.Outbox.Wake; nil, the relay polls).
	Wake <-chan struct{}
	// Background are loops (pruners) run once the database accepts the service's role, until their context ends.
	Background []func(ctx context.Context) error
}

// Run runs the web service until ctx ends, then drains within SHUTDOWN_TIMEOUT (SplitShutdown): the HTTP
// server reports not ready, keeps serving for the load balancer's sake, then finishes its requests; the
// consumer finishes its messages; then the relay publishes what both wrote. The HTTP server answers at once
// (/healthz 200, /readyz 503 with the reason while the database cannot be used); the consumer, the relay, the
// inbox pruner and the background loops start once the database, if the service has one, accepts its role.
func (w Web) Run(ctx context.Context, stdout io.Writer) error {
	if w.Setup == nil {
		return fmt.Errorf("%s: a Web service needs a Setup", w.Name)
	}
	base, stop, err := startTraced(ctx, w.Name, w.Settings, w.Env, w.Tracing, stdout)
	if err != nil {
		return err
	}
	defer stop()
	log, rec, checker := base.Log, base.Metrics, base.Health

	mux := http.NewServeMux()
	checker.Register(mux)
	ws, err := w.Setup(base, mux)
	if err != nil {
		return err
	}
	if (w.QueueURL == "") != (ws.Handle == nil) {
		return fmt.Errorf("%s: a Web service with a QueueURL needs a WebService.Handle, and only then", w.Name)
	}
	budget := SplitShutdown(w.Settings.ShutdownTimeout)
	srv, err := httpserver.New(logging.Middleware(metrics.Middleware(rec, tracing.Middleware(mux, health.LivenessPath, health.ReadinessPath))), log, httpserver.Options{
		Addr:            w.Settings.Addr,
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
	relay, err := w.Outbox.relay(w.Name, base, ws.Wake, budget)
	if err != nil {
		return err
	}
	if err := needsDatabase(w.Name, "an inbox", w.InboxTable != nil, base); err != nil {
		return err
	}
	var consumer *messaging.Consumer
	if w.QueueURL != "" {
		consumer, err = newConsumer(base, w.QueueURL, w.Visibility, ws.Handle, budget)
		if err != nil {
			return err
		}
	}

	g, gctx := errgroup.WithContext(ctx)
	// The relay stops only once the HTTP server and the consumer have drained: writers holds one for the
	// server and one for the consumer (or for the wait for the database, when it never came).
	relayCtx, stopRelay := context.WithCancel(context.WithoutCancel(gctx))
	defer stopRelay()
	var writers sync.WaitGroup
	writers.Add(2)
	go func() { writers.Wait(); stopRelay() }()
	g.Go(func() error { defer writers.Done(); return srv.Run(gctx) })
	g.Go(func() error { return rec.Run(gctx, metrics.FlushInterval) })
	g.Go(func() error {
		if !base.WaitReady(gctx) {
			writers.Done()
			return nil // stopping before the database was ready: nothing to drain
		}
		if relay != nil {
			g.Go(func() error { return relay.Run(relayCtx) })
		}
		if consumer != nil {
			g.Go(func() error { defer writers.Done(); return consumer.Run(gctx) })
		} else {
			writers.Done()
		}
		if w.InboxTable != nil {
			g.Go(func() error {
				return inbox.New(w.InboxTable).RunPruner(gctx, base.Pool, inbox.DefaultRetention, time.Hour, log)
			})
		}
		for _, run := range ws.Background {
			g.Go(func() error { return run(gctx) })
		}
		return nil
	})
	err = g.Wait()
	log.Info("stopped", "err", err)
	return err
}

// relay builds the relay of r for the service named name, or none when r has no table.
func (r Relay) relay(name string, base *Base, wake <-chan struct{}, budget ShutdownBudget) (*outbox.Relay, error) {
	if r.Table == nil {
		return nil, nil
	}
	if err := needsDatabase(name, "an outbox", true, base); err != nil {
		return nil, err
	}
	return outbox.NewRelay(base.Pool, r.Table, messaging.NewPublisher(snsClient(base)), base.Log,
		outbox.RelayOptions{Topics: r.Topics, Wake: wake, DrainTimeout: budget.Relay, OnPublished: base.CountPublished})
}

// needsDatabase refuses what (an outbox, an inbox) when used is set and the service has no database.
func needsDatabase(name, what string, used bool, base *Base) error {
	if used && base.Pool == nil {
		return errors.New(name + ": " + what + " needs the service's database (ReadSettings, database_user in infra/services.yaml)")
	}
	return nil
}
