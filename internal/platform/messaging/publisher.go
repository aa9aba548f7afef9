package messaging

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sns/types"
)

// snsAPI is the part of the SNS client the Publisher uses.
type snsAPI interface {
	Publish(ctx context.Context, in *sns.PublishInput, optFns ...func(*sns.Options)) (*sns.PublishOutput, error)
	PublishBatch(ctx context.Context, in *sns.PublishBatchInput, optFns ...func(*sns.Options)) (*sns.PublishBatchOutput, error)
}

// maxBatch is the most entries SNS PublishBatch and SQS batch calls accept.
const maxBatch = 10

// Publisher publishes messages to SNS topics.
type Publisher struct {
	api snsAPI
}

// NewPublisher returns a Publisher using api (an *sns.Client).
func NewPublisher(api snsAPI) *Publisher { return &Publisher{api: api} }

// Publish publishes one message to the topic.
func (p *Publisher) Publish(ctx context.Context, topicARN string, m Message) error {
	_, err := p.api.Publish(ctx, &sns.PublishInput{
		TopicArn:          aws.String(topicARN),
		Message:           aws.String(m.Body),
		MessageAttributes: snsAttributes(m.Attributes),
	})
	if err != nil {
		return fmt.Errorf("publish %s to %s: %w", m.ID, topicARN, err)
	}
	return nil
}

// BatchError reports the messages of a batch that were not published, by message id; the others were.
type BatchError struct {
	Failed map[string]error
}

// Error lists the failed message ids.
func (e *BatchError) Error() string {
	ids := slices.Sorted(maps.Keys(e.Failed))
	first := e.Failed[ids[0]]
	return fmt.Sprintf("%d messages not published (%s): %v", len(ids), strings.Join(ids, ", "), first)
}

// PublishBatch publishes msgs to the topic, ten per SNS call. When some messages fail and others do not, the
// error is a *BatchError naming the failed ones; any other error means none of the remaining ones was
// published. Message ids must be unique within msgs and match SNS's batch entry ids (letters, digits, - and _,
// up to 80 characters), which UUIDs do.
func (p *Publisher) PublishBatch(ctx context.Context, topicARN string, msgs []Message) error {
	failed := map[string]error{}
	for i := 0; i < len(msgs); i += maxBatch {
		chunk := msgs[i:min(i+maxBatch, len(msgs))]
		entries := make([]types.PublishBatchRequestEntry, len(chunk))
		for j, m := range chunk {
			entries[j] = types.PublishBatchRequestEntry{
				Id:                aws.String(m.ID),
				Message:           aws.String(m.Body),
				MessageAttributes: snsAttributes(m.Attributes),
			}
		}
		out, err := p.api.PublishBatch(ctx, &sns.PublishBatchInput{
			TopicArn:                   aws.String(topicARN),
			PublishBatchRequestEntries: entries,
		})
		if err != nil {
			if i == 0 {
				return fmt.Errorf("publish batch to %s: %w", topicARN, err)
			}
			// Earlier chunks were published: report exactly what was not.
			for _, m := range msgs[i:] {
				failed[m.ID] = fmt.Errorf("publish batch to %s: %w", topicARN, err)
			}
			break
		}
		for _, f := range out.Failed {
			failed[aws.ToString(f.Id)] = fmt.Errorf("%s: %s", aws.ToString(f.Code), aws.ToString(f.Message))
		}
	}
	if len(failed) > 0 {
		return &BatchError{Failed: failed}
	}
	return nil
}

// Failed returns the messages err says were not published, by id, with the reason of each: those of a
// *BatchError, or all of them for any other error.
func Failed(err error, msgs []Message) map[string]error {
	out := map[string]error{}
	if err == nil {
		return out
	}
	var be *BatchError
	if errors.As(err, &be) {
		return be.Failed
	}
	for _, m := range msgs {
		out[m.ID] = err
	}
	return out
}

func snsAttributes(attrs map[string]string) map[string]types.MessageAttributeValue {
	if len(attrs) == 0 {
		return nil
	}
	out := make(map[string]types.MessageAttributeValue, len(attrs))
	for k, v := range attrs {
		out[k] = types.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
	}
	return out
}
