package localaws

import (
	"strconv"
	"sync"
	"time"
)

// queue is one SQS queue: its immutable identity, and its state behind mu.
//
// Every method in this file is one critical section: it takes mu, unlocks
// with defer, calls into queueState (which never locks) and returns copies, so
// that callers never hold a pointer into guarded state after it returns.
// Nothing else is locked while mu is held (see the package documentation for
// the lock order).
type queue struct {
	name    string
	arn     string
	fifo    bool
	created time.Time

	mu sync.Mutex
	st queueState
}

func newQueue(name, arn string, fifo bool, serial uint32, now time.Time, cfg queueConfig, tags map[string]string) *queue {
	q := &queue{name: name, arn: arn, fifo: fifo, created: now}
	q.st = queueState{
		fifo: fifo, serial: serial, cfg: cfg, modified: now,
		groups:   map[string]*group{},
		inflight: map[string]*message{},
		tags:     map[string]string{},
		ids:      newIDSource(),
		notify:   make(chan struct{}),
		// FIFO sequence numbers are large and increasing like AWS's; they
		// start from the clock so that a new queue of the same name does
		// not repeat them.
		seq: uint64(now.UnixNano()) % 1e18 * 10,
	}
	for k, v := range tags {
		q.st.tags[k] = v
	}
	return q
}

// config returns the queue's settings, without the raw attribute map (which
// only attributes reads, under the lock).
func (q *queue) config() queueConfig {
	q.mu.Lock()
	defer q.mu.Unlock()
	c := q.st.cfg
	c.raw = nil
	return c
}

// configure applies validated attribute changes (SetQueueAttributes).
func (q *queue) configure(changes queueSettings, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	changes.applyTo(&q.st.cfg)
	q.st.modified = now
}

// sameAttributes reports whether attributes given to CreateQueue for an
// existing queue match it: AWS returns the existing queue then, and
// QueueAlreadyExists when any attribute differs.
func (q *queue) sameAttributes(raw map[string]string) *APIError {
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, v := range raw {
		if k == "FifoQueue" {
			continue
		}
		if cur, ok := q.st.cfg.raw[k]; ok && cur != v || !ok && v != defaultAttr(k) {
			return sqsErr("QueueNameExists", "QueueAlreadyExists", "A queue already exists with the same name and a different value for attribute %s", k)
		}
	}
	return nil
}

// attributes returns every attribute of the queue, counts included.
func (q *queue) attributes(now time.Time) map[string]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := &q.st
	st.advance(now)
	cfg := &st.cfg
	all := map[string]string{
		"QueueArn":                              q.arn,
		"ApproximateNumberOfMessages":           strconv.Itoa(st.nVisible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(len(st.inflight)),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(st.nDelayed),
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(st.modified.Unix(), 10),
		"VisibilityTimeout":                     strconv.Itoa(int(cfg.visibility / time.Second)),
		"DelaySeconds":                          strconv.Itoa(int(cfg.delay / time.Second)),
		"MessageRetentionPeriod":                strconv.Itoa(int(cfg.retention / time.Second)),
		"MaximumMessageSize":                    strconv.Itoa(cfg.maxSize),
		"ReceiveMessageWaitTimeSeconds":         strconv.Itoa(int(cfg.wait / time.Second)),
	}
	for k, v := range cfg.raw {
		if _, ok := all[k]; !ok {
			all[k] = v
		}
	}
	if _, ok := all["SqsManagedSseEnabled"]; !ok && all["KmsMasterKeyId"] == "" {
		all["SqsManagedSseEnabled"] = "true"
	}
	if q.fifo {
		all["FifoQueue"] = "true"
		all["ContentBasedDeduplication"] = strconv.FormatBool(cfg.contentDedup)
		if _, ok := all["DeduplicationScope"]; !ok {
			all["DeduplicationScope"] = "queue"
		}
		if _, ok := all["FifoThroughputLimit"]; !ok {
			all["FifoThroughputLimit"] = "perQueue"
		}
	}
	return all
}

// deadLetterTarget returns the ARN of the queue's dead-letter queue, or "".
func (q *queue) deadLetterTarget() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.st.cfg.redrive == nil {
		return ""
	}
	return q.st.cfg.redrive.DeadLetterTargetArn
}

// maxQueueTags is the most tags a queue can have ("Adding more than 50 tags
// to a queue isn't recommended", with the limit itself among the queue quotas:
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_TagQueue.html,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-queues.html).
const maxQueueTags = 50

// tag adds or replaces tags, unless the queue would then have too many.
func (q *queue) tag(tags map[string]string) *APIError {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := len(q.st.tags)
	for k := range tags {
		if _, ok := q.st.tags[k]; !ok {
			n++
		}
	}
	if n > maxQueueTags {
		return errInvalidParameterValue("Too many tags added for queue %s.", q.name)
	}
	for k, v := range tags {
		q.st.tags[k] = v
	}
	return nil
}

func (q *queue) untag(keys []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, k := range keys {
		delete(q.st.tags, k)
	}
}

func (q *queue) tags() map[string]string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make(map[string]string, len(q.st.tags))
	for k, v := range q.st.tags {
		out[k] = v
	}
	return out
}

// pending is a validated message ready to store, with its delay.
type pending struct {
	m     *message
	delay time.Duration
}

// stored is the outcome of storing one message: its id and (FIFO) sequence
// number, or those of the message it duplicates.
type stored struct {
	id, seq   string
	duplicate bool
}

// store stores the messages of one send, in order, in one critical section.
// It fails only when the queue has been deleted.
func (q *queue) store(ps []pending, now time.Time) ([]stored, *APIError) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.st.deleted {
		return nil, errQueueDoesNotExist()
	}
	out := make([]stored, len(ps))
	for i, p := range ps {
		out[i] = q.st.store(p.m, p.delay, now)
	}
	return out, nil
}

// rendered is what a receiver sees of a message, captured under the lock:
// the fields that change after the receive are copied, the rest never change.
type rendered struct {
	m        *message
	receipt  string
	receives int
	first    time.Time
	seq      string
	source   string
}

// pollResult is one attempt of a ReceiveMessage: what it received, what it must move
// to the dead-letter queue (after the lock is released), and whether to
// answer now or wait on wake for at most sleep.
type pollResult struct {
	got   []rendered
	moved []*message
	dlq   string
	done  bool
	// wake is set when the caller must wait; it then counts as a waiter
	// until it calls stopWaiting.
	wake  <-chan struct{}
	sleep time.Duration
}

// poll receives up to max messages. With none to give and time left before
// deadline, it registers the caller as a long-poll waiter.
func (q *queue) poll(max int, vis time.Duration, now, deadline time.Time) pollResult {
	q.mu.Lock()
	defer q.mu.Unlock()
	st := &q.st
	got, moved := st.receive(max, vis, now)
	p := pollResult{moved: moved}
	if len(got) > 0 {
		p.got = make([]rendered, len(got))
		for i, m := range got {
			p.got[i] = rendered{m: m, receipt: m.receipt, receives: m.receives, first: m.firstReceive, seq: m.seq, source: m.dlqSource}
		}
	}
	if st.cfg.redrive != nil {
		p.dlq = st.cfg.redrive.DeadLetterTargetArn
	}
	switch {
	case len(got) > 0 || !now.Before(deadline) || st.deleted:
		p.done = true
	case len(moved) > 0:
		// Try again at once, once the moved messages are stored.
	default:
		p.sleep = deadline.Sub(now)
		if len(st.timers) > 0 {
			p.sleep = min(p.sleep, st.timers[0].deadline.Sub(now))
		}
		p.wake = st.notify
		st.waiters++
	}
	return p
}

// stopWaiting ends a wait that poll registered.
func (q *queue) stopWaiting() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.st.waiters--
}

// deleteMessages deletes the in-flight messages with the given receipt
// handles in one critical section, skipping entries whose errs[i] is set and
// setting errs[i] for the others that fail.
func (q *queue) deleteMessages(handles []string, errs []*APIError, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, h := range handles {
		if errs[i] == nil {
			errs[i] = q.st.deleteMessage(h, now)
		}
	}
}

// changeVisibilities gives the in-flight messages with the given receipt
// handles new visibility timeouts, like deleteMessages.
func (q *queue) changeVisibilities(handles []string, vis []time.Duration, errs []*APIError, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, h := range handles {
		if errs[i] == nil {
			errs[i] = q.st.changeVisibility(h, vis[i], now)
		}
	}
}

// purgeInterval is how long SQS refuses another PurgeQueue on a queue:
// PurgeQueueInProgress "Indicates that the specified queue previously
// received a PurgeQueue request within the last 60 seconds (the time it can
// take to delete the messages in the queue)"
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_PurgeQueue.html).
const purgeInterval = 60 * time.Second

// purge deletes every message, at most once per purgeInterval. Unlike AWS,
// which may take up to that minute, the messages are gone when it returns.
func (q *queue) purge(now time.Time) *APIError {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.st.purged.IsZero() && now.Before(q.st.purged.Add(purgeInterval)) {
		return sqsErr("PurgeQueueInProgress", "AWS.SimpleQueueService.PurgeQueueInProgress",
			"Only one PurgeQueue operation on %s is allowed every %d seconds.", q.name, int(purgeInterval/time.Second))
	}
	q.st.purged = now
	q.st.clear()
	return nil
}

// markDeleted empties a queue that DeleteQueue removed and answers its long
// polls; sends still in flight to it fail.
func (q *queue) markDeleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.st.deleted = true
	q.st.clear()
	q.st.waiters++ // force a wake-up of every long poll
	q.st.wake()
	q.st.waiters--
}

// enqueueMoved stores messages taken out of another queue (by a dead-letter
// move or a message move task), which the caller has already prepared.
func (q *queue) enqueueMoved(ms []*message, now time.Time) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, m := range ms {
		if q.fifo {
			m.seq = q.st.nextSeq()
		}
		q.st.enqueue(m, 0, now)
	}
}

// takeVisible removes up to limit (0: all) visible messages for a message
// move task; they belong to the caller afterwards.
func (q *queue) takeVisible(limit int, now time.Time) []*message {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st.takeAll(limit, now)
}

// visibleCount returns ApproximateNumberOfMessages without advancing timers.
func (q *queue) visibleCount() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st.nVisible
}

// newID returns a fresh id from the queue's random source.
func (q *queue) newID() string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.st.ids.newID()
}
