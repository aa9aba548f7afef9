// Package tracing follows one order through the whole system with OpenTelemetry: a span per HTTP request
// (Middleware), per outbox publish and per message received and handled (packages outbox and messaging), and per
// database transaction that matters (Start, in the stores). The W3C trace context travels in the outbox row and
// in the SNS/SQS message attribute "traceparent" (InjectAttributes, ExtractAttributes), so a worker's span is a
// child of the API request that placed the order, and the API's update from order-updates a child of the
// worker's. Log records written with a traced context carry trace_id and span_id (package logging).
//
// Setup installs the SDK from the configuration: spans go to an OTLP/HTTP endpoint through a batch span
// processor with a bounded queue, so exporting never blocks or fails a request (a dead collector costs the
// traces and nothing else; spans beyond the queue are dropped). With no endpoint configured tracing is off:
// the global provider stays OpenTelemetry's no-op one and no trace context is written into messages.
package tracing

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
)

// Environment variables read by ReadConfig, the names the OpenTelemetry specification gives them
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/).
const (
	EndpointEnv    = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
	SampleRatioEnv = "OTEL_TRACES_SAMPLER_ARG"
)

// Config configures tracing.
type Config struct {
	// Endpoint is the OTLP/HTTP traces URL ("http://127.0.0.1:4318/v1/traces"); "" turns tracing off.
	Endpoint string
	// SampleRatio is the share of new traces recorded, 0 to 1. A trace begun elsewhere keeps its caller's
	// decision (parent-based sampling), so one order's spans are all recorded or none.
	SampleRatio float64
}

// Enabled reports whether spans are exported.
func (c Config) Enabled() bool { return c.Endpoint != "" }

// DefaultSampleRatio is the ratio when OTEL_TRACES_SAMPLER_ARG is unset: every trace.
const DefaultSampleRatio = 1.0

// ReadConfig reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (an absolute URL; unset turns tracing off) and
// OTEL_TRACES_SAMPLER_ARG (a ratio from 0 to 1, default 1).
func ReadConfig(r *config.Reader) Config {
	c := Config{SampleRatio: DefaultSampleRatio}
	if u := r.URL(EndpointEnv, false); u != nil {
		c.Endpoint = u.String()
	}
	if v := r.String(SampleRatioEnv, ""); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		switch {
		case err != nil:
			r.Fail(SampleRatioEnv, fmt.Sprintf("%q is not a number such as 0.05", v))
		case f < 0 || f > 1:
			r.Fail(SampleRatioEnv, fmt.Sprintf("%s must be between 0 and 1", v))
		default:
			c.SampleRatio = f
		}
	}
	return c
}

// Bounds of the export pipeline: the queue of finished spans waiting for export (spans past it are dropped,
// never waited for), the spans per export request, the wait before a partial batch is sent, and how long one
// export may take.
const (
	MaxQueueSize       = 2048
	MaxExportBatchSize = 512
	BatchTimeout       = 2 * time.Second
	ExportTimeout      = 5 * time.Second
)

// Setup installs the tracer provider and the W3C trace-context propagator for the service named service, and
// returns the function that flushes and stops it (call it last, with a bounded context). With tracing off it
// installs nothing and returns a no-op. Exports to the X-Ray OTLP endpoint (https://xray.<region>.amazonaws.com)
// are signed with awsCfg's credentials (the task role); awsCfg may be nil for any other endpoint.
func Setup(ctx context.Context, cfg Config, service string, log *slog.Logger, awsCfg *aws.Config) (func(context.Context) error, error) {
	if !cfg.Enabled() {
		return func(context.Context) error { return nil }, nil
	}
	opts := []otlptracehttp.Option{
		otlptracehttp.WithEndpointURL(cfg.Endpoint),
		otlptracehttp.WithTimeout(ExportTimeout),
		// A failed export is dropped rather than retried for a minute: the queue behind it stays short.
		otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}),
	}
	client, err := signingClient(ctx, cfg.Endpoint, awsCfg)
	if err != nil {
		return nil, err
	}
	if client != nil {
		opts = append(opts, otlptracehttp.WithHTTPClient(client))
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing: exporter for %s: %w", cfg.Endpoint, err)
	}
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(attribute.String("service.name", service)))
	if err != nil {
		return nil, fmt.Errorf("tracing: resource: %w", err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sdktrace.ParentBased(sdktrace.TraceIDRatioBased(cfg.SampleRatio))),
		sdktrace.WithBatcher(exp,
			sdktrace.WithMaxQueueSize(MaxQueueSize),
			sdktrace.WithMaxExportBatchSize(MaxExportBatchSize),
			sdktrace.WithBatchTimeout(BatchTimeout),
			sdktrace.WithExportTimeout(ExportTimeout)))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	// Export failures are reported by the SDK's error handler; one line each, never a failed request.
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("trace export failed", "err", err) }))
	log.Info("tracing on", "endpoint", cfg.Endpoint, "sample_ratio", cfg.SampleRatio)
	return func(ctx context.Context) error {
		if err := tp.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("tracing: shutdown: %w", err)
		}
		return nil
	}, nil
}

// instrumentation names the spans' origin.
const instrumentation = "github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"

// tracer returns the global provider's tracer; it follows a provider installed later.
func tracer() trace.Tracer { return otel.Tracer(instrumentation) }

// Start starts an internal span, such as one database transaction; end it with End.
func Start(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	return tracer().Start(ctx, name, trace.WithAttributes(attrs...))
}

// End ends span, recording err (nil for success) as its status.
func End(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// Middleware starts a server span per request, a child of the caller's traceparent header when there is one,
// named after the route the mux matched ("POST /orders") with the status code. Put it directly around the
// ServeMux: the route is read from the request the mux saw. Requests for the untraced paths (the health probes,
// which the load balancer and ECS send every few seconds) get no span.
func Middleware(next http.Handler, untraced ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(untraced, r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		ctx := otel.GetTextMapPropagator().Extract(r.Context(), propagation.HeaderCarrier(r.Header))
		ctx, span := tracer().Start(ctx, r.Method, trace.WithSpanKind(trace.SpanKindServer),
			trace.WithAttributes(attribute.String("http.request.method", r.Method), attribute.String("url.path", r.URL.Path)))
		sw := &httpserver.StatusRecorder{ResponseWriter: w}
		orig := r
		r = r.WithContext(ctx)
		defer func() {
			// The mux records the matched route on the request it was given; middleware outside this one
			// (metrics) reads it from theirs.
			orig.Pattern = r.Pattern
			status := sw.Status
			if status == 0 {
				status = http.StatusOK
			}
			v := recover()
			if v != nil {
				status = http.StatusInternalServerError
			}
			if r.Pattern != "" {
				span.SetName(r.Method + " " + routeOf(r.Pattern))
				span.SetAttributes(attribute.String("http.route", routeOf(r.Pattern)))
			}
			span.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				span.SetStatus(codes.Error, http.StatusText(status))
			}
			span.End()
			if v != nil {
				panic(v)
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// routeOf drops the method of a ServeMux pattern ("GET /orders/{id}" -> "/orders/{id}").
func routeOf(pattern string) string {
	for i := range len(pattern) {
		if pattern[i] == ' ' {
			return pattern[i+1:]
		}
		if pattern[i] == '/' {
			break
		}
	}
	return pattern
}

// Flush calls stop, the function Setup returned, within ExportTimeout whether or not ctx has ended: deferred
// last in a service's run, it sends the spans of the drain without holding the exit for longer.
func Flush(ctx context.Context, stop func(context.Context) error) {
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ExportTimeout)
	defer cancel()
	_ = stop(fctx)
}
