// Package messaging publishes to SNS topics and consumes SQS queues with the semantics the system relies on:
// at-least-once delivery, with effects made idempotent by the consumer (package inbox).
//
// The SNS Publisher sends batches of up to ten messages with their message attributes (SNS filter policies
// match on the attribute "type"). The SQS Consumer long-polls with several pollers, bounds the number of
// messages handled at once, keeps slow messages invisible with a visibility heartbeat, deletes messages in
// batches only after their handler succeeded, leaves failed ones to be received again so that a poison message
// reaches the dead-letter queue through the queue's maxReceiveCount, and drains on shutdown.
//
// Both take small interfaces of the AWS SDK clients they use (declared here, where they are consumed), so the
// real clients are passed in by cmd/* and tests may run against the embedded endpoint (localaws).
package messaging

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// Message is a message to publish: an id unique within a batch (the event id), a body and string attributes.
type Message struct {
	ID         string
	Body       string
	Attributes map[string]string
}

// LoadAWSConfig returns the AWS SDK configuration for region. Everything else comes from the SDK's standard
// sources: credentials from the ECS task role (or AWS_ACCESS_KEY_ID and friends locally) and endpoint
// overrides from AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_SNS, which the SDK honours by
// itself; so the services reach the embedded endpoint locally with no code path of their own.
func LoadAWSConfig(ctx context.Context, region string) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(region))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	return cfg, nil
}
