package localaws_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
)

// TestConcurrentOperations runs every kind of operation that takes more than
// one lock, or moves messages between queues, at once on the same queues:
// batch sends, SNS publishes delivered into the queue, receives that delete
// or give messages back until they move to the dead-letter queue, a message
// move task bringing them back, attribute reads and writes, listings, and
// queues created, purged and deleted alongside. Run under -race (many times:
// go test -race -count=20 -run TestConcurrentOperations), it checks that no
// lock is taken in the wrong order (the test would hang) and that every
// message sent ends up exactly once: deleted, or still in one of the queues.
func TestConcurrentOperations(t *testing.T) {
	srv := localaws.New()
	t.Cleanup(func() { _ = srv.Close() })
	hc := localawstest.Client(srv)
	q := sqs.New(sqs.Options{BaseEndpoint: aws.String("http://localaws.test"), HTTPClient: hc, Region: "us-east-1", Credentials: testCredentials})
	s := sns.New(sns.Options{BaseEndpoint: aws.String("http://localaws.test"), HTTPClient: hc, Region: "us-east-1", Credentials: testCredentials})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	create := func(name string, attrs map[string]string) (url, arn string) {
		t.Helper()
		out, err := q.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs})
		if err != nil {
			t.Fatal(err)
		}
		a, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: out.QueueUrl, AttributeNames: []types.QueueAttributeName{"QueueArn"}})
		if err != nil {
			t.Fatal(err)
		}
		return aws.ToString(out.QueueUrl), a.Attributes["QueueArn"]
	}
	dlq, dlqARN := create("dlq", nil)
	work, workARN := create("work", map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":2}`, dlqARN)})
	topic, err := s.CreateTopic(ctx, &sns.CreateTopicInput{Name: aws.String("events")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Subscribe(ctx, &sns.SubscribeInput{TopicArn: topic.TopicArn, Protocol: aws.String("sqs"), Endpoint: aws.String(workARN),
		Attributes: map[string]string{"RawMessageDelivery": "true"}}); err != nil {
		t.Fatal(err)
	}

	const senders, publishers, rounds = 4, 2, 25
	var (
		mu      sync.Mutex
		sent    = map[string]bool{}
		deleted = map[string]int{}
		errs    []error
	)
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		errs = append(errs, err)
	}
	// failed records a batch call that failed, or had failed entries.
	failed := func(err error, op string, nFailed func() int) {
		switch {
		case err != nil:
			fail(fmt.Errorf("%s: %w", op, err))
		case nFailed() > 0:
			fail(fmt.Errorf("%s: %d entries failed", op, nFailed()))
		}
	}
	var producers, others sync.WaitGroup
	for w := range senders {
		producers.Go(func() {
			for r := range rounds {
				var entries []types.SendMessageBatchRequestEntry
				for i := range 10 {
					// Bodies ending in "0" or "5" are given back by the
					// receivers until they move to the dead-letter queue.
					body := fmt.Sprintf("send-%d-%d-%d", w, r, i)
					entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String(body)})
					mu.Lock()
					sent[body] = true
					mu.Unlock()
				}
				out, err := q.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(work), Entries: entries})
				failed(err, "SendMessageBatch", func() int { return len(out.Failed) })
			}
		})
	}
	for p := range publishers {
		producers.Go(func() {
			for r := range rounds * 5 {
				body := fmt.Sprintf("publish-%d-%d", p, r)
				mu.Lock()
				sent[body] = true
				mu.Unlock()
				if _, err := s.Publish(ctx, &sns.PublishInput{TopicArn: topic.TopicArn, Message: aws.String(body)}); err != nil {
					fail(fmt.Errorf("Publish: %w", err))
				}
			}
		})
	}
	// Receivers run until the producers are done and a receive finds the
	// queue empty; they return how many messages they handled.
	done := make(chan struct{})
	receive := func(url string, giveBack bool) int {
		handled := 0
		for {
			out, err := q.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(url), MaxNumberOfMessages: 10, WaitTimeSeconds: 1})
			if err != nil {
				fail(fmt.Errorf("ReceiveMessage: %w", err))
				return handled
			}
			handled += len(out.Messages)
			if len(out.Messages) == 0 {
				select {
				case <-done:
					return handled
				default:
					continue
				}
			}
			var del []types.DeleteMessageBatchRequestEntry
			var back []types.ChangeMessageVisibilityBatchRequestEntry
			for i, m := range out.Messages {
				body := aws.ToString(m.Body)
				if giveBack && (strings.HasSuffix(body, "0") || strings.HasSuffix(body, "5")) {
					back = append(back, types.ChangeMessageVisibilityBatchRequestEntry{Id: aws.String(fmt.Sprint("b", i)), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0})
					continue
				}
				del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("d", i)), ReceiptHandle: m.ReceiptHandle})
				mu.Lock()
				deleted[body]++
				mu.Unlock()
			}
			if len(back) > 0 {
				out, err := q.ChangeMessageVisibilityBatch(ctx, &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(url), Entries: back})
				failed(err, "ChangeMessageVisibilityBatch", func() int { return len(out.Failed) })
			}
			if len(del) > 0 {
				out, err := q.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(url), Entries: del})
				failed(err, "DeleteMessageBatch", func() int { return len(out.Failed) })
			}
		}
	}
	var receivers sync.WaitGroup
	for range 4 {
		receivers.Go(func() { _ = receive(work, true) })
	}
	// Everything else, at the same time, until the producers are done.
	stop := make(chan struct{})
	loop := func(fn func(i int)) {
		others.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				fn(i)
			}
		})
	}
	loop(func(i int) {
		if _, err := q.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: aws.String(work), AttributeNames: []types.QueueAttributeName{"All"}}); err != nil {
			fail(err)
		}
		if _, err := q.SetQueueAttributes(ctx, &sqs.SetQueueAttributesInput{QueueUrl: aws.String(work), Attributes: map[string]string{"VisibilityTimeout": fmt.Sprint(30 + i%2)}}); err != nil {
			fail(err)
		}
		if _, err := q.ListDeadLetterSourceQueues(ctx, &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq)}); err != nil {
			fail(err)
		}
	})
	loop(func(i int) {
		name := fmt.Sprint("scratch-", i%3)
		u, _ := create(name, map[string]string{"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":%q,"maxReceiveCount":1}`, dlqARN)})
		if _, err := q.SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("scratch")}); err != nil && !strings.Contains(err.Error(), "NonExistentQueue") {
			fail(err)
		}
		if i%2 == 0 {
			_, _ = q.PurgeQueue(ctx, &sqs.PurgeQueueInput{QueueUrl: aws.String(u)}) // PurgeQueueInProgress is fine
		}
		if _, err := q.DeleteQueue(ctx, &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}); err != nil {
			fail(err)
		}
		if _, err := q.ListQueues(ctx, &sqs.ListQueuesInput{}); err != nil {
			fail(err)
		}
	})
	loop(func(int) {
		// A move task brings dead-lettered messages back while others move
		// there; only one runs at a time per queue.
		_, err := q.StartMessageMoveTask(ctx, &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)})
		if err != nil && !strings.Contains(err.Error(), "already running") {
			fail(err)
		}
		time.Sleep(20 * time.Millisecond)
	})
	producers.Wait()
	close(stop)
	others.Wait()
	// Let the last move task finish, then stop the receivers once they find
	// the queue empty, and drain what is left without giving anything back.
	for {
		out, err := q.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Results) == 0 || aws.ToString(out.Results[0].Status) != "RUNNING" {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	tasks, err := q.ListMessageMoveTasks(ctx, &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN), MaxResults: aws.Int32(10)})
	if err != nil {
		t.Fatal(err)
	}
	var brought int64
	for _, r := range tasks.Results {
		brought += r.ApproximateNumberOfMessagesMoved
	}
	close(done)
	receivers.Wait()
	// A receive of work can move a message to the dead-letter queue, so
	// drain both until neither has anything left.
	dead := 0
	for {
		n, d := receive(work, false), receive(dlq, false)
		dead += d
		if n+d == 0 {
			break
		}
	}
	if brought == 0 && dead == 0 {
		t.Errorf("no message reached the dead-letter queue: the test did not exercise dead-letter moves")
	}
	if ctx.Err() != nil {
		t.Fatalf("operations did not finish within the test's deadline: a lock-order deadlock?")
	}
	for _, err := range errs {
		t.Error(err)
	}
	for body := range sent {
		if deleted[body] != 1 {
			t.Errorf("message %s deleted %d times; want once", body, deleted[body])
		}
	}
	for body, n := range deleted {
		if !sent[body] && body != "scratch" {
			t.Errorf("message %s deleted %d times but never sent", body, n)
		}
	}
}
