package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
)

// tap prints, as they happen, the events and notifications the services publish: locally the customer's inbox.
type tap struct {
	out   *syncWriter
	sqs   *sqs.Client
	queue string
}

func newTap(out *syncWriter, endpoint string, cfg config) *tap {
	client := sqs.New(sqs.Options{
		Region:       cfg.region,
		BaseEndpoint: aws.String(endpoint),
		Credentials:  credentials.NewStaticCredentialsProvider("local", "local", ""),
	})
	return &tap{out: out, sqs: client, queue: queueURL(cfg, tapQueue)}
}

// Run polls the tap queue until ctx is done.
func (t *tap) Run(ctx context.Context) {
	for ctx.Err() == nil {
		resp, err := t.sqs.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(t.queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 20,
		})
		if err != nil {
			if ctx.Err() == nil {
				t.out.Printf("event tap: %v", err)
				select {
				case <-ctx.Done():
				case <-time.After(time.Second):
				}
			}
			continue
		}
		var done []types.DeleteMessageBatchRequestEntry
		for _, m := range resp.Messages {
			t.out.Line("event", describe(aws.ToString(m.Body)))
			done = append(done, types.DeleteMessageBatchRequestEntry{Id: m.MessageId, ReceiptHandle: m.ReceiptHandle})
		}
		if len(done) > 0 {
			_, _ = t.sqs.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(t.queue), Entries: done})
		}
	}
}

// describe renders one published message as a line: a notification as the message the customer receives.
func describe(body string) string {
	e, err := events.Decode([]byte(body))
	if err != nil {
		return "undecodable message: " + err.Error()
	}
	if events.IsNotification(e.Type) {
		var n events.NotificationData
		if err := e.DecodeData(&n); err == nil {
			return fmt.Sprintf("NOTIFICATION %s to %s for order %s: %s — %s", n.Channel, n.Recipient, n.OrderID,
				n.Subject, strings.ReplaceAll(n.Body, "\n", " "))
		}
	}
	return fmt.Sprintf("%s %s (event %s)", e.Type, e.Subject, e.ID)
}
