package messaging

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// sqsSendAPI is the part of the SQS client the Sender uses.
type sqsSendAPI interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
}

// Sender sends messages to a queue directly, without a topic: the queues a service declares in its sends
// (infra/services.yaml).
type Sender struct {
	api sqsSendAPI
}

// NewSender returns a Sender using api (an *sqs.Client).
func NewSender(api sqsSendAPI) *Sender { return &Sender{api: api} }

// Send sends m to the queue at queueURL with its attributes. To a FIFO queue (its URL ends in .fifo) it sends
// m in the message group group, with m.ID as the deduplication id: messages of one group are received in the
// order sent, and a second send of the same id within SQS's 5-minute deduplication interval is stored once
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html: MessageGroupId
// is required for FIFO queues; MessageDeduplicationId unless the queue deduplicates by content). group is
// ignored for a standard queue.
func (s *Sender) Send(ctx context.Context, queueURL, group string, m Message) error {
	in := &sqs.SendMessageInput{
		QueueUrl:          aws.String(queueURL),
		MessageBody:       aws.String(m.Body),
		MessageAttributes: sqsAttributes(m.Attributes),
	}
	if IsFIFO(queueURL) {
		if group == "" {
			return fmt.Errorf("send %s to %s: a FIFO queue needs a message group", m.ID, queueURL)
		}
		in.MessageGroupId = aws.String(group)
		if m.ID != "" {
			in.MessageDeduplicationId = aws.String(m.ID)
		}
	}
	if _, err := s.api.SendMessage(ctx, in); err != nil {
		return fmt.Errorf("send %s to %s: %w", m.ID, queueURL, err)
	}
	return nil
}

// IsFIFO says whether the queue URL (or name) is a FIFO queue's: FIFO queue names end in .fifo.
func IsFIFO(queue string) bool { return strings.HasSuffix(queue, ".fifo") }

func sqsAttributes(attrs map[string]string) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}
