package messaging_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
)

// To a FIFO queue, Send sends in the message group given, with the message id as the deduplication id: a second
// send of an id is stored once, and one group is received in the order sent. Without a group it refuses.
func TestSendToFIFOQueue(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	q, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("ledger.fifo"),
		Attributes: map[string]string{"FifoQueue": "true"}})
	if err != nil {
		t.Fatal(err)
	}
	url := aws.ToString(q.QueueUrl)
	s := messaging.NewSender(e.sqs)
	for _, m := range []messaging.Message{
		{ID: "a", Body: "first", Attributes: map[string]string{"type": "order.fulfilled"}},
		{ID: "b", Body: "second"},
		{ID: "a", Body: "first again"}, // a resend: deduplicated
		{ID: "c", Body: "third"},
	} {
		if err := s.Send(ctx, url, "order-1", m); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for len(got) < 4 {
		out, err := e.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10,
			WaitTimeSeconds: 1, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			got = append(got, aws.ToString(m.Body))
			if aws.ToString(m.Body) == "first" && aws.ToString(m.MessageAttributes["type"].StringValue) != "order.fulfilled" {
				t.Errorf("attributes of the first message = %v; want type order.fulfilled", m.MessageAttributes)
			}
			if _, err := e.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(url), ReceiptHandle: m.ReceiptHandle}); err != nil {
				t.Fatal(err)
			}
		}
	}
	if want := []string{"first", "second", "third"}; !slices.Equal(got, want) {
		t.Errorf("received %q; want %q (in order, the resend once)", got, want)
	}
	if err := s.Send(ctx, url, "", messaging.Message{ID: "d", Body: "x"}); err == nil {
		t.Error("Send to a FIFO queue without a group = nil; want an error")
	}
}

// To a standard queue, Send ignores the group.
func TestSendToStandardQueue(t *testing.T) {
	e := newEnv(t)
	url, _ := e.queue(t, "plain", 30, 0)
	if err := messaging.NewSender(e.sqs).Send(context.Background(), url, "ignored", messaging.Message{ID: "a", Body: "hello"}); err != nil {
		t.Fatal(err)
	}
	out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 1})
	if err != nil || len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "hello" {
		t.Fatalf("ReceiveMessage = %v, %v; want the message sent", out, err)
	}
}
