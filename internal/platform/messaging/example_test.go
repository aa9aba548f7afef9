package messaging_test

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
)

// A worker consumes its queue and publishes outcomes; clients come from one AWS configuration, whose endpoints
// the environment may override (AWS_ENDPOINT_URL_SQS, AWS_ENDPOINT_URL_SNS).
func ExampleConsumer() {
	ctx := context.Background()
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	cfg, err := messaging.LoadAWSConfig(ctx, "eu-west-1")
	if err != nil {
		log.Error("aws", "err", err)
		return
	}
	pub := messaging.NewPublisher(sns.NewFromConfig(cfg))
	handle := func(ctx context.Context, m messaging.Received) error {
		// Decode m.Body, apply the effect and record the event id in the inbox in one transaction, then:
		return pub.Publish(ctx, "arn:aws:sns:eu-west-1:123456789012:notifications",
			messaging.Message{ID: "…", Body: "…", Attributes: map[string]string{"type": "order.fulfilled", "channel": "email"}})
	}
	c, err := messaging.NewConsumer(sqs.NewFromConfig(cfg), handle, log, messaging.ConsumerOptions{
		QueueURL:          "https://sqs.eu-west-1.amazonaws.com/123456789012/fulfillment",
		VisibilityTimeout: 60 * time.Second, // the queue's, from infra/services.yaml
		DrainTimeout:      50 * time.Second, // below SHUTDOWN_TIMEOUT
	})
	if err != nil {
		log.Error("consumer", "err", err) // in run: return err; a bad option stops the start
		return
	}
	_ = c // in run: errgroup.Go(func() error { return c.Run(ctx) })
}
