package localawstest_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
)

// TestClients sends and receives a message through the SDK over loopback
// (New) and in memory (Client).
func TestClients(t *testing.T) {
	srv := localaws.New()
	t.Cleanup(func() { _ = srv.Close() })
	loopback, _ := localawstest.New(t)
	tests := []struct {
		name, endpoint string
		hc             *http.Client
		wantURL        string
	}{
		{"loopback", loopback, nil, loopback + "/000000000000/q"},
		{"loopback with HTTPClient", loopback, localawstest.HTTPClient(), loopback + "/000000000000/q"},
		{"memory", "http://localaws.test", localawstest.Client(srv), "http://localaws.test/000000000000/q"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := sqs.Options{BaseEndpoint: aws.String(tt.endpoint), Region: "us-east-1",
				Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
					return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
				})}
			if tt.hc != nil {
				opts.HTTPClient = tt.hc
			}
			c := sqs.New(opts)
			ctx := t.Context()
			q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("q")})
			// CreateQueue returns the existing queue for the same attributes.
			if err != nil {
				t.Fatal(err)
			}
			if got := aws.ToString(q.QueueUrl); got != tt.wantURL {
				t.Errorf("queue URL = %s; want %s", got, tt.wantURL)
			}
			if _, err := c.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: q.QueueUrl, MessageBody: aws.String("hi")}); err != nil {
				t.Fatal(err)
			}
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 1})
			if err != nil {
				t.Fatal(err)
			}
			if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "hi" {
				t.Errorf("ReceiveMessage = %d messages; want the one sent", len(out.Messages))
			}
		})
	}
}
