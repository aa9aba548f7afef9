package tracestore_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/tracestore"
)

// ADR 0015 states the export pipeline's bounds and the local collector's size; they stay those of the code.
func TestADRStatesTheBounds(t *testing.T) {
	b, err := os.ReadFile("../../../docs/adr/0015-tracing.md")
	if err != nil {
		t.Fatal(err)
	}
	adr := strings.Join(strings.Fields(string(b)), " ")
	for _, want := range []string{
		fmt.Sprintf("a bounded queue (%d spans, dropped beyond it", tracing.MaxQueueSize),
		fmt.Sprintf("%d spans per export", tracing.MaxExportBatchSize),
		fmt.Sprintf("%s batch delay", tracing.BatchTimeout),
		fmt.Sprintf("%s export timeout", tracing.ExportTimeout),
		fmt.Sprintf("keeps the last %d traces", tracestore.DefaultMaxTraces),
		fmt.Sprintf("allow %d message attributes", tracing.MaxMessageAttributes),
		"`" + tracing.EndpointEnv + "`", "`" + tracing.SampleRatioEnv + "`",
	} {
		if !strings.Contains(adr, want) {
			t.Errorf("docs/adr/0015-tracing.md does not say %q", want)
		}
	}
}
