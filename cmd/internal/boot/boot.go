// Package boot holds what every service binary (cmd/api, cmd/worker) reads and starts the same way: the
// common settings (logging, HTTP address, shutdown budget, AWS region, database) and the start-up that turns
// them into a logger, an AWS configuration, a database pool, a health checker that checks the database and a
// metrics recorder. On top of them are the run loops, whole: Consumer for a worker that handles one queue and
// Web for a service behind the load balancer, each with the outbox relay and the inbox pruner when declared
// (docs/adr/0017-service-run-loops.md). A service declares its settings and a Setup that builds its domain on
// the Base, so what differs between services stands out in their command packages.
//
// Start does not wait for the database (docs/adr/0007-database-readiness.md): on a first deploy the service
// roles exist only once the migration has run, and a task that exited instead would trip ECS's deployment
// circuit breaker and roll the stack back. The service serves /healthz at once and reports not ready on
// /readyz, with the reason, while a background loop keeps connecting without a deadline; the binaries start
// their consumers, relays and pruners only once WaitReady says the database accepts their role.
package boot

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/connections"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
)

// Settings are the settings every service reads (docs/configuration.md).
type Settings struct {
	Log             logging.Config
	Addr            string        // HTTP_ADDR
	ShutdownTimeout time.Duration // SHUTDOWN_TIMEOUT
	Region          string        // AWS_REGION
	DB              database.Config
	// NoDatabase is set for a service that declares no database_user (ReadSettingsWithoutDatabase): it reads no
	// DATABASE_* variable, has no pool, and is ready without one.
	NoDatabase bool
}

// ReadSettings reads the common settings with r; the defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT are the
// service's own (from infra/services.yaml). Problems are collected in r, like those of the service's other
// settings.
func ReadSettings(r *config.Reader, defaultAddr string, defaultShutdownTimeout time.Duration) Settings {
	s := ReadSettingsWithoutDatabase(r, defaultAddr, defaultShutdownTimeout)
	s.DB, s.NoDatabase = database.ReadConfig(r), false
	return s
}

// ReadSettingsWithoutDatabase is ReadSettings for a service that declares no database (no database_user in
// infra/services.yaml): the DATABASE_* variables are neither read nor set on its task definition.
func ReadSettingsWithoutDatabase(r *config.Reader, defaultAddr string, defaultShutdownTimeout time.Duration) Settings {
	return Settings{
		Log:             logging.ReadConfig(r),
		Addr:            r.String("HTTP_ADDR", defaultAddr),
		ShutdownTimeout: r.Duration("SHUTDOWN_TIMEOUT", defaultShutdownTimeout, time.Second, 110*time.Second),
		Region:          r.Required("AWS_REGION"),
		NoDatabase:      true,
	}
}

// Base is what every service starts with.
type Base struct {
	Log     *slog.Logger
	AWS     aws.Config
	Pool    *pgxpool.Pool // nil for a service without a database (Settings.NoDatabase)
	Health  *health.Checker
	Metrics *metrics.Recorder

	ready    chan struct{} // closed once the database has accepted the service's role
	stopWait context.CancelFunc
	waited   chan struct{} // closed when the connecting loop has ended
	mu       sync.Mutex
	lastErr  error // the last connection failure while not ready
}

// Start logs the service's settings (env, secrets masked), loads the AWS configuration, creates the database
// pool (with IAM tokens when configured) and returns the Base of the service named name at once. A background
// loop connects to the database until it accepts the service's role or ctx ends, with no deadline of its own;
// until then the "database" readiness check fails with the reason. Only a configuration that can never work
// is an error. The caller calls Base.Close.
func Start(ctx context.Context, name string, s Settings, env *config.Reader, stdout io.Writer) (*Base, error) {
	log := logging.New(stdout, s.Log).With("service", name)
	log.Info("starting", "env", env)
	awsCfg, err := messaging.LoadAWSConfig(ctx, s.Region)
	if err != nil {
		return nil, err
	}
	b := &Base{Log: log, AWS: awsCfg, Health: health.New(log, 2*time.Second),
		Metrics: metrics.New(stdout, metrics.Namespace, metrics.ServiceDimension, name),
		ready:   make(chan struct{}), waited: make(chan struct{}), lastErr: errNotConnected}
	if s.NoDatabase {
		close(b.ready) // nothing to wait for
		close(b.waited)
		b.stopWait = func() {}
		return b, nil
	}
	if s.DB.IAMAuth {
		s.DB.Credentials = awsCfg.Credentials
	}
	s.DB.MaxConns = connections.PerServiceTask
	pool, err := database.New(s.DB)
	if err != nil {
		return nil, err
	}
	b.Pool = pool
	b.Health.Add("database", b.checkDatabase(database.Ready(pool)))
	waitCtx, stop := context.WithCancel(ctx)
	b.stopWait = stop
	go b.connect(waitCtx)
	return b, nil
}

var errNotConnected = errors.New("no connection attempt has finished yet")

// connect runs database.Wait and marks the service ready when it succeeds.
func (b *Base) connect(ctx context.Context) {
	defer close(b.waited)
	b.Log.Info("connecting to the database")
	err := database.Wait(ctx, b.Pool, func(err error) {
		b.mu.Lock()
		b.lastErr = err
		b.mu.Unlock()
	}, b.Log)
	if err != nil {
		b.Log.Info("stopped connecting to the database", "err", err)
		return
	}
	close(b.ready)
}

// checkDatabase is the "database" readiness check: the last connection failure until the database has
// accepted the role once, then ping.
func (b *Base) checkDatabase(ping func(context.Context) error) func(context.Context) error {
	return func(ctx context.Context) error {
		select {
		case <-b.ready:
			if err := ping(ctx); err != nil {
				return health.NotReady(database.Reason(err), err)
			}
			return nil
		default:
		}
		b.mu.Lock()
		err := b.lastErr
		b.mu.Unlock()
		if errors.Is(err, errNotConnected) {
			return health.NotReady("connecting to the database", err)
		}
		return health.NotReady(database.Reason(err), err)
	}
}

// Ready returns a channel that is closed once the database has accepted the service's role.
func (b *Base) Ready() <-chan struct{} { return b.ready }

// WaitReady blocks until the database has accepted the service's role (true) or ctx ends first (false, as
// when SIGTERM arrives during the wait: the caller then stops cleanly).
func (b *Base) WaitReady(ctx context.Context) bool {
	select {
	case <-b.ready:
		return true
	case <-ctx.Done():
		return false
	}
}

// Close stops the connecting loop, if it still runs, and closes the pool, if the service has one.
func (b *Base) Close() {
	b.stopWait()
	<-b.waited
	if b.Pool != nil {
		b.Pool.Close()
	}
}

// CountPublished is an outbox.RelayOptions.OnPublished that counts the events published and failed.
func (b *Base) CountPublished(published, failed int) {
	b.Metrics.Add("EventsPublished", metrics.Count, float64(published))
	b.Metrics.Add("EventsPublishFailed", metrics.Count, float64(failed))
}
