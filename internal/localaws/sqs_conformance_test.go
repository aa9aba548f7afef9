package localaws_test

import (
	"bytes"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"
)

func createQueue(t *testing.T, c *sqs.Client, name string, attrs map[string]string) string {
	t.Helper()
	out := must(c.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: attrs}))
	return aws.ToString(out.QueueUrl)
}

func queueARN(t *testing.T, c *sqs.Client, u string) string {
	t.Helper()
	out := must(c.GetQueueAttributes(ctxT(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []types.QueueAttributeName{"QueueArn"}}))
	return out.Attributes["QueueArn"]
}

func queueAttr(t *testing.T, c *sqs.Client, u, name string) string {
	t.Helper()
	out := must(c.GetQueueAttributes(ctxT(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []types.QueueAttributeName{types.QueueAttributeName(name)}}))
	return out.Attributes[name]
}

func send(t *testing.T, c *sqs.Client, u, body string) *sqs.SendMessageOutput {
	t.Helper()
	return must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(body)}))
}

// receive receives with the given visibility timeout; the SDK does not send
// a zero one, so vis 0 means the queue's own.
func receive(t *testing.T, c *sqs.Client, u string, max, vis, wait int32) []types.Message {
	t.Helper()
	out := must(c.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{
		QueueUrl: aws.String(u), MaxNumberOfMessages: max, VisibilityTimeout: vis, WaitTimeSeconds: wait,
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{"All"}, MessageAttributeNames: []string{"All"},
		AttributeNames: []types.QueueAttributeName{"All"}, //nolint:staticcheck // deprecated on purpose: older clients still send AttributeNames and must keep working
	}))
	return out.Messages
}

func bodies(msgs []types.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = aws.ToString(m.Body)
	}
	return out
}

func wantCode(t *testing.T, what string, err error, want string) {
	t.Helper()
	if got := apiCode(err); got != want {
		t.Errorf("%s: error code = %q (%v); want %q", what, got, err, want)
	}
}

var notReferee = func(tg target) bool { return !tg.referee }

var sqsCases = []sqsCase{
	{name: "queue lifecycle", run: func(t *testing.T, tg target, c *sqs.Client) {
		name := uniqueName(t, "")
		u := createQueue(t, c, name, map[string]string{"VisibilityTimeout": "7"})
		if !strings.HasSuffix(u, "/000000000000/"+name) {
			t.Errorf("QueueUrl = %q; want it to end in /000000000000/%s", u, name)
		}
		got := must(c.GetQueueUrl(ctxT(t), &sqs.GetQueueUrlInput{QueueName: aws.String(name)}))
		if aws.ToString(got.QueueUrl) != u {
			t.Errorf("GetQueueUrl = %q; want %q", aws.ToString(got.QueueUrl), u)
		}
		list := must(c.ListQueues(ctxT(t), &sqs.ListQueuesInput{QueueNamePrefix: aws.String(name)}))
		if len(list.QueueUrls) != 1 || list.QueueUrls[0] != u {
			t.Errorf("ListQueues(prefix) = %v; want [%s]", list.QueueUrls, u)
		}
		attrs := must(c.GetQueueAttributes(ctxT(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []types.QueueAttributeName{"All"}}))
		for k, want := range map[string]string{"VisibilityTimeout": "7", "QueueArn": "arn:aws:sqs:us-east-1:000000000000:" + name, "ApproximateNumberOfMessages": "0", "DelaySeconds": "0"} {
			if attrs.Attributes[k] != want {
				t.Errorf("attribute %s = %q; want %q", k, attrs.Attributes[k], want)
			}
		}
		// Same name and attributes: the existing queue; different: an error.
		if again := createQueue(t, c, name, map[string]string{"VisibilityTimeout": "7"}); again != u {
			t.Errorf("CreateQueue again = %q; want %q", again, u)
		}
		_, err := c.CreateQueue(ctxT(t), &sqs.CreateQueueInput{QueueName: aws.String(name), Attributes: map[string]string{"VisibilityTimeout": "9"}})
		var exists *types.QueueNameExists
		if !errors.As(err, &exists) {
			t.Errorf("CreateQueue with other attributes: %v; want QueueNameExists", err)
		}
		must(c.SetQueueAttributes(ctxT(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(u), Attributes: map[string]string{"DelaySeconds": "3"}}))
		if got := queueAttr(t, c, u, "DelaySeconds"); got != "3" {
			t.Errorf("DelaySeconds after SetQueueAttributes = %q; want 3", got)
		}
		must(c.DeleteQueue(ctxT(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(u)}))
		_, err = c.GetQueueUrl(ctxT(t), &sqs.GetQueueUrlInput{QueueName: aws.String(name)})
		var dne *types.QueueDoesNotExist
		if !errors.As(err, &dne) {
			t.Errorf("GetQueueUrl after DeleteQueue: %v; want QueueDoesNotExist", err)
		}
		_, err = c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x")})
		if !errors.As(err, &dne) {
			t.Errorf("SendMessage to deleted queue: %v; want QueueDoesNotExist", err)
		}
	}},
	{name: "send receive delete with digests and attributes", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		attrs := map[string]types.MessageAttributeValue{
			"color":      {DataType: aws.String("String"), StringValue: aws.String("blue")},
			"count":      {DataType: aws.String("Number"), StringValue: aws.String("42")},
			"raw":        {DataType: aws.String("Binary"), BinaryValue: []byte{0, 1, 2, 255}},
			"trace.id":   {DataType: aws.String("String.custom"), StringValue: aws.String("abc")},
			"trace.span": {DataType: aws.String("String"), StringValue: aws.String("s1")},
		}
		body := "héllo wörld <&> \u2603"
		sent := must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(body), MessageAttributes: attrs}))
		sum := md5.Sum([]byte(body))
		if got, want := aws.ToString(sent.MD5OfMessageBody), hex.EncodeToString(sum[:]); got != want {
			t.Errorf("MD5OfMessageBody = %s; want %s", got, want)
		}
		if aws.ToString(sent.MD5OfMessageAttributes) == "" {
			t.Errorf("MD5OfMessageAttributes is empty")
		}
		out := must(c.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{
			QueueUrl: aws.String(u), MessageAttributeNames: []string{"trace.*", "color"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{"SentTimestamp", "ApproximateReceiveCount"},
			AttributeNames:              []types.QueueAttributeName{"SentTimestamp", "ApproximateReceiveCount"}, //nolint:staticcheck // deprecated on purpose: older clients still send AttributeNames and must keep working
		}))
		if len(out.Messages) != 1 {
			t.Fatalf("received %d messages; want 1", len(out.Messages))
		}
		m := out.Messages[0]
		if aws.ToString(m.Body) != body || aws.ToString(m.MessageId) != aws.ToString(sent.MessageId) {
			t.Errorf("received %q (%s); want %q (%s)", aws.ToString(m.Body), aws.ToString(m.MessageId), body, aws.ToString(sent.MessageId))
		}
		var names []string
		for n := range m.MessageAttributes {
			names = append(names, n)
		}
		sort.Strings(names)
		if got, want := strings.Join(names, ","), "color,trace.id,trace.span"; got != want {
			t.Errorf("selected attributes = %s; want %s", got, want)
		}
		if got := m.Attributes["ApproximateReceiveCount"]; got != "1" {
			t.Errorf("ApproximateReceiveCount = %q; want 1", got)
		}
		if ts, err := strconv.ParseInt(m.Attributes["SentTimestamp"], 10, 64); err != nil || time.Since(time.UnixMilli(ts)).Abs() > time.Hour {
			t.Errorf("SentTimestamp = %q; want a recent epoch in milliseconds", m.Attributes["SentTimestamp"])
		}
		if _, ok := m.Attributes["SenderId"]; ok {
			t.Errorf("SenderId returned though not asked for")
		}
		must(c.ChangeMessageVisibility(ctxT(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(u), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0}))
		all := receive(t, c, u, 1, 30, 0)
		if len(all) != 1 {
			t.Fatalf("second receive got %d messages; want 1", len(all))
		}
		if len(all[0].MessageAttributes) != 5 || aws.ToString(all[0].MD5OfMessageAttributes) != aws.ToString(sent.MD5OfMessageAttributes) {
			t.Errorf("All attributes: %d with digest %s; want 5 with digest %s", len(all[0].MessageAttributes), aws.ToString(all[0].MD5OfMessageAttributes), aws.ToString(sent.MD5OfMessageAttributes))
		}
		if got := all[0].MessageAttributes["raw"].BinaryValue; !bytes.Equal(got, []byte{0, 1, 2, 255}) {
			t.Errorf("binary attribute = %v; want [0 1 2 255]", got)
		}
		must(c.DeleteMessage(ctxT(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(u), ReceiptHandle: all[0].ReceiptHandle}))
		if got := queueAttr(t, c, u, "ApproximateNumberOfMessagesNotVisible"); got != "0" {
			t.Errorf("ApproximateNumberOfMessagesNotVisible after delete = %s; want 0", got)
		}
		if got := receive(t, c, u, 10, 0, 0); len(got) != 0 {
			t.Errorf("receive after delete = %v; want nothing", bodies(got))
		}
	}},
	{name: "attribute digest matches the referee's", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		sent := must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
			"a": {DataType: aws.String("String"), StringValue: aws.String("x")},
			"n": {DataType: aws.String("Number"), StringValue: aws.String("5")},
			"b": {DataType: aws.String("Binary"), BinaryValue: []byte("bin")},
		}}))
		// Computed independently with the aws-md5-of-message-attributes npm
		// package (the one local-aws-sqs uses).
		if got, want := aws.ToString(sent.MD5OfMessageAttributes), "ebca6e949225ea4fe0af4b1d6ca63e9a"; got != want {
			t.Errorf("MD5OfMessageAttributes = %s; want %s", got, want)
		}
	}},
	{name: "visibility timeout and redelivery", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		sent := send(t, c, u, "again")
		first := receive(t, c, u, 1, 1, 0)
		if len(first) != 1 {
			t.Fatalf("first receive got %d; want 1", len(first))
		}
		if got := receive(t, c, u, 1, 1, 0); len(got) != 0 {
			t.Errorf("receive while in flight = %v; want nothing", bodies(got))
		}
		second := receive(t, c, u, 1, 30, 5)
		if len(second) != 1 || aws.ToString(second[0].MessageId) != aws.ToString(sent.MessageId) {
			t.Fatalf("receive after visibility timeout = %v; want the message again", bodies(second))
		}
		if got := second[0].Attributes["ApproximateReceiveCount"]; got != "2" {
			t.Errorf("ApproximateReceiveCount = %q; want 2", got)
		}
		if aws.ToString(second[0].ReceiptHandle) == aws.ToString(first[0].ReceiptHandle) {
			t.Errorf("second receive reused the receipt handle")
		}
		// Back to visible at once with a zero visibility timeout.
		must(c.ChangeMessageVisibility(ctxT(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(u), ReceiptHandle: second[0].ReceiptHandle, VisibilityTimeout: 0}))
		third := receive(t, c, u, 1, 30, 0)
		if len(third) != 1 {
			t.Fatalf("receive after ChangeMessageVisibility(0) got %d; want 1", len(third))
		}
		must(c.DeleteMessage(ctxT(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(u), ReceiptHandle: third[0].ReceiptHandle}))
		_, err := c.DeleteMessage(ctxT(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(u), ReceiptHandle: aws.String("not-a-receipt-handle")})
		var invalid *types.ReceiptHandleIsInvalid
		if !errors.As(err, &invalid) {
			t.Errorf("DeleteMessage with a made-up handle: %v; want ReceiptHandleIsInvalid", err)
		}
	}},
	{name: "dead-letter queue after maxReceiveCount", run: func(t *testing.T, tg target, c *sqs.Client) {
		dlq := createQueue(t, c, uniqueName(t, "-dlq"), nil)
		src := createQueue(t, c, uniqueName(t, ""), map[string]string{
			"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":"%s","maxReceiveCount":"2"}`, queueARN(t, c, dlq)),
		})
		sent := send(t, c, src, "poison")
		for i := 1; i <= 2; i++ {
			got := receive(t, c, src, 1, 1, 3)
			if len(got) != 1 {
				t.Fatalf("receive %d got %d messages; want 1", i, len(got))
			}
		}
		if got := receive(t, c, src, 1, 1, 3); len(got) != 0 {
			t.Errorf("receive 3 = %v; want nothing (moved to the dead-letter queue)", bodies(got))
		}
		dead := receive(t, c, dlq, 1, 30, 2)
		if len(dead) != 1 || aws.ToString(dead[0].MessageId) != aws.ToString(sent.MessageId) {
			t.Fatalf("dead-letter queue holds %v; want the message", bodies(dead))
		}
		sources := must(c.ListDeadLetterSourceQueues(ctxT(t), &sqs.ListDeadLetterSourceQueuesInput{QueueUrl: aws.String(dlq)}))
		if len(sources.QueueUrls) != 1 || sources.QueueUrls[0] != src {
			t.Errorf("ListDeadLetterSourceQueues = %v; want [%s]", sources.QueueUrls, src)
		}
	}},
	{name: "redrive with a message move task", run: func(t *testing.T, tg target, c *sqs.Client) {
		dlq := createQueue(t, c, uniqueName(t, "-dlq"), nil)
		dlqARN := queueARN(t, c, dlq)
		src := createQueue(t, c, uniqueName(t, ""), map[string]string{
			"RedrivePolicy": fmt.Sprintf(`{"deadLetterTargetArn":"%s","maxReceiveCount":1}`, dlqARN),
		})
		send(t, c, src, "m1")
		receive(t, c, src, 1, 1, 0)
		if got := receive(t, c, src, 1, 1, 3); len(got) != 0 {
			t.Fatalf("message not moved to the dead-letter queue")
		}
		if got := queueAttr(t, c, dlq, "ApproximateNumberOfMessages"); got != "1" {
			t.Fatalf("dead-letter queue depth = %s; want 1", got)
		}
		must(c.StartMessageMoveTask(ctxT(t), &sqs.StartMessageMoveTaskInput{SourceArn: aws.String(dlqARN)}))
		var status string
		for i := 0; i < 100; i++ {
			tasks := must(c.ListMessageMoveTasks(ctxT(t), &sqs.ListMessageMoveTasksInput{SourceArn: aws.String(dlqARN)}))
			if len(tasks.Results) > 0 {
				status = aws.ToString(tasks.Results[0].Status)
				if status == "COMPLETED" {
					break
				}
			}
			time.Sleep(50 * time.Millisecond)
		}
		if status != "COMPLETED" {
			t.Fatalf("move task status = %q; want COMPLETED", status)
		}
		got := receive(t, c, src, 1, 30, 2)
		if len(got) != 1 || aws.ToString(got[0].Body) != "m1" {
			t.Errorf("source queue after redrive = %v; want [m1]", bodies(got))
		}
	}},
	{name: "queue with a zero visibility timeout", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), map[string]string{"VisibilityTimeout": "0"})
		send(t, c, u, "m")
		receive(t, c, u, 1, 0, 0)
		got := receive(t, c, u, 1, 0, 0)
		if tg.referee {
			// Difference 6 of the referee ADR: local-aws-sqs treats a
			// queue VisibilityTimeout of 0 as unset.
			if len(got) != 0 {
				t.Errorf("referee redelivered at once; the known difference is gone, update the ADR")
			}
			return
		}
		if len(got) != 1 {
			t.Errorf("second receive from a queue with VisibilityTimeout 0 got %d; want 1", len(got))
		}
	}},
	{name: "delay", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("later"), DelaySeconds: 1}))
		if got := receive(t, c, u, 1, 30, 0); len(got) != 0 {
			t.Errorf("receive before the delay = %v; want nothing", bodies(got))
		}
		if got := queueAttr(t, c, u, "ApproximateNumberOfMessagesDelayed"); got != "1" {
			t.Errorf("ApproximateNumberOfMessagesDelayed = %s; want 1", got)
		}
		if got := receive(t, c, u, 1, 30, 5); len(got) != 1 {
			t.Errorf("long poll across the delay got %d messages; want 1", len(got))
		}
	}},
	{name: "long poll answered when a message arrives", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		done := make(chan []types.Message, 1)
		go func() {
			// The context ends long before the 20 s wait, so the receive
			// only succeeds when the server answers as the message arrives.
			ctx, cancel := contextWithTimeout(8 * time.Second)
			defer cancel()
			out, err := c.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), WaitTimeSeconds: 20})
			if err != nil {
				t.Errorf("long poll: %v", err)
				done <- nil
				return
			}
			done <- out.Messages
		}()
		time.Sleep(300 * time.Millisecond)
		send(t, c, u, "wake")
		if got := <-done; len(got) != 1 || aws.ToString(got[0].Body) != "wake" {
			t.Errorf("long poll got %v; want [wake]", bodies(got))
		}
	}},
	{name: "fifo order, one batch in flight per group, deduplication", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ".fifo"), map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
		var seqs []string
		for _, m := range []struct{ body, group string }{{"a1", "A"}, {"a2", "A"}, {"b1", "B"}, {"a3", "A"}} {
			out := must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(m.body), MessageGroupId: aws.String(m.group)}))
			seqs = append(seqs, aws.ToString(out.SequenceNumber))
		}
		// Sequence numbers increase within a message group (a1, a2, a3).
		for _, pair := range [][2]int{{0, 1}, {1, 3}} {
			a, _ := new(big.Int).SetString(seqs[pair[0]], 10)
			b, _ := new(big.Int).SetString(seqs[pair[1]], 10)
			if a == nil || b == nil || b.Cmp(a) <= 0 {
				t.Errorf("sequence numbers %v do not increase within group A", seqs)
			}
		}
		// Content-based duplicate within five minutes: accepted, not stored.
		dup := must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("a1"), MessageGroupId: aws.String("A")}))
		_ = dup
		first := receive(t, c, u, 2, 30, 0)
		if got := strings.Join(bodies(first), ","); got != "a1,a2" {
			t.Fatalf("first batch = %s; want a1,a2", got)
		}
		if first[0].Attributes["MessageGroupId"] != "A" || first[0].Attributes["SequenceNumber"] != seqs[0] || first[0].Attributes["MessageDeduplicationId"] == "" {
			t.Errorf("FIFO attributes = %v; want group A, sequence %s and a deduplication id", first[0].Attributes, seqs[0])
		}
		second := receive(t, c, u, 10, 30, 0)
		if tg.referee {
			// Difference 5 of the referee ADR: local-aws-sqs hands out
			// further messages of a group that has messages in flight.
			return
		}
		if got := strings.Join(bodies(second), ","); got != "b1" {
			t.Fatalf("second batch = %s; want b1 (group A is in flight)", got)
		}
		for _, m := range first {
			must(c.DeleteMessage(ctxT(t), &sqs.DeleteMessageInput{QueueUrl: aws.String(u), ReceiptHandle: m.ReceiptHandle}))
		}
		third := receive(t, c, u, 10, 30, 0)
		if got := strings.Join(bodies(third), ","); got != "a3" {
			t.Fatalf("third batch = %s; want a3 (the duplicate of a1 was dropped)", got)
		}
		// Explicit deduplication id.
		one := must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x"), MessageGroupId: aws.String("C"), MessageDeduplicationId: aws.String("d1")}))
		two := must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("y"), MessageGroupId: aws.String("C"), MessageDeduplicationId: aws.String("d1")}))
		if aws.ToString(one.MessageId) != aws.ToString(two.MessageId) {
			t.Errorf("duplicate send got message id %s; want the first one's %s", aws.ToString(two.MessageId), aws.ToString(one.MessageId))
		}
		if got := receive(t, c, u, 10, 30, 0); strings.Join(bodies(got), ",") != "x" {
			t.Errorf("group C = %v; want [x]", bodies(got))
		}
		_, err := c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("z")})
		if code := apiCode(err); code != "MissingParameter" && code != "InvalidParameterValue" {
			t.Errorf("FIFO send without group id: %v; want MissingParameter", err)
		}
	}},
	{name: "fifo message returns to the head of its group", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ".fifo"), map[string]string{"FifoQueue": "true", "ContentBasedDeduplication": "true"})
		for _, b := range []string{"1", "2", "3"} {
			must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(b), MessageGroupId: aws.String("g")}))
		}
		got := receive(t, c, u, 1, 30, 0)
		must(c.ChangeMessageVisibility(ctxT(t), &sqs.ChangeMessageVisibilityInput{QueueUrl: aws.String(u), ReceiptHandle: got[0].ReceiptHandle, VisibilityTimeout: 0}))
		if again := receive(t, c, u, 10, 30, 0); strings.Join(bodies(again), ",") != "1,2,3" {
			t.Errorf("after returning message 1 = %v; want 1,2,3", bodies(again))
		}
	}},
	{name: "batches with per-entry failures", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		out := must(c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("ok1"), MessageBody: aws.String("one")},
			{Id: aws.String("bad"), MessageBody: aws.String("bad \x00 char")},
			{Id: aws.String("ok2"), MessageBody: aws.String("two"), DelaySeconds: 0},
		}}))
		switch {
		case tg.referee:
			// Difference 1 of the referee ADR: local-aws-sqs accepts
			// characters the SQS documentation rejects.
			if len(out.Successful) != 3 {
				t.Fatalf("referee SendMessageBatch: %d ok, failed %+v; want 3 ok (known difference)", len(out.Successful), out.Failed)
			}
		case len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bad" || !out.Failed[0].SenderFault:
			t.Fatalf("SendMessageBatch: %d ok, failed %+v; want 2 ok and bad failed by the sender", len(out.Successful), out.Failed)
		}
		msgs := receive(t, c, u, 10, 30, 0)
		if len(msgs) != len(out.Successful) {
			t.Fatalf("received %d; want %d", len(msgs), len(out.Successful))
		}
		cv := must(c.ChangeMessageVisibilityBatch(ctxT(t), &sqs.ChangeMessageVisibilityBatchInput{QueueUrl: aws.String(u), Entries: []types.ChangeMessageVisibilityBatchRequestEntry{
			{Id: aws.String("a"), ReceiptHandle: msgs[0].ReceiptHandle, VisibilityTimeout: 60},
			{Id: aws.String("b"), ReceiptHandle: aws.String("bogus"), VisibilityTimeout: 60},
		}}))
		if len(cv.Successful) != 1 || len(cv.Failed) != 1 || aws.ToString(cv.Failed[0].Id) != "b" || aws.ToString(cv.Failed[0].Code) != "ReceiptHandleIsInvalid" {
			t.Errorf("ChangeMessageVisibilityBatch failed = %+v; want b with ReceiptHandleIsInvalid", cv.Failed)
		}
		del := must(c.DeleteMessageBatch(ctxT(t), &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(u), Entries: []types.DeleteMessageBatchRequestEntry{
			{Id: aws.String("a"), ReceiptHandle: msgs[0].ReceiptHandle},
			{Id: aws.String("b"), ReceiptHandle: msgs[1].ReceiptHandle},
			{Id: aws.String("c"), ReceiptHandle: aws.String("bogus")},
		}}))
		if len(del.Successful) != 2 || len(del.Failed) != 1 || aws.ToString(del.Failed[0].Code) != "ReceiptHandleIsInvalid" {
			t.Errorf("DeleteMessageBatch: %d ok, failed %+v; want 2 ok and c failed", len(del.Successful), del.Failed)
		}
		_, err := c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("x"), MessageBody: aws.String("1")}, {Id: aws.String("x"), MessageBody: aws.String("2")},
		}})
		var notDistinct *types.BatchEntryIdsNotDistinct
		if !errors.As(err, &notDistinct) {
			t.Errorf("batch with repeated ids: %v; want BatchEntryIdsNotDistinct", err)
		}
		var entries []types.SendMessageBatchRequestEntry
		for i := 0; i < 11; i++ {
			entries = append(entries, types.SendMessageBatchRequestEntry{Id: aws.String(fmt.Sprint("e", i)), MessageBody: aws.String("b")})
		}
		_, err = c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: entries})
		var tooMany *types.TooManyEntriesInBatchRequest
		if !errors.As(err, &tooMany) {
			t.Errorf("batch of 11: %v; want TooManyEntriesInBatchRequest", err)
		}
	}},
	{name: "tags", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		must(c.TagQueue(ctxT(t), &sqs.TagQueueInput{QueueUrl: aws.String(u), Tags: map[string]string{"team": "orders", "env": "dev"}}))
		must(c.UntagQueue(ctxT(t), &sqs.UntagQueueInput{QueueUrl: aws.String(u), TagKeys: []string{"env"}}))
		tags := must(c.ListQueueTags(ctxT(t), &sqs.ListQueueTagsInput{QueueUrl: aws.String(u)}))
		if len(tags.Tags) != 1 || tags.Tags["team"] != "orders" {
			t.Errorf("tags = %v; want team=orders", tags.Tags)
		}
	}},
	{name: "purge and counts", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		for i := 0; i < 3; i++ {
			send(t, c, u, fmt.Sprint(i))
		}
		receive(t, c, u, 1, 30, 0)
		wantVisible := "2"
		if tg.referee {
			wantVisible = "3" // difference 3 of the referee ADR: in-flight messages counted as available
		}
		if v, nv := queueAttr(t, c, u, "ApproximateNumberOfMessages"), queueAttr(t, c, u, "ApproximateNumberOfMessagesNotVisible"); v != wantVisible || nv != "1" {
			t.Errorf("counts = %s visible, %s not visible; want %s and 1", v, nv, wantVisible)
		}
		must(c.PurgeQueue(ctxT(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(u)}))
		// AWS may still deliver messages for up to a minute after a purge;
		// localaws deletes them at once (difference 4 of the referee ADR:
		// local-aws-sqs keeps delivering them).
		if got := receive(t, c, u, 10, 30, 0); len(got) != 0 && !tg.referee {
			t.Errorf("receive after purge = %v; want nothing", bodies(got))
		}
	}},
	{name: "invalid input", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), map[string]string{"MaximumMessageSize": "1024"})
		_, err := c.GetQueueAttributes(ctxT(t), &sqs.GetQueueAttributesInput{QueueUrl: aws.String(u), AttributeNames: []types.QueueAttributeName{"NoSuchAttribute"}})
		var badName *types.InvalidAttributeName
		if !errors.As(err, &badName) {
			t.Errorf("GetQueueAttributes(NoSuchAttribute): %v; want InvalidAttributeName", err)
		}
		_, err = c.ReceiveMessage(ctxT(t), &sqs.ReceiveMessageInput{QueueUrl: aws.String(u), MaxNumberOfMessages: 11})
		wantCode(t, "ReceiveMessage(MaxNumberOfMessages=11)", err, "InvalidParameterValue")
		_, err = c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(strings.Repeat("x", 1025))})
		wantCode(t, "SendMessage larger than MaximumMessageSize", err, "InvalidParameterValue")
		_, err = c.SetQueueAttributes(ctxT(t), &sqs.SetQueueAttributesInput{QueueUrl: aws.String(u), Attributes: map[string]string{"VisibilityTimeout": "-1"}})
		want := "InvalidAttributeValue"
		if tg.referee {
			want = "InvalidParameterValue" // difference 2 of the referee ADR
		}
		wantCode(t, "SetQueueAttributes(VisibilityTimeout=-1)", err, want)
		_, err = c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{
			"AWS.reserved": {DataType: aws.String("String"), StringValue: aws.String("v")},
		}})
		wantCode(t, "SendMessage with a reserved attribute name", err, "InvalidParameterValue")
	}},
	{name: "query protocol", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		post := func(form url.Values) (int, string) {
			resp, err := http.PostForm(tg.url, form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(b)
		}
		code, body := post(url.Values{"Action": {"SendMessage"}, "QueueUrl": {u}, "MessageBody": {"from query"},
			"MessageAttribute.1.Name": {"k"}, "MessageAttribute.1.Value.DataType": {"String"}, "MessageAttribute.1.Value.StringValue": {"v"}})
		if code != 200 || !strings.Contains(body, "<MD5OfMessageBody>") {
			t.Fatalf("query SendMessage = %d %s", code, body)
		}
		code, body = post(url.Values{"Action": {"ReceiveMessage"}, "QueueUrl": {u}, "MessageAttributeName.1": {"All"}, "AttributeName.1": {"All"}})
		if code != 200 || !strings.Contains(body, "<Body>from query</Body>") || !strings.Contains(body, "<Name>k</Name>") {
			t.Errorf("query ReceiveMessage = %d %s", code, body)
		}
		code, body = post(url.Values{"Action": {"GetQueueUrl"}, "QueueName": {"no-such-queue-anywhere"}})
		if code != 400 || !strings.Contains(body, "<Code>AWS.SimpleQueueService.NonExistentQueue</Code>") {
			t.Errorf("query GetQueueUrl of a missing queue = %d %s", code, body)
		}
	}},
	{name: "malformed requests get errors, not crashes", only: notReferee, run: func(t *testing.T, tg target, c *sqs.Client) {
		cases := []struct {
			name, target, ctype, body string
		}{
			{"bad json", "AmazonSQS.SendMessage", "application/x-amz-json-1.0", "{not json"},
			{"wrong type", "AmazonSQS.ReceiveMessage", "application/x-amz-json-1.0", `{"QueueUrl": 5}`},
			{"unknown operation", "AmazonSQS.Explode", "application/x-amz-json-1.0", "{}"},
			{"unknown target", "DynamoDB_20120810.GetItem", "application/x-amz-json-1.0", "{}"},
			{"unknown action", "", "application/x-www-form-urlencoded", "Action=Explode"},
			{"missing action", "", "application/x-www-form-urlencoded", "Foo=bar"},
			{"bad form", "", "application/x-www-form-urlencoded", "Action=SendMessage&%zz"},
			{"conflicting params", "", "application/x-www-form-urlencoded", "Action=SendMessage&MessageBody=a&MessageBody.1=b"},
			{"too large", "AmazonSQS.SendMessage", "application/x-amz-json-1.0", strings.Repeat("x", 9<<20)},
		}
		for _, tc := range cases {
			req, _ := http.NewRequest(http.MethodPost, tg.url, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", tc.ctype)
			if tc.target != "" {
				req.Header.Set("X-Amz-Target", tc.target)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
				continue
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode < 400 || resp.StatusCode >= 500 || (!strings.Contains(string(b), "__type") && !strings.Contains(string(b), "<ErrorResponse")) {
				t.Errorf("%s: %d %s; want a 4xx AWS error", tc.name, resp.StatusCode, b)
			}
		}
	}},
	{name: "retention expiry", only: func(tg target) bool { return tg.clock != nil }, run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), map[string]string{"MessageRetentionPeriod": "60"})
		send(t, c, u, "old")
		tg.clock.advance(61 * time.Second)
		defer tg.clock.advance(-61 * time.Second)
		send(t, c, u, "new")
		if got := receive(t, c, u, 10, 30, 0); strings.Join(bodies(got), ",") != "new" {
			t.Errorf("after the retention period = %v; want [new]", bodies(got))
		}
	}},
	{name: "U+FFFD is an allowed character", run: func(t *testing.T, tg target, c *sqs.Client) {
		// #xE000 to #xFFFD is in the allowed set of SendMessage.
		u := createQueue(t, c, uniqueName(t, ""), nil)
		body := "replaced \uFFFD character"
		must(c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String(body), MessageAttributes: map[string]types.MessageAttributeValue{
			"note": {DataType: aws.String("String"), StringValue: aws.String("\uFFFD")},
		}}))
		out := must(c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("a"), MessageBody: aws.String("\uFFFD")},
		}}))
		if len(out.Successful) != 1 {
			t.Errorf("SendMessageBatch of U+FFFD: failed %+v; want it sent", out.Failed)
		}
		got := receive(t, c, u, 10, 30, 2)
		if len(got) < 2 {
			got = append(got, receive(t, c, u, 10, 30, 2)...)
		}
		var note string
		for _, m := range got {
			if aws.ToString(m.Body) == body {
				note = aws.ToString(m.MessageAttributes["note"].StringValue)
			}
		}
		if b := bodies(got); len(b) != 2 || note != "\uFFFD" {
			t.Errorf("received %q with attribute note %q; want %q with note U+FFFD and the batch entry", b, note, body)
		}
	}},
	{name: "empty attribute values are rejected", run: func(t *testing.T, tg target, c *sqs.Client) {
		// "Name, type, value and the message body must not be empty or null."
		u := createQueue(t, c, uniqueName(t, ""), nil)
		for _, a := range []types.MessageAttributeValue{
			{DataType: aws.String("String"), StringValue: aws.String("")},
			{DataType: aws.String("Number"), StringValue: aws.String("")},
			{DataType: aws.String("Binary"), BinaryValue: []byte{}},
		} {
			_, err := c.SendMessage(ctxT(t), &sqs.SendMessageInput{QueueUrl: aws.String(u), MessageBody: aws.String("x"), MessageAttributes: map[string]types.MessageAttributeValue{"empty": a}})
			wantCode(t, "SendMessage with an empty "+aws.ToString(a.DataType)+" attribute", err, "InvalidParameterValue")
		}
		out := must(c.SendMessageBatch(ctxT(t), &sqs.SendMessageBatchInput{QueueUrl: aws.String(u), Entries: []types.SendMessageBatchRequestEntry{
			{Id: aws.String("ok"), MessageBody: aws.String("x")},
			{Id: aws.String("empty"), MessageBody: aws.String("y"), MessageAttributes: map[string]types.MessageAttributeValue{"e": {DataType: aws.String("String"), StringValue: aws.String("")}}},
		}}))
		if len(out.Successful) != 1 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "empty" || aws.ToString(out.Failed[0].Code) != "InvalidParameterValue" {
			t.Errorf("SendMessageBatch: %d ok, failed %+v; want entry empty failed with InvalidParameterValue", len(out.Successful), out.Failed)
		}
		if got := receive(t, c, u, 10, 30, 0); strings.Join(bodies(got), ",") != "x" {
			t.Errorf("queue holds %v; want only [x]", bodies(got))
		}
	}},
	{name: "one PurgeQueue per queue per 60 seconds", run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		other := createQueue(t, c, uniqueName(t, "-other"), nil)
		must(c.PurgeQueue(ctxT(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(u)}))
		_, err := c.PurgeQueue(ctxT(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(u)})
		var inProgress *types.PurgeQueueInProgress
		if !errors.As(err, &inProgress) {
			t.Errorf("second PurgeQueue within 60 seconds: %v; want PurgeQueueInProgress", err)
		}
		// The limit is per queue.
		must(c.PurgeQueue(ctxT(t), &sqs.PurgeQueueInput{QueueUrl: aws.String(other)}))
	}},
	{name: "fault injection", only: func(tg target) bool { return tg.faults != nil }, run: func(t *testing.T, tg target, c *sqs.Client) {
		u := createQueue(t, c, uniqueName(t, ""), nil)
		// AddPermission is used by no other case, so the fault hits only here.
		tg.faults(t, `{"action":"AddPermission","code":"RequestThrottled","type":"RequestThrottled","times":1}`)
		in := &sqs.AddPermissionInput{QueueUrl: aws.String(u), Label: aws.String("l"), AWSAccountIds: []string{"000000000000"}, Actions: []string{"SendMessage"}}
		_, err := c.AddPermission(ctxT(t), in)
		var throttled *types.RequestThrottled
		if !errors.As(err, &throttled) {
			t.Errorf("AddPermission with a fault: %v; want RequestThrottled", err)
		}
		if _, err := c.AddPermission(ctxT(t), in); err != nil {
			t.Errorf("AddPermission after the fault was used up: %v", err)
		}
	}},
}
