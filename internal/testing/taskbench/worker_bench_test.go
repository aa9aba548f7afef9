package taskbench_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/connections"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/baseline"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/taskbench"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// Environment of the test binary re-executed as the worker's baseline (baseline.RunWorker).
const (
	baselineWorkerDSN   = "TASKBENCH_BASELINE_WORKER_DSN"
	baselineWorkerQueue = "TASKBENCH_BASELINE_WORKER_QUEUE_URL"
)

// recordEnv, set to 1, makes BenchmarkWorker write its measurement to taskbench.RecordPath (make bench sets it).
const recordEnv = "TASKBENCH_RECORD"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(baselineWorkerDSN); dsn != "" {
		if err := runBaselineWorker(dsn, os.Getenv(baselineWorkerQueue)); err != nil {
			fmt.Fprintf(os.Stderr, "baseline worker: %v\n", err)
			os.Exit(1)
		}
		return
	}
	dbtest.Main(m)
}

// runBaselineWorker runs baseline.RunWorker with a pool of the worker's size until SIGTERM, and says it is
// ready as the services do, so that loadtest.Start runs it like the worker binary.
func runBaselineWorker(dsn, queueURL string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return err
	}
	cfg.MaxConns = connections.PerServiceTask
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return err
	}
	awsCfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return err
	}
	fmt.Println(`{"msg":"http server listening","addr":"none"}`)
	return baseline.RunWorker(ctx, pool, sqs.NewFromConfig(awsCfg), queueURL)
}

// Worker bench settings: about a minute and a half on two cores.
const (
	workerRounds   = 3    // measured rounds per side, alternating
	roundMessages  = 1500 // messages per measured round
	warmupMessages = 300  // messages of the unmeasured first round of each side
)

// BenchmarkWorker measures the worker binary's throughput on a backlog, one process sized as its dev task
// (infra/environments/dev.yaml: GOMAXPROCS its vCPUs rounded up, GOMEMLIMIT its memory, and a cgroup CPU quota
// of its vCPUs where the machine allows one), beside baseline.RunWorker (the same statements, receive and
// delete, no kit) sized the same, in the same run, on the same database and embedded SQS/SNS endpoint. Each
// round publishes a backlog of order.placed events to order-events (as the API's relay does), starts the
// process, and times the messages from the first one handled to the last (fulfillment.inbox rows, written in
// each message's transaction by both); the process is then stopped with SIGTERM. Rounds alternate worker and
// baseline. It reports messages per second and seconds per message of both and their ratio, and with
// TASKBENCH_RECORD=1 writes them to testdata/worker-throughput.json. It runs once whatever b.N is.
func BenchmarkWorker(b *testing.B) {
	root := devenvtest.Root(b)
	envFile := filepath.Join("infra", "environments", "dev.yaml")
	size, err := taskbench.ReadTaskSize(filepath.Join(root, envFile), "worker")
	if err != nil {
		b.Fatal(err)
	}
	load := loadAverage()
	sys := loadtest.NewSystem(b, 30*time.Second)
	workerBin := filepath.Join(devenvtest.Build(b, "./cmd/worker"), "worker")
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	quota := fmt.Sprintf("%.2f vCPU (cgroup CPU quota)", size.VCPU())
	limit, err := taskbench.NewCPULimit(fmt.Sprintf("taskbench-%d", os.Getpid()), size.VCPU())
	if err != nil {
		quota = "none (" + err.Error() + "): only GOMAXPROCS bounds the CPU"
		limit = nil
	}
	b.Cleanup(func() { _ = limit.Close() }) // registered first, so it runs after the processes are stopped
	dir := b.TempDir()

	workerEnv := sys.WorkerEnv(20 * time.Second)
	baseEnv := map[string]string{
		baselineWorkerDSN: sys.DB.DSNFor(migrations.FulfillmentRole), baselineWorkerQueue: sys.QueueURL[events.FulfillmentQueue],
	}
	for k, v := range workerEnv {
		if strings.HasPrefix(k, "AWS_") {
			baseEnv[k] = v
		}
	}
	for k, v := range size.Env() {
		workerEnv[k], baseEnv[k] = v, v
	}
	sides := []*side{
		{name: "worker", binary: workerBin, env: workerEnv},
		{name: "baseline", binary: exe, env: baseEnv, baseline: true},
	}
	for round := range workerRounds + 1 {
		n := roundMessages
		if round == 0 {
			n = warmupMessages
		}
		for _, s := range sides {
			r := runRound(b, sys, s, dir, limit, round, n)
			if round > 0 {
				s.rate += r.rate / workerRounds
				s.cpu += r.cpu / workerRounds
				s.rss = max(s.rss, r.rss)
			}
			b.Logf("round %d %-8s %4d messages: %7.1f/s, %.2f ms CPU per message, peak RSS %.0f MiB", round, s.name, n,
				r.rate, r.cpu.Seconds()*1000, float64(r.rss)/(1<<20))
		}
	}
	handled := workerRounds*roundMessages + warmupMessages
	if got := sys.Count(b, `SELECT count(*) FROM fulfillment.reservations`); got != 2*2*handled {
		b.Fatalf("reservations = %d; want %d (two SKUs per order, every order fulfilled once, by both sides)", got, 4*handled)
	}

	w, base := sides[0], sides[1]
	rec := taskbench.WorkerThroughput{
		Date:        time.Now().UTC().Format(time.DateOnly),
		Machine:     machine(),
		Load:        load,
		Environment: envFile,
		Task:        size,
		GOMAXPROCS:  size.GOMAXPROCS(),
		GOMEMLIMIT:  size.Env()["GOMEMLIMIT"],
		CPUQuota:    quota,
		Rounds:      workerRounds, MessagesPerRound: roundMessages,
		Worker:       w.result(),
		Baseline:     base.result(),
		Ratio:        w.rate / base.rate,
		SafetyFactor: taskbench.SafetyFactor,
	}
	rec.ManifestSecondsPerMessage = rec.Worker.SecondsPerMessage * rec.SafetyFactor
	b.ReportMetric(w.rate, "worker-msg/s")
	b.ReportMetric(base.rate, "baseline-msg/s")
	b.ReportMetric(rec.Ratio, "worker-x-baseline")
	b.ReportMetric(rec.Worker.SecondsPerMessage*1000, "worker-ms/msg")
	b.ReportMetric(0, "ns/op")
	b.Logf("\nworker task (%s: %d CPU units, %d MiB; GOMAXPROCS=%d GOMEMLIMIT=%s; quota %s), %d rounds of %d messages:\n"+
		"| | messages/s | seconds/message | CPU seconds/message | peak RSS |\n|---|---|---|---|---|\n"+
		"| worker | %.1f | %.5f | %.5f | %.0f MiB |\n| baseline (same SQL, receive, delete) | %.1f | %.5f | %.5f | %.0f MiB |\n"+
		"ratio %.2fx; seconds_per_message with safety factor %.0f: %.4f",
		envFile, size.CPU, size.MemoryMiB, rec.GOMAXPROCS, rec.GOMEMLIMIT, quota, workerRounds, roundMessages,
		rec.Worker.PerSecond, rec.Worker.SecondsPerMessage, rec.Worker.CPUSecondsPerMessage, rec.Worker.PeakRSSMiB,
		rec.Baseline.PerSecond, rec.Baseline.SecondsPerMessage, rec.Baseline.CPUSecondsPerMessage, rec.Baseline.PeakRSSMiB,
		rec.Ratio, rec.SafetyFactor, rec.ManifestSecondsPerMessage)
	switch {
	case os.Getenv(recordEnv) != "1":
	case limit == nil:
		// Without the quota the worker had a whole core, about 4x its task's: not a figure for the manifest.
		b.Logf("not recorded in %s: no CPU quota could be set (%s)", taskbench.RecordPath, quota)
	default:
		if err := rec.Save(taskbench.RecordPath); err != nil {
			b.Fatal(err)
		}
		b.Logf("recorded in %s", filepath.Join("internal", "testing", "taskbench", taskbench.RecordPath))
	}
}

// side is the worker or its baseline, with the means of its measured rounds.
type side struct {
	name     string
	binary   string
	env      map[string]string
	baseline bool

	rate float64
	cpu  time.Duration
	rss  int64
}

func (s *side) result() taskbench.Side {
	return taskbench.Side{PerSecond: s.rate, SecondsPerMessage: 1 / s.rate, CPUSecondsPerMessage: s.cpu.Seconds(),
		PeakRSSMiB: float64(s.rss) / (1 << 20)}
}

type roundResult struct {
	rate float64       // messages per second
	cpu  time.Duration // CPU time per message
	rss  int64
}

// runRound publishes n order.placed events, starts s on them and measures it until it handled them all.
func runRound(b *testing.B, sys *loadtest.System, s *side, dir string, limit *taskbench.CPULimit, round, n int) roundResult {
	b.Helper()
	ctx := b.Context()
	before := sys.Count(b, `SELECT count(*) FROM fulfillment.inbox`)
	msgs := make([]messaging.Message, n)
	for i := range msgs {
		msgs[i] = placed(b)
	}
	if err := messaging.NewPublisher(sys.SNS).PublishBatch(ctx, sys.TopicARN[events.OrderEventsTopic], msgs); err != nil {
		b.Fatal(err)
	}
	loadtest.Eventually(b, "the backlog is in the fulfillment queue", func() bool { return sys.Messages(b, events.FulfillmentQueue) == n })

	pidFile := filepath.Join(dir, fmt.Sprintf("%s-%d.pid", s.name, round))
	script, err := taskbench.Wrap(dir, s.binary, pidFile, limit)
	if err != nil {
		b.Fatal(err)
	}
	p := loadtest.Start(b, script, s.env)
	pid, err := taskbench.ReadPID(pidFile)
	if err != nil {
		b.Fatal(err)
	}
	if perfDir := os.Getenv(perfEnv); perfDir != "" && round > 0 {
		defer profile(b, pid, filepath.Join(perfDir, fmt.Sprintf("%s-%d.perf", s.name, round)))()
	}
	var (
		t0, t1     time.Time
		n0         int
		cpu0, cpu1 time.Duration
	)
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%s handled %d of %d messages in 3 minutes", s.name, n0, n)
		}
		done := sys.Count(b, `SELECT count(*) FROM fulfillment.inbox`) - before
		cpu, err := taskbench.ProcCPU(pid)
		if err != nil {
			b.Fatalf("%s: %v\n%s", s.name, err, p.Output.String())
		}
		now := time.Now()
		if t0.IsZero() && done > 0 {
			t0, n0, cpu0 = now, done, cpu
		}
		if done >= n {
			t1, cpu1 = now, cpu
			break
		}
	}
	if n-n0 < n/2 {
		b.Fatalf("%s handled %d of %d messages before the first sample: raise the round's messages", s.name, n0, n)
	}
	loadtest.Eventually(b, s.name+" deleted its messages and published its outbox", func() bool {
		return sys.Messages(b, events.FulfillmentQueue) == 0 && (s.baseline || sys.Count(b, `SELECT count(*) FROM fulfillment.outbox`) == 0)
	})
	rss, err := taskbench.PeakRSS(pid)
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Stop(30 * time.Second); err != nil {
		b.Fatalf("%s after SIGTERM: %v\n%s", s.name, err, p.Output.String())
	}
	if s.baseline {
		// The baseline writes the worker's outbox rows without publishing them; the worker's relay must not
		// publish them in its next round.
		if got := sys.Count(b, `SELECT count(*) FROM fulfillment.outbox`); got != 2*n {
			b.Fatalf("baseline outbox rows = %d; want %d (an outcome and a notification per order)", got, 2*n)
		}
		if _, err := sys.Admin.Exec(ctx, `DELETE FROM fulfillment.outbox`); err != nil {
			b.Fatal(err)
		}
	}
	handled := float64(n - n0)
	return roundResult{rate: handled / t1.Sub(t0).Seconds(), cpu: time.Duration(float64(cpu1-cpu0) / handled), rss: rss}
}

// perfEnv, set to a directory, makes BenchmarkWorker record a CPU profile of each measured round's process there
// with perf (Linux perf_events; `perf report -i <file>` reads it).
const perfEnv = "TASKBENCH_PERF"

// profile starts perf recording process pid's CPU samples with call graphs into file, and returns the function
// that stops it.
func profile(b *testing.B, pid int, file string) func() {
	b.Helper()
	cmd := exec.Command("perf", "record", "-F", "999", "-g", "-p", strconv.Itoa(pid), "-o", file)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatalf("perf: %v", err)
	}
	return func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait() // perf ends by the signal; whether it wrote the profile is checked below
		if fi, err := os.Stat(file); err != nil || fi.Size() == 0 {
			b.Errorf("perf record wrote no profile to %s: %v\n%s", file, err, out.String())
		}
	}
}

// placed returns an order.placed event of two items in stock, as the API's relay publishes it.
func placed(b *testing.B) messaging.Message {
	b.Helper()
	id := uuid.NewString()
	e, err := events.New(events.OrderPlaced, events.SourceAPI, id, events.OrderPlacedData{OrderID: id,
		CustomerEmail: "bench@example.com", TotalCents: 2*1250 + 999,
		Items: []events.Item{{SKU: "SKU-1", Quantity: 2, PriceCents: 1250}, {SKU: "SKU-2", Quantity: 1, PriceCents: 999}}}, time.Now())
	if err != nil {
		b.Fatal(err)
	}
	body, err := e.Marshal()
	if err != nil {
		b.Fatal(err)
	}
	return messaging.Message{ID: e.ID, Body: string(body), Attributes: e.Attributes()}
}

// loadAverage is the machine's load average (1, 5 and 15 minutes), or "unknown".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// machine describes the machine: CPUs, CPU model, Go version.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	return fmt.Sprintf("%d CPUs (nproc), %s, %s/%s, %s", runtime.NumCPU(), model, runtime.GOOS, runtime.GOARCH, runtime.Version())
}
