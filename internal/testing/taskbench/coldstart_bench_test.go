package taskbench_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/taskbench"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/imagecheck"
)

// Cold start settings.
const (
	coldStarts = 7                      // measured starts per service and sizing, alternating services
	readyGoal  = 200 * time.Millisecond // issue 15: ready in under 200 ms once the database answers
)

// BenchmarkColdStart measures, for each service, the time from starting its process to its first /readyz 200,
// with the database and the SQS/SNS endpoint already answering: the median of coldStarts starts, alternating
// api and worker, once unbounded and once sized as its dev task (GOMAXPROCS, GOMEMLIMIT and a CPU quota of
// its vCPUs where the machine allows one). The image's one binary (/app/ecsr, run as `ecsr api` and `ecsr worker`) is built as the Dockerfile builds it (package
// imagecheck: static, -trimpath, -ldflags "-s -w"), and the image they make is sized as imagecheck sizes it.
// Each start's JSON log gives its phases: to "starting" (Go runtime, package initialisation, configuration),
// to "http server listening" (AWS configuration, database pool and first connection, wiring), to /readyz 200
// (the serving goroutine and the readiness check's database ping). The two start-up steps that can wait are
// also timed in this process: the AWS configuration load and the database's first connection (TCP, TLS,
// SCRAM), and the package initialisation with GODEBUG=inittrace=1. It runs once whatever b.N is.
func BenchmarkColdStart(b *testing.B) {
	root := devenvtest.Root(b)
	ctx := b.Context()
	m, err := manifest.Load(filepath.Join(root, "infra", "services.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []string{"api", "worker"} {
		if !slices.Contains(imagecheck.Commands(m), c) {
			b.Fatalf("the manifest runs no %s command", c)
		}
	}
	bin, err := imagecheck.Build(ctx, root, b.TempDir(), runtime.GOARCH, imagecheck.Binary)
	if err != nil {
		b.Fatal(err)
	}
	report := &strings.Builder{}
	imageSize(b, root, bin, report)

	sys := loadtest.NewSystem(b, 30*time.Second)
	dir := b.TempDir()
	type service struct {
		name string
		env  map[string]string
		size taskbench.TaskSize
	}
	var services []service
	for _, name := range []string{"api", "worker"} {
		size, err := taskbench.ReadTaskSize(filepath.Join(root, "infra", "environments", "dev.yaml"), name)
		if err != nil {
			b.Fatal(err)
		}
		env := sys.APIEnv(5 * time.Second)
		if name == "worker" {
			env = sys.WorkerEnv(5 * time.Second)
		}
		services = append(services, service{name, env, size})
	}
	vcpu := services[0].size.VCPU()
	if services[1].size.VCPU() != vcpu {
		b.Fatalf("api and worker have different dev task CPUs (%v, %v): one cgroup cannot cap both", vcpu, services[1].size.VCPU())
	}
	limit, limitErr := taskbench.NewCPULimit(fmt.Sprintf("taskbench-cold-%d", os.Getpid()), vcpu)
	if limitErr != nil {
		limit = nil
	}
	b.Cleanup(func() { _ = limit.Close() })

	fmt.Fprintf(report, "\ncold start, process start to /readyz 200 with the database up (median of %d starts; phases from the service's log):\n", coldStarts)
	fmt.Fprintf(report, "| service | sizing | ready (median) | min – max | to \"starting\" | to \"listening\" | listening to ready | goal %v |\n|---|---|---|---|---|---|---|---|\n", readyGoal)
	type sizing struct {
		name  string
		task  bool
		limit *taskbench.CPULimit
	}
	sizings := []sizing{{name: "unbounded (2 CPUs)"}}
	if limit != nil {
		sizings = append(sizings, sizing{name: fmt.Sprintf("dev task: GOMAXPROCS=1, %.2f vCPU quota", vcpu), task: true, limit: limit})
	} else {
		sizings = append(sizings, sizing{name: "dev task: GOMAXPROCS=1, no CPU quota (" + limitErr.Error() + ")", task: true})
	}
	for _, sz := range sizings {
		starts := map[string][]start{}
		for i := range coldStarts + 1 {
			for _, svc := range services {
				env := maps.Clone(svc.env)
				if sz.task {
					maps.Copy(env, svc.size.Env())
				}
				s := coldStart(b, bin, svc.name, env, dir, sz.limit)
				if i > 0 { // the first start of each only warms the page cache and the database's connection path
					starts[svc.name] = append(starts[svc.name], s)
				}
			}
		}
		for _, svc := range services {
			ss := starts[svc.name]
			med := median(ss, func(s start) time.Duration { return s.ready })
			lo := slices.MinFunc(ss, func(a, b start) int { return int(a.ready - b.ready) }).ready
			hi := slices.MaxFunc(ss, func(a, b start) int { return int(a.ready - b.ready) }).ready
			verdict := "met"
			if med >= readyGoal {
				verdict = "NOT met"
			}
			fmt.Fprintf(report, "| %s | %s | %v | %v – %v | %v | %v | %v | %s |\n", svc.name, sz.name, ms(med), ms(lo), ms(hi),
				ms(median(ss, func(s start) time.Duration { return s.starting })),
				ms(median(ss, func(s start) time.Duration { return s.listening })),
				ms(median(ss, func(s start) time.Duration { return s.ready - s.listening })), verdict)
			unit := "ready-ms"
			if sz.task {
				unit = "ready-task-ms"
			}
			b.ReportMetric(float64(med.Microseconds())/1000, svc.name+"-"+unit)
		}
	}

	// The steps, one at a time, in this process.
	getenv := func(k string) string { return services[1].env[k] }
	var awsTimes, dbTimes []time.Duration
	for range 5 {
		t := time.Now()
		if _, err := messaging.LoadAWSConfig(ctx, getenv("AWS_REGION")); err != nil {
			b.Fatal(err)
		}
		awsTimes = append(awsTimes, time.Since(t))
		cfg := database.ReadConfig(config.NewReader(getenv))
		t = time.Now()
		pool, err := database.Open(ctx, cfg, slog.New(slog.DiscardHandler))
		if err != nil {
			b.Fatal(err)
		}
		dbTimes = append(dbTimes, time.Since(t))
		pool.Close()
	}
	awsLoad, dbOpen := median(awsTimes, id), median(dbTimes, id)
	initTotal, initTop := initTrace(b, bin, "worker", services[1].env)
	fmt.Fprintf(report, "\nsteps (median of 5, in the benchmark's process): AWS configuration load %v, database pool open and first connection (TLS verify-full, SCRAM) %v; "+
		"package initialisation of the worker binary (GODEBUG=inittrace=1) %v in all, largest: %s; no migration check runs at start (cmd/migrate does it as its own task)",
		ms(awsLoad), ms(dbOpen), ms(initTotal), initTop)
	b.ReportMetric(0, "ns/op")
	b.Log("\n" + report.String())
}

// start is one cold start's timings, from the moment before the process was started.
type start struct{ starting, listening, ready time.Duration }

// coldStart starts binary with env on a free port, polls /readyz until it answers 200, stops the process with
// SIGTERM and returns the timings.
func coldStart(b *testing.B, binary, command string, env map[string]string, dir string, limit *taskbench.CPULimit) start {
	b.Helper()
	addr := devenvtest.FreeAddr(b)
	env["HTTP_ADDR"] = addr
	path := binary
	if limit != nil {
		script, err := taskbench.Wrap(dir, binary, filepath.Join(dir, "cold.pid"), limit)
		if err != nil {
			b.Fatal(err)
		}
		path = script
	}
	cmd := exec.Command(path, command)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				b.Errorf("%s after SIGTERM: %v\n%s", binary, err, out.String())
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-done
			b.Errorf("%s did not stop within 30 s of SIGTERM", binary)
		}
	}()
	var ready time.Duration
	for deadline := t0.Add(30 * time.Second); ready == 0; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%s not ready within 30 s\n%s", binary, out.String())
		}
		resp, err := client.Get("http://" + addr + "/readyz")
		if err != nil {
			continue
		}
		_ = resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			ready = time.Since(t0)
		}
	}
	s := start{ready: ready}
	sc := bufio.NewScanner(strings.NewReader(out.String()))
	for sc.Scan() {
		var line struct {
			Time time.Time
			Msg  string
		}
		if json.Unmarshal(sc.Bytes(), &line) != nil {
			continue
		}
		switch line.Msg {
		case "starting":
			s.starting = line.Time.Sub(t0)
		case "http server listening":
			s.listening = line.Time.Sub(t0)
		}
	}
	if s.starting == 0 || s.listening == 0 {
		b.Fatalf("%s did not log \"starting\" and \"http server listening\":\n%s", binary, out.String())
	}
	return s
}

// initTrace starts binary once with GODEBUG=inittrace=1 and returns the package initialisation's total clock
// time and its three largest packages.
func initTrace(b *testing.B, binary, command string, env map[string]string) (time.Duration, string) {
	b.Helper()
	env = maps.Clone(env)
	env["GODEBUG"] = "inittrace=1"
	env["HTTP_ADDR"] = devenvtest.FreeAddr(b)
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, command)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	loadtest.Eventually(b, "the worker logs that it listens", func() bool { return strings.Contains(out.String(), "http server listening") })
	_ = cmd.Process.Signal(syscall.SIGTERM)
	_ = cmd.Wait()
	re := regexp.MustCompile(`^init (\S+) @\S+ ms, ([0-9.]+) ms clock`)
	type pkg struct {
		name string
		d    time.Duration
	}
	var pkgs []pkg
	var total time.Duration
	for line := range strings.Lines(out.String()) {
		if m := re.FindStringSubmatch(strings.TrimSpace(line)); m != nil {
			f, _ := strconv.ParseFloat(m[2], 64)
			d := time.Duration(f * float64(time.Millisecond))
			total += d
			pkgs = append(pkgs, pkg{m[1], d})
		}
	}
	if len(pkgs) == 0 {
		b.Fatalf("no inittrace lines from %s:\n%s", binary, out.String())
	}
	slices.SortFunc(pkgs, func(a, b pkg) int { return int(b.d - a.d) })
	var top []string
	for _, p := range pkgs[:min(3, len(pkgs))] {
		top = append(top, fmt.Sprintf("%s %v", p.name, ms(p.d)))
	}
	return total, strings.Join(top, ", ")
}

// imageSize writes the image's size, measured as imagecheck measures it, for this machine's architecture.
func imageSize(b *testing.B, root string, bin string, w *strings.Builder) {
	b.Helper()
	app := map[string]string{strings.TrimPrefix(manifest.ImageBinary, "/"): bin}
	fi, err := os.Stat(bin)
	if err != nil {
		b.Fatal(err)
	}
	fmt.Fprintf(w, "%s binary (static, -s -w, linux/%s): %.1f MB\n", manifest.ImageBinary, runtime.GOARCH, float64(fi.Size())/1e6)
	appRaw, appGz, err := imagecheck.LayerSize(app)
	if err != nil {
		b.Fatal(err)
	}
	bundleRaw, bundleGz, err := imagecheck.LayerSize(map[string]string{imagecheck.CABundlePath: filepath.Join(root, "certs", "rds-ca-bundle.pem")})
	if err != nil {
		b.Fatal(err)
	}
	gz := imagecheck.BaseLayerBytes + appGz + bundleGz
	raw := imagecheck.BaseLayerBytes + appRaw + bundleRaw
	fmt.Fprintf(w, "image linux/%s (estimated without a container engine, as make images-check does: gzip layers of /app and the CA bundle "+
		"on the distroless base counted at its documented upper bound): %.1f MB compressed (pulled by a task), %.1f MB raw; budget %.0f MB compressed\n",
		runtime.GOARCH, float64(gz)/1e6, float64(raw)/1e6, float64(imagecheck.SizeBudget)/1e6)
	b.ReportMetric(float64(gz)/1e6, "image-MB")
}

func median[T any](xs []T, f func(T) time.Duration) time.Duration {
	ds := make([]time.Duration, len(xs))
	for i, x := range xs {
		ds[i] = f(x)
	}
	slices.Sort(ds)
	return ds[len(ds)/2]
}

func id(d time.Duration) time.Duration { return d }

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d.Microseconds())/1000) }

// syncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
