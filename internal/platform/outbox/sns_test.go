package outbox_test

import (
	"context"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
)

// Through real SNS calls (the embedded endpoint): events reach a subscribed queue with their attributes.
func TestRelayToSNS(t *testing.T) {
	ctx := context.Background()
	url, _ := localawstest.New(t)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url), HTTPClient: localawstest.HTTPClient()}
	snsc, sqsc := sns.NewFromConfig(cfg), sqs.NewFromConfig(cfg)
	tp, err := snsc.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("order-events")})
	if err != nil {
		t.Fatal(err)
	}
	q, err := sqsc.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("fulfillment")})
	if err != nil {
		t.Fatal(err)
	}
	qa, err := sqsc.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl,
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := snsc.Subscribe(ctx, &sns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("sqs"),
		Endpoint:   aws.String(qa.Attributes["QueueArn"]),
		Attributes: map[string]string{"RawMessageDelivery": "true", "FilterPolicy": `{"type": ["order.placed"]}`}}); err != nil {
		t.Fatal(err)
	}

	pool := newPoolWithEvents(t, 23)
	r := newRelay(t, pool, table, messaging.NewPublisher(snsc), discard,
		outbox.RelayOptions{Topics: map[string]string{"order-events": aws.ToString(tp.TopicArn)}})
	drain(t, r)

	var got []string
	for len(got) < 23 {
		out, err := sqsc.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, MaxNumberOfMessages: 10,
			WaitTimeSeconds: 2, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			if typ := aws.ToString(m.MessageAttributes["type"].StringValue); typ != "order.placed" {
				t.Errorf("message attribute type = %q; want order.placed", typ)
			}
			got = append(got, aws.ToString(m.Body))
		}
	}
	slices.Sort(got)
	var want []string
	for i := range 23 {
		want = append(want, bodyOf(i))
	}
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivered bodies (-want +got):\n%s", diff)
	}
}
