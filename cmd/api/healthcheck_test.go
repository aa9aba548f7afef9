package main

import (
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
)

// TestHealthcheckMode runs the built binary as the container health check does: it exits 0 when a server
// answers /healthz on HTTP_ADDR's port and 1 when nothing serves there, without reading any other setting.
func TestHealthcheckMode(t *testing.T) {
	bin := filepath.Join(devenvtest.Build(t, "./cmd/api"), "api")
	log, _ := logtest.New()
	mux := http.NewServeMux()
	health.New(log, 0).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed := devenvtest.FreeAddr(t)

	for _, tc := range []struct {
		name, addr string
		want       int
	}{
		{"serving", ":" + port, 0},
		{"not serving", closed, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.CommandContext(t.Context(), bin, health.HealthcheckFlag)
			cmd.Env = append(os.Environ(), "HTTP_ADDR="+tc.addr)
			out, err := cmd.CombinedOutput()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tc.want {
				t.Errorf("api -healthcheck with HTTP_ADDR=%s exited %d, want %d; output:\n%s", tc.addr, code, tc.want, out)
			}
		})
	}
}
