package localaws

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

type snsAttr struct {
	DataType    string `json:"DataType"`
	StringValue string `json:"StringValue,omitempty"`
	BinaryValue []byte `json:"BinaryValue,omitempty"`
}

type publishEntry struct {
	ID                     string             `json:"Id,omitempty"`
	Message                *string            `json:"Message"`
	Subject                string             `json:"Subject"`
	MessageStructure       string             `json:"MessageStructure"`
	MessageAttributes      map[string]snsAttr `json:"MessageAttributes"`
	MessageGroupID         string             `json:"MessageGroupId"`
	MessageDeduplicationID string             `json:"MessageDeduplicationId"`
}

type publishInput struct {
	TopicArn  string `json:"TopicArn"`
	TargetArn string `json:"TargetArn"`
	publishEntry
}

type publishOutput struct {
	ID             string `json:"Id,omitempty"`
	MessageID      string `json:"MessageId"`
	SequenceNumber string `json:"SequenceNumber,omitempty"`
}

func (sn *snsService) publish(r *request) (any, *APIError) {
	var in publishInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	arn, param := in.TopicArn, "TopicArn"
	if arn == "" {
		arn, param = in.TargetArn, "TargetArn"
	}
	if arn == "" {
		return nil, errSNSInvalidParameter("TopicArn or TargetArn Reason: no value for required parameter")
	}
	if e := sn.checkTopicARN(param, arn); e != nil {
		return nil, e
	}
	return sn.publishTo(arn, &in.publishEntry)
}

// snsNotification is one message published to a topic, ready for delivery.
// It is built before the lock and completed (id, sequence number,
// deduplication id) under it; after that it is only read.
type snsNotification struct {
	id, seq, topicARN, subject, message, groupID, dedupID string
	perProtocol                                           map[string]string
	attrs                                                 map[string]snsAttr
	at                                                    time.Time
}

func checkSNSAttributes(attrs map[string]snsAttr) *APIError {
	for n, a := range attrs {
		if n == "" || len(n) > 256 || !validAttrName(n) {
			return errSNSInvalidParameter("The message attribute '%s' has an invalid message attribute name.", n)
		}
		switch a.DataType {
		case "String", "Number":
			if a.StringValue == "" {
				return errSNSInvalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type '%s'.", n, a.DataType)
			}
			if a.DataType == "Number" {
				if _, err := strconv.ParseFloat(a.StringValue, 64); err != nil {
					return errSNSInvalidParameter("The message attribute '%s' with type 'Number' must contain a number.", n)
				}
			}
		case "String.Array":
			var v []any
			if err := json.Unmarshal([]byte(a.StringValue), &v); err != nil {
				return errSNSInvalidParameter("The message attribute '%s' with type 'String.Array' has an invalid value.", n)
			}
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return errSNSInvalidParameter("The message attribute '%s' must contain non-empty message attribute value for message attribute type 'Binary'.", n)
			}
		default:
			return errSNSInvalidParameter("The message attribute '%s' has an invalid message attribute type, the set of supported type prefixes is Binary, Number, and String.", n)
		}
	}
	return nil
}

// checkSubject applies Publish's rule for Subject: "Constraints: Subjects must
// be UTF-8 text with no line breaks or control characters, and less than 100
// characters long" (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html).
// Line breaks include U+2028 and U+2029, which are not control characters.
// The length is counted in bytes, at most 100, as it always was here.
func checkSubject(s string) *APIError {
	if len(s) > 100 {
		return errSNSInvalidParameter("Subject")
	}
	if !utf8.ValidString(s) {
		return errSNSInvalidParameter("Subject Reason: must be UTF-8 text")
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return errSNSInvalidParameter("Subject Reason: must not contain line breaks or control characters")
		}
	}
	return nil
}

// newNotification validates a Publish (or PublishBatch entry) to topicARN
// and builds its notification; it needs no lock.
func newNotification(topicARN string, in *publishEntry, now time.Time) (*snsNotification, *APIError) {
	if in.Message == nil || *in.Message == "" {
		return nil, errSNSInvalidParameter("Empty message")
	}
	if len(*in.Message) > 256*1024 {
		return nil, errSNSInvalidParameter("Message too long")
	}
	if e := checkSubject(in.Subject); e != nil {
		return nil, e
	}
	if e := checkSNSAttributes(in.MessageAttributes); e != nil {
		return nil, e
	}
	n := &snsNotification{topicARN: topicARN, subject: in.Subject, message: *in.Message, attrs: in.MessageAttributes,
		at: now, groupID: in.MessageGroupID, dedupID: in.MessageDeduplicationID}
	if in.MessageStructure != "" {
		if in.MessageStructure != "json" {
			return nil, errSNSInvalidParameter("MessageStructure")
		}
		if err := json.Unmarshal([]byte(*in.Message), &n.perProtocol); err != nil {
			return nil, errSNSInvalidParameter("Message Structure - JSON message body failed to parse")
		}
		def, ok := n.perProtocol["default"]
		if !ok {
			return nil, errSNSInvalidParameter("Message Structure - No default entry in JSON message body")
		}
		n.message = def
	}
	return n, nil
}

// publishTo publishes a message to a topic like the Publish action and delivers
// it to the topic's subscriptions: to SQS queues before it returns, to http
// subscribers in the background. It validates with no lock, records the
// message in one critical section, and delivers after it.
func (sn *snsService) publishTo(topicARN string, in *publishEntry) (*publishOutput, *APIError) {
	n, e := newNotification(topicARN, in, sn.now())
	if e != nil {
		return nil, e
	}
	// The content-based deduplication id of a FIFO message (a SHA-256 of
	// the body), computed here rather than under the lock.
	contentID := ""
	if n.groupID != "" && n.dedupID == "" {
		contentID = contentDedupID(*in.Message)
	}
	targets, dup, e := sn.record(n, contentID)
	if e != nil {
		return nil, e
	}
	if dup != nil {
		return dup, nil
	}
	for i := range targets {
		if targets[i].matches(n) {
			sn.deliver(&targets[i], n)
		}
	}
	return &publishOutput{MessageID: n.id, SequenceNumber: n.seq}, nil
}

// record gives a published message its id and, on a FIFO topic, its sequence
// number after deduplication, and returns copies of the confirmed
// subscriptions to deliver it to. A duplicate within the deduplication window
// returns the first message's output instead, and is delivered to nobody.
func (sn *snsService) record(n *snsNotification, contentID string) ([]endpoint, *publishOutput, *APIError) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	t, e := sn.topicByARN(n.topicARN)
	if e != nil {
		return nil, nil, e
	}
	if t.fifo {
		if n.groupID == "" {
			return nil, nil, errSNSInvalidParameter("The MessageGroupId parameter is required for FIFO topics")
		}
		if n.dedupID == "" {
			if !strings.EqualFold(t.attrs["ContentBasedDeduplication"], "true") {
				return nil, nil, errSNSInvalidParameter("The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			n.dedupID = contentID
		}
		if d, ok := t.dedup.lookup(n.dedupID, n.at); ok {
			return nil, &publishOutput{MessageID: d.msgID, SequenceNumber: d.seq}, nil
		}
		t.seq++
		n.seq = strconv.FormatUint(t.seq, 10)
	} else if n.dedupID != "" {
		return nil, nil, errSNSInvalidParameter("MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
	}
	n.id = t.ids.newID()
	if t.fifo {
		t.dedup.add(n.dedupID, dedupEntry{msgID: n.id, seq: n.seq, at: n.at})
	}
	targets := make([]endpoint, 0, len(t.subs))
	for _, sub := range t.subs {
		if sub.confirmed {
			targets = append(targets, sub.snapshot())
		}
	}
	return targets, nil, nil
}

// matches applies the subscription's filter policy.
func (ep *endpoint) matches(n *snsNotification) bool {
	if ep.filter == nil {
		return true
	}
	if ep.bodyScope {
		var body any
		if err := json.Unmarshal([]byte(n.message), &body); err != nil {
			return false
		}
		obj, ok := body.(map[string]any)
		if !ok {
			return false
		}
		return ep.filter.match(bodyLookup(obj))
	}
	return ep.filter.match(attrLookup(n.attrs))
}

func (n *snsNotification) messageFor(protocol string) string {
	if n.perProtocol != nil {
		if m, ok := n.perProtocol[protocol]; ok {
			return m
		}
	}
	return n.message
}

type publishBatchInput struct {
	topicInput
	PublishBatchRequestEntries []publishEntry `json:"PublishBatchRequestEntries"`
}

type publishBatchOutput struct {
	Successful []publishOutput `json:"Successful"`
	Failed     []batchError    `json:"Failed"`
}

func (sn *snsService) publishBatch(r *request) (any, *APIError) {
	var in publishBatchInput
	exists := func(*topic) (any, *APIError) { return nil, nil }
	if _, e := onSNS(sn, r, &in, reading, (*snsService).topicByARN, exists); e != nil {
		return nil, e
	}
	ids := make([]string, len(in.PublishBatchRequestEntries))
	for i, en := range in.PublishBatchRequestEntries {
		ids[i] = en.ID
	}
	if e := checkBatch(ids); e != nil {
		code := strings.TrimPrefix(e.Code, "AWS.SimpleQueueService.")
		return nil, snsErr(code, 400, "%s", e.Message)
	}
	out := publishBatchOutput{Successful: []publishOutput{}, Failed: []batchError{}}
	for i := range in.PublishBatchRequestEntries {
		en := &in.PublishBatchRequestEntries[i]
		o, e := sn.publishTo(in.TopicArn, en)
		if e != nil {
			out.Failed = append(out.Failed, entryError(en.ID, e))
			continue
		}
		o.ID = en.ID
		out.Successful = append(out.Successful, *o)
	}
	return out, nil
}
