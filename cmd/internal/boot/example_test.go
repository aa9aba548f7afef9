package boot_test

import (
	"context"
	"os"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

// A service's run reads the common settings beside its own, then starts from a Base.
func ExampleStart() {
	run := func(ctx context.Context, getenv func(string) string) error {
		r := config.NewReader(getenv)
		s := boot.ReadSettings(r, ":8080", 20*time.Second)
		queueURL := r.Required("FULFILLMENT_QUEUE_URL") // the service's own settings
		if err := r.Err(); err != nil {
			return err
		}
		base, err := boot.Start(ctx, "worker", s, r, os.Stdout)
		if err != nil {
			return err
		}
		defer base.Pool.Close()
		_ = queueURL // build the consumer, the relay and the HTTP server from base and s
		return nil
	}
	_ = run
}
