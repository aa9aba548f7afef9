package tracing_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"go.opentelemetry.io/otel"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// BenchmarkRequest measures what tracing adds to one request in process: the request span and one database
// span, exported to a local collector that answers at once, with tracing off, at the production ratio (0.05)
// and recording every trace. docs/benchmarks.md records the results beside the end-to-end comparison.
func BenchmarkRequest(b *testing.B) {
	collector := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer collector.Close()
	for _, ratio := range []float64{-1, 0.05, 1} {
		name := "off"
		if ratio >= 0 {
			name = "ratio=" + strconv.FormatFloat(ratio, 'g', -1, 64)
		}
		b.Run(name, func(b *testing.B) {
			if ratio >= 0 {
				prev := otel.GetTracerProvider()
				stop, err := tracing.Setup(b.Context(), tracing.Config{Endpoint: collector.URL + "/v1/traces", SampleRatio: ratio},
					"api", slog.New(slog.DiscardHandler), nil)
				if err != nil {
					b.Fatal(err)
				}
				defer func() { _ = stop(b.Context()); otel.SetTracerProvider(prev) }()
			}
			mux := http.NewServeMux()
			mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
				_, span := tracing.Start(r.Context(), "db orders.get")
				span.End()
			})
			h := tracing.Middleware(mux)
			req := httptest.NewRequest(http.MethodGet, "/orders/1", nil)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					h.ServeHTTP(httptest.NewRecorder(), req)
				}
			})
		})
	}
}
