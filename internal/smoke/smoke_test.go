package smoke_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/smoke"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
)

// fakeAPI is an orders API whose answers a test breaks one at a time.
type fakeAPI struct {
	mu       sync.Mutex
	status   string // what a placed order becomes on its second read
	reads    int
	email    string
	broken   string // a path prefix answered 500
	notReady bool
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken != "" && strings.HasPrefix(r.Method+" "+r.URL.Path, f.broken) {
		http.Error(w, "boom", http.StatusInternalServerError)
		return
	}
	switch {
	case r.URL.Path == "/healthz":
	case r.URL.Path == "/readyz" && f.notReady:
		http.Error(w, `{"status":"not ready"}`, http.StatusServiceUnavailable)
	case r.URL.Path == "/readyz":
	case r.Method == http.MethodGet && r.URL.Path == "/api/orders":
		_, _ = w.Write([]byte(`{"orders":[]}`))
	case r.Method == http.MethodPost && r.URL.Path == "/api/orders":
		var body struct {
			Email string `json:"customer_email"`
		}
		_ = json.NewDecoder(r.Body).Decode(&body)
		if !strings.HasPrefix(r.Header.Get("Idempotency-Key"), "smoke-") {
			http.Error(w, "no smoke key", http.StatusBadRequest)
			return
		}
		f.email = body.Email
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]string{"id": "o-1", "customer_email": body.Email, "status": "pending"})
	case r.Method == http.MethodGet && r.URL.Path == "/api/orders/o-1":
		f.reads++
		st := "pending"
		if f.reads > 1 {
			st = f.status
		}
		_ = json.NewEncoder(w).Encode(map[string]string{"id": "o-1", "customer_email": f.email, "status": st, "status_reason": "out of stock: SKU-1"})
	default:
		http.NotFound(w, r)
	}
}

func TestRunNamesTheFailedStep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		api   *fakeAPI
		step  string
		error string
	}{
		{"all pass", &fakeAPI{status: "fulfilled"}, "", ""},
		{"healthz 5xx", &fakeAPI{status: "fulfilled", broken: "GET /healthz"}, smoke.StepHealthz, "answered 500"},
		{"not ready", &fakeAPI{status: "fulfilled", notReady: true}, smoke.StepReadyz, "answered 503"},
		{"read 5xx", &fakeAPI{status: "fulfilled", broken: "GET /api/orders"}, smoke.StepRead, "answered 500"},
		{"place 5xx", &fakeAPI{status: "fulfilled", broken: "POST /api/orders"}, smoke.StepPlace, "answered 500"},
		{"rejected", &fakeAPI{status: "rejected"}, smoke.StepFulfilled, "was rejected: out of stock"},
		{"never fulfilled", &fakeAPI{status: "pending"}, smoke.StepFulfilled, "is the worker running?"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(tc.api)
			defer srv.Close()
			var logged []string
			steps, err := smoke.Run(t.Context(), smoke.Config{
				BaseURL: srv.URL, FulfillTimeout: 300 * time.Millisecond, Poll: 20 * time.Millisecond,
				Log: func(s smoke.Step) { logged = append(logged, s.Name) },
			})
			if tc.step == "" {
				if err != nil || len(steps) != 5 {
					t.Fatalf("Run = %d steps, %v; want 5 steps and no error", len(steps), err)
				}
				if !smoke.IsSmokeEmail(tc.api.email) {
					t.Errorf("order placed with email %q; want the smoke marker domain %s", tc.api.email, smoke.EmailDomain)
				}
				return
			}
			var se *smoke.Error
			if !errors.As(err, &se) || se.Step != tc.step || !strings.Contains(err.Error(), tc.error) {
				t.Fatalf("Run error = %v; want step %s failing with %q", err, tc.step, tc.error)
			}
			if last := steps[len(steps)-1]; last.Name != tc.step || last.Err == nil || logged[len(logged)-1] != tc.step {
				t.Errorf("last step = %+v (logged %v); want the failed %s", last, logged, tc.step)
			}
			if !strings.Contains(smoke.Report(steps), "| "+tc.step+" | FAILED |") {
				t.Errorf("report does not show %s failed:\n%s", tc.step, smoke.Report(steps))
			}
		})
	}
}

func TestIsSmokeEmail(t *testing.T) {
	for email, want := range map[string]bool{
		"release+1@smoke.invalid": true, "A@SMOKE.INVALID": true,
		"a@example.com": false, "a@notsmoke.invalid": false, "smoke.invalid@example.com": false,
	} {
		if got := smoke.IsSmokeEmail(email); got != want {
			t.Errorf("IsSmokeEmail(%q) = %v; want %v", email, got, want)
		}
	}
}

// TestAgainstLocalSystem runs the smoke test against the real binaries, as `make smoke` runs it against
// `make up`: it passes; it fails at the read step when the API answers 5xx; it fails at the fulfilled step
// when the worker is stopped.
func TestAgainstLocalSystem(t *testing.T) {
	sys := devenvtest.Start(t, devenvtest.Build(t))
	cfg := smoke.Config{BaseURL: sys.URL, FulfillTimeout: 30 * time.Second, Poll: 100 * time.Millisecond}

	t.Run("passes", func(t *testing.T) {
		steps, err := smoke.Run(t.Context(), cfg)
		if err != nil {
			t.Fatalf("smoke against the local system: %v\n%s", err, smoke.Report(steps))
		}
	})

	t.Run("API answers 5xx", func(t *testing.T) {
		target, _ := url.Parse(sys.URL)
		proxy := httputil.NewSingleHostReverseProxy(target)
		front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/api/") {
				http.Error(w, "upstream failure", http.StatusBadGateway)
				return
			}
			proxy.ServeHTTP(w, r)
		}))
		defer front.Close()
		c := cfg
		c.BaseURL = front.URL
		_, err := smoke.Run(t.Context(), c)
		var se *smoke.Error
		if !errors.As(err, &se) || se.Step != smoke.StepRead {
			t.Fatalf("smoke with the API answering 502: %v; want the read step to fail", err)
		}
	})

	t.Run("worker stopped", func(t *testing.T) {
		sys.Signal(t, "worker", syscall.SIGSTOP)
		defer sys.Signal(t, "worker", syscall.SIGCONT)
		c := cfg
		c.FulfillTimeout = 5 * time.Second
		_, err := smoke.Run(t.Context(), c)
		var se *smoke.Error
		if !errors.As(err, &se) || se.Step != smoke.StepFulfilled {
			t.Fatalf("smoke with the worker stopped: %v; want the fulfilled step to fail", err)
		}
	})
}

// The smoke test of a web service other than the orders API: the probes and its paths, no order.
func TestProbesOnlyWithPaths(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.Path)
		if r.URL.Path == "/api/catalog/broken" {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	defer srv.Close()
	steps, err := smoke.Run(t.Context(), smoke.Config{BaseURL: srv.URL, ProbesOnly: true, Paths: []string{"/api/catalog/hello"}})
	if err != nil {
		t.Fatalf("Run() = %v", err)
	}
	if want := []string{"GET /healthz", "GET /readyz", "GET /api/catalog/hello"}; !slices.Equal(seen, want) || len(steps) != 3 {
		t.Errorf("requests %q (%d steps); want %q, no order", seen, len(steps), want)
	}
	_, err = smoke.Run(t.Context(), smoke.Config{BaseURL: srv.URL, ProbesOnly: true, Paths: []string{"/api/catalog/broken"}})
	var se *smoke.Error
	if !errors.As(err, &se) || se.Step != "GET /api/catalog/broken" {
		t.Errorf("Run() with a failing path = %v; want the step GET /api/catalog/broken to fail", err)
	}
}
