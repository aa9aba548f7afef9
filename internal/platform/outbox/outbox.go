// Package outbox publishes events through a transactional outbox: the event row is written in the same
// database transaction as the change it describes (Enqueue), and a Relay publishes committed rows to SNS.
// A committed change therefore always produces its event, and a rolled-back one never does, which writing to
// the database and publishing to SNS separately cannot promise.
//
// The Relay claims rows in id order with SELECT ... FOR UPDATE SKIP LOCKED, publishes them with SNS
// PublishBatch and deletes them in the claiming transaction. Any number of relays (one per API task) can run
// at once: a row is claimed by one of them at a time, and a relay that dies between publishing and deleting
// leaves its rows to be published again. Delivery is thus at-least-once and consumers deduplicate by event id
// (package inbox). Order: one relay publishes in id order; with several, batches may interleave, so
// consumers must not depend on the order of events (each event carries what its consumer needs).
//
// A relay in the process that wrote the rows does not wait for its poll: the writer calls Outbox.Committed
// after its transaction commits, which wakes the relay at once through RelayOptions.Wake (a channel, no
// database round trip). Rows committed by other processes are found by polling every PollInterval (a cheap
// index-only query) rather than by LISTEN/NOTIFY, whose commit-time lock would serialise every transaction
// that writes an event; a full batch is followed at once by the next one.
package outbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/trace"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// Message is an event to publish.
type Message struct {
	// EventID is the event's id (a UUID): the SNS batch entry id and the consumers' idempotency key.
	EventID string
	// Topic names the topic ("order-events"); the Relay maps it to the topic's ARN.
	Topic string
	// Body is the message body, usually the JSON event envelope.
	Body string
	// Attributes are SNS message attributes (filter policies match on "type").
	Attributes map[string]string
}

// Outbox writes messages into one outbox table ("<schema>.outbox", see migrations).
type Outbox struct {
	table  string
	insert string
	wake   chan struct{}
}

// New returns the Outbox of table, such as pgx.Identifier{"orders", "outbox"}.
func New(table pgx.Identifier) *Outbox {
	t := table.Sanitize()
	return &Outbox{table: t, insert: "INSERT INTO " + t + " (event_id, topic, body, attributes) VALUES ($1, $2, $3, $4)",
		wake: make(chan struct{}, 1)}
}

// Committed tells the relay woken by Wake that rows of this Outbox were committed. Call it after the
// transaction that enqueued them commits, never before: a relay woken earlier would find nothing and go back
// to its poll. It never blocks; wake-ups that arrive while the relay is busy merge into one.
func (o *Outbox) Committed() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// Wake is the channel Committed signals, for RelayOptions.Wake of the relay of this Outbox's table in the same
// process.
func (o *Outbox) Wake() <-chan struct{} { return o.wake }

// Enqueue writes msg into the outbox in tx, the caller's transaction: it is published once tx commits.
func (o *Outbox) Enqueue(ctx context.Context, tx pgx.Tx, msg Message) error {
	// The row carries the trace context of ctx (attribute traceparent), so the publish and its consumers join
	// the caller's trace. Queue has no context: its callers add it with tracing.InjectAttributes.
	msg.Attributes = tracing.InjectAttributes(ctx, msg.Attributes)
	attrs, err := attributes(msg)
	if err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, o.insert, msg.EventID, msg.Topic, msg.Body, attrs); err != nil {
		return fmt.Errorf("enqueue event %s: %w", msg.EventID, err)
	}
	return nil
}

// Queue adds the statement that writes msg into the outbox to b, the caller's batch of statements that make
// one change: it costs no round trip of its own. The batch must run as one transaction (a batch sent outside
// a transaction runs in one implicit transaction), so that the message is published if and only if the change
// commits.
func (o *Outbox) Queue(b *pgx.Batch, msg Message) error {
	attrs, err := attributes(msg)
	if err != nil {
		return err
	}
	b.Queue(o.insert, msg.EventID, msg.Topic, msg.Body, attrs)
	return nil
}

func attributes(msg Message) ([]byte, error) {
	if len(msg.Attributes) == 0 {
		return []byte("{}"), nil
	}
	attrs, err := json.Marshal(msg.Attributes)
	if err != nil {
		return nil, fmt.Errorf("enqueue event %s: attributes: %w", msg.EventID, err)
	}
	return attrs, nil
}

// Publisher publishes messages to a topic; *messaging.Publisher is one. An error that is not a
// *messaging.BatchError means that none was published.
type Publisher interface {
	PublishBatch(ctx context.Context, topicARN string, msgs []messaging.Message) error
}

// RelayOptions configure a Relay. Zero values take the defaults in brackets (the Default constants).
type RelayOptions struct {
	// Topics maps topic names used in messages to topic ARNs.
	Topics map[string]string
	// BatchSize is the most rows claimed per transaction [50].
	BatchSize int
	// PollInterval is the wait between polls of an empty outbox [100 ms], for rows other processes commit.
	PollInterval time.Duration
	// Wake, when set, ends the wait between polls as soon as it receives: Outbox.Wake of the outbox this
	// process writes through, so that the process's own events are published without waiting for the poll.
	Wake <-chan struct{}
	// MinBackoff and MaxBackoff bound the wait after a failure, doubled per consecutive failure with jitter
	// [200 ms, 30 s].
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// DrainTimeout bounds the final publishing after ctx ends [5 s].
	DrainTimeout time.Duration
	// OnPublished, when set, is told how many messages each batch published and how many failed (metrics).
	OnPublished func(published, failed int)
}

// The defaults of RelayOptions, which WithDefaults gives the fields left zero.
const (
	DefaultBatchSize    = 50
	DefaultPollInterval = 100 * time.Millisecond
	DefaultMinBackoff   = 200 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultDrainTimeout = 5 * time.Second
)

// WithDefaults returns o with every zero field set to its default. It changes nothing else: a value out of
// range is left for Validate to report, never clamped.
func (o RelayOptions) WithDefaults() RelayOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	def(&o.PollInterval, DefaultPollInterval)
	def(&o.MinBackoff, DefaultMinBackoff)
	def(&o.MaxBackoff, DefaultMaxBackoff)
	def(&o.DrainTimeout, DefaultDrainTimeout)
	return o
}

// Validate reports every problem of o at once, cross-field rules included. Call it on WithDefaults' result.
func (o RelayOptions) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(o.Topics) == 0 {
		bad("Topics is required: the relay maps each row's topic name to an ARN")
	}
	for name, arn := range o.Topics {
		if name == "" || arn == "" {
			bad("Topics: topic %q has ARN %q; both must be set", name, arn)
		}
	}
	if o.BatchSize < 1 {
		bad("BatchSize %d must be at least 1", o.BatchSize)
	}
	if o.PollInterval <= 0 {
		bad("PollInterval %s must be positive", o.PollInterval)
	}
	if o.MinBackoff <= 0 || o.MaxBackoff < o.MinBackoff {
		bad("MinBackoff %s must be positive and at most MaxBackoff %s", o.MinBackoff, o.MaxBackoff)
	}
	if o.DrainTimeout <= 0 {
		bad("DrainTimeout %s must be positive", o.DrainTimeout)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("relay options: %w", err)
	}
	return nil
}

// Relay publishes the rows of one outbox table.
type Relay struct {
	pool  *pgxpool.Pool
	table string
	pub   Publisher
	log   *slog.Logger
	opts  RelayOptions
}

// NewRelay returns a Relay of table through pool.
func NewRelay(pool *pgxpool.Pool, table pgx.Identifier, pub Publisher, log *slog.Logger, opts RelayOptions) (*Relay, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	return &Relay{pool: pool, table: table.Sanitize(), pub: pub, log: log.With("outbox", table.Sanitize()), opts: opts}, nil
}

// Run relays until ctx ends, then publishes what is left for up to DrainTimeout (events committed just before
// a shutdown go out without waiting for another task) and returns nil. A batch being published when ctx ends
// is finished within the same budget rather than abandoned.
func (r *Relay) Run(ctx context.Context) error {
	// Batches run on work, which outlives ctx by DrainTimeout: a batch whose publish is under way when shutdown
	// begins is finished and its rows deleted, instead of being rolled back and published a second time by the
	// drain below or by another task.
	work, cancelWork := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWork()
	go func() {
		select {
		case <-ctx.Done():
			t := time.NewTimer(r.opts.DrainTimeout)
			defer t.Stop()
			select {
			case <-t.C:
				cancelWork()
			case <-work.Done():
			}
		case <-work.Done():
		}
	}()
	failures := 0
	for ctx.Err() == nil {
		n, err := r.RelayOnce(work)
		switch {
		case err != nil && ctx.Err() != nil:
		case err != nil:
			failures++
			wait := r.backoff(failures)
			r.log.Warn("outbox relay failed", "err", err, "retry_in", wait, "failures", failures)
			sleep(ctx, wait)
		case n == r.opts.BatchSize:
			failures = 0 // more waiting: go on at once
		default:
			failures = 0
			r.idle(ctx)
		}
	}
	for work.Err() == nil {
		n, err := r.RelayOnce(work)
		if err != nil {
			r.log.Warn("outbox drain stopped; other tasks will publish the rest", "err", err)
			break
		}
		if n < r.opts.BatchSize {
			break
		}
	}
	return nil
}

// backoff is the wait after the n-th consecutive failure: exponential, capped, with full jitter.
func (r *Relay) backoff(n int) time.Duration {
	d := r.opts.MinBackoff << min(n-1, 20)
	if d <= 0 || d > r.opts.MaxBackoff {
		d = r.opts.MaxBackoff
	}
	return d/2 + rand.N(d/2+1)
}

// idle waits for the next poll: PollInterval, or less when Wake says rows were committed.
func (r *Relay) idle(ctx context.Context) {
	t := time.NewTimer(r.opts.PollInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	case <-r.opts.Wake: // a nil channel never receives: the poll alone
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

type row struct {
	id    int64
	msg   Message
	attrs []byte
}

// RelayOnce claims up to BatchSize rows, publishes them, deletes the published ones and records the failure
// on the others, all in one transaction. It returns how many rows it claimed, and an error when any failed.
func (r *Relay) RelayOnce(ctx context.Context) (int, error) {
	var claimed int
	var failed error
	err := pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT id, event_id::text, topic, body, attributes FROM "+r.table+
			" ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED", r.opts.BatchSize)
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		batch, err := pgx.CollectRows(rows, func(rs pgx.CollectableRow) (row, error) {
			var x row
			err := rs.Scan(&x.id, &x.msg.EventID, &x.msg.Topic, &x.msg.Body, &x.attrs)
			return x, err
		})
		if err != nil {
			return fmt.Errorf("claim: %w", err)
		}
		claimed = len(batch)
		if claimed == 0 {
			return nil
		}
		published, errs := r.publish(ctx, batch)
		if len(published) > 0 {
			if _, err := tx.Exec(ctx, "DELETE FROM "+r.table+" WHERE id = ANY($1)", published); err != nil {
				return fmt.Errorf("mark published: %w", err)
			}
		}
		for id, perr := range errs {
			if _, err := tx.Exec(ctx, "UPDATE "+r.table+" SET attempts = attempts + 1, last_error = $2 WHERE id = $1",
				id, perr.Error()); err != nil {
				return fmt.Errorf("record failure: %w", err)
			}
			failed = errors.Join(failed, perr)
		}
		if r.opts.OnPublished != nil {
			r.opts.OnPublished(len(published), len(errs))
		}
		return nil
	})
	if err != nil {
		return claimed, fmt.Errorf("relay %s: %w", r.table, err)
	}
	if failed != nil {
		return claimed, fmt.Errorf("relay %s: %w", r.table, failed)
	}
	return claimed, nil
}

// publish publishes the batch, grouped by topic in id order, and returns the ids of the published rows and
// the error of each failed one.
func (r *Relay) publish(ctx context.Context, batch []row) ([]int64, map[int64]error) {
	errs := map[int64]error{}
	var published []int64
	byTopic := map[string][]row{}
	var topics []string
	for _, x := range batch {
		if _, ok := byTopic[x.msg.Topic]; !ok {
			topics = append(topics, x.msg.Topic)
		}
		byTopic[x.msg.Topic] = append(byTopic[x.msg.Topic], x)
	}
	for _, topic := range topics {
		rows := byTopic[topic]
		arn, ok := r.opts.Topics[topic]
		if !ok {
			for _, x := range rows {
				errs[x.id] = fmt.Errorf("event %s: unknown topic %q", x.msg.EventID, topic)
			}
			continue
		}
		msgs := make([]messaging.Message, 0, len(rows))
		spans := make(map[string]trace.Span, len(rows))
		seen := make(map[string]bool, len(rows))
		for _, x := range rows {
			if seen[x.msg.EventID] {
				// The same event enqueued twice (event ids are not unique in the table): published once, as
				// SNS refuses a batch with repeated entry ids; the other row goes with it.
				continue
			}
			m := messaging.Message{ID: x.msg.EventID, Body: x.msg.Body}
			if err := json.Unmarshal(x.attrs, &m.Attributes); err != nil {
				errs[x.id] = fmt.Errorf("event %s: attributes: %w", x.msg.EventID, err)
				continue
			}
			if tracing.HasTraceContext(m.Attributes) {
				// A span per message, in the trace of the change that wrote it; its consumers become its children.
				m.Attributes, spans[m.ID] = tracing.StartPublish(ctx, topic, m.ID, m.Attributes)
			}
			seen[x.msg.EventID] = true
			msgs = append(msgs, m)
		}
		err := r.pub.PublishBatch(ctx, arn, msgs)
		failed := messaging.Failed(err, msgs)
		for id, span := range spans {
			tracing.End(span, failed[id])
		}
		for _, x := range rows {
			if _, bad := errs[x.id]; bad {
				continue
			}
			if ferr, bad := failed[x.msg.EventID]; bad {
				errs[x.id] = fmt.Errorf("event %s: %w", x.msg.EventID, ferr)
				continue
			}
			published = append(published, x.id)
		}
	}
	return published, errs
}
