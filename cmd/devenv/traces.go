package main

import (
	"context"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/tracestore"
)

// startTraces starts the local trace collector (package tracestore) on a free loopback port, before the
// services, and returns the environment that points their exporters at it with every trace recorded.
func (s *system) startTraces(ctx context.Context) ([]string, error) {
	addr, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	s.traces = tracestore.New(tracestore.DefaultMaxTraces)
	s.tracesSrv = &http.Server{Handler: s.traces.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.tracesSrv.Serve(ln) }()
	return []string{tracing.EndpointEnv + "=http://" + addr + "/v1/traces", tracing.SampleRatioEnv + "=1"}, nil
}

// stopTraces stops the collector, after the services have flushed their last spans into it.
func (s *system) stopTraces() {
	if s.tracesSrv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = s.tracesSrv.Shutdown(ctx)
	s.tracesSrv = nil
}

// withTraces serves the collector's /dev/traces on the edge, so the web UI reads an order's trace from its own
// origin; everything else goes to edge.
func withTraces(edge http.Handler, store *tracestore.Store) http.Handler {
	traces := store.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/dev/traces" || strings.HasPrefix(r.URL.Path, "/dev/traces/") {
			traces.ServeHTTP(w, r)
			return
		}
		edge.ServeHTTP(w, r)
	})
}
