package localaws

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"
)

type msgState uint8

const (
	stVisible msgState = iota
	stDelayed
	stInflight
	stGone
)

// message is one stored SQS message. It sits in exactly one of: the visible
// list of its queue (standard) or of its group (FIFO), the deadline heap
// (delayed or in flight), or nowhere once deleted.
type message struct {
	serial       uint64
	id           string
	body         string
	md5Body      string
	attrs        map[string]attrValue
	traceHeader  string
	sent         time.Time
	firstReceive time.Time
	receives     int
	groupID      string
	dedupID      string
	seq          string
	dlqSource    string
	state        msgState
	deadline     time.Time
	heapIdx      int
	receipt      string
	prev, next   *message
	size         int
}

// msgList is an intrusive doubly linked list of messages.
type msgList struct {
	head, tail *message
	n          int
}

func (l *msgList) pushBack(m *message) {
	m.prev, m.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = m
	} else {
		l.head = m
	}
	l.tail = m
	l.n++
}

func (l *msgList) insertBefore(m, at *message) {
	if at == nil {
		l.pushBack(m)
		return
	}
	m.next, m.prev = at, at.prev
	if at.prev != nil {
		at.prev.next = m
	} else {
		l.head = m
	}
	at.prev = m
	l.n++
}

func (l *msgList) remove(m *message) {
	if m.prev != nil {
		m.prev.next = m.next
	} else {
		l.head = m.next
	}
	if m.next != nil {
		m.next.prev = m.prev
	} else {
		l.tail = m.prev
	}
	m.prev, m.next = nil, nil
	l.n--
}

// msgHeap is a min-heap of messages by deadline (delayed and in-flight ones).
type msgHeap []*message

func (h msgHeap) less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }

func (h msgHeap) swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].heapIdx, h[j].heapIdx = i, j
}

func (h *msgHeap) push(m *message) {
	m.heapIdx = len(*h)
	*h = append(*h, m)
	h.up(m.heapIdx)
}

func (h *msgHeap) removeAt(i int) *message {
	old := *h
	n := len(old) - 1
	m := old[i]
	if i != n {
		h.swap(i, n)
	}
	old[n] = nil
	*h = old[:n]
	if i != n {
		h.down(i)
		h.up(i)
	}
	m.heapIdx = -1
	return m
}

func (h *msgHeap) fix(i int) {
	h.down(i)
	h.up(i)
}

func (h msgHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(i, p) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

func (h msgHeap) down(i int) {
	n := len(h)
	for {
		l := 2*i + 1
		if l >= n {
			return
		}
		c := l
		if r := l + 1; r < n && h.less(r, l) {
			c = r
		}
		if !h.less(c, i) {
			return
		}
		h.swap(i, c)
		i = c
	}
}

// group is a FIFO message group: its visible messages in order and how many of
// its messages are in flight. A group is in the ready list exactly when it has
// visible messages and none in flight.
type group struct {
	id         string
	msgs       msgList
	inflight   int
	ready      bool
	prev, next *group
}

type groupList struct {
	head, tail *group
}

func (l *groupList) pushBack(g *group) {
	g.prev, g.next = l.tail, nil
	if l.tail != nil {
		l.tail.next = g
	} else {
		l.head = g
	}
	l.tail = g
	g.ready = true
}

func (l *groupList) remove(g *group) {
	if g.prev != nil {
		g.prev.next = g.next
	} else {
		l.head = g.next
	}
	if g.next != nil {
		g.next.prev = g.prev
	} else {
		l.tail = g.prev
	}
	g.prev, g.next = nil, nil
	g.ready = false
}

type dedupEntry struct {
	msgID string
	seq   string
	at    time.Time
}

type dedupRec struct {
	key string
	at  time.Time
}

// dedupWindow remembers deduplication ids for five minutes; expired ones are
// dropped lazily in insertion order.
type dedupWindow struct {
	m     map[string]dedupEntry
	order []dedupRec
	head  int
}

const dedupInterval = 5 * time.Minute

func (d *dedupWindow) prune(now time.Time) {
	for d.head < len(d.order) && !now.Before(d.order[d.head].at.Add(dedupInterval)) {
		r := d.order[d.head]
		if e, ok := d.m[r.key]; ok && e.at.Equal(r.at) {
			delete(d.m, r.key)
		}
		d.order[d.head] = dedupRec{}
		d.head++
	}
	if d.head > 1024 && d.head > len(d.order)/2 {
		d.order = append(d.order[:0:0], d.order[d.head:]...)
		d.head = 0
	}
}

func (d *dedupWindow) lookup(key string, now time.Time) (dedupEntry, bool) {
	d.prune(now)
	e, ok := d.m[key]
	return e, ok
}

func (d *dedupWindow) add(key string, e dedupEntry) {
	if d.m == nil {
		d.m = map[string]dedupEntry{}
	}
	d.m[key] = e
	d.order = append(d.order, dedupRec{key: key, at: e.at})
}

// queueConfig holds the settable attributes of a queue.
type queueConfig struct {
	visibility   time.Duration
	delay        time.Duration
	retention    time.Duration
	maxSize      int
	wait         time.Duration
	contentDedup bool
	redrive      *redrivePolicy
	// raw keeps every attribute as last set, for echoing.
	raw map[string]string
}

type redrivePolicy struct {
	DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	MaxReceiveCount     int    `json:"maxReceiveCount"`
}

// queue is one SQS queue. All fields below mu are guarded by it.
type queue struct {
	name    string
	arn     string
	fifo    bool
	serial  uint32
	created time.Time

	mu       sync.Mutex
	cfg      queueConfig
	modified time.Time
	tags     map[string]string
	deleted  bool

	visible  msgList
	groups   map[string]*group
	ready    groupList
	nVisible int
	timers   msgHeap
	inflight map[string]*message
	nDelayed int
	dedup    dedupWindow
	seq      uint64
	serials  uint64
	rng      *rand.ChaCha8
	bytes    int

	notify  chan struct{}
	waiters int
}

func newQueue(name, arn string, fifo bool, serial uint32, now time.Time, seed [32]byte) *queue {
	return &queue{
		name: name, arn: arn, fifo: fifo, serial: serial, created: now, modified: now,
		groups:   map[string]*group{},
		inflight: map[string]*message{},
		tags:     map[string]string{},
		rng:      rand.NewChaCha8(seed),
		notify:   make(chan struct{}),
		seq:      uint64(now.UnixNano()) % 1e18 * 10,
	}
}

// wake releases long-polling receivers; called with mu held.
func (q *queue) wake() {
	if q.waiters > 0 {
		close(q.notify)
		q.notify = make(chan struct{})
	}
}

func (q *queue) newID() string {
	var b [16]byte
	_, _ = q.rng.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

// receipt handles encode queue, message and receive number, so that a handle
// that was never issued can be told from one that is merely stale.
func (q *queue) receiptFor(m *message) string {
	var b [24]byte
	binary.BigEndian.PutUint32(b[0:4], q.serial)
	binary.BigEndian.PutUint64(b[4:12], m.serial)
	binary.BigEndian.PutUint32(b[12:16], uint32(m.receives))
	_, _ = q.rng.Read(b[16:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (q *queue) validReceipt(h string) bool {
	b, err := base64.RawURLEncoding.DecodeString(h)
	return err == nil && len(b) == 24 && binary.BigEndian.Uint32(b[0:4]) == q.serial
}

// makeVisible puts m where a receiver finds it. fromFlight says the message
// returns from being in flight, which for FIFO means to the front of its group.
func (q *queue) makeVisible(m *message, fromFlight bool) {
	m.state = stVisible
	q.nVisible++
	if !q.fifo {
		q.visible.pushBack(m)
		return
	}
	g := q.groups[m.groupID]
	if g == nil {
		g = &group{id: m.groupID}
		q.groups[m.groupID] = g
	}
	if fromFlight {
		at := g.msgs.head
		for at != nil && at.serial < m.serial {
			at = at.next
		}
		g.msgs.insertBefore(m, at)
	} else {
		at := g.msgs.tail
		for at != nil && at.serial > m.serial {
			at = at.prev
		}
		if at == nil {
			g.msgs.insertBefore(m, g.msgs.head)
		} else {
			g.msgs.insertBefore(m, at.next)
		}
	}
	if g.inflight == 0 && !g.ready {
		q.ready.pushBack(g)
	}
}

// advance moves messages whose delay or visibility timeout ended into the
// visible set. It costs O(log n) per moved message and nothing otherwise.
func (q *queue) advance(now time.Time) {
	woke := false
	for len(q.timers) > 0 && !q.timers[0].deadline.After(now) {
		m := q.timers.removeAt(0)
		switch m.state {
		case stDelayed:
			q.nDelayed--
			q.makeVisible(m, false)
		case stInflight:
			delete(q.inflight, m.receipt)
			m.receipt = ""
			if q.fifo {
				q.groups[m.groupID].inflight--
			}
			q.makeVisible(m, true)
		}
		woke = true
	}
	if woke {
		q.wake()
	}
}

func (q *queue) expired(m *message, now time.Time) bool {
	return !now.Before(m.sent.Add(q.cfg.retention))
}

// drop forgets a message entirely.
func (q *queue) drop(m *message) {
	q.bytes -= m.size
	m.state = stGone
}

// enqueue stores a new message (or one moved in from another queue).
func (q *queue) enqueue(m *message, delay time.Duration, now time.Time) {
	q.serials++
	m.serial = q.serials
	m.heapIdx = -1
	q.bytes += m.size
	if delay > 0 {
		m.state = stDelayed
		m.deadline = now.Add(delay)
		q.nDelayed++
		q.timers.push(m)
		return
	}
	q.makeVisible(m, false)
	q.wake()
}

func (q *queue) nextSeq() string {
	q.seq++
	return strconv.FormatUint(q.seq, 10)
}

// deliver marks m as received for the given visibility timeout.
func (q *queue) deliver(m *message, vis time.Duration, now time.Time) {
	m.receives++
	if m.firstReceive.IsZero() {
		m.firstReceive = now
	}
	m.state = stInflight
	m.deadline = now.Add(vis)
	m.receipt = q.receiptFor(m)
	q.inflight[m.receipt] = m
	q.timers.push(m)
}

// receive takes up to max visible messages and puts them in flight. Messages
// past their retention period are dropped, and messages received
// maxReceiveCount times already are returned in moved for the caller to put
// into the dead-letter queue (outside this queue's lock).
func (q *queue) receive(max int, vis time.Duration, now time.Time) (got, moved []*message) {
	q.advance(now)
	maxRecv := 0
	if q.cfg.redrive != nil {
		maxRecv = q.cfg.redrive.MaxReceiveCount
	}
	take := func(m *message) bool {
		q.nVisible--
		if q.expired(m, now) {
			q.drop(m)
			return false
		}
		if maxRecv > 0 && m.receives >= maxRecv {
			q.drop(m)
			moved = append(moved, m)
			return false
		}
		return true
	}
	if !q.fifo {
		for len(got) < max && q.visible.head != nil {
			m := q.visible.head
			q.visible.remove(m)
			if take(m) {
				q.deliver(m, vis, now)
				got = append(got, m)
			}
		}
		return got, moved
	}
	for len(got) < max && q.ready.head != nil {
		g := q.ready.head
		q.ready.remove(g)
		for len(got) < max && g.msgs.head != nil {
			m := g.msgs.head
			g.msgs.remove(m)
			if take(m) {
				q.deliver(m, vis, now)
				g.inflight++
				got = append(got, m)
			}
		}
		switch {
		case g.inflight == 0 && g.msgs.n > 0:
			q.ready.pushBack(g)
		case g.inflight == 0:
			delete(q.groups, g.id)
		}
	}
	return got, moved
}

// settle updates the group of a FIFO message that leaves the in-flight state.
func (q *queue) settle(m *message) {
	if !q.fifo {
		return
	}
	g := q.groups[m.groupID]
	g.inflight--
	if g.inflight == 0 {
		if g.msgs.n > 0 {
			q.ready.pushBack(g)
			q.wake()
		} else {
			delete(q.groups, g.id)
		}
	}
}

// deleteMessage deletes the message with receipt handle h. A stale handle of a
// known message succeeds without effect, as on AWS.
func (q *queue) deleteMessage(h string, now time.Time) *APIError {
	q.advance(now)
	m := q.inflight[h]
	if m == nil {
		if !q.validReceipt(h) {
			return errReceiptHandleIsInvalid(h)
		}
		return nil
	}
	delete(q.inflight, h)
	q.timers.removeAt(m.heapIdx)
	q.drop(m)
	q.settle(m)
	return nil
}

// changeVisibility sets a new visibility timeout, counted from now, for the
// in-flight message with receipt handle h.
func (q *queue) changeVisibility(h string, vis time.Duration, now time.Time) *APIError {
	q.advance(now)
	m := q.inflight[h]
	if m == nil {
		if !q.validReceipt(h) {
			return errReceiptHandleIsInvalid(h)
		}
		return errMessageNotInflight()
	}
	if vis > 0 {
		m.deadline = now.Add(vis)
		q.timers.fix(m.heapIdx)
		return nil
	}
	delete(q.inflight, h)
	q.timers.removeAt(m.heapIdx)
	m.receipt = ""
	if q.fifo {
		q.groups[m.groupID].inflight--
	}
	q.makeVisible(m, true)
	q.wake()
	return nil
}

// purge deletes every message of the queue.
func (q *queue) purge() {
	for _, m := range q.timers {
		m.state = stGone
	}
	q.visible = msgList{}
	q.groups = map[string]*group{}
	q.ready = groupList{}
	q.timers = nil
	q.inflight = map[string]*message{}
	q.nVisible, q.nDelayed, q.bytes = 0, 0, 0
}

// takeAll removes every visible message, in order, for a message move task.
func (q *queue) takeAll(limit int, now time.Time) []*message {
	q.advance(now)
	var out []*message
	take := func(m *message) {
		q.nVisible--
		if q.expired(m, now) {
			q.drop(m)
			return
		}
		q.drop(m)
		out = append(out, m)
	}
	if !q.fifo {
		for q.visible.head != nil && (limit <= 0 || len(out) < limit) {
			m := q.visible.head
			q.visible.remove(m)
			take(m)
		}
		return out
	}
	for g := q.ready.head; g != nil && (limit <= 0 || len(out) < limit); {
		next := g.next
		for g.msgs.head != nil && (limit <= 0 || len(out) < limit) {
			m := g.msgs.head
			g.msgs.remove(m)
			take(m)
		}
		if g.msgs.n == 0 {
			q.ready.remove(g)
			delete(q.groups, g.id)
		}
		g = next
	}
	return out
}

func contentDedupID(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}
