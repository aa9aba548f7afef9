package messaging_test

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
)

// A message whose traceparent attribute names a publisher's span is handled in a consumer span that is that
// span's child, named after the queue; the handler's context carries it.
func TestConsumerSpanIsThePublishersChild(t *testing.T) {
	rec := tracetest.NewSpanRecorder()
	prevTP, prevProp := otel.GetTracerProvider(), otel.GetTextMapPropagator()
	otel.SetTracerProvider(sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec)))
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t.Cleanup(func() { otel.SetTracerProvider(prevTP); otel.SetTextMapPropagator(prevProp) })

	e := newEnv(t)
	url, _ := e.queue(t, "fulfillment", 30, 0)
	const parent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("{}"),
		MessageAttributes: map[string]sqstypes.MessageAttributeValue{
			"traceparent": {DataType: aws.String("String"), StringValue: aws.String(parent)}}}); err != nil {
		t.Fatal(err)
	}
	handled := make(chan trace.SpanContext, 1)
	stop := consume(t, newConsumer(t, e.sqs, func(ctx context.Context, _ messaging.Received) error {
		handled <- trace.SpanContextFromContext(ctx)
		return nil
	}, discard, messaging.ConsumerOptions{QueueURL: url, WaitTime: time.Second}))
	var sc trace.SpanContext
	select {
	case sc = <-handled:
	case <-time.After(10 * time.Second):
		t.Fatal("the message was not handled")
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if sc.TraceID().String() != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("handler's trace %s; want the publisher's", sc.TraceID())
	}
	spans := rec.Ended()
	if len(spans) != 1 || spans[0].Name() != "process fulfillment" || spans[0].Parent().SpanID().String() != "00f067aa0ba902b7" ||
		spans[0].SpanKind() != trace.SpanKindConsumer {
		t.Fatalf("spans %v; want one consumer span \"process fulfillment\" whose parent is the publisher's span", spans)
	}
}
