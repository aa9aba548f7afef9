package metrics_test

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
)

// TestADRMatchesCode keeps ADR 0003 true: the flush interval it states is FlushInterval, and every metric it
// names is recorded somewhere in the services' code.
func TestADRMatchesCode(t *testing.T) {
	const root = "../../.."
	adr, err := os.ReadFile(filepath.Join(root, "docs/adr/0003-metrics-emf.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(adr)
	want := fmt.Sprintf("flushed every\n%d seconds (`metrics.FlushInterval`)", int(metrics.FlushInterval.Seconds()))
	if !strings.Contains(text, want) {
		t.Errorf("ADR 0003 does not state the flush interval as %q", want)
	}

	var code strings.Builder
	for _, dir := range []string{"cmd", "internal/platform"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			b, err := os.ReadFile(path)
			code.Write(b)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	named := regexp.MustCompile(`- (?:counters|distributions) \(([^)]*)\)`).FindAllStringSubmatch(text, -1)
	if len(named) != 2 {
		t.Fatalf("ADR 0003: want the counters and distributions lines, found %d", len(named))
	}
	for _, m := range named {
		for _, name := range regexp.MustCompile("`(\\w+)`").FindAllStringSubmatch(m[1], -1) {
			if !strings.Contains(code.String(), `"`+name[1]+`"`) {
				t.Errorf("ADR 0003 names metric %s, which no service records", name[1])
			}
		}
	}
}
