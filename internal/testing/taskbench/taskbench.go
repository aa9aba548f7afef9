// Package taskbench measures one service task as ECS would size it: the worker's throughput at the CPU and
// memory of its dev task (GOMAXPROCS, GOMEMLIMIT and, where the machine lets it, a CPU quota of the task's
// vCPUs) beside a baseline in the same run, and each service's cold start (process start to /readyz 200).
// `make bench` runs its benchmarks; the last worker measurement is committed in testdata/worker-throughput.json,
// and a test keeps the manifest's seconds_per_message within 2x of it (docs/benchmarks.md).
package taskbench

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// RecordPath is the committed worker measurement, relative to this package's directory.
const RecordPath = "testdata/worker-throughput.json"

// SafetyFactor multiplies the measured seconds per message into the manifest's seconds_per_message: the
// scaling target (backlog per task = acceptable_latency_seconds / seconds_per_message) is then half of what
// one task was measured to clear in that time. docs/benchmarks.md says why 2.
const SafetyFactor = 2.0

// MaxDrift is how far, as a factor either way, the manifest's seconds_per_message may be from the recorded
// measurement times SafetyFactor before the drift test fails.
const MaxDrift = 2.0

// TaskSize is a service's task size in an environment file (infra/environments/<env>.yaml).
type TaskSize struct {
	// CPU is in ECS CPU units: 1024 units are 1 vCPU, and on Fargate the task's cpu is the most its
	// containers may use (https://repost.aws/knowledge-center/ecs-cpu-allocation;
	// 256 is .25 vCPU: https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html).
	CPU int `yaml:"cpu" json:"cpu"`
	// MemoryMiB is the task's memory in MiB.
	MemoryMiB int `yaml:"memory" json:"memory_mib"`
}

// ReadTaskSize reads service's task size from the environment file at path.
func ReadTaskSize(path, service string) (TaskSize, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return TaskSize{}, err
	}
	var env struct {
		Services map[string]TaskSize `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &env); err != nil {
		return TaskSize{}, fmt.Errorf("%s: %w", path, err)
	}
	s, ok := env.Services[service]
	if !ok || s.CPU <= 0 || s.MemoryMiB <= 0 {
		return TaskSize{}, fmt.Errorf("%s: services.%s needs cpu and memory above 0 (got %+v)", path, service, s)
	}
	return s, nil
}

// VCPU is the task's vCPUs (1024 CPU units each).
func (s TaskSize) VCPU() float64 { return float64(s.CPU) / 1024 }

// GOMAXPROCS is the task's vCPUs rounded up, at least 1.
func (s TaskSize) GOMAXPROCS() int { return max(1, int(math.Ceil(s.VCPU()))) }

// Env is the environment that sizes a Go process like the task: GOMAXPROCS and GOMEMLIMIT.
func (s TaskSize) Env() map[string]string {
	return map[string]string{"GOMAXPROCS": strconv.Itoa(s.GOMAXPROCS()), "GOMEMLIMIT": strconv.Itoa(s.MemoryMiB) + "MiB"}
}

// CPULimit is a cgroup that caps the CPU time of the processes in it, as ECS caps a task at its cpu.
type CPULimit struct {
	procs string // the cgroup's cgroup.procs file
	dir   string
}

// NewCPULimit creates a cgroup (v1 cpu controller, or v2) capped at vcpu CPUs. It fails when the machine does
// not let this process create one (not root, or no writable cgroup file system); callers then run without a
// quota and say so.
func NewCPULimit(name string, vcpu float64) (*CPULimit, error) {
	const period = 100_000 // µs, the kernel's default CFS period
	quota := int(vcpu * period)
	v1 := "/sys/fs/cgroup/cpu"
	if _, err := os.Stat(filepath.Join(v1, "cpu.cfs_quota_us")); err == nil {
		dir := filepath.Join(v1, name)
		if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cgroup v1: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_period_us"), []byte(strconv.Itoa(period)), 0o600); err != nil {
			return nil, fmt.Errorf("cgroup v1 period: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.cfs_quota_us"), []byte(strconv.Itoa(quota)), 0o600); err != nil {
			return nil, fmt.Errorf("cgroup v1 quota: %w", err)
		}
		return &CPULimit{procs: filepath.Join(dir, "cgroup.procs"), dir: dir}, nil
	}
	v2 := "/sys/fs/cgroup"
	if _, err := os.Stat(filepath.Join(v2, "cgroup.controllers")); err == nil {
		dir := filepath.Join(v2, name)
		if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cgroup v2: %w", err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.max"), fmt.Appendf(nil, "%d %d", quota, period), 0o600); err != nil {
			return nil, fmt.Errorf("cgroup v2 cpu.max: %w", err)
		}
		return &CPULimit{procs: filepath.Join(dir, "cgroup.procs"), dir: dir}, nil
	}
	return nil, errors.New("no cgroup cpu controller found")
}

// Close removes the cgroup; it must be empty (every process in it exited).
func (l *CPULimit) Close() error {
	if l == nil {
		return nil
	}
	var err error
	for range 50 { // a process that just exited may still be listed for a moment
		if err = os.Remove(l.dir); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// Wrap writes an executable script in dir that records its process id in pidFile, moves itself into limit
// (when not nil) and then execs binary with the script's arguments: the binary runs as that process id, capped
// from its first instruction.
func Wrap(dir, binary, pidFile string, limit *CPULimit) (string, error) {
	var b strings.Builder
	b.WriteString("#!/bin/sh\nset -e\n")
	fmt.Fprintf(&b, "echo $$ > %s\n", shellQuote(pidFile))
	if limit != nil {
		fmt.Fprintf(&b, "echo $$ > %s\n", shellQuote(limit.procs))
	}
	fmt.Fprintf(&b, "exec %s \"$@\"\n", shellQuote(binary))
	f, err := os.CreateTemp(dir, filepath.Base(binary)+"-*.sh")
	if err != nil {
		return "", err
	}
	if _, err := f.WriteString(b.String()); err != nil {
		_ = f.Close()
		return "", err
	}
	if err := f.Chmod(0o755); err != nil {
		_ = f.Close()
		return "", err
	}
	return f.Name(), f.Close()
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat's CPU times: 100 on every Linux architecture Go supports.
const clockTicks = 100

// ProcCPU returns the CPU time (user and system, every thread) process pid has used so far.
func ProcCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after its end.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields after the name", pid, len(f))
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	stime, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, nil
}

// PeakRSS returns the largest resident set process pid has had (VmHWM), in bytes.
func PeakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("/proc/%d/status has no VmHWM", pid)
}

// ReadPID reads a process id written by a Wrap script.
func ReadPID(pidFile string) (int, error) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// Side is one of the two measured: the worker or its baseline.
type Side struct {
	// PerSecond is the messages handled per second, the mean of the rounds' rates.
	PerSecond float64 `json:"messages_per_second"`
	// SecondsPerMessage is 1 / PerSecond.
	SecondsPerMessage float64 `json:"seconds_per_message"`
	// CPUSecondsPerMessage is the process's CPU time per message.
	CPUSecondsPerMessage float64 `json:"cpu_seconds_per_message"`
	// PeakRSSMiB is the largest resident set of the process over the rounds.
	PeakRSSMiB float64 `json:"peak_rss_mib"`
}

// WorkerThroughput is a recorded worker measurement (testdata/worker-throughput.json).
type WorkerThroughput struct {
	Date    string `json:"date"`
	Machine string `json:"machine"`
	// Load is the machine's load average (1, 5, 15 min) when the run began.
	Load string `json:"load"`
	// Environment and Task are the environment file and the worker's task size there; GOMAXPROCS and
	// GOMEMLIMIT are what the processes ran with, CPUQuota whether a cgroup capped them at the task's vCPUs.
	Environment string   `json:"environment"`
	Task        TaskSize `json:"task"`
	GOMAXPROCS  int      `json:"gomaxprocs"`
	GOMEMLIMIT  string   `json:"gomemlimit"`
	CPUQuota    string   `json:"cpu_quota"`
	// Rounds of MessagesPerRound each, alternating worker and baseline.
	Rounds           int  `json:"rounds"`
	MessagesPerRound int  `json:"messages_per_round"`
	Worker           Side `json:"worker"`
	Baseline         Side `json:"baseline"`
	// Ratio is the worker's messages per second as a multiple of the baseline's.
	Ratio float64 `json:"ratio"`
	// SafetyFactor and ManifestSecondsPerMessage: Worker.SecondsPerMessage × SafetyFactor, the value
	// infra/services.yaml should hold.
	SafetyFactor              float64 `json:"safety_factor"`
	ManifestSecondsPerMessage float64 `json:"manifest_seconds_per_message"`
}

// LoadRecord reads a recorded measurement.
func LoadRecord(path string) (WorkerThroughput, error) {
	var r WorkerThroughput
	b, err := os.ReadFile(path)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%s: %w", path, err)
	}
	if r.Worker.SecondsPerMessage <= 0 || r.SafetyFactor <= 0 {
		return r, fmt.Errorf("%s: worker.seconds_per_message and safety_factor must be above 0", path)
	}
	return r, nil
}

// Save writes the measurement to path.
func (r WorkerThroughput) Save(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644) //nolint:gosec // a committed, public measurement
}

// Drift returns how far manifest (seconds_per_message) is from the recorded measurement times its safety
// factor, as a factor of at least 1 either way.
func (r WorkerThroughput) Drift(manifest float64) float64 {
	want := r.Worker.SecondsPerMessage * r.SafetyFactor
	if manifest <= 0 || want <= 0 {
		return math.Inf(1)
	}
	return max(manifest/want, want/manifest)
}
