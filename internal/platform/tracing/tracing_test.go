package tracing_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

func TestReadConfig(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    tracing.Config
		wantErr string
	}{
		{map[string]string{}, tracing.Config{SampleRatio: 1}, ""},
		{map[string]string{tracing.EndpointEnv: "http://127.0.0.1:4318/v1/traces", tracing.SampleRatioEnv: "0.05"},
			tracing.Config{Endpoint: "http://127.0.0.1:4318/v1/traces", SampleRatio: 0.05}, ""},
		{map[string]string{tracing.EndpointEnv: "collector:4318"}, tracing.Config{}, tracing.EndpointEnv},
		{map[string]string{tracing.SampleRatioEnv: "5%"}, tracing.Config{}, tracing.SampleRatioEnv},
		{map[string]string{tracing.SampleRatioEnv: "1.5"}, tracing.Config{}, "between 0 and 1"},
	}
	for _, tt := range tests {
		r := config.NewReader(func(k string) string { return tt.env[k] })
		got := tracing.ReadConfig(r)
		err := r.Err()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ReadConfig(%v) error = %v; want one naming %s", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ReadConfig(%v) = %+v, %v; want %+v", tt.env, got, err, tt.want)
		}
	}
}

func TestSetupOffInstallsNothing(t *testing.T) {
	stop, err := tracing.Setup(t.Context(), tracing.Config{SampleRatio: 1}, "api", slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx, span := tracing.Start(t.Context(), "x")
	defer span.End()
	if span.SpanContext().IsValid() {
		t.Error("with tracing off, Start made a real span")
	}
	attrs := map[string]string{"type": "order.placed"}
	if got := tracing.InjectAttributes(ctx, attrs); len(got) != 1 {
		t.Errorf("with tracing off, InjectAttributes = %v; want the attributes unchanged", got)
	}
}

// record installs an in-memory provider for the test and returns its recorder.
func record(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	return rec
}

func attr(s sdktrace.ReadOnlySpan, key string) attribute.Value {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value
		}
	}
	return attribute.Value{}
}

func TestMiddlewareSpanPerRequest(t *testing.T) {
	rec := record(t)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		if !trace.SpanContextFromContext(r.Context()).IsValid() {
			t.Error("the handler's context has no span")
		}
		w.WriteHeader(http.StatusNotFound)
	})
	mux.HandleFunc("GET /healthz", func(http.ResponseWriter, *http.Request) {})
	h := tracing.Middleware(mux, "/healthz")
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, "/healthz", nil))
	if n := len(rec.Ended()); n != 0 {
		t.Fatalf("a request for an untraced path made %d spans; want none", n)
	}
	caller := "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
	req := httptest.NewRequest(http.MethodGet, "/orders/42", nil)
	req.Header.Set("traceparent", caller)
	h.ServeHTTP(httptest.NewRecorder(), req)
	if req.Pattern != "GET /orders/{id}" {
		t.Errorf("outer request's Pattern = %q; want the route the mux matched, for the metrics middleware", req.Pattern)
	}

	spans := rec.Ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans; want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "GET /orders/{id}" || s.SpanKind() != trace.SpanKindServer {
		t.Errorf("span %q kind %v; want GET /orders/{id}, server", s.Name(), s.SpanKind())
	}
	if got := attr(s, "http.response.status_code").AsInt64(); got != 404 {
		t.Errorf("status code attribute %d; want 404", got)
	}
	if got := attr(s, "http.route").AsString(); got != "/orders/{id}" {
		t.Errorf("route attribute %q; want /orders/{id}", got)
	}
	if got := s.Parent().TraceID().String(); got != "0af7651916cd43dd8448eb211c80319c" {
		t.Errorf("parent trace %s; want the caller's", got)
	}
}

func TestMessageAttributesCarryTheTrace(t *testing.T) {
	rec := record(t)
	ctx, parent := tracing.Start(t.Context(), "request")
	shared := map[string]string{"type": "order.placed"}
	attrs := tracing.InjectAttributes(ctx, shared)
	if len(shared) != 1 {
		t.Fatalf("InjectAttributes changed its argument: %v", shared)
	}
	if !tracing.HasTraceContext(attrs) || attrs["type"] != "order.placed" {
		t.Fatalf("InjectAttributes = %v; want type and traceparent", attrs)
	}
	pubAttrs, pub := tracing.StartPublish(t.Context(), "order-events", "e1", attrs)
	pub.End()
	_, consume := tracing.StartConsume(t.Context(), "fulfillment", "m1", pubAttrs)
	consume.End()
	parent.End()

	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range rec.Ended() {
		byName[s.Name()] = s
	}
	p, c := byName["publish order-events"], byName["process fulfillment"]
	if p == nil || c == nil {
		t.Fatalf("spans %v; want a publish and a process span", byName)
	}
	if p.Parent().SpanID() != parent.SpanContext().SpanID() {
		t.Error("the publish span is not a child of the span that wrote the message")
	}
	if c.Parent().SpanID() != p.SpanContext().SpanID() || c.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Error("the consumer span is not a child of the publish span in the same trace")
	}
}

func TestInjectAttributesKeepsTheSNSLimit(t *testing.T) {
	record(t)
	ctx, span := tracing.Start(t.Context(), "request")
	defer span.End()
	full := map[string]string{}
	for i := range tracing.MaxMessageAttributes {
		full[string(rune('a'+i))] = "v"
	}
	if got := tracing.InjectAttributes(ctx, full); len(got) != tracing.MaxMessageAttributes || tracing.HasTraceContext(got) {
		t.Errorf("InjectAttributes on %d attributes = %d attributes; want them unchanged", len(full), len(got))
	}
	delete(full, "a")
	if got := tracing.InjectAttributes(ctx, full); len(got) != tracing.MaxMessageAttributes || !tracing.HasTraceContext(got) {
		t.Errorf("InjectAttributes on %d attributes = %v; want traceparent added", len(full), got)
	}
}

func TestLogsCarryTraceAndSpanIDs(t *testing.T) {
	record(t)
	var buf bytes.Buffer
	log := logging.New(&buf, logging.Config{Format: "json", Level: slog.LevelInfo})
	ctx, span := tracing.Start(t.Context(), "request")
	log.InfoContext(ctx, "handled")
	span.End()
	sc := span.SpanContext()
	for _, want := range []string{`"trace_id":"` + sc.TraceID().String(), `"span_id":"` + sc.SpanID().String()} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("log %s lacks %s", buf.String(), want)
		}
	}
}

// TestDeadCollectorCostsOnlyTheTraces sends requests while the collector accepts connections and never answers
// (the worst case: every export waits for its timeout) and more spans than the queue holds: every request still
// answers at once, and shutdown is bounded.
func TestDeadCollectorCostsOnlyTheTraces(t *testing.T) {
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() { // accept and hold every connection without a byte in reply
		var held []net.Conn
		defer func() {
			for _, c := range held {
				_ = c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })
	stop, err := tracing.Setup(t.Context(), tracing.Config{Endpoint: "http://" + ln.Addr().String() + "/v1/traces", SampleRatio: 1},
		"api", slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /orders", func(w http.ResponseWriter, r *http.Request) {
		_, span := tracing.Start(r.Context(), "db")
		span.End()
	})
	h := tracing.Middleware(mux)
	n := 2 * tracing.MaxQueueSize
	var slowest time.Duration
	start := time.Now()
	for range n {
		t0 := time.Now()
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/orders", nil))
		if w.Code != http.StatusOK {
			t.Fatalf("status %d; want 200", w.Code)
		}
		slowest = max(slowest, time.Since(t0))
	}
	total := time.Since(start)
	t.Logf("%d requests in %s, slowest %s", n, total, slowest)
	if slowest > 100*time.Millisecond || total > 2*time.Second {
		t.Errorf("%d requests took %s (slowest %s) with a dead collector; want no wait on it", n, total, slowest)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Second)
	defer cancel()
	t0 := time.Now()
	_ = stop(ctx)
	if d := time.Since(t0); d > 2*time.Second {
		t.Errorf("shutdown took %s; want it bounded by its context", d)
	}
}
