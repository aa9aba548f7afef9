package chaos_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/testing/chaos"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
)

// TestChaosShort is the short form of `make chaos` that runs with every `make test`: a few hundred orders
// while every fault kind hits the system at least once, and no order lost or applied twice.
func TestChaosShort(t *testing.T) {
	if testing.Short() {
		t.Skip("testing.Short: the chaos suite runs the whole system for minutes; -short leaves it out")
	}
	bin := devenvtest.Build(t, "./cmd/devenv", "./cmd/ecsr", "./cmd/migrate", "./cmd/localaws")
	logs := filepath.Join(os.TempDir(), "chaos-logs")
	rep, err := chaos.Run(t.Context(), chaos.Options{
		Bin: bin, Root: devenvtest.Root(t), Orders: chaos.ShortOrders, Duration: 40 * time.Second,
		FaultEvery: chaos.ShortFaultEvery, SettleTimeout: 3 * time.Minute, LogDir: logs, Out: testWriter{t},
	})
	if rep != nil {
		rep.Print(testWriter{t})
	}
	if err != nil {
		t.Fatalf("chaos: %v", err)
	}
	for _, f := range chaos.FaultKinds() {
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

// docs/reliability.md states the suite's fault kinds and figures; they are the code's.
func TestReliabilityDocMatchesTheSuite(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(devenvtest.Root(t), "docs", "reliability.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	for _, f := range chaos.FaultKinds() {
		if !strings.Contains(doc, "`"+f+"`") {
			t.Errorf("docs/reliability.md does not describe fault %s", f)
		}
	}
	for _, want := range []string{
		fmt.Sprintf("%d clients place orders", chaos.DefaultClients),
		fmt.Sprintf("Every %s one fault is injected", fmtDuration(chaos.DefaultFaultEvery)),
		fmt.Sprintf("(%d orders, every fault kind at least once, faults every", chaos.ShortOrders),
		fmt.Sprintf("faults every\n%s)", fmtDuration(chaos.ShortFaultEvery)),
		fmt.Sprintf("for up to\n%d minutes", int(chaos.Patience.Minutes())),
	} {
		if !strings.Contains(strings.ReplaceAll(doc, "\n", " "), strings.ReplaceAll(want, "\n", " ")) {
			t.Errorf("docs/reliability.md lacks %q", want)
		}
	}
}

// fmtDuration writes whole seconds as the doc does: "5 s".
func fmtDuration(d time.Duration) string { return fmt.Sprintf("%d s", int(d.Seconds())) }
