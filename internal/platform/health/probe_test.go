package health_test

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
)

func serve(t *testing.T, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

func TestHealthcheckMain(t *testing.T) {
	log, _ := logtest.New()
	mux := http.NewServeMux()
	health.New(log, 0).Register(mux)
	healthy := serve(t, mux)
	sick := serve(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }))
	_, healthyPort, _ := net.SplitHostPort(healthy)

	// A port nothing listens on: listen, note it, close.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()

	for _, tc := range []struct {
		name, addr string
		want       int
		stderr     string
	}{
		{"serving", healthy, 0, ""},
		{"serving, any-interface address", ":" + healthyPort, 0, ""},
		{"not serving", closed, 1, "connection refused"},
		{"answers 503", sick, 1, "answered 503"},
		{"no port", "localhost", 1, "not host:port"},
		{"port 0", ":0", 1, "no fixed port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			env := func(k string) string {
				if k == "HTTP_ADDR" {
					return tc.addr
				}
				return ""
			}
			code, ok := health.HealthcheckMain([]string{"-healthcheck"}, env, ":1", &stderr)
			if !ok || code != tc.want {
				t.Fatalf("HealthcheckMain = %d, %v; want %d, true (stderr %q)", code, ok, tc.want, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.stderr) {
				t.Errorf("stderr %q does not contain %q", stderr.String(), tc.stderr)
			}
		})
	}
	t.Run("default address when HTTP_ADDR is unset", func(t *testing.T) {
		code, ok := health.HealthcheckMain([]string{"-healthcheck"}, func(string) string { return "" }, healthy, &bytes.Buffer{})
		if !ok || code != 0 {
			t.Errorf("HealthcheckMain = %d, %v; want 0, true", code, ok)
		}
	})
	t.Run("other arguments serve", func(t *testing.T) {
		for _, args := range [][]string{nil, {"-healthcheck", "x"}, {"-other"}} {
			if _, ok := health.HealthcheckMain(args, func(string) string { return "" }, healthy, &bytes.Buffer{}); ok {
				t.Errorf("HealthcheckMain(%q) took the healthcheck mode", args)
			}
		}
	})
}
