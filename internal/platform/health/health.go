// Package health serves the two probes of a service. /healthz answers whether the process is alive: it is
// cheap and checks no dependency, because the load balancer and ECS replace tasks that fail it, and a database
// outage must not make every task be replaced at once. /readyz answers whether the task can do useful work: it
// runs the named dependency checks (the database, ...) in parallel under a timeout, and reports not ready as
// soon as shutdown begins, so traffic moves away before the server stops accepting it.
package health

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// Checker holds the readiness checks and the shutting-down state.
type Checker struct {
	log      *slog.Logger
	timeout  time.Duration
	mu       sync.Mutex
	checks   []check
	stopping atomic.Bool
}

type check struct {
	name string
	fn   func(context.Context) error
}

// New returns a Checker whose readiness checks together get timeout to answer (default 2 s).
func New(log *slog.Logger, timeout time.Duration) *Checker {
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	return &Checker{log: log, timeout: timeout}
}

// Add registers a readiness check; fn returns an error when the dependency cannot be used.
func (c *Checker) Add(name string, fn func(context.Context) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.checks = append(c.checks, check{name, fn})
}

// Shutdown marks the service as shutting down: from now on /readyz answers 503. It is called first when
// shutdown begins (httpserver.Options.OnShutdown).
func (c *Checker) Shutdown() { c.stopping.Store(true) }

// The paths of the probes Register adds.
const (
	LivenessPath  = "/healthz"
	ReadinessPath = "/readyz"
)

// Register adds GET /healthz and GET /readyz to mux.
func (c *Checker) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET "+LivenessPath, c.Healthz)
	mux.HandleFunc("GET "+ReadinessPath, c.Readyz)
}

// Report is the JSON body of /readyz: the overall status and each check's ("ok" or "failed"), and for a failed
// check that gave one (NotReady) its reason in a few fixed words. The failure's details (hosts, users, the
// driver's message) are logged, not served, so a probe does not reveal internals.
type Report struct {
	Status  string            `json:"status"`
	Checks  map[string]string `json:"checks,omitempty"`
	Reasons map[string]string `json:"reasons,omitempty"`
}

// NotReady returns an error for a readiness check that /readyz reports with reason, a short public sentence
// such as "the database refuses the service's role"; err is only logged.
func NotReady(reason string, err error) error { return &notReady{reason, err} }

type notReady struct {
	reason string
	err    error
}

func (e *notReady) Error() string { return e.reason + ": " + e.err.Error() }
func (e *notReady) Unwrap() error { return e.err }

// Healthz answers 200 while the process can serve HTTP at all.
func (c *Checker) Healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, Report{Status: "ok"})
}

// Readyz answers 200 when every check passes within the timeout and shutdown has not begun, 503 otherwise.
func (c *Checker) Readyz(w http.ResponseWriter, r *http.Request) {
	if c.stopping.Load() {
		writeJSON(w, http.StatusServiceUnavailable, Report{Status: "shutting down"})
		return
	}
	rep := c.Check(r.Context())
	status := http.StatusOK
	if rep.Status != "ready" {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, rep)
}

// Check runs every check in parallel and reports the result.
func (c *Checker) Check(ctx context.Context) Report {
	c.mu.Lock()
	checks := append([]check(nil), c.checks...)
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	errs := make([]error, len(checks))
	var wg sync.WaitGroup
	for i, ch := range checks {
		wg.Go(func() { errs[i] = ch.fn(ctx) })
	}
	wg.Wait()
	rep := Report{Status: "ready", Checks: make(map[string]string, len(checks))}
	for i, ch := range checks {
		if errs[i] != nil {
			rep.Status = "not ready"
			rep.Checks[ch.name] = "failed"
			var nr *notReady
			if errors.As(errs[i], &nr) {
				if rep.Reasons == nil {
					rep.Reasons = map[string]string{}
				}
				rep.Reasons[ch.name] = nr.reason
			}
			c.log.WarnContext(ctx, "readiness check failed", "check", ch.name, "err", errs[i])
			continue
		}
		rep.Checks[ch.name] = "ok"
	}
	return rep
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
