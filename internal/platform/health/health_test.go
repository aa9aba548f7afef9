package health_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var discard = slog.New(slog.DiscardHandler)

func get(t *testing.T, h http.Handler, path string) (int, health.Report) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	var rep health.Report
	if err := json.Unmarshal(rec.Body.Bytes(), &rep); err != nil {
		t.Fatalf("GET %s body %q: %v", path, rec.Body.String(), err)
	}
	return rec.Code, rep
}

func TestReadyz(t *testing.T) {
	ok := func(context.Context) error { return nil }
	fail := func(context.Context) error { return errors.New("connection refused to 10.0.0.5") }
	hang := func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
	waiting := func(context.Context) error {
		return health.NotReady("the database refuses the service's role", errors.New("password authentication failed for user orders_api"))
	}
	tests := []struct {
		name       string
		checks     map[string]func(context.Context) error
		shutdown   bool
		wantStatus int
		want       health.Report
	}{
		{"no checks", nil, false, 200, health.Report{Status: "ready"}},
		{"all pass", map[string]func(context.Context) error{"database": ok, "queue": ok}, false, 200,
			health.Report{Status: "ready", Checks: map[string]string{"database": "ok", "queue": "ok"}}},
		{"one fails", map[string]func(context.Context) error{"database": fail, "queue": ok}, false, 503,
			health.Report{Status: "not ready", Checks: map[string]string{"database": "failed", "queue": "ok"}}},
		{"one hangs past the timeout", map[string]func(context.Context) error{"database": hang}, false, 503,
			health.Report{Status: "not ready", Checks: map[string]string{"database": "failed"}}},
		{"fails with a public reason", map[string]func(context.Context) error{"database": waiting, "queue": ok}, false, 503,
			health.Report{Status: "not ready", Checks: map[string]string{"database": "failed", "queue": "ok"},
				Reasons: map[string]string{"database": "the database refuses the service's role"}}},
		{"shutting down", map[string]func(context.Context) error{"database": ok}, true, 503,
			health.Report{Status: "shutting down"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := health.New(discard, 50*time.Millisecond)
			for name, fn := range tt.checks {
				c.Add(name, fn)
			}
			if tt.shutdown {
				c.Shutdown()
			}
			mux := http.NewServeMux()
			c.Register(mux)
			code, rep := get(t, mux, "/readyz")
			if code != tt.wantStatus {
				t.Errorf("GET /readyz = %d; want %d", code, tt.wantStatus)
			}
			if diff := cmp.Diff(tt.want, rep); diff != "" {
				t.Errorf("GET /readyz report (-want +got):\n%s", diff)
			}
			// Liveness never depends on the checks.
			if code, _ := get(t, mux, "/healthz"); code != 200 {
				t.Errorf("GET /healthz = %d; want 200", code)
			}
		})
	}
}

// With the real database check: ready while it is up, not ready while it is down, ready again after.
func TestReadyzDatabase(t *testing.T) {
	srv, db := dbtest.NewServer(t)
	pool := dbtest.Connect(t, db.DSN())
	c := health.New(discard, time.Second)
	c.Add("database", database.Ready(pool))
	mux := http.NewServeMux()
	c.Register(mux)
	steps := []struct {
		name string
		do   func() error
		want int
	}{
		{"up", func() error { return nil }, 200},
		{"down", srv.Halt, 503},
		{"back", func() error { return srv.Resume(context.Background()) }, 200},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if code, rep := get(t, mux, "/readyz"); code != s.want {
			t.Errorf("database %s: GET /readyz = %d %+v; want %d", s.name, code, rep, s.want)
		}
	}
}
