package loadtest_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/tracestore"
)

// tracingGoal is the least throughput with tracing on, as a share of tracing off (issue: at most 5% overhead).
const tracingGoal = 0.95

// productionSampleRatio reads the sampling ratio of the production environment (infra/environments/prod.yaml).
func productionSampleRatio(b *testing.B) float64 {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join(devenvtest.Root(b), "infra", "environments", "prod.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var env struct {
		Tracing struct {
			SampleRatio *float64 `yaml:"sample_ratio"`
		} `yaml:"tracing"`
	}
	if err := yaml.Unmarshal(raw, &env); err != nil || env.Tracing.SampleRatio == nil {
		b.Fatalf("prod.yaml: no tracing.sample_ratio (%v)", err)
	}
	return *env.Tracing.SampleRatio
}

// tracingOverhead starts a second api on the same system with tracing on at the production sampling ratio,
// exporting to a local OTLP receiver, and compares the peak throughput of reads and creations of the two in
// alternating rounds. It returns the report's lines.
func tracingOverhead(b *testing.B, sys *loadtest.System, bin, off string, client *http.Client, ids []string) string {
	b.Helper()
	ratio := productionSampleRatio(b)
	store := tracestore.New(tracestore.DefaultMaxTraces)
	collector := httptest.NewServer(store.Handler())
	b.Cleanup(collector.Close)
	env := sys.APIEnv(20 * time.Second)
	env[tracing.EndpointEnv] = collector.URL + "/v1/traces"
	env[tracing.SampleRatioEnv] = strconv.FormatFloat(ratio, 'g', -1, 64)
	on := "http://" + loadtest.Start(b, filepath.Join(bin, "api"), env).Addr

	ops := map[string]func(string) loadtest.Op{
		"read": func(url string) loadtest.Op {
			return func(ctx context.Context, c *http.Client, i int) error {
				_, err := loadtest.Do(ctx, c, http.MethodGet, url+"/api/orders/"+ids[i%len(ids)], "", http.StatusOK)
				return err
			}
		},
		"create": func(url string) loadtest.Op {
			return func(ctx context.Context, c *http.Client, _ int) error {
				_, err := loadtest.Do(ctx, c, http.MethodPost, url+"/api/orders", orderBody, http.StatusCreated)
				return err
			}
		},
	}
	out := fmt.Sprintf("tracing on (sample ratio %g, OTLP/HTTP to a local receiver) against off, same binary:\n"+
		"| requests | tracing off | tracing on | ratio (goal %.2fx) |\n|---|---|---|---|", ratio, tracingGoal)
	for _, kind := range []string{"read", "create"} {
		peak := map[string]float64{}
		for round := range rounds + 1 {
			for _, target := range []string{off, on} {
				if round > 0 {
					waitForOutbox(b, sys)
				}
				d := phase
				if round == 0 {
					d = time.Second
				}
				runCtx, cancel := context.WithTimeout(b.Context(), d)
				res := loadtest.Closed(runCtx, client, workers, 1_000_000, nil, ops[kind](target))
				cancel()
				if res.Failed > 0 {
					b.Fatalf("tracing %s %s: %v", kind, target, &res)
				}
				if round > 0 {
					peak[target] += res.Throughput() / rounds
				}
			}
		}
		r := peak[on] / peak[off]
		verdict := "met"
		if r < tracingGoal {
			verdict = "NOT met"
		}
		out += fmt.Sprintf("\n| %s | %.0f/s | %.0f/s | %.2fx (%s) |", kind, peak[off], peak[on], r, verdict)
		b.ReportMetric(r, kind+"-traced-x-untraced")
	}
	return out
}
