package localaws

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

var sqsOps = map[string]opFunc{
	"CreateQueue":                  (*Server).createQueue,
	"GetQueueUrl":                  (*Server).getQueueURL,
	"GetQueueAttributes":           (*Server).getQueueAttributes,
	"SetQueueAttributes":           (*Server).setQueueAttributes,
	"ListQueues":                   (*Server).listQueues,
	"DeleteQueue":                  (*Server).deleteQueue,
	"PurgeQueue":                   (*Server).purgeQueue,
	"SendMessage":                  (*Server).sendMessage,
	"SendMessageBatch":             (*Server).sendMessageBatch,
	"ReceiveMessage":               (*Server).receiveMessage,
	"DeleteMessage":                (*Server).deleteMessage,
	"DeleteMessageBatch":           (*Server).deleteMessageBatch,
	"ChangeMessageVisibility":      (*Server).changeMessageVisibility,
	"ChangeMessageVisibilityBatch": (*Server).changeMessageVisibilityBatch,
	"TagQueue":                     (*Server).tagQueue,
	"UntagQueue":                   (*Server).untagQueue,
	"ListQueueTags":                (*Server).listQueueTags,
	"ListDeadLetterSourceQueues":   (*Server).listDeadLetterSourceQueues,
	"StartMessageMoveTask":         (*Server).startMessageMoveTask,
	"ListMessageMoveTasks":         (*Server).listMessageMoveTasks,
	"CancelMessageMoveTask":        (*Server).cancelMessageMoveTask,
	"AddPermission":                (*Server).permissionNoop,
	"RemovePermission":             (*Server).permissionNoop,
}

// validName reports whether s is 1 to 80 letters, digits, hyphens and
// underscores: the rule for queue names and batch entry ids.
func validName(s string) bool {
	if len(s) == 0 || len(s) > 80 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' {
			return false
		}
	}
	return true
}

// settable and read-only queue attribute names.
var queueAttrNames = map[string]bool{
	"All": true, "Policy": true, "VisibilityTimeout": true, "MaximumMessageSize": true, "MessageRetentionPeriod": true,
	"ApproximateNumberOfMessages": true, "ApproximateNumberOfMessagesNotVisible": true, "CreatedTimestamp": true,
	"LastModifiedTimestamp": true, "QueueArn": true, "ApproximateNumberOfMessagesDelayed": true, "DelaySeconds": true,
	"ReceiveMessageWaitTimeSeconds": true, "RedrivePolicy": true, "FifoQueue": true, "ContentBasedDeduplication": true,
	"KmsMasterKeyId": true, "KmsDataKeyReusePeriodSeconds": true, "DeduplicationScope": true, "FifoThroughputLimit": true,
	"RedriveAllowPolicy": true, "SqsManagedSseEnabled": true,
}

var readOnlyQueueAttrs = map[string]bool{
	"All": true, "ApproximateNumberOfMessages": true, "ApproximateNumberOfMessagesNotVisible": true, "CreatedTimestamp": true,
	"LastModifiedTimestamp": true, "QueueArn": true, "ApproximateNumberOfMessagesDelayed": true,
}

func (s *Server) queueARN(name string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", s.region, s.account, name)
}

func (s *Server) queueURL(r *request, name string) string {
	host := r.host
	if host == "" {
		host = "localhost"
	}
	return "http://" + host + "/" + s.account + "/" + name
}

// queueByURL finds a queue by its URL (any host) or, leniently, its name.
func (s *Server) queueByURL(u string) (*queue, *APIError) {
	if u == "" {
		return nil, errMissingParameter("QueueUrl")
	}
	name := u
	if strings.Contains(u, "/") {
		pu, err := url.Parse(u)
		if err != nil {
			return nil, errQueueDoesNotExist()
		}
		name = pu.Path[strings.LastIndex(pu.Path, "/")+1:]
	}
	s.mu.RLock()
	q := s.queues[name]
	s.mu.RUnlock()
	if q == nil {
		return nil, errQueueDoesNotExist()
	}
	return q, nil
}

func (s *Server) queueByARN(arn string) *queue {
	i := strings.LastIndex(arn, ":")
	if i < 0 || !strings.HasPrefix(arn, "arn:") {
		return nil
	}
	s.mu.RLock()
	q := s.queues[arn[i+1:]]
	s.mu.RUnlock()
	if q == nil || q.arn != arn {
		return nil
	}
	return q
}

func intAttr(name, v string, lo, hi int64) (int64, *APIError) {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < lo || n > hi {
		return 0, errInvalidAttributeValue("Invalid value for the parameter %s. Reason: must be an integer from %d to %d.", name, lo, hi)
	}
	return n, nil
}

func boolAttr(name, v string) (bool, *APIError) {
	switch strings.ToLower(v) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errInvalidAttributeValue("Invalid value for the parameter %s. Reason: must be true or false.", name)
}

func defaultQueueConfig() queueConfig {
	return queueConfig{
		visibility: 30 * time.Second,
		retention:  4 * 24 * time.Hour,
		maxSize:    1 << 20,
		raw:        map[string]string{},
	}
}

// applyQueueAttrs validates attrs and applies them to cfg.
func (s *Server) applyQueueAttrs(cfg *queueConfig, attrs map[string]string, fifo bool, self string) *APIError {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v := attrs[n]
		if !queueAttrNames[n] || readOnlyQueueAttrs[n] {
			return errInvalidAttributeName("Unknown Attribute %s.", n)
		}
		switch n {
		case "VisibilityTimeout":
			x, e := intAttr(n, v, 0, 43200)
			if e != nil {
				return e
			}
			cfg.visibility = time.Duration(x) * time.Second
		case "DelaySeconds":
			x, e := intAttr(n, v, 0, 900)
			if e != nil {
				return e
			}
			cfg.delay = time.Duration(x) * time.Second
		case "MessageRetentionPeriod":
			x, e := intAttr(n, v, 60, 1209600)
			if e != nil {
				return e
			}
			cfg.retention = time.Duration(x) * time.Second
		case "MaximumMessageSize":
			x, e := intAttr(n, v, 1024, 1<<20)
			if e != nil {
				return e
			}
			cfg.maxSize = int(x)
		case "ReceiveMessageWaitTimeSeconds":
			x, e := intAttr(n, v, 0, 20)
			if e != nil {
				return e
			}
			cfg.wait = time.Duration(x) * time.Second
		case "KmsDataKeyReusePeriodSeconds":
			if _, e := intAttr(n, v, 60, 86400); e != nil {
				return e
			}
		case "FifoQueue":
			b, e := boolAttr(n, v)
			if e != nil {
				return e
			}
			if b != fifo {
				return errInvalidAttributeValue("Invalid value for the parameter FifoQueue. Reason: a queue's FifoQueue attribute cannot change, and FIFO queue names must end in .fifo.")
			}
		case "ContentBasedDeduplication":
			b, e := boolAttr(n, v)
			if e != nil {
				return e
			}
			if !fifo {
				return errInvalidAttributeName("Unknown Attribute ContentBasedDeduplication.")
			}
			cfg.contentDedup = b
		case "DeduplicationScope", "FifoThroughputLimit":
			if !fifo {
				return errInvalidAttributeName("Unknown Attribute %s.", n)
			}
		case "SqsManagedSseEnabled":
			if _, e := boolAttr(n, v); e != nil {
				return e
			}
		case "Policy", "RedriveAllowPolicy":
			if v != "" && !json.Valid([]byte(v)) {
				return errInvalidAttributeValue("Invalid value for the parameter %s. Reason: the value is not valid JSON.", n)
			}
		case "RedrivePolicy":
			if v == "" {
				cfg.redrive = nil
				break
			}
			var raw struct {
				DeadLetterTargetArn string  `json:"deadLetterTargetArn"`
				MaxReceiveCount     flexInt `json:"maxReceiveCount"`
			}
			if err := json.Unmarshal([]byte(v), &raw); err != nil || raw.DeadLetterTargetArn == "" || !raw.MaxReceiveCount.Set {
				return errInvalidAttributeValue("Value %s for parameter RedrivePolicy is invalid. Reason: Redrive policy is not a valid JSON map with deadLetterTargetArn and maxReceiveCount.", v)
			}
			if raw.MaxReceiveCount.Value < 1 || raw.MaxReceiveCount.Value > 1000 {
				return errInvalidAttributeValue("Value %s for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: %d, valid values are from 1 to 1000 both inclusive.", v, raw.MaxReceiveCount.Value)
			}
			if raw.DeadLetterTargetArn != self {
				dlq := s.queueByARN(raw.DeadLetterTargetArn)
				if dlq == nil {
					return errInvalidAttributeValue("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter target does not exist.", v)
				}
				if dlq.fifo != fifo {
					return errInvalidAttributeValue("Value %s for parameter RedrivePolicy is invalid. Reason: Dead-letter queue must be same type of queue as the source.", v)
				}
			}
			cfg.redrive = &redrivePolicy{DeadLetterTargetArn: raw.DeadLetterTargetArn, MaxReceiveCount: int(raw.MaxReceiveCount.Value)}
			b, _ := json.Marshal(cfg.redrive)
			v = string(b)
		}
		if v == "" {
			delete(cfg.raw, n)
		} else {
			cfg.raw[n] = v
		}
	}
	return nil
}

type createQueueInput struct {
	QueueName  string            `json:"QueueName"`
	Attributes map[string]string `json:"Attributes"`
	Tags       map[string]string `json:"tags"`
}

type queueURLOutput struct {
	QueueURL string `json:"QueueUrl"`
}

func (s *Server) createQueue(r *request) (any, *APIError) {
	var in createQueueInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	out, e := s.CreateQueue(in.QueueName, in.Attributes, in.Tags)
	if e != nil {
		return nil, e
	}
	return queueURLOutput{s.queueURL(r, out)}, nil
}

// CreateQueue creates a queue, or returns the existing one when its attributes
// match, like the CreateQueue action; it returns the queue name.
func (s *Server) CreateQueue(name string, attrs, tags map[string]string) (string, *APIError) {
	if name == "" {
		return "", errMissingParameter("QueueName")
	}
	fifo := strings.HasSuffix(name, ".fifo")
	if !validName(strings.TrimSuffix(name, ".fifo")) || len(name) > 80 {
		return "", errInvalidParameterValue("Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length")
	}
	if v, ok := attrs["FifoQueue"]; ok {
		b, e := boolAttr("FifoQueue", v)
		if e != nil {
			return "", e
		}
		if b != fifo {
			return "", errInvalidParameterValue("The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix and be 1 to 80 in length.")
		}
	} else if fifo {
		return "", errInvalidParameterValue("The name of a FIFO queue must be set with the attribute FifoQueue=true.")
	}
	now := s.now()
	cfg := defaultQueueConfig()
	arn := s.queueARN(name)
	if e := s.applyQueueAttrs(&cfg, attrs, fifo, arn); e != nil {
		return "", e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if q := s.queues[name]; q != nil {
		q.mu.Lock()
		defer q.mu.Unlock()
		for k, v := range cfg.raw {
			if k == "FifoQueue" {
				continue
			}
			if cur, ok := q.cfg.raw[k]; ok && cur != v || !ok && v != defaultAttr(k) {
				return "", sqsErr("QueueNameExists", "QueueAlreadyExists", "A queue already exists with the same name and a different value for attribute %s", k)
			}
		}
		return name, nil
	}
	s.serial++
	q := newQueue(name, arn, fifo, s.serial, now, newSeed())
	q.cfg = cfg
	for k, v := range tags {
		q.tags[k] = v
	}
	s.queues[name] = q
	return name, nil
}

func defaultAttr(k string) string {
	switch k {
	case "VisibilityTimeout":
		return "30"
	case "DelaySeconds", "ReceiveMessageWaitTimeSeconds":
		return "0"
	case "MessageRetentionPeriod":
		return "345600"
	case "MaximumMessageSize":
		return "1048576"
	case "ContentBasedDeduplication":
		return "false"
	}
	return ""
}

type getQueueURLInput struct {
	QueueName              string `json:"QueueName"`
	QueueOwnerAWSAccountID string `json:"QueueOwnerAWSAccountId"`
}

func (s *Server) getQueueURL(r *request) (any, *APIError) {
	var in getQueueURLInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	s.mu.RLock()
	q := s.queues[in.QueueName]
	s.mu.RUnlock()
	if q == nil {
		return nil, errQueueDoesNotExist()
	}
	return queueURLOutput{s.queueURL(r, in.QueueName)}, nil
}

type queueInput struct {
	QueueURL string `json:"QueueUrl"`
}

func (in *queueInput) queueURL() string { return in.QueueURL }

// scanner is an input with a reflection-free decoder for its usual shape
// (see jsonScanner).
type scanner interface{ scan(b []byte) bool }

// decodeQueue decodes the input of a queue operation and finds its queue.
func (s *Server) decodeQueue(r *request, in interface{ queueURL() string }) (*queue, *APIError) {
	if sc, ok := in.(scanner); !ok || len(r.body) == 0 || !sc.scan(r.body) {
		if e := r.decode(in); e != nil {
			return nil, e
		}
	}
	return s.queueByURL(in.queueURL())
}

type getQueueAttributesInput struct {
	queueInput
	AttributeNames []string `json:"AttributeNames"`
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty" q:"Attribute,Name,Value"`
}

func (s *Server) getQueueAttributes(r *request) (any, *APIError) {
	var in getQueueAttributesInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	for _, n := range in.AttributeNames {
		if !queueAttrNames[n] {
			return nil, errInvalidAttributeName("Unknown Attribute %s.", n)
		}
	}
	return attributesOutput{s.queueAttributes(q, in.AttributeNames, r.now)}, nil
}

// queueAttributes returns the named attributes of q ("All" for all).
func (s *Server) queueAttributes(q *queue, names []string, now time.Time) map[string]string {
	q.mu.Lock()
	q.advance(now)
	all := map[string]string{
		"QueueArn":                              q.arn,
		"ApproximateNumberOfMessages":           strconv.Itoa(q.nVisible),
		"ApproximateNumberOfMessagesNotVisible": strconv.Itoa(len(q.inflight)),
		"ApproximateNumberOfMessagesDelayed":    strconv.Itoa(q.nDelayed),
		"CreatedTimestamp":                      strconv.FormatInt(q.created.Unix(), 10),
		"LastModifiedTimestamp":                 strconv.FormatInt(q.modified.Unix(), 10),
		"VisibilityTimeout":                     strconv.Itoa(int(q.cfg.visibility / time.Second)),
		"DelaySeconds":                          strconv.Itoa(int(q.cfg.delay / time.Second)),
		"MessageRetentionPeriod":                strconv.Itoa(int(q.cfg.retention / time.Second)),
		"MaximumMessageSize":                    strconv.Itoa(q.cfg.maxSize),
		"ReceiveMessageWaitTimeSeconds":         strconv.Itoa(int(q.cfg.wait / time.Second)),
	}
	for k, v := range q.cfg.raw {
		if _, ok := all[k]; !ok {
			all[k] = v
		}
	}
	if _, ok := all["SqsManagedSseEnabled"]; !ok && all["KmsMasterKeyId"] == "" {
		all["SqsManagedSseEnabled"] = "true"
	}
	if q.fifo {
		all["FifoQueue"] = "true"
		all["ContentBasedDeduplication"] = strconv.FormatBool(q.cfg.contentDedup)
		if _, ok := all["DeduplicationScope"]; !ok {
			all["DeduplicationScope"] = "queue"
		}
		if _, ok := all["FifoThroughputLimit"]; !ok {
			all["FifoThroughputLimit"] = "perQueue"
		}
	}
	q.mu.Unlock()
	out := map[string]string{}
	for _, n := range names {
		if n == "All" {
			return all
		}
		if v, ok := all[n]; ok {
			out[n] = v
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

type setQueueAttributesInput struct {
	queueInput
	Attributes map[string]string `json:"Attributes"`
}

func (s *Server) setQueueAttributes(r *request) (any, *APIError) {
	var in setQueueAttributesInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if len(in.Attributes) == 0 {
		return nil, errMissingParameter("Attributes")
	}
	q.mu.Lock()
	cfg := q.cfg
	cfg.raw = make(map[string]string, len(q.cfg.raw))
	for k, v := range q.cfg.raw {
		cfg.raw[k] = v
	}
	q.mu.Unlock()
	if e := s.applyQueueAttrs(&cfg, in.Attributes, q.fifo, q.arn); e != nil {
		return nil, e
	}
	q.mu.Lock()
	q.cfg = cfg
	q.modified = r.now
	q.mu.Unlock()
	return nil, nil
}

type listQueuesInput struct {
	QueueNamePrefix string  `json:"QueueNamePrefix"`
	MaxResults      flexInt `json:"MaxResults"`
	NextToken       string  `json:"NextToken"`
}

type listQueuesOutput struct {
	QueueUrls []string `json:"QueueUrls,omitempty" q:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (s *Server) listQueues(r *request) (any, *APIError) {
	var in listQueuesInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	limit := 1000
	if in.MaxResults.Set {
		if in.MaxResults.Value < 1 || in.MaxResults.Value > 1000 {
			return nil, errInvalidParameterValue("Value for parameter MaxResults is invalid. Reason: MaxResults must be an integer between 1 and 1000.")
		}
		limit = int(in.MaxResults.Value)
	}
	after := ""
	if in.NextToken != "" {
		b, err := base64.RawURLEncoding.DecodeString(in.NextToken)
		if err != nil {
			return nil, errInvalidParameterValue("Invalid NextToken value.")
		}
		after = string(b)
	}
	s.mu.RLock()
	names := make([]string, 0, len(s.queues))
	for n := range s.queues {
		if strings.HasPrefix(n, in.QueueNamePrefix) && n > after {
			names = append(names, n)
		}
	}
	s.mu.RUnlock()
	sort.Strings(names)
	var out listQueuesOutput
	for i, n := range names {
		if i == limit {
			if in.MaxResults.Set {
				out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(names[i-1]))
			}
			break
		}
		out.QueueUrls = append(out.QueueUrls, s.queueURL(r, n))
	}
	return out, nil
}

func (s *Server) deleteQueue(r *request) (any, *APIError) {
	var in queueInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	if s.queues[q.name] == q {
		delete(s.queues, q.name)
	}
	s.mu.Unlock()
	q.mu.Lock()
	q.deleted = true
	q.purge()
	q.waiters++ // force a wake-up of every long poll
	q.wake()
	q.waiters--
	q.mu.Unlock()
	return nil, nil
}

func (s *Server) purgeQueue(r *request) (any, *APIError) {
	var in queueInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	q.mu.Lock()
	q.purge()
	q.mu.Unlock()
	return nil, nil
}

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

// prepare validates a message to send and builds it (without queue state).
func (q *queue) prepare(in *sendInput, now time.Time) (*message, time.Duration, *APIError) {
	if in.MessageBody == nil || *in.MessageBody == "" {
		return nil, 0, errMissingParameter("MessageBody")
	}
	body := *in.MessageBody
	if !validBody(body) {
		return nil, 0, &APIError{Type: "InvalidMessageContents", Code: "InvalidMessageContents", Message: "Invalid characters found. Valid values: #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF"}
	}
	asize, e := checkAttributes(in.MessageAttributes)
	if e != nil {
		return nil, 0, e
	}
	q.mu.Lock()
	cfg := q.cfg
	q.mu.Unlock()
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
		if q.fifo {
			return nil, 0, errInvalidParameterValue("Value %d for parameter DelaySeconds is invalid. Reason: The request include parameter that is not valid for this queue type.", in.DelaySeconds.Value)
		}
		delay = time.Duration(in.DelaySeconds.Value) * time.Second
	}
	if q.fifo {
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

// store puts a prepared message into the queue, applying FIFO deduplication.
func (q *queue) store(m *message, delay time.Duration, now time.Time) (sendOutput, *APIError) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.deleted {
		return sendOutput{}, errQueueDoesNotExist()
	}
	if q.fifo {
		if d, ok := q.dedup.lookup(m.dedupID, now); ok {
			return sendOutput{MessageID: d.msgID, MD5OfMessageBody: m.md5Body, MD5OfMessageAttributes: md5OfAttributes(m.attrs), SequenceNumber: d.seq}, nil
		}
		m.seq = q.nextSeq()
	}
	m.id = q.newID()
	if q.fifo {
		q.dedup.add(m.dedupID, dedupEntry{msgID: m.id, seq: m.seq, at: now})
	}
	q.enqueue(m, delay, now)
	out := sendOutput{MessageID: m.id, MD5OfMessageBody: m.md5Body, MD5OfMessageAttributes: md5OfAttributes(m.attrs), SequenceNumber: m.seq}
	if m.traceHeader != "" {
		v := m.traceHeader
		out.MD5OfMessageSystemAttributes = md5OfAttributes(map[string]attrValue{"AWSTraceHeader": {DataType: "String", StringValue: &v}})
	}
	return out, nil
}

func (s *Server) sendMessage(r *request) (any, *APIError) {
	var in sendMessageInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	m, delay, e := q.prepare(&in.sendInput, r.now)
	if e != nil {
		return nil, e
	}
	out, e := q.store(m, delay, r.now)
	if e != nil {
		return nil, e
	}
	return out, nil
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

func (s *Server) sendMessageBatch(r *request) (any, *APIError) {
	var in sendMessageBatchInput
	q, e := s.decodeQueue(r, &in)
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
	q.mu.Lock()
	max := q.cfg.maxSize
	q.mu.Unlock()
	if total > max {
		return nil, sqsErr("BatchRequestTooLong", "AWS.SimpleQueueService.BatchRequestTooLong", "Batch requests cannot be longer than %d bytes. You have sent %d bytes.", max, total)
	}
	out := sendMessageBatchOutput{Successful: []sendOutput{}, Failed: []batchError{}}
	for i := range in.Entries {
		en := &in.Entries[i]
		m, delay, e := q.prepare(en, r.now)
		if e == nil {
			var o sendOutput
			o, e = q.store(m, delay, r.now)
			if e == nil {
				o.ID = en.ID
				out.Successful = append(out.Successful, o)
				continue
			}
		}
		out.Failed = append(out.Failed, entryError(en.ID, e))
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

func (s *Server) receiveMessage(r *request) (any, *APIError) {
	var in receiveMessageInput
	q, e := s.decodeQueue(r, &in)
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
	q.mu.Lock()
	vis, wait := q.cfg.visibility, q.cfg.wait
	q.mu.Unlock()
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
	msgs := s.receiveWait(r, q, max, vis, wait)
	out := receiveMessageOutput{}
	for _, m := range msgs {
		out.Messages = append(out.Messages, s.render(m, sysNames, in.MessageAttributeNames))
	}
	return out, nil
}

// rendered is what a receiver sees of a message, captured under the lock.
type rendered struct {
	m        *message
	receipt  string
	receives int
	first    time.Time
	seq      string
	source   string
}

func (s *Server) render(x rendered, sysNames, attrNames []string) outMessage {
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
		add("SenderId", s.account)
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
// at least one message is there.
func (s *Server) receiveWait(r *request, q *queue, max int, vis, wait time.Duration) []rendered {
	deadline := r.now.Add(wait)
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		now := s.now()
		q.mu.Lock()
		got, moved := q.receive(max, vis, now)
		out := make([]rendered, len(got))
		for i, m := range got {
			out[i] = rendered{m: m, receipt: m.receipt, receives: m.receives, first: m.firstReceive, seq: m.seq, source: m.dlqSource}
		}
		if len(got) > 0 || len(moved) > 0 || !now.Before(deadline) || q.deleted {
			var dlq string
			if q.cfg.redrive != nil {
				dlq = q.cfg.redrive.DeadLetterTargetArn
			}
			q.mu.Unlock()
			s.moveToDLQ(q.arn, dlq, moved, now)
			if len(got) > 0 || !now.Before(deadline) || q.deleted {
				return out
			}
			continue
		}
		sleep := deadline.Sub(now)
		if len(q.timers) > 0 {
			if d := q.timers[0].deadline.Sub(now); d < sleep {
				sleep = d
			}
		}
		ch := q.notify
		q.waiters++
		q.mu.Unlock()
		if timer == nil {
			s.log.Debug("long poll waiting", "queue", q.name, "wait", deadline.Sub(now))
			timer = time.NewTimer(sleep)
		} else {
			timer.Reset(sleep)
		}
		select {
		case <-ch:
		case <-timer.C:
		case <-r.ctx.Done():
		case <-s.closed:
		}
		q.mu.Lock()
		q.waiters--
		q.mu.Unlock()
		if r.ctx.Err() != nil {
			return nil
		}
		select {
		case <-s.closed:
			return nil
		default:
		}
	}
}

// moveToDLQ stores messages that reached maxReceiveCount in the dead-letter
// queue. Messages whose dead-letter queue is gone are dropped, as on AWS.
func (s *Server) moveToDLQ(sourceARN, dlqARN string, moved []*message, now time.Time) {
	if len(moved) == 0 {
		return
	}
	dlq := s.queueByARN(dlqARN)
	if dlq == nil {
		s.log.Warn("dead-letter queue missing; messages dropped", "queue", sourceARN, "dead_letter_queue", dlqARN, "messages", len(moved))
		return
	}
	dlq.mu.Lock()
	defer dlq.mu.Unlock()
	for _, m := range moved {
		m.dlqSource = sourceARN
		m.receipt = ""
		if dlq.fifo {
			m.seq = dlq.nextSeq()
		}
		dlq.enqueue(m, 0, now)
	}
}

type deleteMessageInput struct {
	queueInput
	ReceiptHandle string `json:"ReceiptHandle"`
}

func (s *Server) deleteMessage(r *request) (any, *APIError) {
	var in deleteMessageInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if in.ReceiptHandle == "" {
		return nil, errMissingParameter("ReceiptHandle")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.deleteMessage(in.ReceiptHandle, r.now); e != nil {
		return nil, e
	}
	return nil, nil
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

// batch runs fn for every entry of a batch request under the queue's lock.
func (s *Server) batch(r *request, fn func(q *queue, en *batchEntry) *APIError) ([]idEntry, []batchError, *APIError) {
	var in batchInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, nil, e
	}
	ids := make([]string, len(in.Entries))
	for i, en := range in.Entries {
		ids[i] = en.ID
	}
	if e := checkBatch(ids); e != nil {
		return nil, nil, e
	}
	ok, failed := []idEntry{}, []batchError{}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i := range in.Entries {
		en := &in.Entries[i]
		var e *APIError
		if en.ReceiptHandle == "" {
			e = errMissingParameter("ReceiptHandle")
		} else {
			e = fn(q, en)
		}
		if e != nil {
			failed = append(failed, entryError(en.ID, e))
			continue
		}
		ok = append(ok, idEntry{en.ID})
	}
	return ok, failed, nil
}

func (s *Server) deleteMessageBatch(r *request) (any, *APIError) {
	ok, failed, e := s.batch(r, func(q *queue, en *batchEntry) *APIError {
		return q.deleteMessage(en.ReceiptHandle, r.now)
	})
	if e != nil {
		return nil, e
	}
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

func (s *Server) changeMessageVisibilityBatch(r *request) (any, *APIError) {
	ok, failed, e := s.batch(r, func(q *queue, en *batchEntry) *APIError {
		vis, e := visibilityArg(en.VisibilityTimeout)
		if e != nil {
			return e
		}
		return q.changeVisibility(en.ReceiptHandle, vis, r.now)
	})
	if e != nil {
		return nil, e
	}
	return changeVisibilityBatchOutput{ok, failed}, nil
}

type changeVisibilityInput struct {
	queueInput
	ReceiptHandle     string  `json:"ReceiptHandle"`
	VisibilityTimeout flexInt `json:"VisibilityTimeout"`
}

func (s *Server) changeMessageVisibility(r *request) (any, *APIError) {
	var in changeVisibilityInput
	q, e := s.decodeQueue(r, &in)
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
	q.mu.Lock()
	defer q.mu.Unlock()
	if e := q.changeVisibility(in.ReceiptHandle, vis, r.now); e != nil {
		return nil, e
	}
	return nil, nil
}

type tagQueueInput struct {
	queueInput
	Tags    map[string]string `json:"Tags"`
	TagKeys []string          `json:"TagKeys"`
}

type tagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty" q:"Tag,Key,Value"`
}

func (s *Server) tagQueue(r *request) (any, *APIError) {
	var in tagQueueInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if len(in.Tags) == 0 {
		return nil, errMissingParameter("Tags")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for k, v := range in.Tags {
		q.tags[k] = v
	}
	if len(q.tags) > 50 {
		return nil, errInvalidParameterValue("Too many tags added for queue %s.", q.name)
	}
	return nil, nil
}

func (s *Server) untagQueue(r *request) (any, *APIError) {
	var in tagQueueInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if len(in.TagKeys) == 0 {
		return nil, errMissingParameter("TagKeys")
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, k := range in.TagKeys {
		delete(q.tags, k)
	}
	return nil, nil
}

func (s *Server) listQueueTags(r *request) (any, *APIError) {
	var in queueInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	out := tagsOutput{Tags: map[string]string{}}
	for k, v := range q.tags {
		out.Tags[k] = v
	}
	return out, nil
}

type listDLSourcesOutput struct {
	QueueURLs []string `json:"queueUrls" q:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (s *Server) listDeadLetterSourceQueues(r *request) (any, *APIError) {
	var in queueInput
	q, e := s.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	s.mu.RLock()
	all := make([]*queue, 0, len(s.queues))
	for _, o := range s.queues {
		all = append(all, o)
	}
	s.mu.RUnlock()
	out := listDLSourcesOutput{QueueURLs: []string{}}
	for _, o := range all {
		o.mu.Lock()
		if o.cfg.redrive != nil && o.cfg.redrive.DeadLetterTargetArn == q.arn {
			out.QueueURLs = append(out.QueueURLs, s.queueURL(r, o.name))
		}
		o.mu.Unlock()
	}
	sort.Strings(out.QueueURLs)
	return out, nil
}

func (s *Server) permissionNoop(r *request) (any, *APIError) {
	var in queueInput
	_, e := s.decodeQueue(r, &in)
	return nil, e
}
