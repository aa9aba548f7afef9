// Package service holds what every service binary (cmd/api, cmd/worker) reads and starts the same way: the
// common settings (logging, HTTP address, shutdown budget, AWS region, database) and the start-up that turns
// them into a logger, an AWS configuration, a database pool, a health checker that checks the database and a
// metrics recorder. Each binary adds its own settings and components on top, so what differs between them
// stands out in their run functions.
package service

import (
	"context"
	"fmt"
	"io"
	"log/slog"
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
}

// ReadSettings reads the common settings with r; the defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT are the
// service's own (from infra/services.yaml). Problems are collected in r, like those of the service's other
// settings.
func ReadSettings(r *config.Reader, defaultAddr string, defaultShutdownTimeout time.Duration) Settings {
	return Settings{
		Log:             logging.ReadConfig(r),
		Addr:            r.String("HTTP_ADDR", defaultAddr),
		ShutdownTimeout: r.Duration("SHUTDOWN_TIMEOUT", defaultShutdownTimeout, time.Second, 110*time.Second),
		Region:          r.Required("AWS_REGION"),
		DB:              database.ReadConfig(r),
	}
}

// Base is what every service starts with.
type Base struct {
	Log     *slog.Logger
	AWS     aws.Config
	Pool    *pgxpool.Pool
	Health  *health.Checker
	Metrics *metrics.Recorder
}

// StartTimeout bounds how long Start waits for the database.
const StartTimeout = 60 * time.Second

// Start logs the service's settings (env, secrets masked), loads the AWS configuration, opens the database
// (with IAM tokens when configured), and returns the Base of the service named name. The caller closes
// Base.Pool.
func Start(ctx context.Context, name string, s Settings, env *config.Reader, stdout io.Writer) (*Base, error) {
	log := logging.New(stdout, s.Log).With("service", name)
	log.Info("starting", "env", env)
	awsCfg, err := messaging.LoadAWSConfig(ctx, s.Region)
	if err != nil {
		return nil, err
	}
	if s.DB.IAMAuth {
		s.DB.Credentials = awsCfg.Credentials
	}
	s.DB.MaxConns = connections.PerServiceTask
	openCtx, cancel := context.WithTimeout(ctx, StartTimeout)
	pool, err := database.Open(openCtx, s.DB, log)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	checker := health.New(log, 2*time.Second)
	checker.Add("database", database.Ready(pool))
	return &Base{Log: log, AWS: awsCfg, Pool: pool, Health: checker,
		Metrics: metrics.New(stdout, metrics.Namespace, metrics.ServiceDimension, name)}, nil
}

// CountPublished is an outbox.RelayOptions.OnPublished that counts the events published and failed.
func (b *Base) CountPublished(published, failed int) {
	b.Metrics.Add("EventsPublished", metrics.Count, float64(published))
	b.Metrics.Add("EventsPublishFailed", metrics.Count, float64(failed))
}
