package localaws_test

import (
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
	"github.com/ecs-reworked/ecs-reworked/internal/localaws/localawstest"
)

// logLines is a slog.Handler that sends each message to a channel.
type logLines chan string

func (l logLines) Enabled(context.Context, slog.Level) bool      { return true }
func (l logLines) Handle(_ context.Context, r slog.Record) error { l <- r.Message; return nil }
func (l logLines) WithAttrs([]slog.Attr) slog.Handler            { return l }
func (l logLines) WithGroup(string) slog.Handler                 { return l }

// TestCloseEndsWaits checks that Close answers long polls and requests held
// by a fault delay at once, and that requests after Close are refused.
func TestCloseEndsWaits(t *testing.T) {
	logs := make(logLines, 1024)
	url, srv := localawstest.New(t, localaws.WithLogger(slog.New(logs)))
	c := sqsClient(url)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	q, err := c.CreateQueue(ctx, &sqs.CreateQueueInput{QueueName: aws.String("closing")})
	if err != nil {
		t.Fatal(err)
	}
	srv.InjectFault(localaws.Fault{Action: "GetQueueAttributes", Delay: time.Hour})
	const polls = 4
	errs := make(chan error, polls+1)
	var wg sync.WaitGroup
	for range polls {
		wg.Go(func() {
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: q.QueueUrl, WaitTimeSeconds: 20})
			if err == nil && len(out.Messages) != 0 {
				t.Errorf("long poll during Close got %d messages; want none", len(out.Messages))
			}
			errs <- err
		})
	}
	wg.Go(func() {
		_, err := c.GetQueueAttributes(ctx, &sqs.GetQueueAttributesInput{QueueUrl: q.QueueUrl})
		errs <- err
	})
	for waiting := 0; waiting < polls+1; {
		if m := <-logs; m == "long poll waiting" || strings.HasPrefix(m, "fault delays") {
			waiting++
		}
	}
	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("request waiting during Close failed: %v; want an answer", err)
		}
	}
	_, err = c.GetQueueUrl(ctx, &sqs.GetQueueUrlInput{QueueName: aws.String("closing")})
	if got, want := apiCode(err), "ServiceUnavailable"; got != want {
		t.Errorf("GetQueueUrl after Close = %v (code %q); want code %q", err, got, want)
	}
}
