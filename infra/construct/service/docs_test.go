package service

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// TestJobDocsStateTheCode keeps what docs/configuration.md says of scheduled jobs equal to the code: the
// schedule's retries and their window, and a job's default task size.
func TestJobDocsStateTheCode(t *testing.T) {
	b, err := os.ReadFile("../../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	hours := map[int]string{1: "an hour"}[maxEventAgeHours]
	if hours == "" {
		hours = fmt.Sprintf("%d hours", maxEventAgeHours)
	}
	var j manifest.Job
	for _, want := range []string{
		fmt.Sprintf("with %d retries within %s", scheduleRetries, hours),
		fmt.Sprintf("`cpu` and `memory` (default %d and %d)", j.TaskCPU(), j.TaskMemory()),
	} {
		if !strings.Contains(strings.Join(strings.Fields(string(b)), " "), want) {
			t.Errorf("docs/configuration.md does not say %q", want)
		}
	}
}
