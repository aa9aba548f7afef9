package loadtest_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/baseline"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// baselineDSN, when set, makes the test binary serve the baseline (package baseline) on a loopback port instead
// of running tests: the benchmark runs the baseline as a process of its own, like the api binary.
const baselineDSN = "LOADTEST_BASELINE_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(baselineDSN); dsn != "" {
		if err := serveBaseline(dsn); err != nil {
			fmt.Fprintf(os.Stderr, "baseline: %v\n", err)
			os.Exit(1)
		}
		return
	}
	dbtest.Main(m)
}

// serveBaseline serves baseline.Handler with a pool of the api's size until its standard input closes, and
// prints its address as the api logs it.
func serveBaseline(dsn string) error {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cfg.MaxConns = 20
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf(`{"msg":"http server listening","addr":%q}`+"\n", ln.Addr().String())
	srv := &http.Server{Handler: baseline.Handler(pool), ReadHeaderTimeout: 5 * time.Second}
	go func() { _, _ = os.Stdin.Read(make([]byte, 1)); _ = srv.Close() }()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}

// Bench settings: every phase is bounded in time, the whole run takes about two minutes on two cores.
const (
	workers    = 32              // concurrent clients in the peak phases
	phase      = 4 * time.Second // duration of each measured phase
	rounds     = 2               // alternating baseline and subject rounds per phase
	eventRate  = 20.0            // orders per second placed to measure event latency
	eventCount = 200             // orders placed to measure event latency, at each rate
	peakCount  = 2000            // orders placed at once to measure the event pipeline's peak
)

const orderBody = `{"customer_email":"bench@example.com","items":[{"sku":"SKU-1","quantity":2,"price_cents":1250},` +
	`{"sku":"SKU-2","quantity":1,"price_cents":999}]}`

// BenchmarkSystem measures the api binary, with PostgreSQL and the embedded SQS/SNS endpoint, under HTTP load
// over loopback, beside the baseline (baseline: net/http + pgx, the same queries, no outbox) as a process in
// the same run on the same database: peak throughput of order reads and order creation (closed loop,
// alternating rounds), p99 latency at half of each one's peak rate (open loop), and the latency from an
// order's commit to its fulfilled status with the worker running. It runs once whatever b.N is.
func BenchmarkSystem(b *testing.B) {
	sys := loadtest.NewSystem(b, 30*time.Second)
	bin := devenvtest.Build(b, "./cmd/api", "./cmd/worker")
	apiProc := loadtest.StartReady(b, filepath.Join(bin, "api"), sys.APIEnv(20*time.Second))
	api := "http://" + apiProc.Addr
	baseAddr, basePID := startBaseline(b, sys.DB.DSNFor(migrations.OrdersRole))
	base := "http://" + baseAddr
	serverPID := map[string]int{api: apiProc.PID(), base: basePID}
	postgresPID := sys.PostgresPID(b)
	ctx := b.Context()
	client := loadtest.NewClient(workers)

	// Orders to read, placed through the API so that both servers read the same rows.
	var ids []string
	for i := range 200 {
		body, err := loadtest.Do(ctx, client, http.MethodPost, api+"/api/orders", orderBody, http.StatusCreated)
		if err != nil {
			b.Fatalf("seed order %d: %v", i, err)
		}
		var o struct{ ID string }
		if err := json.Unmarshal(body, &o); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, o.ID)
	}
	read := func(url string) loadtest.Op {
		return func(ctx context.Context, c *http.Client, i int) error {
			_, err := loadtest.Do(ctx, c, http.MethodGet, url+"/api/orders/"+ids[i%len(ids)], "", http.StatusOK)
			return err
		}
	}
	create := func(url string) loadtest.Op {
		return func(ctx context.Context, c *http.Client, _ int) error {
			_, err := loadtest.Do(ctx, c, http.MethodPost, url+"/api/orders", orderBody, http.StatusCreated)
			return err
		}
	}

	report, costs := &table{}, &costTable{}
	for _, kind := range []struct {
		name     string
		op       func(string) loadtest.Op
		goal     float64
		baseline string
	}{
		{"read", read, 0.9, "same query, net/http + pgx"},
		{"create", create, 0.8, "plain insert of order and items"},
	} {
		peak := map[string]float64{}
		cost := map[string]cpuCost{}
		for round := range rounds + 1 {
			for _, target := range []string{base, api} {
				if round > 0 {
					waitForOutbox(b, sys) // creations of the previous phase published, so phases do not overlap
				}
				d := phase
				if round == 0 {
					d = time.Second // warm-up: connections, statement caches, plans
				}
				before := takeCPU(b, serverPID[target], postgresPID)
				runCtx, cancel := context.WithTimeout(ctx, d)
				res := loadtest.Closed(runCtx, client, workers, 1_000_000, nil, kind.op(target))
				cancel()
				if res.Failed > 0 {
					b.Fatalf("%s %s: %v", kind.name, target, &res)
				}
				if round > 0 {
					peak[target] += res.Throughput() / rounds
					waitForOutbox(b, sys) // the relay's work for these requests counts too
					cost[target] = cost[target].add(takeCPU(b, serverPID[target], postgresPID).since(before, res.Sent))
				}
			}
		}
		p99 := map[string]time.Duration{}
		for _, target := range []string{base, api} {
			waitForOutbox(b, sys)
			res := loadtest.Open(ctx, client, peak[target]/2, phase, kind.op(target))
			if res.Failed > 0 {
				b.Fatalf("%s %s at half peak: %v", kind.name, target, &res)
			}
			p99[target] = res.Percentile(0.99)
		}
		ratio := peak[api] / peak[base]
		report.add(kind.name, peak[api], peak[base], ratio, kind.goal, p99[api], p99[base], kind.baseline)
		costs.add(kind.name, cost[api], cost[base])
		b.ReportMetric(peak[api], kind.name+"/s")
		b.ReportMetric(ratio, kind.name+"-x-baseline")
		b.ReportMetric(float64(p99[api].Microseconds())/1000, kind.name+"-p99-ms")
	}

	traced := tracingOverhead(b, sys, bin, apiProc, client, ids)
	ev := measureEvents(b, sys, bin, api, client)
	reportEvents(b, ev)
	b.Logf("\n%s\n%s\n%s\n%s", report, costs, ev, traced)
}

// events is the event pipeline measured end to end: an order's commit in the api to its fulfilled status
// applied by the api, through the api's relay, the topic, the worker's queue, the worker (reservation and its
// own relay) and the api's queue.
type eventResult struct {
	peak             float64       // orders fulfilled per second, all placed at once
	p50, p99         time.Duration // at eventRate
	halfRate         float64       // half of peak
	halfP50, halfP99 time.Duration // at halfRate
}

func (e eventResult) String() string {
	return fmt.Sprintf("event latency, commit to fulfilled: %d orders at %.0f/s: p50 %v, p99 %v; at half the peak "+
		"(peak %.0f orders fulfilled/s, %d placed at once), %d at %.0f/s: p50 %v, p99 %v", eventCount, eventRate,
		e.p50.Round(time.Millisecond), e.p99.Round(time.Millisecond), e.peak, peakCount, eventCount, e.halfRate,
		e.halfP50.Round(time.Millisecond), e.halfP99.Round(time.Millisecond))
}

// measureEvents starts the worker and measures the event pipeline: its peak (orders placed as fast as the api
// takes them, divided by the time until the last is fulfilled), then the latency of orders placed at a steady
// eventRate and at half the peak. Beyond the peak the latency only measures a growing backlog.
func measureEvents(b *testing.B, sys *loadtest.System, bin, api string, client *http.Client) eventResult {
	b.Helper()
	ctx := b.Context()
	waitForOutbox(b, sys)
	// The orders of the earlier phases would be a backlog in front of the measured ones.
	if _, err := sys.SQS.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(sys.QueueURL[events.FulfillmentQueue])}); err != nil {
		b.Fatal(err)
	}
	loadtest.StartReady(b, filepath.Join(bin, "worker"), sys.WorkerEnv(20*time.Second))
	var r eventResult
	placeOrders(b, sys, api, client, func(op loadtest.Op) loadtest.Result { // warm-up: connections, plans
		return loadtest.Closed(ctx, client, 4, 50, nil, op)
	})
	ids := placeOrders(b, sys, api, client, func(op loadtest.Op) loadtest.Result {
		return loadtest.Closed(ctx, client, workers, peakCount, nil, op)
	})
	var span float64
	if err := sys.Admin.QueryRow(ctx, `SELECT extract(epoch FROM max(updated_at) - min(created_at)) FROM orders.orders
		WHERE id::text = ANY($1)`, ids).Scan(&span); err != nil {
		b.Fatal(err)
	}
	r.peak = float64(len(ids)) / span
	r.halfRate = r.peak / 2
	r.p50, r.p99 = latencies(b, sys, placeOrders(b, sys, api, client, func(op loadtest.Op) loadtest.Result {
		return loadtest.Open(ctx, client, eventRate, time.Duration(float64(eventCount)/eventRate*float64(time.Second)), op)
	}))
	r.halfP50, r.halfP99 = latencies(b, sys, placeOrders(b, sys, api, client, func(op loadtest.Op) loadtest.Result {
		return loadtest.Open(ctx, client, r.halfRate, time.Duration(float64(eventCount)/r.halfRate*float64(time.Second)), op)
	}))
	return r
}

// placeOrders places orders through the api with the load run gives it, waits until the api reports every one
// fulfilled and returns their ids.
func placeOrders(b *testing.B, sys *loadtest.System, api string, client *http.Client, run func(loadtest.Op) loadtest.Result) []string {
	b.Helper()
	var (
		mu  sync.Mutex
		ids []string
	)
	res := run(func(ctx context.Context, c *http.Client, _ int) error {
		body, err := loadtest.Do(ctx, c, http.MethodPost, api+"/api/orders", orderBody, http.StatusCreated)
		if err != nil {
			return err
		}
		var o struct{ ID string }
		if err := json.Unmarshal(body, &o); err != nil {
			return err
		}
		mu.Lock()
		ids = append(ids, o.ID)
		mu.Unlock()
		return nil
	})
	if res.Failed > 0 {
		b.Fatalf("placing orders: %v", &res)
	}
	loadtest.Eventually(b, "every order placed is fulfilled", func() bool {
		return sys.Count(b, `SELECT count(*) FROM orders.orders WHERE id::text = ANY($1) AND status = 'fulfilled'`, ids) == len(ids)
	})
	return ids
}

// latencies returns the p50 and p99 of the time from each order's creation (taken in its transaction) to its
// outcome applied by the api (updated_at, set in the transaction that applies it).
func latencies(b *testing.B, sys *loadtest.System, ids []string) (p50, p99 time.Duration) {
	b.Helper()
	rows, err := sys.Admin.Query(b.Context(), `SELECT extract(epoch FROM updated_at - created_at) FROM orders.orders
		WHERE id::text = ANY($1)`, ids)
	if err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	for rows.Next() {
		var s float64
		if err := rows.Scan(&s); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Duration(s*float64(time.Second)))
	}
	if err := rows.Err(); err != nil || len(lat) != len(ids) {
		b.Fatalf("read latencies: %d of %d, %v", len(lat), len(ids), err)
	}
	slices.Sort(lat)
	at := func(q float64) time.Duration { return lat[min(len(lat)-1, max(0, int(q*float64(len(lat))+0.5)-1))] }
	return at(0.50), at(0.99)
}

// BenchmarkEvents measures the event pipeline alone (the last part of BenchmarkSystem), about 30 s.
func BenchmarkEvents(b *testing.B) {
	sys := loadtest.NewSystem(b, 30*time.Second)
	bin := devenvtest.Build(b, "./cmd/api", "./cmd/worker")
	apiProc := loadtest.StartReady(b, filepath.Join(bin, "api"), sys.APIEnv(20*time.Second))
	r := measureEvents(b, sys, bin, "http://"+apiProc.Addr, loadtest.NewClient(workers))
	reportEvents(b, r)
	b.Logf("\n%s", r)
}

func reportEvents(b *testing.B, r eventResult) {
	b.ReportMetric(float64(r.p50.Microseconds())/1000, "event-p50-ms")
	b.ReportMetric(float64(r.p99.Microseconds())/1000, "event-p99-ms")
	b.ReportMetric(float64(r.halfP50.Microseconds())/1000, "event-half-peak-p50-ms")
	b.ReportMetric(float64(r.halfP99.Microseconds())/1000, "event-half-peak-p99-ms")
	b.ReportMetric(r.peak, "event-peak/s")
	b.ReportMetric(0, "ns/op")
}

// waitForOutbox waits until the api's relay published every order placed so far.
func waitForOutbox(b *testing.B, sys *loadtest.System) {
	b.Helper()
	loadtest.Eventually(b, "the outbox is published", func() bool { return sys.Count(b, `SELECT count(*) FROM orders.outbox`) == 0 })
}

// startBaseline runs this test binary as the baseline server and returns its address and pid.
func startBaseline(b *testing.B, dsn string) (string, int) {
	b.Helper()
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(exe) // stops when its standard input, a pipe held here, closes
	cmd.Env = []string{baselineDSN + "=" + dsn}
	w, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = w.Close(); _ = cmd.Wait() })
	var line struct{ Addr string }
	if err := json.NewDecoder(out).Decode(&line); err != nil || line.Addr == "" {
		b.Fatalf("baseline did not say where it listens: %v", err)
	}
	return line.Addr, cmd.Process.Pid
}

// cpuCost is the processor time a phase took, per request, in each part of the machine's work: on two shared
// cores the throughput of a closed loop follows the total, so the ratio of the totals explains the ratio of
// the peaks.
type cpuCost struct {
	server, postgres, generator time.Duration // generator: this process, the load and the embedded SNS/SQS endpoint
	requests                    int
}

// cpuAt is the processor time used so far by a server, PostgreSQL and this process.
type cpuAt struct {
	server, self time.Duration
	postgres     loadtest.TreeCPU
}

func takeCPU(b *testing.B, serverPID, postgresPID int) cpuAt {
	b.Helper()
	srv, err1 := loadtest.CPUOf(serverPID)
	self, err2 := loadtest.CPUOf(os.Getpid())
	pg, err3 := loadtest.CPUOfTree(postgresPID)
	if err := errors.Join(err1, err2, err3); err != nil {
		b.Fatal(err)
	}
	return cpuAt{server: srv, self: self, postgres: pg}
}

func (c cpuAt) since(before cpuAt, requests int) cpuCost {
	return cpuCost{server: c.server - before.server, postgres: c.postgres.Since(before.postgres),
		generator: c.self - before.self, requests: requests}
}

func (c cpuCost) add(o cpuCost) cpuCost {
	return cpuCost{server: c.server + o.server, postgres: c.postgres + o.postgres, generator: c.generator + o.generator,
		requests: c.requests + o.requests}
}

// per returns the processor time of part per request.
func (c cpuCost) per(part time.Duration) time.Duration {
	return part / time.Duration(max(1, c.requests))
}

func (c cpuCost) total() time.Duration { return c.per(c.server + c.postgres + c.generator) }

type costTable struct{ rows []string }

func (t *costTable) add(kind string, api, base cpuCost) {
	us := func(d time.Duration) string { return fmt.Sprintf("%dµs", d.Microseconds()) }
	for _, r := range []struct {
		name string
		c    cpuCost
	}{{"api", api}, {"baseline", base}} {
		t.rows = append(t.rows, fmt.Sprintf("| %s | %s | %s | %s | %s | %s |", kind, r.name, us(r.c.per(r.c.server)),
			us(r.c.per(r.c.postgres)), us(r.c.per(r.c.generator)), us(r.c.total())))
	}
	t.rows = append(t.rows, fmt.Sprintf("| %s | baseline / api | | | | %.2fx |", kind,
		float64(base.total())/float64(max(1, api.total()))))
}

func (t *costTable) String() string {
	return strings.Join(append([]string{
		"processor time per request in the peak rounds (on two cores the peaks follow the totals):",
		"| requests | server | server process | PostgreSQL | load generator and embedded SNS/SQS | total |",
		"|---|---|---|---|---|---|"}, t.rows...), "\n")
}

// table is the report printed at the end of the run.
type table struct{ rows []string }

func (t *table) add(kind string, api, base, ratio, goal float64, p99API, p99Base time.Duration, baseline string) {
	verdict := "met"
	if ratio < goal {
		verdict = "NOT met"
	}
	t.rows = append(t.rows, fmt.Sprintf("| %s | %.0f/s | %.0f/s (%s) | %.2fx (goal %.1fx: %s) | %v | %v |", kind, api, base,
		baseline, ratio, goal, verdict, p99API.Round(10*time.Microsecond), p99Base.Round(10*time.Microsecond)))
}

func (t *table) String() string {
	return strings.Join(append([]string{
		"| requests | api peak | baseline peak | ratio | api p99 at half its peak | baseline p99 at half its peak |",
		"|---|---|---|---|---|---|"}, t.rows...), "\n")
}
