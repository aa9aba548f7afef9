package taskbench_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/taskbench"
)

// TestManifestSecondsPerMessageFollowsTheMeasurement: the worker's seconds_per_message in infra/services.yaml,
// from which its backlog scaling target is derived, stays within taskbench.MaxDrift (2x) either way of the last
// recorded measurement (testdata/worker-throughput.json, written by `make bench`) times its safety factor. A
// worker that became much faster or slower, or a manifest edited by hand, fails here until both agree again.
func TestManifestSecondsPerMessageFollowsTheMeasurement(t *testing.T) {
	rec, err := taskbench.LoadRecord(taskbench.RecordPath)
	if err != nil {
		t.Fatal(err)
	}
	if rec.SafetyFactor != taskbench.SafetyFactor {
		t.Errorf("%s was recorded with safety factor %v; the package's is %v: run make bench again",
			taskbench.RecordPath, rec.SafetyFactor, taskbench.SafetyFactor)
	}
	m, err := manifest.Load(filepath.Join(devenvtest.Root(t), "infra", "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var got float64
	for _, s := range m.Services {
		if s.Name == "worker" {
			got = s.SecondsPerMessage
		}
	}
	want := rec.Worker.SecondsPerMessage * rec.SafetyFactor
	if d := rec.Drift(got); d > taskbench.MaxDrift {
		t.Errorf("infra/services.yaml: worker seconds_per_message is %v; the measurement of %s (%s, %.1f messages/s, %.5f s "+
			"each) times the safety factor %v gives %.4f: %.1fx apart, more than %vx. Set seconds_per_message to about %.4f, "+
			"or measure again (make bench) if the worker changed", got, rec.Date, taskbench.RecordPath, rec.Worker.PerSecond,
			rec.Worker.SecondsPerMessage, rec.SafetyFactor, want, d, taskbench.MaxDrift, want)
	}
}

// TestDrift checks the drift measure the test above relies on, on both sides of the bound.
func TestDrift(t *testing.T) {
	rec := taskbench.WorkerThroughput{Worker: taskbench.Side{SecondsPerMessage: 0.01}, SafetyFactor: 2}
	for _, c := range []struct {
		manifest float64
		want     float64
	}{{0.02, 1}, {0.04, 2}, {0.01, 2}, {0.1, 5}, {0.002, 10}} {
		if got := rec.Drift(c.manifest); got < c.want-1e-9 || got > c.want+1e-9 {
			t.Errorf("Drift(%v) = %v; want %v", c.manifest, got, c.want)
		}
	}
	if d := rec.Drift(0); d <= taskbench.MaxDrift {
		t.Errorf("Drift(0) = %v; want above the bound", d)
	}
}

// TestPagesStateTheScalingInputs: docs/benchmarks.md and docs/infrastructure.md state the safety factor, the
// manifest's seconds_per_message and the backlog target it gives; they must be the code's and the manifest's.
func TestPagesStateTheScalingInputs(t *testing.T) {
	root := devenvtest.Root(t)
	m, err := manifest.Load(filepath.Join(root, "infra", "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	w, ok := m.Service("worker")
	if !ok {
		t.Fatal("the manifest has no worker")
	}
	target := w.BacklogPerTaskTarget()
	thousands := func(f float64) string {
		s := strconv.FormatFloat(math.Round(f), 'f', 0, 64)
		if len(s) > 3 {
			s = s[:len(s)-3] + "," + s[len(s)-3:]
		}
		return s
	}
	spm := strconv.FormatFloat(w.SecondsPerMessage, 'f', -1, 64)
	for page, wants := range map[string][]string{
		"docs/benchmarks.md": {
			fmt.Sprintf("safety factor of %v", taskbench.SafetyFactor),
			"`seconds_per_message: " + spm + "`",
			fmt.Sprintf("`acceptable_latency_seconds: %v`", w.AcceptableLatencySeconds),
			"a target of " + thousands(target) + " messages per task",
			fmt.Sprintf("more than %vx either way", taskbench.MaxDrift),
			"testdata/worker-throughput.json",
		},
		"docs/infrastructure.md": {fmt.Sprintf("(%v / %s = %s messages per task", w.AcceptableLatencySeconds, spm, thousands(target))},
		"docs/runbook.md":        {fmt.Sprintf("safety factor of %v", taskbench.SafetyFactor), fmt.Sprintf("drift more than %vx apart", taskbench.MaxDrift)},
	} {
		b, err := os.ReadFile(filepath.Join(root, page))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.Join(strings.Fields(string(b)), " ") // line breaks in the prose are spaces
		for _, want := range wants {
			if !strings.Contains(text, want) {
				t.Errorf("%s does not say %q", page, want)
			}
		}
	}
}
