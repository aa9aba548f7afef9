package metrics_test

import (
	"context"
	"net/http"
	"os"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
)

// A service records request metrics around its ServeMux and flushes them to stdout every ten seconds, where
// the awslogs driver takes them to CloudWatch.
func ExampleMiddleware() {
	rec := metrics.New(os.Stdout, "ECSReworked", "Service", "api")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {})
	handler := metrics.Middleware(rec, mux) // innermost: right around the ServeMux
	_ = handler
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = rec.Run(ctx, 10*time.Second) // in run: errgroup.Go(...)
}

// Workers record their own measures.
func ExampleRecorder_Observe() {
	rec := metrics.New(os.Stdout, "ECSReworked", "Service", "worker")
	rec.Add("MessagesHandled", metrics.Count, 1, "Outcome", "fulfilled")
	rec.Observe("EventLatency", metrics.Milliseconds, 42)
}
