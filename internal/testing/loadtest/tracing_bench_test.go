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
// exporting to a local OTLP receiver, and compares the two in alternating rounds: peak throughput of reads and
// creations, and processor time per request. The processor time is that of both api processes together, as
// either one's relay may publish the other's orders; on a shared machine it is the steadier of the two
// measures, since it does not count time spent waiting for a processor. It returns the report's lines.
func tracingOverhead(b *testing.B, sys *loadtest.System, bin string, offProc *loadtest.Process, client *http.Client, ids []string) string {
	b.Helper()
	ratio := productionSampleRatio(b)
	store := tracestore.New(tracestore.DefaultMaxTraces)
	collector := httptest.NewServer(store.Handler())
	b.Cleanup(collector.Close)
	env := sys.APIEnv(20 * time.Second)
	env[tracing.EndpointEnv] = collector.URL + "/v1/traces"
	env[tracing.SampleRatioEnv] = strconv.FormatFloat(ratio, 'g', -1, 64)
	onProc := loadtest.Start(b, filepath.Join(bin, "api"), env)
	off, on := "http://"+offProc.Addr, "http://"+onProc.Addr
	cpu := func() time.Duration {
		var sum time.Duration
		for _, p := range []*loadtest.Process{offProc, onProc} {
			d, err := p.CPU()
			if err != nil {
				b.Fatal(err)
			}
			sum += d
		}
		return sum
	}

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
		"| requests | tracing off | tracing on | throughput ratio (goal %.2fx) | api CPU per request, off / on | CPU overhead |\n"+
		"|---|---|---|---|---|---|", ratio, tracingGoal)
	for _, kind := range []string{"read", "create"} {
		peak := map[string]float64{}
		cpuTime := map[string]time.Duration{}
		requests := map[string]int{}
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
				cpu0 := cpu()
				res := loadtest.Closed(runCtx, client, workers, 1_000_000, nil, ops[kind](target))
				cancel()
				if kind == "create" {
					waitForOutbox(b, sys) // the publishing of these orders is part of their cost
				}
				used := cpu() - cpu0
				if res.Failed > 0 {
					b.Fatalf("tracing %s %s: %v", kind, target, &res)
				}
				if round > 0 {
					peak[target] += res.Throughput() / rounds
					cpuTime[target] += used
					requests[target] += res.Sent
				}
			}
		}
		r := peak[on] / peak[off]
		verdict := "met"
		if r < tracingGoal {
			verdict = "NOT met"
		}
		perReq := func(t string) time.Duration { return cpuTime[t] / time.Duration(max(requests[t], 1)) }
		overhead := float64(perReq(on))/float64(perReq(off)) - 1
		out += fmt.Sprintf("\n| %s | %.0f/s | %.0f/s | %.2fx (%s) | %s / %s | %+.1f%% |", kind, peak[off], peak[on], r, verdict,
			perReq(off).Round(time.Microsecond), perReq(on).Round(time.Microsecond), overhead*100)
		b.ReportMetric(r, kind+"-traced-x-untraced")
		b.ReportMetric(overhead*100, kind+"-traced-cpu-overhead-%")
	}
	return out
}
