package tracing

import (
	"context"
	"maps"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// MaxMessageAttributes is the most message attributes an SNS message may carry to an SQS subscription with raw
// message delivery; SNS discards a message with more: "For SQS subscriptions, a maximum of 10 message
// attributes can be sent when Raw Message Delivery is enabled ... Messages with more than 10 message attributes
// directed towards Raw Message Delivery enabled Amazon SQS subscriptions will be discarded as client side
// errors" (https://docs.aws.amazon.com/sns/latest/dg/SNSMessageAttributes.html). The trace context is only
// added where it fits under this limit: a message without it is published untraced, never lost.
const MaxMessageAttributes = 10

// TraceParentAttribute is the message attribute that carries the W3C trace context
// (https://www.w3.org/TR/trace-context/#traceparent-header), in the outbox row and on SNS and SQS.
const TraceParentAttribute = "traceparent"

// InjectAttributes returns attrs with the trace context of ctx added (traceparent, and tracestate when there
// is one). attrs itself is never changed (callers share attribute maps); it is returned as is when ctx has no
// span, tracing is off, or the context would take the message past MaxMessageAttributes.
func InjectAttributes(ctx context.Context, attrs map[string]string) map[string]string {
	if !trace.SpanContextFromContext(ctx).IsValid() {
		return attrs
	}
	carrier := propagation.MapCarrier{}
	otel.GetTextMapPropagator().Inject(ctx, carrier)
	if len(carrier) == 0 {
		return attrs
	}
	out := make(map[string]string, len(attrs)+len(carrier))
	maps.Copy(out, attrs)
	for k, v := range carrier {
		if _, ok := out[k]; !ok && len(out) >= MaxMessageAttributes {
			return attrs
		}
		out[k] = v
	}
	return out
}

// ExtractAttributes returns ctx with the remote trace context carried by attrs, if any.
func ExtractAttributes(ctx context.Context, attrs map[string]string) context.Context {
	if attrs[TraceParentAttribute] == "" {
		return ctx
	}
	return otel.GetTextMapPropagator().Extract(ctx, propagation.MapCarrier(attrs))
}

// HasTraceContext reports whether attrs carry a trace context.
func HasTraceContext(attrs map[string]string) bool { return attrs[TraceParentAttribute] != "" }

// StartPublish starts the producer span of publishing one outbox message to topic, a child of the trace
// context the message was written with (attrs), and returns the message's attributes carrying the new span's
// context for its consumers.
func StartPublish(ctx context.Context, topic, eventID string, attrs map[string]string) (map[string]string, trace.Span) {
	ctx = ExtractAttributes(ctx, attrs)
	ctx, span := tracer().Start(ctx, "publish "+topic, trace.WithSpanKind(trace.SpanKindProducer),
		trace.WithAttributes(attribute.String("messaging.system", "aws_sns"),
			attribute.String("messaging.destination.name", topic),
			attribute.String("messaging.message.id", eventID)))
	return InjectAttributes(ctx, attrs), span
}

// StartConsume starts the consumer span of handling one message received from queue, a child of the span that
// published it when its attributes carry a trace context.
func StartConsume(ctx context.Context, queue, messageID string, attrs map[string]string) (context.Context, trace.Span) {
	ctx = ExtractAttributes(ctx, attrs)
	return tracer().Start(ctx, "process "+queue, trace.WithSpanKind(trace.SpanKindConsumer),
		trace.WithAttributes(attribute.String("messaging.system", "aws_sqs"),
			attribute.String("messaging.destination.name", queue),
			attribute.String("messaging.message.id", messageID)))
}
