package httpserver_test

import (
	"context"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging"
)

// A service composes health, request ids and the server; Run returns once in-flight requests have drained.
func ExampleServer_Run() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	checker := health.New(log, 2*time.Second)
	// checker.Add("database", database.Ready(pool))
	mux := http.NewServeMux()
	checker.Register(mux)
	mux.HandleFunc("GET /api/hello", func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write([]byte("hello")) })

	srv, err := httpserver.New(logging.Middleware(mux), log, httpserver.Options{
		Addr:            "127.0.0.1:0",
		ShutdownTimeout: 20 * time.Second, // SHUTDOWN_TIMEOUT
		ShutdownDelay:   5 * time.Second,  // let the load balancer see /readyz fail
		OnShutdown:      checker.Shutdown,
	})
	if err != nil {
		log.Error("server", "err", err) // in run: return err
		return
	}
	ctx, cancel := context.WithCancel(context.Background()) // in run: the signal context
	cancel()
	_ = srv.Run(ctx)
}
