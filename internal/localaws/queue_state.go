package localaws

import (
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"
)

// queueState is everything of a queue that changes: its configuration, tags
// and messages. It lives only inside a queue and is guarded by that queue's
// mutex; its methods never lock, and only the queue's own methods (queue.go),
// each one critical section, call them. Keeping the state in its own type
// makes "called with q.mu held" a property of the receiver rather than a
// comment to trust.
type queueState struct {
	// fifo and serial copy the queue's immutable fields that the state
	// machine needs.
	fifo   bool
	serial uint32

	cfg      queueConfig
	modified time.Time
	tags     map[string]string
	deleted  bool
	// purged is when the last PurgeQueue was accepted (zero: never).
	purged time.Time

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
	ids      idSource
	bytes    int

	// notify is closed (and replaced) to wake long polls when messages
	// become visible; waiters counts the long polls waiting on it, so that
	// nothing is allocated while nobody waits.
	notify  chan struct{}
	waiters int
}

// wake releases long-polling receivers.
func (st *queueState) wake() {
	if st.waiters > 0 {
		close(st.notify)
		st.notify = make(chan struct{})
	}
}

// receiptFor makes a receipt handle that encodes queue, message and receive
// number, so that a handle that was never issued can be told from one that is
// merely stale (AWS answers ReceiptHandleIsInvalid only for the former).
func (st *queueState) receiptFor(m *message) string {
	var b [24]byte
	binary.BigEndian.PutUint32(b[0:4], st.serial)
	binary.BigEndian.PutUint64(b[4:12], m.serial)
	binary.BigEndian.PutUint32(b[12:16], uint32(m.receives))
	_, _ = st.ids.rng.Read(b[16:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (st *queueState) validReceipt(h string) bool {
	b, err := base64.RawURLEncoding.DecodeString(h)
	return err == nil && len(b) == 24 && binary.BigEndian.Uint32(b[0:4]) == st.serial
}

// makeVisible puts m where a receiver finds it. fromFlight says the message
// returns from being in flight, which for FIFO means to the front of its group.
func (st *queueState) makeVisible(m *message, fromFlight bool) {
	m.state = stVisible
	st.nVisible++
	if !st.fifo {
		st.visible.pushBack(m)
		return
	}
	g := st.groups[m.groupID]
	if g == nil {
		g = &group{id: m.groupID}
		st.groups[m.groupID] = g
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
		st.ready.pushBack(g)
	}
}

// advance moves messages whose delay or visibility timeout ended into the
// visible set. It costs O(log n) per moved message and nothing otherwise, so
// every operation can call it first instead of relying on timers.
func (st *queueState) advance(now time.Time) {
	woke := false
	for len(st.timers) > 0 && !st.timers[0].deadline.After(now) {
		m := st.timers.removeAt(0)
		switch m.state {
		case stDelayed:
			st.nDelayed--
			st.makeVisible(m, false)
		case stInflight:
			delete(st.inflight, m.receipt)
			m.receipt = ""
			if st.fifo {
				st.groups[m.groupID].inflight--
			}
			st.makeVisible(m, true)
		}
		woke = true
	}
	if woke {
		st.wake()
	}
}

func (st *queueState) expired(m *message, now time.Time) bool {
	return !now.Before(m.sent.Add(st.cfg.retention))
}

// drop forgets a message entirely.
func (st *queueState) drop(m *message) {
	st.bytes -= m.size
	m.state = stGone
}

// enqueue stores a new message (or one moved in from another queue).
func (st *queueState) enqueue(m *message, delay time.Duration, now time.Time) {
	st.serials++
	m.serial = st.serials
	m.heapIdx = -1
	st.bytes += m.size
	if delay > 0 {
		m.state = stDelayed
		m.deadline = now.Add(delay)
		st.nDelayed++
		st.timers.push(m)
		return
	}
	st.makeVisible(m, false)
	st.wake()
}

func (st *queueState) nextSeq() string {
	st.seq++
	return strconv.FormatUint(st.seq, 10)
}

// store puts a prepared message into the queue, applying FIFO deduplication:
// a duplicate within the window is accepted but not stored, and answers with
// the first message's id and sequence number.
func (st *queueState) store(m *message, delay time.Duration, now time.Time) stored {
	if st.fifo {
		if d, ok := st.dedup.lookup(m.dedupID, now); ok {
			return stored{id: d.msgID, seq: d.seq, duplicate: true}
		}
		m.seq = st.nextSeq()
	}
	m.id = st.ids.newID()
	if st.fifo {
		st.dedup.add(m.dedupID, dedupEntry{msgID: m.id, seq: m.seq, at: now})
	}
	st.enqueue(m, delay, now)
	return stored{id: m.id, seq: m.seq}
}

// deliver marks m as received for the given visibility timeout.
func (st *queueState) deliver(m *message, vis time.Duration, now time.Time) {
	m.receives++
	if m.firstReceive.IsZero() {
		m.firstReceive = now
	}
	m.state = stInflight
	m.deadline = now.Add(vis)
	m.receipt = st.receiptFor(m)
	st.inflight[m.receipt] = m
	st.timers.push(m)
}

// receive takes up to max visible messages and puts them in flight. Messages
// past their retention period are dropped, and messages received
// maxReceiveCount times already are returned in moved for the caller to put
// into the dead-letter queue (outside this queue's lock). Expiry and the
// dead-letter move happen here, when a receiver reaches a message, as on AWS.
func (st *queueState) receive(max int, vis time.Duration, now time.Time) (got, moved []*message) {
	st.advance(now)
	maxRecv := 0
	if st.cfg.redrive != nil {
		maxRecv = st.cfg.redrive.MaxReceiveCount
	}
	take := func(m *message) bool {
		st.nVisible--
		if st.expired(m, now) {
			st.drop(m)
			return false
		}
		if maxRecv > 0 && m.receives >= maxRecv {
			st.drop(m)
			moved = append(moved, m)
			return false
		}
		return true
	}
	if !st.fifo {
		for len(got) < max && st.visible.head != nil {
			m := st.visible.head
			st.visible.remove(m)
			if take(m) {
				st.deliver(m, vis, now)
				got = append(got, m)
			}
		}
		return got, moved
	}
	for len(got) < max && st.ready.head != nil {
		g := st.ready.head
		st.ready.remove(g)
		for len(got) < max && g.msgs.head != nil {
			m := g.msgs.head
			g.msgs.remove(m)
			if take(m) {
				st.deliver(m, vis, now)
				g.inflight++
				got = append(got, m)
			}
		}
		switch {
		case g.inflight == 0 && g.msgs.n > 0:
			st.ready.pushBack(g)
		case g.inflight == 0:
			delete(st.groups, g.id)
		}
	}
	return got, moved
}

// settle updates the group of a FIFO message that leaves the in-flight state.
func (st *queueState) settle(m *message) {
	if !st.fifo {
		return
	}
	g := st.groups[m.groupID]
	g.inflight--
	if g.inflight == 0 {
		if g.msgs.n > 0 {
			st.ready.pushBack(g)
			st.wake()
		} else {
			delete(st.groups, g.id)
		}
	}
}

// deleteMessage deletes the message with receipt handle h. A stale handle of a
// known message succeeds without effect, as on AWS.
func (st *queueState) deleteMessage(h string, now time.Time) *APIError {
	st.advance(now)
	m := st.inflight[h]
	if m == nil {
		if !st.validReceipt(h) {
			return errReceiptHandleIsInvalid(h)
		}
		return nil
	}
	delete(st.inflight, h)
	st.timers.removeAt(m.heapIdx)
	st.drop(m)
	st.settle(m)
	return nil
}

// changeVisibility sets a new visibility timeout, counted from now, for the
// in-flight message with receipt handle h.
func (st *queueState) changeVisibility(h string, vis time.Duration, now time.Time) *APIError {
	st.advance(now)
	m := st.inflight[h]
	if m == nil {
		if !st.validReceipt(h) {
			return errReceiptHandleIsInvalid(h)
		}
		return errMessageNotInflight()
	}
	if vis > 0 {
		m.deadline = now.Add(vis)
		st.timers.fix(m.heapIdx)
		return nil
	}
	delete(st.inflight, h)
	st.timers.removeAt(m.heapIdx)
	m.receipt = ""
	if st.fifo {
		st.groups[m.groupID].inflight--
	}
	st.makeVisible(m, true)
	st.wake()
	return nil
}

// clear deletes every message of the queue.
func (st *queueState) clear() {
	for _, m := range st.timers {
		m.state = stGone
	}
	st.visible = msgList{}
	st.groups = map[string]*group{}
	st.ready = groupList{}
	st.timers = nil
	st.inflight = map[string]*message{}
	st.nVisible, st.nDelayed, st.bytes = 0, 0, 0
}

// takeAll removes up to limit (0: all) visible messages, in order, for a
// message move task.
func (st *queueState) takeAll(limit int, now time.Time) []*message {
	st.advance(now)
	var out []*message
	take := func(m *message) {
		st.nVisible--
		expired := st.expired(m, now)
		st.drop(m)
		if !expired {
			out = append(out, m)
		}
	}
	if !st.fifo {
		for st.visible.head != nil && (limit <= 0 || len(out) < limit) {
			m := st.visible.head
			st.visible.remove(m)
			take(m)
		}
		return out
	}
	for g := st.ready.head; g != nil && (limit <= 0 || len(out) < limit); {
		next := g.next
		for g.msgs.head != nil && (limit <= 0 || len(out) < limit) {
			m := g.msgs.head
			g.msgs.remove(m)
			take(m)
		}
		if g.msgs.n == 0 {
			st.ready.remove(g)
			delete(st.groups, g.id)
		}
		g = next
	}
	return out
}
