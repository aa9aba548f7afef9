package messaging_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	sqstypes "github.com/aws/aws-sdk-go-v2/service/sqs/types"
	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
)

var discard = slog.New(slog.DiscardHandler)

// env is an embedded SQS/SNS endpoint and clients for it.
type env struct {
	sqs *sqs.Client
	sns *sns.Client
}

func newEnv(t *testing.T) env {
	t.Helper()
	url, _ := localawstest.New(t)
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(url),
		HTTPClient:   localawstest.HTTPClient(),
	}
	return env{sqs: sqs.NewFromConfig(cfg), sns: sns.NewFromConfig(cfg)}
}

// queue creates a queue with the visibility timeout and, when maxReceive > 0, a dead-letter queue; it returns
// the queue's URL and the dead-letter queue's.
func (e env) queue(t *testing.T, name string, visibility, maxReceive int) (string, string) {
	t.Helper()
	ctx := context.Background()
	attrs := map[string]string{"VisibilityTimeout": strconv.Itoa(visibility)}
	var dlqURL string
	if maxReceive > 0 {
		dlq, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name + "-dlq")})
		if err != nil {
			t.Fatal(err)
		}
		dlqURL = aws.ToString(dlq.QueueUrl)
		a, err := e.sqs.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: dlq.QueueUrl,
			AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameQueueArn}})
		if err != nil {
			t.Fatal(err)
		}
		policy, _ := json.Marshal(map[string]any{"deadLetterTargetArn": a.Attributes["QueueArn"], "maxReceiveCount": maxReceive})
		attrs["RedrivePolicy"] = string(policy)
	}
	q, err := e.sqs.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
	if err != nil {
		t.Fatal(err)
	}
	return aws.ToString(q.QueueUrl), dlqURL
}

func (e env) send(t *testing.T, queueURL string, bodies ...string) {
	t.Helper()
	for _, b := range bodies {
		if _, err := e.sqs.SendMessage(context.Background(), &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
}

// depth returns the queue's visible and in-flight message counts.
func (e env) depth(t *testing.T, queueURL string) (visible, inFlight int) {
	t.Helper()
	a, err := e.sqs.GetQueueAttributes(context.Background(), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(queueURL),
		AttributeNames: []sqstypes.QueueAttributeName{sqstypes.QueueAttributeNameApproximateNumberOfMessages,
			sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible}})
	if err != nil {
		t.Fatal(err)
	}
	visible, _ = strconv.Atoi(a.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessages)])
	inFlight, _ = strconv.Atoi(a.Attributes[string(sqstypes.QueueAttributeNameApproximateNumberOfMessagesNotVisible)])
	return visible, inFlight
}

// consume runs a consumer until the test ends or stop is called; stop returns Run's result.
func consume(t *testing.T, c *messaging.Consumer) (stop func() error) {
	t.Helper()
	cancel, wait := consumeSplit(t, c)
	return func() error { cancel(); return wait() }
}

// consumeSplit runs a consumer; cancel begins its shutdown and wait returns Run's result.
func consumeSplit(t *testing.T, c *messaging.Consumer) (cancel func(), wait func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	var once sync.Once
	var err error
	wait = func() error {
		once.Do(func() { err = <-done })
		return err
	}
	t.Cleanup(func() { cancel(); _ = wait() })
	return cancel, wait
}

// recorder is a handler that records the bodies it handled and signals each.
type recorder struct {
	mu   sync.Mutex
	seen []string
	ch   chan string
}

func newRecorder() *recorder { return &recorder{ch: make(chan string, 1000)} }

func (r *recorder) handle(_ context.Context, m messaging.Received) error {
	r.mu.Lock()
	r.seen = append(r.seen, m.Body)
	r.mu.Unlock()
	r.ch <- m.Body
	return nil
}

func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	var got []string
	for range n {
		select {
		case b := <-r.ch:
			got = append(got, b)
		case <-time.After(30 * time.Second):
			t.Fatalf("handled %d messages; want %d", len(got), n)
		}
	}
	slices.Sort(got)
	return got
}

func TestConsumerHandlesAndDeletes(t *testing.T) {
	e := newEnv(t)
	url, _ := e.queue(t, "work", 30, 0)
	var want []string
	for i := range 35 {
		want = append(want, fmt.Sprintf("m%02d", i))
	}
	e.send(t, url, want...)
	rec := newRecorder()
	stop := consume(t, newConsumer(t, e.sqs, rec.handle, discard,
		messaging.ConsumerOptions{QueueURL: url, Pollers: 3, Concurrency: 4, WaitTime: time.Second}))
	got := rec.wait(t, len(want))
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("handled (-want +got):\n%s", diff)
	}
	if err := stop(); err != nil {
		t.Errorf("Run = %v; want nil", err)
	}
	if v, f := e.depth(t, url); v != 0 || f != 0 {
		t.Errorf("queue after handling: %d visible, %d in flight; want every message deleted", v, f)
	}
}

// The consumer never handles more messages at once than its concurrency.
func TestConsumerBoundedConcurrency(t *testing.T) {
	e := newEnv(t)
	url, _ := e.queue(t, "bounded", 30, 0)
	const limit = 3
	var mu sync.Mutex
	var running, peak, done int
	all := make(chan struct{})
	for i := range 20 {
		e.send(t, url, strconv.Itoa(i))
	}
	h := func(ctx context.Context, m messaging.Received) error {
		mu.Lock()
		running++
		peak = max(peak, running)
		mu.Unlock()
		time.Sleep(5 * time.Millisecond)
		mu.Lock()
		running--
		done++
		if done == 20 {
			close(all)
		}
		mu.Unlock()
		return nil
	}
	consume(t, newConsumer(t, e.sqs, h, discard,
		messaging.ConsumerOptions{QueueURL: url, Pollers: 4, Concurrency: limit, WaitTime: time.Second}))
	<-all
	mu.Lock()
	defer mu.Unlock()
	if peak > limit {
		t.Errorf("peak concurrent handlers = %d; want at most %d", peak, limit)
	}
}

// A handler slower than the visibility timeout keeps its message: nobody else receives it meanwhile.
func TestConsumerHeartbeat(t *testing.T) {
	e := newEnv(t)
	url, _ := e.queue(t, "slow", 1, 0)
	e.send(t, url, "slow")
	started := make(chan struct{})
	release := make(chan struct{})
	var calls int
	var mu sync.Mutex
	h := func(ctx context.Context, m messaging.Received) error {
		mu.Lock()
		calls++
		mu.Unlock()
		close(started)
		<-release
		return nil
	}
	stop := consume(t, newConsumer(t, e.sqs, h, discard,
		messaging.ConsumerOptions{QueueURL: url, Pollers: 1, WaitTime: time.Second, VisibilityTimeout: time.Second}))
	<-started
	// Long-poll for three visibility timeouts: the message must stay invisible.
	out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), WaitTimeSeconds: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 0 {
		t.Errorf("received %d messages while the handler ran; want the heartbeat to keep it invisible", len(out.Messages))
	}
	close(release)
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if v, f := e.depth(t, url); v != 0 || f != 0 || calls != 1 {
		t.Errorf("after the slow handler: %d visible, %d in flight, %d calls; want deleted after one call", v, f, calls)
	}
}

// A message that always fails reaches the dead-letter queue after maxReceiveCount receives, and the consumer
// goes on with the others.
func TestConsumerPoisonToDLQ(t *testing.T) {
	e := newEnv(t)
	url, dlq := e.queue(t, "orders", 1, 2)
	e.send(t, url, "poison", "good-1")
	rec := newRecorder()
	var mu sync.Mutex
	var poisonReceives []int
	h := func(ctx context.Context, m messaging.Received) error {
		if m.Body == "poison" {
			mu.Lock()
			poisonReceives = append(poisonReceives, m.ReceiveCount)
			mu.Unlock()
			return errors.New("cannot decode")
		}
		return rec.handle(ctx, m)
	}
	consume(t, newConsumer(t, e.sqs, h, discard,
		messaging.ConsumerOptions{QueueURL: url, Pollers: 2, WaitTime: time.Second, VisibilityTimeout: time.Second}))
	rec.wait(t, 1)
	out, err := e.sqs.ReceiveMessage(context.Background(), &sqs.ReceiveMessageInput{QueueUrl: aws.String(dlq), WaitTimeSeconds: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Messages) != 1 || aws.ToString(out.Messages[0].Body) != "poison" {
		t.Fatalf("dead-letter queue holds %v; want the poison message", out.Messages)
	}
	e.send(t, url, "good-2")
	if got := rec.wait(t, 1); got[0] != "good-2" {
		t.Errorf("handled %v after the poison message; want good-2", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]int{1, 2}, poisonReceives); diff != "" {
		t.Errorf("poison message receive counts (-want +got):\n%s", diff)
	}
}

// On shutdown the consumer stops polling, lets the handler in flight finish and deletes its message.
func TestConsumerDrainsOnShutdown(t *testing.T) {
	e := newEnv(t)
	url, _ := e.queue(t, "drain", 30, 0)
	e.send(t, url, "in-flight")
	started := make(chan struct{})
	release := make(chan struct{})
	var mu sync.Mutex
	var handled []string
	h := func(ctx context.Context, m messaging.Received) error {
		mu.Lock()
		handled = append(handled, m.Body)
		mu.Unlock()
		if m.Body == "in-flight" {
			close(started)
			<-release
		}
		return nil
	}
	cancel, wait := consumeSplit(t, newConsumer(t, e.sqs, h, discard,
		messaging.ConsumerOptions{QueueURL: url, WaitTime: 20 * time.Second, DrainTimeout: time.Minute}))
	<-started
	cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- wait() }()
	e.send(t, url, "after-shutdown")
	select {
	case err := <-stopped:
		t.Fatalf("Run returned %v with a message in flight; want it to wait", err)
	case <-time.After(200 * time.Millisecond):
	}
	close(release)
	if err := <-stopped; err != nil {
		t.Errorf("Run = %v; want nil", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) == 0 || handled[0] != "in-flight" {
		t.Fatalf("handled %v; want in-flight first", handled)
	}
	// The message sent after shutdown began is either left in the queue or, when a long poll cut by the
	// shutdown had already received it, handled and deleted during the drain: never lost.
	v, f := e.depth(t, url)
	switch {
	case len(handled) == 1 && v+f != 1:
		t.Errorf("after drain: %d visible, %d in flight; want the unhandled message left in the queue", v, f)
	case len(handled) == 2 && v+f != 0:
		t.Errorf("after drain: %d visible, %d in flight; want the message handled during the drain deleted", v, f)
	case len(handled) > 2:
		t.Errorf("handled %v; want each message at most once", handled)
	}
}

// A handler that outlives the drain budget is cancelled, its message left for redelivery.
func TestConsumerDrainTimeout(t *testing.T) {
	e := newEnv(t)
	url, _ := e.queue(t, "stuck", 30, 0)
	e.send(t, url, "stuck")
	started := make(chan struct{})
	h := func(ctx context.Context, m messaging.Received) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	}
	stop := consume(t, newConsumer(t, e.sqs, h, discard,
		messaging.ConsumerOptions{QueueURL: url, WaitTime: time.Second, DrainTimeout: 100 * time.Millisecond}))
	<-started
	if err := stop(); err == nil {
		t.Error("Run = nil; want the incomplete drain reported")
	}
	if v, f := e.depth(t, url); v+f != 1 {
		t.Errorf("after a cut drain: %d visible, %d in flight; want the message kept", v, f)
	}
}

// newConsumer is messaging.NewConsumer for tests: bad options fail the test.
func newConsumer(t *testing.T, api *sqs.Client, h messaging.Handler, log *slog.Logger, opts messaging.ConsumerOptions) *messaging.Consumer {
	t.Helper()
	c, err := messaging.NewConsumer(api, h, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}
