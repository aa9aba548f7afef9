package messaging

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// sqsAPI is the part of the SQS client the Consumer uses.
type sqsAPI interface {
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessageBatch(ctx context.Context, in *sqs.DeleteMessageBatchInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageBatchOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Received is a message received from a queue.
type Received struct {
	// MessageID is SQS's id of the message (not the event id, which is in the body).
	MessageID string
	Body      string
	// Attributes are the message's string attributes (with raw delivery, the SNS message attributes).
	Attributes map[string]string
	// ReceiveCount is how many times the message has been received, this time included.
	ReceiveCount int
}

// Handler handles one message. It returns nil when the message's effect is done (the message is then
// deleted) and an error when it should be received again. Handlers must be idempotent: a message can be
// delivered more than once.
type Handler func(ctx context.Context, m Received) error

// ConsumerOptions configure a Consumer. Zero values take the defaults in brackets (the Default constants).
type ConsumerOptions struct {
	// QueueURL is the queue to consume.
	QueueURL string
	// Pollers is the number of concurrent long polls [2].
	Pollers int
	// Concurrency bounds the messages handled at once [10].
	Concurrency int
	// WaitTime is the long-poll wait, between 1 s and 20 s [20 s, the SQS maximum]; never 0, as short polls of
	// an empty queue would spin.
	WaitTime time.Duration
	// VisibilityTimeout is the queue's visibility timeout; a message whose handler still runs after half of it
	// is made invisible for another VisibilityTimeout (the heartbeat) [30 s].
	VisibilityTimeout time.Duration
	// HandlerTimeout bounds one handler call; 0 leaves it to the heartbeat and the drain budget.
	HandlerTimeout time.Duration
	// DrainTimeout bounds how long Run waits for in-flight handlers after ctx ends; then their contexts are
	// cancelled and their messages left for redelivery [20 s].
	DrainTimeout time.Duration
	// DeleteDelay is how long a successful message may wait to be deleted in a batch with others [50 ms].
	DeleteDelay time.Duration
}

// The defaults of ConsumerOptions, which WithDefaults gives the fields left zero.
const (
	DefaultPollers           = 2
	DefaultConcurrency       = 10
	DefaultWaitTime          = 20 * time.Second // the SQS maximum
	DefaultVisibilityTimeout = 30 * time.Second // the SQS default
	DefaultDrainTimeout      = 20 * time.Second
	DefaultDeleteDelay       = 50 * time.Millisecond
)

// Bounds SQS sets: ReceiveMessage's WaitTimeSeconds is 0-20 and a visibility timeout 0 s-12 h
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html).
const (
	maxWaitTime          = 20 * time.Second
	maxVisibilityTimeout = 12 * time.Hour
)

// WithDefaults returns o with every zero field set to its default. It changes nothing else: a value out of
// range is left for Validate to report, never clamped.
func (o ConsumerOptions) WithDefaults() ConsumerOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Pollers == 0 {
		o.Pollers = DefaultPollers
	}
	if o.Concurrency == 0 {
		o.Concurrency = DefaultConcurrency
	}
	def(&o.WaitTime, DefaultWaitTime)
	def(&o.VisibilityTimeout, DefaultVisibilityTimeout)
	def(&o.DrainTimeout, DefaultDrainTimeout)
	def(&o.DeleteDelay, DefaultDeleteDelay)
	return o
}

// Validate reports every problem of o at once, cross-field rules included. Call it on WithDefaults' result.
func (o ConsumerOptions) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if o.QueueURL == "" {
		bad("QueueURL is required")
	}
	if o.Pollers < 1 {
		bad("Pollers %d must be at least 1", o.Pollers)
	}
	if o.Concurrency < 1 {
		bad("Concurrency %d must be at least 1", o.Concurrency)
	}
	if o.WaitTime < time.Second || o.WaitTime > maxWaitTime {
		// 0 would be a short poll: an empty queue would be polled in a tight loop.
		bad("WaitTime %s must be between 1s and %s", o.WaitTime, maxWaitTime)
	}
	if o.VisibilityTimeout < time.Second || o.VisibilityTimeout > maxVisibilityTimeout {
		bad("VisibilityTimeout %s must be between 1s and %s", o.VisibilityTimeout, maxVisibilityTimeout)
	}
	if o.HandlerTimeout < 0 || o.HandlerTimeout >= o.VisibilityTimeout {
		// A handler still running when its message becomes visible again races its own redelivery.
		bad("HandlerTimeout %s must be 0 (none) or below VisibilityTimeout %s", o.HandlerTimeout, o.VisibilityTimeout)
	}
	if o.DrainTimeout <= 0 {
		bad("DrainTimeout %s must be positive", o.DrainTimeout)
	}
	if o.DeleteDelay <= 0 || o.DeleteDelay >= o.VisibilityTimeout {
		// A message waiting longer than its visibility timeout to be deleted is handled again.
		bad("DeleteDelay %s must be positive and below VisibilityTimeout %s", o.DeleteDelay, o.VisibilityTimeout)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("consumer options: %w", err)
	}
	return nil
}

// Consumer receives messages from one queue and hands each to a Handler.
type Consumer struct {
	api     sqsAPI
	handler Handler
	log     *slog.Logger
	opts    ConsumerOptions
	queue   string // the queue's name, the last part of its URL
}

// NewConsumer returns a Consumer of opts.QueueURL using api (an *sqs.Client), or the problems of opts.
func NewConsumer(api sqsAPI, handler Handler, log *slog.Logger, opts ConsumerOptions) (*Consumer, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Consumer{api: api, handler: handler, log: log.With("queue", opts.QueueURL), opts: opts,
		queue: opts.QueueURL[strings.LastIndexByte(opts.QueueURL, '/')+1:]}, nil
}

// Run consumes until ctx ends, then drains: it stops polling, waits up to DrainTimeout for the messages in
// hand, deletes those that succeeded and returns. It returns nil after a clean drain.
func (c *Consumer) Run(ctx context.Context) error {
	// Handlers and deletes outlive ctx by up to DrainTimeout: work is finished, not abandoned, on shutdown.
	workCtx, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	slots := make(chan struct{}, c.opts.Concurrency)
	deletes := make(chan string, c.opts.Concurrency)
	deleterDone := make(chan struct{})
	go func() {
		defer close(deleterDone)
		// Deletes of handled messages still happen after a drain timeout cancelled the handlers.
		c.deleteLoop(context.WithoutCancel(ctx), deletes)
	}()

	var handlers sync.WaitGroup
	var pollers sync.WaitGroup
	for range c.opts.Pollers {
		pollers.Go(func() { c.poll(ctx, workCtx, slots, deletes, &handlers) })
	}
	pollers.Wait()

	drained := make(chan struct{})
	go func() {
		handlers.Wait()
		close(drained)
	}()
	var err error
	select {
	case <-drained:
	case <-time.After(c.opts.DrainTimeout):
		err = fmt.Errorf("drain %s: handlers still running after %s; their messages will be received again",
			c.opts.QueueURL, c.opts.DrainTimeout)
		cancelWork()
		<-drained
	}
	close(deletes)
	<-deleterDone
	return err
}

// poll long-polls while ctx lasts, receiving only as many messages as there are free handler slots.
func (c *Consumer) poll(ctx, workCtx context.Context, slots chan struct{}, deletes chan<- string, handlers *sync.WaitGroup) {
	backoff := 100 * time.Millisecond
	for {
		// Wait for one free slot, then take up to a batch's worth of the free ones.
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		n := 1
	take:
		for n < maxBatch {
			select {
			case slots <- struct{}{}:
				n++
			default:
				break take
			}
		}
		out, err := c.api.ReceiveMessage(ctx, &sqs.ReceiveMessageInput{
			QueueUrl:                    aws.String(c.opts.QueueURL),
			MaxNumberOfMessages:         int32(n),
			WaitTimeSeconds:             int32(c.opts.WaitTime / time.Second),
			MessageAttributeNames:       []string{"All"},
			MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameApproximateReceiveCount},
		})
		var msgs []types.Message
		if out != nil {
			msgs = out.Messages
		}
		for range n - len(msgs) {
			<-slots
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			c.log.Warn("receive messages failed", "err", err, "retry_in", backoff)
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, 10*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, m := range msgs {
			handlers.Go(func() {
				defer func() { <-slots }()
				c.handle(workCtx, m, deletes)
			})
		}
	}
}

// handle runs the handler with a visibility heartbeat and queues the message for deletion on success.
func (c *Consumer) handle(ctx context.Context, m types.Message, deletes chan<- string) {
	rec := Received{
		MessageID:    aws.ToString(m.MessageId),
		Body:         aws.ToString(m.Body),
		Attributes:   make(map[string]string, len(m.MessageAttributes)),
		ReceiveCount: 1,
	}
	for k, v := range m.MessageAttributes {
		rec.Attributes[k] = aws.ToString(v.StringValue)
	}
	if n, err := strconv.Atoi(m.Attributes[string(types.MessageSystemAttributeNameApproximateReceiveCount)]); err == nil {
		rec.ReceiveCount = n
	}
	log := c.log.With("message_id", rec.MessageID, "receive_count", rec.ReceiveCount)

	// The handling is a span in the trace of the message's publisher (its traceparent attribute).
	ctx, span := tracing.StartConsume(ctx, c.queue, rec.MessageID, rec.Attributes)
	hctx, cancel := context.WithCancel(ctx)
	if c.opts.HandlerTimeout > 0 {
		hctx, cancel = context.WithTimeout(ctx, c.opts.HandlerTimeout)
	}
	heartbeatDone := make(chan struct{})
	go func() {
		defer close(heartbeatDone)
		c.heartbeat(hctx, aws.ToString(m.ReceiptHandle), log)
	}()
	err := c.safeHandle(hctx, rec)
	cancel()
	<-heartbeatDone
	tracing.End(span, err)
	if err != nil {
		// Left in the queue: received again after the visibility timeout, and moved to the dead-letter queue
		// once the queue's maxReceiveCount is reached.
		log.WarnContext(ctx, "message handling failed; it will be received again", "err", err)
		return
	}
	deletes <- aws.ToString(m.ReceiptHandle)
}

// safeHandle turns a handler panic into an error, so one bad message cannot stop the consumer.
func (c *Consumer) safeHandle(ctx context.Context, rec Received) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("handler panic: %v", v)
		}
	}()
	return c.handler(ctx, rec)
}

// heartbeat extends the message's invisibility every half visibility timeout while the handler runs.
func (c *Consumer) heartbeat(ctx context.Context, receipt string, log *slog.Logger) {
	t := time.NewTicker(c.opts.VisibilityTimeout / 2)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		_, err := c.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
			QueueUrl:          aws.String(c.opts.QueueURL),
			ReceiptHandle:     aws.String(receipt),
			VisibilityTimeout: int32(c.opts.VisibilityTimeout / time.Second),
		})
		if err != nil && ctx.Err() == nil {
			log.Warn("extend message visibility failed", "err", err)
		}
	}
}

// deleteLoop deletes the receipts it is sent in batches of up to ten, waiting at most DeleteDelay to fill a
// batch, until deletes is closed; then it deletes what is left.
func (c *Consumer) deleteLoop(ctx context.Context, deletes <-chan string) {
	var batch []string
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	flush := func() {
		if len(batch) > 0 {
			c.deleteBatch(ctx, batch)
			batch = batch[:0]
		}
	}
	for {
		select {
		case r, ok := <-deletes:
			if !ok {
				flush()
				return
			}
			batch = append(batch, r)
			if len(batch) == 1 {
				timer.Reset(c.opts.DeleteDelay)
			}
			if len(batch) == maxBatch {
				timer.Stop()
				flush()
			}
		case <-timer.C:
			flush()
		}
	}
}

func (c *Consumer) deleteBatch(ctx context.Context, receipts []string) {
	entries := make([]types.DeleteMessageBatchRequestEntry, len(receipts))
	for i, r := range receipts {
		entries[i] = types.DeleteMessageBatchRequestEntry{Id: aws.String(strconv.Itoa(i)), ReceiptHandle: aws.String(r)}
	}
	// A delete that fails only means a redelivery, which the handler's idempotency absorbs.
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := c.api.DeleteMessageBatch(ctx, &sqs.DeleteMessageBatchInput{QueueUrl: aws.String(c.opts.QueueURL), Entries: entries})
	if err != nil {
		c.log.Warn("delete messages failed; they will be received again", "count", len(receipts), "err", err)
		return
	}
	for _, f := range out.Failed {
		c.log.Warn("delete message failed; it will be received again", "code", aws.ToString(f.Code),
			"err", errors.New(aws.ToString(f.Message)))
	}
}
