package messaging_test

import (
	"context"
	"errors"
	"fmt"
	neturl "net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
)

// topic creates a topic with a raw-delivery subscription of a new queue filtered on the attribute type; it
// returns the topic's ARN and the queue's URL.
func (e env) topic(t *testing.T, name string, filterTypes ...string) (string, string) {
	t.Helper()
	ctx := context.Background()
	tp, err := e.sns.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String(name)})
	if err != nil {
		t.Fatal(err)
	}
	url, _ := e.queue(t, name+"-sub", 30, 0)
	a, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(url),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
	if err != nil {
		t.Fatal(err)
	}
	attrs := map[string]string{"RawMessageDelivery": "true"}
	if len(filterTypes) > 0 {
		attrs["FilterPolicy"] = fmt.Sprintf(`{"type": [%q]}`, filterTypes[0])
	}
	if _, err := e.sns.Subscribe(ctx, &sns.SubscribeInput{TopicArn: tp.TopicArn, Protocol: aws.String("sqs"),
		Endpoint: aws.String(a.Attributes["QueueArn"]), Attributes: attrs}); err != nil {
		t.Fatal(err)
	}
	return aws.ToString(tp.TopicArn), url
}

// drain receives every message of the queue, as body -> type attribute.
func (e env) drain(t *testing.T, url string, want int) map[string]string {
	t.Helper()
	got := map[string]string{}
	for len(got) < want {
		out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url),
			MaxNumberOfMessages: 10, WaitTimeSeconds: 5, MessageAttributeNames: []string{"All"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Messages) == 0 {
			break
		}
		for _, m := range out.Messages {
			got[aws.ToString(m.Body)] = aws.ToString(m.MessageAttributes["type"].StringValue)
		}
	}
	return got
}

func TestPublishBatch(t *testing.T) {
	e := newEnv(t)
	arn, url := e.topic(t, "order-events", "order.placed")
	p := messaging.NewPublisher(e.sns)
	var msgs []messaging.Message
	want := map[string]string{}
	for i := range 25 {
		typ := "order.placed"
		if i%5 == 0 {
			typ = "order.fulfilled" // filtered out by the subscription
		} else {
			want[fmt.Sprintf("body-%d", i)] = typ
		}
		msgs = append(msgs, messaging.Message{ID: fmt.Sprintf("id-%d", i), Body: fmt.Sprintf("body-%d", i),
			Attributes: map[string]string{"type": typ}})
	}
	if err := p.PublishBatch(context.Background(), arn, msgs); err != nil {
		t.Fatalf("PublishBatch: %v", err)
	}
	if err := p.Publish(context.Background(), arn, messaging.Message{ID: "single", Body: "single",
		Attributes: map[string]string{"type": "order.placed"}}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	want["single"] = "order.placed"
	got := e.drain(t, url, len(want))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("delivered (-want +got):\n%s", diff)
	}
}

// fakeSNS answers PublishBatch calls in turn with the given results.
type fakeSNS struct {
	calls   int
	results []func(*sns.PublishBatchInput) (*sns.PublishBatchOutput, error)
}

func (f *fakeSNS) Publish(context.Context, *sns.PublishInput, ...func(*sns.Options)) (*sns.PublishOutput, error) {
	return &sns.PublishOutput{}, nil
}

func (f *fakeSNS) PublishBatch(_ context.Context, in *sns.PublishBatchInput, _ ...func(*sns.Options)) (*sns.PublishBatchOutput, error) {
	r := f.results[f.calls]
	f.calls++
	return r(in)
}

// Partial failures name exactly the messages not published.
func TestPublishBatchFailures(t *testing.T) {
	ok := func(*sns.PublishBatchInput) (*sns.PublishBatchOutput, error) { return &sns.PublishBatchOutput{}, nil }
	down := func(*sns.PublishBatchInput) (*sns.PublishBatchOutput, error) { return nil, errors.New("throttled") }
	secondFails := func(in *sns.PublishBatchInput) (*sns.PublishBatchOutput, error) {
		return &sns.PublishBatchOutput{Failed: []snstypes.BatchResultErrorEntry{{Id: in.PublishBatchRequestEntries[1].Id,
			Code: aws.String("InternalError"), Message: aws.String("try again")}}}, nil
	}
	msgs := make([]messaging.Message, 15)
	for i := range msgs {
		msgs[i] = messaging.Message{ID: fmt.Sprint(i), Body: "b"}
	}
	ids := func(from, to int) []string {
		var out []string
		for i := from; i < to; i++ {
			out = append(out, fmt.Sprint(i))
		}
		return out
	}
	tests := []struct {
		name    string
		results []func(*sns.PublishBatchInput) (*sns.PublishBatchOutput, error)
		want    []string // failed ids
	}{
		{"all published", []func(*sns.PublishBatchInput) (*sns.PublishBatchOutput, error){ok, ok}, nil},
		{"first call fails", []func(*sns.PublishBatchInput) (*sns.PublishBatchOutput, error){down}, ids(0, 15)},
		{"second call fails", []func(*sns.PublishBatchInput) (*sns.PublishBatchOutput, error){ok, down}, ids(10, 15)},
		{"one entry fails", []func(*sns.PublishBatchInput) (*sns.PublishBatchOutput, error){secondFails, ok}, []string{"1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := messaging.NewPublisher(&fakeSNS{results: tt.results})
			err := p.PublishBatch(context.Background(), "arn:topic", msgs)
			var got []string
			for id := range messaging.Failed(err, msgs) {
				got = append(got, id)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("failed ids (-want +got):\n%s", diff)
			}
		})
	}
}

// The SDK itself honours AWS_ENDPOINT_URL_SQS and AWS_ENDPOINT_URL_SNS, so the services need no endpoint code.
func TestLoadAWSConfigHonoursEndpointVariables(t *testing.T) {
	e := newEnv(t)
	url, _ := e.queue(t, "via-env", 30, 0)
	arn, subURL := e.topic(t, "via-env-topic")
	u, err := neturl.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	endpoint := u.Scheme + "://" + u.Host
	t.Setenv("AWS_ENDPOINT_URL_SQS", endpoint)
	t.Setenv("AWS_ENDPOINT_URL_SNS", endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	cfg, err := messaging.LoadAWSConfig(context.Background(), "us-east-1")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := sqs.NewFromConfig(cfg).SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url), MessageBody: aws.String("x")}); err != nil {
		t.Errorf("SQS through AWS_ENDPOINT_URL_SQS: %v", err)
	}
	if err := messaging.NewPublisher(sns.NewFromConfig(cfg)).Publish(ctx, arn, messaging.Message{ID: "1", Body: "y"}); err != nil {
		t.Errorf("SNS through AWS_ENDPOINT_URL_SNS: %v", err)
	}
	if got := e.drain(t, subURL, 1); len(got) != 1 {
		t.Errorf("messages published through the environment's endpoint: %v; want 1", got)
	}
}
