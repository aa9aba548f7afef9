package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

// start runs the command with args until the test ends and returns its URL.
func start(t *testing.T, args ...string) string {
	t.Helper()
	return startRun(t, func(ctx context.Context, stdout io.Writer) error {
		return run(ctx, append([]string{"-addr", "127.0.0.1:0", "-log-level", "warn"}, args...), stdout, io.Discard)
	})
}

// startRun runs fn, which serves until its context ends and prints its
// address first, until the test ends, and returns that address.
func startRun(t *testing.T, fn func(ctx context.Context, stdout io.Writer) error) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- fn(ctx, pw)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	if !sc.Scan() {
		cancel()
		t.Fatalf("localaws printed nothing; run: %v", <-done)
	}
	go func() {
		for sc.Scan() {
		}
	}()
	line := sc.Text()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("run returned %v after cancel; want nil", err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("run did not stop within 10s of cancel")
		}
	})
	return line[strings.LastIndex(line, " ")+1:]
}

func TestInitTopology(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "topology.yaml")
	topo := `
queues:
  - name: orders-dlq
  - name: orders
    dead_letter_queue: orders-dlq
    max_receive_count: 3
    attributes:
      VisibilityTimeout: "45"
topics:
  - name: order-events
    subscriptions:
      - queue: orders
        raw_message_delivery: true
        filter_policy: {"type": ["order.created"]}
`
	if err := os.WriteFile(file, []byte(topo), 0o600); err != nil {
		t.Fatal(err)
	}
	url := start(t, "-init", file, "-account", "123456789012", "-region", "eu-west-1")
	creds := aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
		return aws.Credentials{AccessKeyID: "a", SecretAccessKey: "b"}, nil
	})
	q := sqs.New(sqs.Options{BaseEndpoint: aws.String(url), Region: "eu-west-1", Credentials: creds})
	s := sns.New(sns.Options{BaseEndpoint: aws.String(url), Region: "eu-west-1", Credentials: creds})
	ctx := context.Background()
	qu, err := q.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("orders")})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := aws.ToString(qu.QueueUrl), url+"/123456789012/orders"; got != want {
		t.Errorf("queue URL = %s; want %s", got, want)
	}
	attrs, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: qu.QueueUrl, AttributeNames: []sqstypes.QueueAttributeName{"All"}})
	if err != nil {
		t.Fatal(err)
	}
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		MaxReceiveCount     int    `json:"maxReceiveCount"`
	}
	if err := json.Unmarshal([]byte(attrs.Attributes["RedrivePolicy"]), &rp); err != nil || rp.DeadLetterTargetArn != "arn:aws:sqs:eu-west-1:123456789012:orders-dlq" || rp.MaxReceiveCount != 3 {
		t.Errorf("RedrivePolicy = %q; want orders-dlq after 3 receives", attrs.Attributes["RedrivePolicy"])
	}
	if attrs.Attributes["VisibilityTimeout"] != "45" {
		t.Errorf("VisibilityTimeout = %q; want 45", attrs.Attributes["VisibilityTimeout"])
	}
	topic := "arn:aws:sns:eu-west-1:123456789012:order-events"
	for _, typ := range []string{"order.created", "order.deleted"} {
		if _, err := s.Publish(ctx, &sns.PublishInput{TopicArn: aws.String(topic), Message: aws.String(typ), MessageAttributes: map[string]snstypes.MessageAttributeValue{
			"type": {DataType: aws.String("String"), StringValue: aws.String(typ)},
		}}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: qu.QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "order.created" {
		t.Errorf("queue got %d messages; want the one order.created raw message", len(out.Messages))
	}
}

func TestInitFileErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct{ name, content, want string }{
		{"unknown field", "queues:\n  - name: a\n    colour: red\n", "unknown field"},
		{"missing dead-letter queue", "queues:\n  - name: a\n    dead_letter_queue: b\n", `queue "b" is not declared`},
		{"bad attribute", "queues:\n  - name: a\n    attributes: {VisibilityTimeout: \"-5\"}\n", "InvalidAttributeValue"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".yaml")
			if err := os.WriteFile(file, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			err := run(context.Background(), []string{"-addr", "127.0.0.1:0", "-init", file}, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("run with %s = %v; want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
}

// awsCLI returns the AWS CLI from Debian's awscli package, which speaks the
// SQS query protocol.
func awsCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/aws", "aws"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	t.Fatalf("the AWS CLI is not installed; run: apt-get install -y awscli")
	return ""
}

func TestAWSCLISendReceive(t *testing.T) {
	cli := awsCLI(t)
	url := start(t)
	runCLI := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(cli, append([]string{"--endpoint-url", url, "--region", "us-east-1", "--output", "json", "sqs"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_PAGER=", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws sqs %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	var created struct {
		QueueURL string `json:"QueueUrl"`
	}
	if err := json.Unmarshal([]byte(runCLI("create-queue", "--queue-name", "cli")), &created); err != nil || created.QueueURL == "" {
		t.Fatalf("create-queue output not understood: %v", err)
	}
	runCLI("send-message", "--queue-url", created.QueueURL, "--message-body", "from the cli",
		"--message-attributes", `{"k":{"DataType":"String","StringValue":"v"}}`)
	var got struct {
		Messages []struct {
			Body              string
			ReceiptHandle     string
			MessageAttributes map[string]struct{ StringValue string }
		}
	}
	if err := json.Unmarshal([]byte(runCLI("receive-message", "--queue-url", created.QueueURL, "--message-attribute-names", "All", "--wait-time-seconds", "1")), &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 1 || got.Messages[0].Body != "from the cli" || got.Messages[0].MessageAttributes["k"].StringValue != "v" {
		t.Fatalf("receive-message = %+v; want the message with attribute k=v", got)
	}
	runCLI("delete-message", "--queue-url", created.QueueURL, "--receipt-handle", got.Messages[0].ReceiptHandle)
}
