package boot

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// Job is the run loop of a scheduled job (infra/services.yaml, jobs): a task that does its work once and exits,
// started by EventBridge Scheduler on AWS and by make up locally. It has no HTTP server and no queue.
type Job struct {
	// Name is the job's name in infra/services.yaml (its logs, metrics and spans carry it).
	Name string
	// Settings and Env are what ReadSettings (or ReadSettingsWithoutDatabase) read; Tracing what
	// tracing.ReadConfig read with the same reader.
	Settings Settings
	Env      *config.Reader
	Tracing  tracing.Config
	// ConnectTimeout bounds the wait for the database to accept the job's role (default 2 minutes): a job that
	// cannot connect fails, and its next run tries again.
	ConnectTimeout time.Duration
	// Do does the job's work. ctx ends on SIGTERM (ECS stops the task, or make up stops): Do returns then, and
	// the job has SHUTDOWN_TIMEOUT to exit.
	Do func(ctx context.Context, base *Base) error
}

// Run runs the job once and returns its error: it starts the Base (logs, metrics, the database pool once the
// database accepts the job's role), runs Do in a span named after the job, logs "job finished" or "job failed"
// with its duration, counts JobsSucceeded or JobsFailed and flushes the metrics before it returns.
func (j Job) Run(ctx context.Context, stdout io.Writer) error {
	if j.Do == nil {
		return fmt.Errorf("%s: a Job needs Do", j.Name)
	}
	base, stop, err := startTraced(ctx, j.Name, j.Settings, j.Env, j.Tracing, stdout)
	if err != nil {
		return err
	}
	defer stop()
	start := time.Now()
	err = j.run(ctx, base)
	took := time.Since(start)
	if err != nil {
		base.Metrics.Add("JobsFailed", metrics.Count, 1)
		base.Log.Error("job failed", "err", err, "seconds", took.Seconds())
	} else {
		base.Metrics.Add("JobsSucceeded", metrics.Count, 1)
		base.Log.Info("job finished", "seconds", took.Seconds())
	}
	if ferr := base.Metrics.Flush(); ferr != nil {
		base.Log.Warn("metrics not flushed", "err", ferr)
	}
	return err
}

func (j Job) run(ctx context.Context, base *Base) error {
	wait := j.ConnectTimeout
	if wait <= 0 {
		wait = 2 * time.Minute
	}
	waitCtx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	if !base.WaitReady(waitCtx) {
		if ctx.Err() != nil {
			return errors.New("stopped before the database accepted the job's role")
		}
		return fmt.Errorf("the database did not accept the job's role within %s", wait)
	}
	ctx, span := tracing.Start(ctx, "job "+j.Name)
	base.Log.InfoContext(ctx, "job started")
	err := j.Do(ctx, base)
	tracing.End(span, err)
	return err
}
