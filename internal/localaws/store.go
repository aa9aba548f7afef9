package localaws

import (
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"time"
)

// This file holds the data structures a queue keeps its messages in. They
// are chosen so that every operation costs O(1) or O(log n) in the number of
// stored messages and nothing scans a queue: a 100,000-message backlog must
// not slow down sending and receiving (BenchmarkBacklogRatio). None of them
// locks; they belong to a queueState, guarded by its queue's mutex.

type msgState uint8

const (
	stVisible msgState = iota
	stDelayed
	stInflight
	stGone
)

// message is one stored SQS message. It sits in exactly one of: the visible
// list of its queue (standard) or of its group (FIFO), the deadline heap
// (delayed or in flight), or nowhere once deleted. The list links and heap
// index live in the message itself (intrusive), so moving a message between
// those places allocates nothing.
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

// msgHeap is a min-heap of messages by deadline (delayed and in-flight ones),
// so that the next message to become visible is found in O(1) and moved in
// O(log n). It is written out rather than built on container/heap to avoid
// the interface conversions on the receive path.
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
// visible messages and none in flight, which is how SQS hands out one batch
// per group at a time.
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

// dedupWindow remembers deduplication ids for five minutes, the window of
// SQS FIFO queues and SNS FIFO topics. Entries expire in insertion order, so
// they are dropped lazily from the front of a slice instead of by timers.
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

func contentDedupID(body string) string {
	sum := sha256.Sum256([]byte(body))
	return hex.EncodeToString(sum[:])
}

// idSource makes message ids, receipt handles and tokens. Each queue and
// topic has its own, seeded from crypto/rand, and uses it under its own
// lock: ChaCha8 is fast and unpredictable enough for ids that no test can
// guess, and a source per queue keeps senders to different queues from
// contending for one.
type idSource struct{ rng *rand.ChaCha8 }

func newIDSource() idSource { return idSource{rand.NewChaCha8(newSeed())} }

// newID returns a random version 4 UUID, the shape of SQS and SNS message ids.
func (g idSource) newID() string {
	var b [16]byte
	_, _ = g.rng.Read(b[:])
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
