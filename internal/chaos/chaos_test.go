package chaos_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/chaos"
	"github.com/ecs-reworked/ecs-reworked/internal/devenvtest"
)

// TestChaosShort is the short form of `make chaos` that runs with every `make test`: a few hundred orders
// while every fault kind hits the system at least once, and no order lost or applied twice.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("the chaos suite runs the whole system for minutes; -short leaves it out")
	}
	bin := devenvtest.Build(t, "./cmd/devenv", "./cmd/api", "./cmd/worker", "./cmd/migrate", "./cmd/localaws")
	logs := filepath.Join(os.TempDir(), "chaos-logs")
	rep, err := chaos.Run(t.Context(), chaos.Options{
		Bin: bin, Root: devenvtest.Root(t), Orders: 300, Clients: 16, Duration: 40 * time.Second,
		FaultEvery: 3 * time.Second, SettleTimeout: 3 * time.Minute, LogDir: logs, Out: testWriter{t},
	})
	if rep != nil {
		rep.Print(testWriter{t})
	}
	if err != nil {
		t.Fatalf("chaos: %v", err)
	}
	for _, f := range []string{"kill-api", "kill-worker", "kill-postgres", "term-api", "term-worker", "sns-publish-errors",
		"sqs-receive-errors", "sqs-delete-errors", "sqs-sns-delays", "partition-postgres", "partition-endpoint"} {
		if rep.Faults[f] == 0 {
			t.Errorf("fault %s never injected", f)
		}
	}
	if rep.Acknowledged == 0 {
		t.Errorf("no order acknowledged")
	}
	if n := rep.Defects(); n > 0 {
		t.Errorf("%d defects (logs in %s)", n, rep.LogFile)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
