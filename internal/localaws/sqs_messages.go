package localaws

import (
	"strconv"
	"strings"
	"time"
)

// This file serves the message actions of SQS: sending, receiving, deleting
// and changing visibility, single and batched. They are the busiest actions
// (make bench), so each takes its queue's lock as few times as it can: once
// to read the settings it validates against and once to change the queue,
// whatever the batch size.

type sendInput struct {
	ID                      string               `json:"Id,omitempty"`
	MessageBody             *string              `json:"MessageBody"`
	DelaySeconds            flexInt              `json:"DelaySeconds"`
	MessageAttributes       map[string]attrValue `json:"MessageAttributes"`
	MessageSystemAttributes map[string]attrValue `json:"MessageSystemAttributes"`
	MessageDeduplicationID  string               `json:"MessageDeduplicationId"`
	MessageGroupID          string               `json:"MessageGroupId"`
}

type sendMessageInput struct {
	queueInput
	sendInput
}

type sendOutput struct {
	ID                           string `json:"Id,omitempty"`
	MessageID                    string `json:"MessageId"`
	MD5OfMessageBody             string `json:"MD5OfMessageBody"`
	MD5OfMessageAttributes       string `json:"MD5OfMessageAttributes,omitempty"`
	MD5OfMessageSystemAttributes string `json:"MD5OfMessageSystemAttributes,omitempty"`
	SequenceNumber               string `json:"SequenceNumber,omitempty"`
}

// errInvalidBody is SendMessage's answer to a body with characters outside
// the allowed set: "If a message contains characters outside the allowed set,
// Amazon SQS rejects the message and returns an InvalidMessageContents error"
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
func errInvalidBody() *APIError {
	return &APIError{Type: "InvalidMessageContents", Code: "InvalidMessageContents", Message: "Invalid characters found. Valid values: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"}
}

// prepare validates a message to send to a queue with configuration cfg and
// builds it. It needs no lock: cfg is a snapshot (queue.config).
func prepare(cfg queueConfig, fifo bool, in *sendInput, now time.Time) (*message, time.Duration, *APIError) {
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, 0, errMissingParameter("MessageBody")
	}
	body := *in.MessageBody
	if !validBody(body) {
		return nil, 0, errInvalidBody()
	}
	asize, e := checkAttributes(in.MessageAttributes)
	if e != nil {
		return nil, 0, e
	}
	if size := len(body) + asize; size > cfg.maxSize {
		return nil, 0, errInvalidParameterValue("One or more parameters are invalid. Reason: Message must be shorter than %d bytes.", cfg.maxSize)
	}
	m := &message{body: body, attrs: in.MessageAttributes, sent: now, size: len(body) + asize}
	for n, a := range in.MessageSystemAttributes {
		if n != "AWSTraceHeader" || a.DataType != "String" || a.StringValue == nil {
			return nil, 0, errInvalidParameterValue("Message system attribute name '%s' is invalid.", n)
		}
		m.traceHeader = *a.StringValue
	}
	delay := cfg.delay
	if in.DelaySeconds.Set {
		if in.DelaySeconds.Value < 0 || in.DelaySeconds.Value > 900 {
			return nil, 0, errInvalidParameterValue("Value %d for parameter DelaySeconds is invalid. Reason: DelaySeconds must be >= 0 and <= 900.", in.DelaySeconds.Value)
		}
		if fifo {
			return nil, 0, errInvalidParameterValue("Value %d for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.", in.DelaySeconds.Value)
		}
		delay = time.Duration(in.DelaySeconds.Value) * time.Second
	}
	if fifo {
		if in.MessageGroupID == "" {
			return nil, 0, errMissingParameter("MessageGroupId")
		}
		m.groupID = in.MessageGroupID
		m.dedupID = in.MessageDeduplicationID
		if m.dedupID == "" {
			if !cfg.contentDedup {
				return nil, 0, errInvalidParameterValue("The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			m.dedupID = contentDedupID(body)
		}
	} else {
		if in.MessageDeduplicationID != "" {
			return nil, 0, errInvalidParameterValue("Value %s for parameter MessageDeduplicationId is invalid. Reason: The request includes a parameter that is not valid for this queue type.", in.MessageDeduplicationID)
		}
		m.groupID = in.MessageGroupID
	}
	m.md5Body = md5Hex(body)
	return m, delay, nil
}

// sendResult renders the answer to storing m as s, outside the queue's lock
// (the digests are the costly part). A duplicate answers with the first
// message's id and sequence number and no system attribute digest.
func sendResult(m *message, s stored) sendOutput {
	out := sendOutput{MessageID: s.id, MD5OfMessageBody: m.md5Body, MD5OfMessageAttributes: md5OfAttributes(m.attrs), SequenceNumber: s.seq}
	if m.traceHeader != "" && !s.duplicate {
		v := m.traceHeader
		out.MD5OfMessageSystemAttributes = md5OfAttributes(map[string]attrValue{"AWSTraceHeader": {DataType: "String", StringValue: &v}})
	}
	return out
}

func (sq *sqsService) sendMessage(r *request) (any, *APIError) {
	var in sendMessageInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	m, delay, e := prepare(q.config(), q.fifo, &in.sendInput, r.now)
	if e != nil {
		return nil, e
	}
	s, e := q.store([]pending{{m, delay}}, r.now)
	if e != nil {
		return nil, e
	}
	return sendResult(m, s[0]), nil
}

type batchError struct {
	ID          string `json:"Id"`
	SenderFault bool   `json:"SenderFault"`
	Code        string `json:"Code"`
	Message     string `json:"Message,omitempty"`
}

func entryError(id string, e *APIError) batchError {
	return batchError{ID: id, SenderFault: !e.Server, Code: e.Code, Message: e.Message}
}

// checkBatch validates the entry ids of a batch request.
func checkBatch(ids []string) *APIError {
	if len(ids) == 0 {
		return sqsErr("EmptyBatchRequest", "AWS.SimpleQueueService.EmptyBatchRequest", "There should be at least one entry in the request.")
	}
	if len(ids) > 10 {
		return sqsErr("TooManyEntriesInBatchRequest", "AWS.SimpleQueueService.TooManyEntriesInBatchRequest", "Maximum number of entries per request are 10. You have sent %d.", len(ids))
	}
	seen := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !validName(id) {
			return sqsErr("InvalidBatchEntryId", "AWS.SimpleQueueService.InvalidBatchEntryId", "A batch entry id can only contain alphanumeric characters, hyphens and underscores. It can be at most 80 letters long.")
		}
		if seen[id] {
			return sqsErr("BatchEntryIdsNotDistinct", "AWS.SimpleQueueService.BatchEntryIdsNotDistinct", "Id %s repeated.", id)
		}
		seen[id] = true
	}
	return nil
}

type sendMessageBatchInput struct {
	queueInput
	Entries []sendInput `json:"Entries"`
}

type sendMessageBatchOutput struct {
	Successful []sendOutput `json:"Successful" q:"SendMessageBatchResultEntry"`
	Failed     []batchError `json:"Failed" q:"BatchResultErrorEntry"`
}

func (sq *sqsService) sendMessageBatch(r *request) (any, *APIError) {
	var in sendMessageBatchInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	ids := make([]string, len(in.Entries))
	total := 0
	for i, en := range in.Entries {
		ids[i] = en.ID
		if en.MessageBody != nil {
			total += len(*en.MessageBody)
		}
	}
	if e := checkBatch(ids); e != nil {
		return nil, e
	}
	cfg := q.config()
	if total > cfg.maxSize {
		return nil, sqsErr("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", cfg.maxSize, total)
	}
	// Validate every entry first, then store the valid ones in one critical
	// section, then render the answers in entry order.
	errs := make([]*APIError, len(in.Entries))
	ps := make([]pending, 0, len(in.Entries))
	for i := range in.Entries {
		m, delay, e := prepare(cfg, q.fifo, &in.Entries[i], r.now)
		if e != nil {
			errs[i] = e
			continue
		}
		ps = append(ps, pending{m, delay})
	}
	var done []stored
	var storeErr *APIError
	if len(ps) > 0 {
		done, storeErr = q.store(ps, r.now)
	}
	out := sendMessageBatchOutput{Successful: make([]sendOutput, 0, len(ps)), Failed: []batchError{}}
	k := 0
	for i := range in.Entries {
		id := in.Entries[i].ID
		switch {
		case errs[i] != nil:
			out.Failed = append(out.Failed, entryError(id, errs[i]))
		case storeErr != nil:
			out.Failed = append(out.Failed, entryError(id, storeErr))
			k++
		default:
			o := sendResult(ps[k].m, done[k])
			o.ID = id
			out.Successful = append(out.Successful, o)
			k++
		}
	}
	return out, nil
}

type receiveMessageInput struct {
	queueInput
	AttributeNames              []string `json:"AttributeNames"`
	MessageSystemAttributeNames []string `json:"MessageSystemAttributeNames"`
	MessageAttributeNames       []string `json:"MessageAttributeNames"`
	MaxNumberOfMessages         flexInt  `json:"MaxNumberOfMessages"`
	VisibilityTimeout           flexInt  `json:"VisibilityTimeout"`
	WaitTimeSeconds             flexInt  `json:"WaitTimeSeconds"`
	ReceiveRequestAttemptID     string   `json:"ReceiveRequestAttemptId"`
}

type outMessage struct {
	MessageID              string               `json:"MessageId"`
	ReceiptHandle          string               `json:"ReceiptHandle"`
	MD5OfBody              string               `json:"MD5OfBody"`
	Body                   string               `json:"Body"`
	Attributes             map[string]string    `json:"Attributes,omitempty" q:"Attribute,Name,Value"`
	MD5OfMessageAttributes string               `json:"MD5OfMessageAttributes,omitempty"`
	MessageAttributes      map[string]attrValue `json:"MessageAttributes,omitempty" q:"MessageAttribute,Name,Value"`
}

type receiveMessageOutput struct {
	Messages []outMessage `json:"Messages,omitempty" q:"Message"`
}

var systemAttrNames = map[string]bool{
	"All": true, "SenderId": true, "SentTimestamp": true, "ApproximateReceiveCount": true,
	"ApproximateFirstReceiveTimestamp": true, "SequenceNumber": true, "MessageDeduplicationId": true,
	"MessageGroupId": true, "AWSTraceHeader": true, "DeadLetterQueueSourceArn": true,
}

func (sq *sqsService) receiveMessage(r *request) (any, *APIError) {
	var in receiveMessageInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	max := 1
	if in.MaxNumberOfMessages.Set {
		if in.MaxNumberOfMessages.Value < 1 || in.MaxNumberOfMessages.Value > 10 {
			return nil, errInvalidParameterValue("Value %d for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.", in.MaxNumberOfMessages.Value)
		}
		max = int(in.MaxNumberOfMessages.Value)
	}
	sysNames := make([]string, 0, len(in.AttributeNames)+len(in.MessageSystemAttributeNames))
	sysNames = append(sysNames, in.AttributeNames...)
	sysNames = append(sysNames, in.MessageSystemAttributeNames...)
	for _, n := range sysNames {
		if !systemAttrNames[n] {
			return nil, errInvalidAttributeName("Unknown Attribute %s.", n)
		}
	}
	for _, n := range in.MessageAttributeNames {
		if n != "All" && n != ".*" && !validAttrName(strings.TrimSuffix(n, ".*")) {
			return nil, errInvalidAttributeName("Message attribute name '%s' is invalid.", n)
		}
	}
	cfg := q.config()
	vis, wait := cfg.visibility, cfg.wait
	if in.VisibilityTimeout.Set {
		if in.VisibilityTimeout.Value < 0 || in.VisibilityTimeout.Value > 43200 {
			return nil, errInvalidParameterValue("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200.", in.VisibilityTimeout.Value)
		}
		vis = time.Duration(in.VisibilityTimeout.Value) * time.Second
	}
	if in.WaitTimeSeconds.Set {
		if in.WaitTimeSeconds.Value < 0 || in.WaitTimeSeconds.Value > 20 {
			return nil, errInvalidParameterValue("Value %d for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.", in.WaitTimeSeconds.Value)
		}
		wait = time.Duration(in.WaitTimeSeconds.Value) * time.Second
	}
	msgs := sq.receiveWait(r, q, max, vis, wait)
	out := receiveMessageOutput{}
	for _, m := range msgs {
		out.Messages = append(out.Messages, sq.render(m, sysNames, in.MessageAttributeNames))
	}
	return out, nil
}

// render builds what a receiver sees of a message from a snapshot taken
// under the lock, selecting the attributes asked for.
func (sq *sqsService) render(x rendered, sysNames, attrNames []string) outMessage {
	m := x.m
	o := outMessage{MessageID: m.id, ReceiptHandle: x.receipt, MD5OfBody: m.md5Body, Body: m.body}
	if sel := selectAttributes(m.attrs, attrNames); sel != nil {
		o.MessageAttributes = sel
		o.MD5OfMessageAttributes = md5OfAttributes(sel)
	}
	if len(sysNames) > 0 {
		all := false
		want := map[string]bool{}
		for _, n := range sysNames {
			all = all || n == "All"
			want[n] = true
		}
		o.Attributes = map[string]string{}
		add := func(n, v string) {
			if v != "" && (all || want[n]) {
				o.Attributes[n] = v
			}
		}
		add("SenderId", sq.account)
		add("SentTimestamp", strconv.FormatInt(m.sent.UnixMilli(), 10))
		add("ApproximateReceiveCount", strconv.Itoa(x.receives))
		add("ApproximateFirstReceiveTimestamp", strconv.FormatInt(x.first.UnixMilli(), 10))
		add("SequenceNumber", x.seq)
		if x.seq != "" {
			add("MessageDeduplicationId", m.dedupID)
		}
		add("MessageGroupId", m.groupID)
		add("AWSTraceHeader", m.traceHeader)
		add("DeadLetterQueueSourceArn", x.source)
		if len(o.Attributes) == 0 {
			o.Attributes = nil
		}
	}
	return o
}

// receiveWait receives up to max messages, long polling for up to wait until
// at least one message is there. Each attempt is one critical section
// (queue.poll); messages that reached maxReceiveCount move to the dead-letter
// queue between attempts, with no lock held.
func (sq *sqsService) receiveWait(r *request, q *queue, max int, vis, wait time.Duration) []rendered {
	deadline := r.now.Add(wait)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		now := sq.now()
		p := q.poll(max, vis, now, deadline)
		sq.moveToDLQ(q.arn, p.dlq, p.moved, now)
		if p.done {
			return p.got
		}
		if p.wake == nil {
			continue
		}
		if timer == nil {
			sq.log.Debug("long poll waiting", "queue", q.name, "wait", deadline.Sub(now))
			timer = time.NewTimer(p.sleep)
		} else {
			timer.Reset(p.sleep)
		}
		select {
		case <-p.wake:
		case <-timer.C:
		case <-r.ctx.Done():
		case <-sq.life.closed:
		}
		q.stopWaiting()
		if r.ctx.Err() != nil || sq.life.isDone() {
			return nil
		}
	}
}

// moveToDLQ stores messages that reached maxReceiveCount in the dead-letter
// queue. Messages whose dead-letter queue is gone are dropped, as on AWS.
func (sq *sqsService) moveToDLQ(sourceARN, dlqARN string, moved []*message, now time.Time) {
	if len(moved) == 0 {
		return
	}
	dlq := sq.queueByARN(dlqARN)
	if dlq == nil {
		sq.log.Warn("dead-letter queue missing; messages dropped", "queue", sourceARN, "dead_letter_queue", dlqARN, "messages", len(moved))
		return
	}
	// The messages left the source queue under its lock and belong to
	// this call until the dead-letter queue has them.
	for _, m := range moved {
		m.dlqSource = sourceARN
		m.receipt = ""
	}
	dlq.enqueueMoved(moved, now)
}

type deleteMessageInput struct {
	queueInput
	ReceiptHandle string `json:"ReceiptHandle"`
}

func (sq *sqsService) deleteMessage(r *request) (any, *APIError) {
	var in deleteMessageInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if in.ReceiptHandle == "" {
		return nil, errMissingParameter("ReceiptHandle")
	}
	errs := []*APIError{nil}
	q.deleteMessages([]string{in.ReceiptHandle}, errs, r.now)
	return nil, errs[0]
}

type batchEntry struct {
	ID                string  `json:"Id"`
	ReceiptHandle     string  `json:"ReceiptHandle"`
	VisibilityTimeout flexInt `json:"VisibilityTimeout"`
}

type batchInput struct {
	queueInput
	Entries []batchEntry `json:"Entries"`
}

type idEntry struct {
	ID string `json:"Id"`
}

type deleteMessageBatchOutput struct {
	Successful []idEntry    `json:"Successful" q:"DeleteMessageBatchResultEntry"`
	Failed     []batchError `json:"Failed" q:"BatchResultErrorEntry"`
}

type changeVisibilityBatchOutput struct {
	Successful []idEntry    `json:"Successful" q:"ChangeMessageVisibilityBatchResultEntry"`
	Failed     []batchError `json:"Failed" q:"BatchResultErrorEntry"`
}

// handleBatch is a decoded DeleteMessageBatch or ChangeMessageVisibilityBatch:
// the queue, the entries, their receipt handles and an error slot per entry,
// filled in first by validation and then by the queue.
type handleBatch struct {
	q       *queue
	entries []batchEntry
	handles []string
	errs    []*APIError
}

// decodeHandleBatch decodes and validates a batch of receipt handles.
func (sq *sqsService) decodeHandleBatch(r *request) (handleBatch, *APIError) {
	var in batchInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return handleBatch{}, e
	}
	b := handleBatch{q: q, entries: in.Entries, handles: make([]string, len(in.Entries)), errs: make([]*APIError, len(in.Entries))}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		ids[i], b.handles[i] = en.ID, en.ReceiptHandle
		if en.ReceiptHandle == "" {
			b.errs[i] = errMissingParameter("ReceiptHandle")
		}
	}
	if e := checkBatch(ids); e != nil {
		return handleBatch{}, e
	}
	return b, nil
}

// results splits the outcome into successful and failed entries.
func (b handleBatch) results() ([]idEntry, []batchError) {
	ok, failed := []idEntry{}, []batchError{}
	for i, en := range b.entries {
		if b.errs[i] != nil {
			failed = append(failed, entryError(en.ID, b.errs[i]))
			continue
		}
		ok = append(ok, idEntry{en.ID})
	}
	return ok, failed
}

func (sq *sqsService) deleteMessageBatch(r *request) (any, *APIError) {
	b, e := sq.decodeHandleBatch(r)
	if e != nil {
		return nil, e
	}
	b.q.deleteMessages(b.handles, b.errs, r.now)
	ok, failed := b.results()
	return deleteMessageBatchOutput{ok, failed}, nil
}

func visibilityArg(v flexInt) (time.Duration, *APIError) {
	if !v.Set {
		return 0, errMissingParameter("VisibilityTimeout")
	}
	if v.Value < 0 || v.Value > 43200 {
		return 0, errInvalidParameterValue("Value %d for parameter VisibilityTimeout is invalid. Reason: Must be >= 0 and <= 43200.", v.Value)
	}
	return time.Duration(v.Value) * time.Second, nil
}

func (sq *sqsService) changeMessageVisibilityBatch(r *request) (any, *APIError) {
	b, e := sq.decodeHandleBatch(r)
	if e != nil {
		return nil, e
	}
	vis := make([]time.Duration, len(b.entries))
	for i, en := range b.entries {
		if b.errs[i] == nil {
			vis[i], b.errs[i] = visibilityArg(en.VisibilityTimeout)
		}
	}
	b.q.changeVisibilities(b.handles, vis, b.errs, r.now)
	ok, failed := b.results()
	return changeVisibilityBatchOutput{ok, failed}, nil
}

type changeVisibilityInput struct {
	queueInput
	ReceiptHandle     string  `json:"ReceiptHandle"`
	VisibilityTimeout flexInt `json:"VisibilityTimeout"`
}

func (sq *sqsService) changeMessageVisibility(r *request) (any, *APIError) {
	var in changeVisibilityInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if in.ReceiptHandle == "" {
		return nil, errMissingParameter("ReceiptHandle")
	}
	vis, e := visibilityArg(in.VisibilityTimeout)
	if e != nil {
		return nil, e
	}
	errs := []*APIError{nil}
	q.changeVisibilities([]string{in.ReceiptHandle}, []time.Duration{vis}, errs, r.now)
	return nil, errs[0]
}
