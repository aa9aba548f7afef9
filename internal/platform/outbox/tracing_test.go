package outbox_test

import (
	"context"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// capturePublisher keeps the messages it was given.
type capturePublisher struct {
	mu   sync.Mutex
	msgs []messaging.Message
}

func (p *capturePublisher) PublishBatch(_ context.Context, _ string, msgs []messaging.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.msgs = append(p.msgs, msgs...)
	return nil
}

// A message enqueued within a span carries the trace through the outbox row: the relay's publish span is a
// child of the enqueuing span, and the published message carries the publish span's context for its consumers,
// beside its own attributes.
func TestTraceContextThroughTheOutbox(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	pool := dbtest.New(t)
	ctx, request := tracing.Start(t.Context(), "request")
	err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
		return outbox.New(table).Enqueue(ctx, tx, outbox.Message{EventID: eventID(1), Topic: "order-events",
			Body: "{}", Attributes: map[string]string{"type": "order.placed"}})
	})
	request.End()
	if err != nil {
		t.Fatal(err)
	}
	pub := &capturePublisher{}
	if _, err := newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics}).RelayOnce(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(pub.msgs) != 1 {
		t.Fatalf("published %d messages; want 1", len(pub.msgs))
	}
	var publish sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Name() == "publish order-events" {
			publish = s
		}
	}
	if publish == nil {
		t.Fatal("the relay made no publish span")
	}
	if publish.Parent().SpanID() != request.SpanContext().SpanID() || publish.SpanContext().TraceID() != request.SpanContext().TraceID() {
		t.Error("the publish span is not a child of the span that enqueued the message")
	}
	got := tracing.ExtractAttributes(context.Background(), pub.msgs[0].Attributes)
	if sc := trace.SpanContextFromContext(got); sc.SpanID() != publish.SpanContext().SpanID() {
		t.Errorf("the published message carries span %s; want the publish span %s", sc.SpanID(), publish.SpanContext().SpanID())
	}
	if pub.msgs[0].Attributes["type"] != "order.placed" {
		t.Errorf("published attributes %v lost type", pub.msgs[0].Attributes)
	}
}
