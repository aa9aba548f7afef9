package boot_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
)

func newJob(t *testing.T, do func(context.Context, *boot.Base) error) boot.Job {
	t.Helper()
	env := map[string]string{"AWS_REGION": "eu-west-1", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "LOG_FORMAT": "json"}
	r := config.NewReader(func(k string) string { return env[k] })
	j := boot.Job{Name: "nightly", Settings: boot.ReadSettingsWithoutDatabase(r, ":0", 5*time.Second), Env: r, Do: do}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return j
}

// A job runs its work once and says how it ended, in its log and its metrics; its error is the run's.
func TestJobRunsOnceAndReports(t *testing.T) {
	runs := 0
	var out logtest.Buffer
	if err := newJob(t, func(context.Context, *boot.Base) error { runs++; return nil }).Run(t.Context(), &out); err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if runs != 1 {
		t.Errorf("Do ran %d times; want 1", runs)
	}
	for _, want := range []string{`"msg":"job started"`, `"msg":"job finished"`, `"JobsSucceeded"`, `"service":"nightly"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}

	out = logtest.Buffer{}
	failure := errors.New("the report's bucket refused the upload")
	err := newJob(t, func(context.Context, *boot.Base) error { return failure }).Run(t.Context(), &out)
	if !errors.Is(err, failure) {
		t.Errorf("Run() = %v; want the job's error", err)
	}
	for _, want := range []string{`"msg":"job failed"`, "the report's bucket refused the upload", `"JobsFailed"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %s:\n%s", want, out.String())
		}
	}
}

// SIGTERM (the context ending) reaches the job's work, which returns.
func TestJobStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var out logtest.Buffer
	err := newJob(t, func(ctx context.Context, _ *boot.Base) error {
		cancel()
		<-ctx.Done()
		return ctx.Err()
	}).Run(ctx, &out)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Run() = %v; want the cancellation", err)
	}
}
