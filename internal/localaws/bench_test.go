package localaws_test

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
)

const (
	benchWorkers = 8
	benchBatch   = 10
	benchBacklog = 100_000
)

func benchClient(url string) *sqs.Client {
	return sqs.New(sqs.Options{
		BaseEndpoint: aws.String(url),
		Region:       "us-east-1",
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: "test", SecretAccessKey: "test"}, nil
		}),
		HTTPClient: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4 * benchWorkers}},
	})
}

func batchEntries(prefix string) []types.SendMessageBatchRequestEntry {
	entries := make([]types.SendMessageBatchRequestEntry, benchBatch)
	for i := range entries {
		entries[i] = types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("m", i)), MessageBody: aws.String(prefix + strings.Repeat("x", 100))}
	}
	return entries
}

// fill sends n messages to the queue with 8 concurrent batch senders.
func fill(b *testing.B, c *sqs.Client, u string, n int) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, benchWorkers)
	per := n / benchBatch / benchWorkers
	for w := 0; w < benchWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			entries := batchEntries("backlog")
			for i := 0; i < per; i++ {
				if _, err := c.SendMessageBatch(context.Background(), &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: entries}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		b.Fatalf("fill backlog: %v", err)
	}
}

// BenchmarkSendReceiveDelete measures SQS throughput through the real SDK over
// loopback HTTP: 8 goroutines each sending a batch of 10, receiving up to 10
// and deleting what they received, on an empty queue and on one with a
// 100,000-message backlog; against localaws and against local-aws-sqs.
func BenchmarkSendReceiveDelete(b *testing.B) {
	for _, impl := range []string{"localaws", "referee"} {
		for _, backlog := range []int{0, benchBacklog} {
			b.Run(fmt.Sprintf("%s/backlog=%d", impl, backlog), func(b *testing.B) {
				var url string
				if impl == "localaws" {
					url, _ = localawstest.New(b)
				} else {
					url = refereeTarget(b).url
				}
				c := benchClient(url)
				out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("bench")})
				if err != nil {
					b.Fatal(err)
				}
				u := aws.ToString(out.QueueUrl)
				fill(b, c, u, backlog)
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				var mu sync.Mutex
				var firstErr error
				received := 0
				rounds := make(chan struct{}, b.N)
				for i := 0; i < b.N; i++ {
					rounds <- struct{}{}
				}
				close(rounds)
				for w := 0; w < benchWorkers; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						entries := batchEntries("live")
						del := make([]types.DeleteMessageBatchRequestEntry, 0, benchBatch)
						got := 0
						for range rounds {
							ctx := context.Background()
							_, err := c.SendMessageBatch(ctx, &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: entries})
							var msgs *sqs.ReceiveMessageOutput
							if err == nil {
								msgs, err = c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), MaxNumberOfMessages: benchBatch})
							}
							if err == nil && len(msgs.Messages) > 0 {
								del = del[:0]
								for i, m := range msgs.Messages {
									del = append(del, types.DeleteMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("d", i)), ReceiptHandle: m.ReceiptHandle})
								}
								got += len(msgs.Messages)
								_, err = c.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(u), Entries: del})
							}
							if err != nil {
								mu.Lock()
								if firstErr == nil {
									firstErr = err
								}
								mu.Unlock()
								return
							}
						}
						mu.Lock()
						received += got
						mu.Unlock()
					}()
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				if firstErr != nil {
					b.Fatal(firstErr)
				}
				// Each round sends 10 messages; receives and deletes keep pace.
				b.ReportMetric(float64(b.N*benchBatch)/elapsed.Seconds(), "sent_msgs/s")
				b.ReportMetric(float64(received)/elapsed.Seconds(), "deleted_msgs/s")
			})
		}
	}
}

// BenchmarkMemoryPerMessage reports the heap held per stored message (100
// byte body, no attributes) with 100,000 messages in a queue.
func BenchmarkMemoryPerMessage(b *testing.B) {
	for i := 0; i < b.N; i++ {
		url, _ := localawstest.New(b)
		c := benchClient(url)
		out, err := c.CreateQueue(context.Background(), &sqs.CreateQueueInput{QueueName: aws.String("mem")})
		if err != nil {
			b.Fatal(err)
		}
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		fill(b, c, aws.ToString(out.QueueUrl), benchBacklog)
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/benchBacklog, "heap_B/msg")
	}
}
