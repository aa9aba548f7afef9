package httpserver_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
)

// start runs a server for handler on a free port until the test ends and returns its base URL and a function
// that stops it and returns Run's result.
func start(t *testing.T, handler http.Handler, log *slog.Logger, opts httpserver.Options) (string, func() error) {
	t.Helper()
	opts.Addr = "127.0.0.1:0"
	srv, err := httpserver.New(handler, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Listen(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	var once sync.Once
	var runErr error
	stop := func() error {
		once.Do(func() {
			cancel()
			runErr = <-done
		})
		return runErr
	}
	t.Cleanup(func() { _ = stop() })
	return "http://" + srv.Addr(), stop
}

func decodeProblem(t *testing.T, resp *http.Response) httpserver.Problem {
	t.Helper()
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Errorf("Content-Type = %q; want application/problem+json", ct)
	}
	var p httpserver.Problem
	if err := json.NewDecoder(resp.Body).Decode(&p); err != nil {
		t.Fatalf("decode problem: %v", err)
	}
	return p
}

func TestLimitsAndRecovery(t *testing.T) {
	log, logs := logtest.New()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /echo", func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if httpserver.BodyTooLarge(err) {
			httpserver.WriteProblem(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		_, _ = w.Write(b)
	})
	mux.HandleFunc("GET /panic", func(http.ResponseWriter, *http.Request) {
		panic("secret internal state: password=hunter2")
	})
	base, _ := start(t, mux, log, httpserver.Options{MaxBodyBytes: 100, MaxHeaderBytes: 1 << 10})

	chunked := func(n int) io.Reader { return io.MultiReader(strings.NewReader(strings.Repeat("x", n))) }
	tests := []struct {
		name       string
		req        func() (*http.Request, error)
		wantStatus int
	}{
		{"body within limit", func() (*http.Request, error) {
			return http.NewRequest(http.MethodPost, base+"/echo", strings.NewReader(strings.Repeat("x", 100)))
		}, 200},
		{"declared body over limit", func() (*http.Request, error) {
			return http.NewRequest(http.MethodPost, base+"/echo", strings.NewReader(strings.Repeat("x", 101)))
		}, 413},
		{"chunked body over limit", func() (*http.Request, error) {
			return http.NewRequest(http.MethodPost, base+"/echo", chunked(1000))
		}, 413},
		{"headers over limit", func() (*http.Request, error) {
			r, err := http.NewRequest(http.MethodGet, base+"/panic", nil)
			if err == nil {
				r.Header.Set("X-Big", strings.Repeat("h", 64<<10))
			}
			return r, err
		}, 431},
		{"panic", func() (*http.Request, error) { return http.NewRequest(http.MethodGet, base+"/panic", nil) }, 500},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := tt.req()
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("%s %s = %d; want %d", req.Method, req.URL.Path, resp.StatusCode, tt.wantStatus)
			}
			if tt.wantStatus == 413 || tt.wantStatus == 500 {
				p := decodeProblem(t, resp)
				if p.Status != tt.wantStatus {
					t.Errorf("problem status = %d; want %d", p.Status, tt.wantStatus)
				}
				if tt.wantStatus == 500 && (strings.Contains(p.Detail+p.Title, "hunter2") || p.Title != "Internal Server Error") {
					t.Errorf("500 problem = %+v; want a generic one", p)
				}
			}
		})
	}
	if !strings.Contains(logs.String(), "panic in http handler") || !strings.Contains(logs.String(), "hunter2") {
		t.Errorf("logs = %q; want the panic logged for the operator", logs.String())
	}
}

// A client that never finishes its headers is disconnected.
func TestReadHeaderTimeout(t *testing.T) {
	base, _ := start(t, http.NotFoundHandler(), slog.New(slog.DiscardHandler), httpserver.Options{ReadHeaderTimeout: 50 * time.Millisecond})
	conn, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\n")); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("read: %v; want the server to close the connection", err)
	}
	if len(b) > 0 && !strings.Contains(string(b), "408") {
		t.Errorf("server answered %q; want the connection closed or 408", b)
	}
}

// Shutdown reports not ready first, keeps serving during the delay, lets in-flight requests finish, and
// only then stops.
func TestGracefulShutdown(t *testing.T) {
	checker := health.New(slog.New(slog.DiscardHandler), time.Second)
	release := make(chan struct{})
	started := make(chan struct{})
	mux := http.NewServeMux()
	checker.Register(mux)
	mux.HandleFunc("GET /slow", func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-release
		_, _ = w.Write([]byte("done"))
	})
	shutdownBegan := make(chan struct{})
	base, stop := start(t, mux, slog.New(slog.DiscardHandler), httpserver.Options{
		ShutdownTimeout: 20 * time.Second,
		ShutdownDelay:   2 * time.Second,
		OnShutdown:      func() { checker.Shutdown(); close(shutdownBegan) },
	})
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			slow <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		slow <- resp.Status + " " + string(b)
	}()
	<-started
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	<-shutdownBegan

	// During the delay the server still answers, and says it is not ready.
	resp, err := http.Get(base + "/readyz")
	if err != nil {
		t.Fatalf("GET /readyz during the shutdown delay: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("GET /readyz during shutdown = %d; want 503", resp.StatusCode)
	}
	select {
	case err := <-stopped:
		t.Fatalf("Run returned %v with a request in flight; want it to wait", err)
	default:
	}
	close(release)
	if got := <-slow; got != "200 OK done" {
		t.Errorf("in-flight request = %q; want 200 OK done", got)
	}
	if err := <-stopped; err != nil {
		t.Errorf("Run = %v; want nil after a complete drain", err)
	}
	if resp, err := http.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Errorf("GET after shutdown succeeded; want the listener closed")
	}
}

// A request that outlives the drain budget makes Run report the incomplete drain.
func TestShutdownBudgetExceeded(t *testing.T) {
	started := make(chan struct{})
	block := make(chan struct{})
	defer close(block)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(started)
		<-block
	})
	base, stop := start(t, h, slog.New(slog.DiscardHandler), httpserver.Options{ShutdownTimeout: 100 * time.Millisecond})
	go func() {
		resp, err := http.Get(base + "/")
		if err == nil {
			resp.Body.Close()
		}
	}()
	<-started
	if err := stop(); err == nil || !strings.Contains(err.Error(), "drain") {
		t.Errorf("Run = %v; want a drain error", err)
	}
}

// TestDrainClosesConnectionsWithoutRequest checks that a client connection that never sends a request (a
// pooling client dials one and then uses another that freed up first) does not hold the drain: http.Server
// alone would wait 5 s for it, past this budget, and Run would report a failed drain.
func TestDrainClosesConnectionsWithoutRequest(t *testing.T) {
	base, stop := start(t, http.NotFoundHandler(), slog.New(slog.DiscardHandler), httpserver.Options{ShutdownTimeout: 3 * time.Second})
	c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	time.Sleep(100 * time.Millisecond) // let the server accept it
	if err := stop(); err != nil {
		t.Errorf("Run() with an idle new connection = %v; want a clean drain", err)
	}
}
