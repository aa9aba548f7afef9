package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/schedule"
)

// jobsPath is the edge's local-only route that runs a job now: POST /_devenv/jobs/<name> (make job NAME=<name>).
const jobsPath = "/_devenv/jobs/"

// jobRunner runs the manifest's scheduled jobs as EventBridge Scheduler starts their tasks on AWS: each on its
// schedule (UTC), as its own process (`ecsr <command>`) with the environment its task definition gets, its output
// prefixed with its name, and at most one run of a job at a time, as a job's runs should not overlap. A job whose
// schedule make up cannot follow (schedule.Parse) runs on demand only.
type jobRunner struct {
	out   *syncWriter
	bin   string
	jobs  map[string]jobSpec
	parse func(expr string) (schedule.Schedule, error)
	// argsFor is the command line of a run of j after the binary: its command.
	argsFor func(j manifest.Job) []string

	mu      sync.Mutex
	running map[string]*process
	stopped bool
	cancel  context.CancelFunc
	done    sync.WaitGroup
}

type jobSpec struct {
	job manifest.Job
	env []string
}

// newJobRunner returns the runner of jobs, whose environments env returns.
func newJobRunner(out *syncWriter, bin string, jobs []manifest.Job, env func(manifest.Service) ([]string, error)) (*jobRunner, error) {
	r := &jobRunner{out: out, bin: bin, jobs: map[string]jobSpec{}, running: map[string]*process{}, parse: schedule.Parse,
		argsFor: func(j manifest.Job) []string { return []string{j.Command} }}
	for _, j := range jobs {
		e, err := env(j.Service())
		if err != nil {
			return nil, err
		}
		r.jobs[j.Name] = jobSpec{job: j, env: environ(e...)}
	}
	return r, nil
}

// start runs each job on its schedule until stop.
func (r *jobRunner) start() {
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for name, spec := range r.jobs {
		s, err := r.parse(spec.job.Schedule)
		if err != nil {
			r.out.Printf("job %s: %v", name, err)
			continue
		}
		r.out.Printf("job %s: %s (UTC), next run %s; run it now with make job NAME=%s", name, spec.job.Schedule,
			s.Next(time.Now()).UTC().Format(time.RFC3339), name)
		r.done.Add(1)
		go func() {
			defer r.done.Done()
			for {
				next := s.Next(time.Now())
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(next)):
					if err := r.run(name); err != nil {
						r.out.Printf("job %s: %v", name, err)
					}
				}
			}
		}()
	}
}

var errJobRunning = errors.New("is still running; this run is skipped")

// run starts one run of the named job and returns at once; the run's end is logged with its exit status.
func (r *jobRunner) run(name string) error {
	spec, ok := r.jobs[name]
	if !ok {
		return fmt.Errorf("no job %q in infra/services.yaml", name)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopped {
		return errors.New("make up is stopping")
	}
	if r.running[name] != nil {
		return errJobRunning
	}
	p, err := startProcess(name, r.out, r.bin, r.argsFor(spec.job), spec.env)
	if err != nil {
		return err
	}
	r.running[name] = p
	r.out.Printf("job %s started (pid %d)", name, p.cmd.Process.Pid)
	r.done.Add(1)
	go func() {
		defer r.done.Done()
		<-p.done
		if err := p.exitErr(); err != nil {
			r.out.Printf("job %s failed: %v", name, err)
		} else {
			r.out.Printf("job %s finished in %s", name, time.Since(p.started).Round(time.Millisecond))
		}
		r.mu.Lock()
		delete(r.running, name)
		r.mu.Unlock()
	}()
	return nil
}

// handler is the edge's POST /_devenv/jobs/<name>: 202 once the run has started, 404 for an unknown job, 409
// while the job still runs.
func (r *jobRunner) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		name, ok := jobName(req.URL.Path)
		if !ok {
			next.ServeHTTP(w, req)
			return
		}
		if req.Method != http.MethodPost {
			http.Error(w, "POST runs the job", http.StatusMethodNotAllowed)
			return
		}
		switch err := r.run(name); {
		case err == nil:
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusAccepted)
			// name is a job of the manifest (run refused any other), not the caller's text.
			fmt.Fprintf(w, "job %s started: its output is in make up's, prefixed with %s\n", r.declared(name), r.declared(name))
		case errors.Is(err, errJobRunning):
			http.Error(w, "job "+name+" "+err.Error(), http.StatusConflict)
		case r.jobs[name].job.Name == "":
			http.Error(w, err.Error(), http.StatusNotFound)
		default:
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
		}
	})
}

func jobName(path string) (string, bool) {
	if len(path) <= len(jobsPath) || path[:len(jobsPath)] != jobsPath {
		return "", false
	}
	name := filepath.Base(path)
	return name, name == path[len(jobsPath):]
}

// stop stops scheduling and stops the runs in progress with SIGTERM and each job's drain budget, as ECS does.
func (r *jobRunner) stop() {
	if r.cancel != nil {
		r.cancel()
	}
	r.mu.Lock()
	r.stopped = true
	running := make(map[string]*process, len(r.running))
	for k, v := range r.running {
		running[k] = v
	}
	r.mu.Unlock()
	for name, p := range running {
		_ = p.stop(time.Duration(r.jobs[name].job.DrainSeconds)*time.Second + 5*time.Second)
	}
	r.done.Wait()
}

// requestJob asks the make up running on addr to run the named job now and prints its answer.
func requestJob(ctx context.Context, addr, name string, stdout io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+addr+jobsPath+url.PathEscape(name), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("no make up answers on %s (start it, or set ADDR=host:port): %w", addr, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusAccepted {
		return fmt.Errorf("job %s: %s: %s", name, resp.Status, strings.TrimSpace(string(body)))
	}
	_, err = stdout.Write(body)
	return err
}

// declared returns the manifest's name of the job called name ("" for none).
func (r *jobRunner) declared(name string) string { return r.jobs[name].job.Name }
