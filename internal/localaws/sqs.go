package localaws

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// sqsService holds the queues and message move tasks of a Server and serves
// the SQS actions. Its mu guards the queue map, the queue serial numbers and
// the task list, never a queue's contents: each queue guards its own, so that
// traffic on one queue does not wait for another. Lookups take mu for
// reading; only creating and deleting queues and starting tasks write.
type sqsService struct {
	region  string
	account string
	now     func() time.Time
	log     *slog.Logger
	life    *lifecycle

	mu     sync.RWMutex
	queues map[string]*queue
	serial uint32
	tasks  []*moveTask
}

var sqsOps = map[string]opFunc{
	"CreateQueue":                  sqsOp((*sqsService).createQueue),
	"GetQueueUrl":                  sqsOp((*sqsService).getQueueURL),
	"GetQueueAttributes":           sqsOp((*sqsService).getQueueAttributes),
	"SetQueueAttributes":           sqsOp((*sqsService).setQueueAttributes),
	"ListQueues":                   sqsOp((*sqsService).listQueues),
	"DeleteQueue":                  sqsOp((*sqsService).deleteQueue),
	"PurgeQueue":                   sqsOp((*sqsService).purgeQueue),
	"SendMessage":                  sqsOp((*sqsService).sendMessage),
	"SendMessageBatch":             sqsOp((*sqsService).sendMessageBatch),
	"ReceiveMessage":               sqsOp((*sqsService).receiveMessage),
	"DeleteMessage":                sqsOp((*sqsService).deleteMessage),
	"DeleteMessageBatch":           sqsOp((*sqsService).deleteMessageBatch),
	"ChangeMessageVisibility":      sqsOp((*sqsService).changeMessageVisibility),
	"ChangeMessageVisibilityBatch": sqsOp((*sqsService).changeMessageVisibilityBatch),
	"TagQueue":                     sqsOp((*sqsService).tagQueue),
	"UntagQueue":                   sqsOp((*sqsService).untagQueue),
	"ListQueueTags":                sqsOp((*sqsService).listQueueTags),
	"ListDeadLetterSourceQueues":   sqsOp((*sqsService).listDeadLetterSourceQueues),
	"StartMessageMoveTask":         sqsOp((*sqsService).startMessageMoveTask),
	"ListMessageMoveTasks":         sqsOp((*sqsService).listMessageMoveTasks),
	"CancelMessageMoveTask":        sqsOp((*sqsService).cancelMessageMoveTask),
	"AddPermission":                sqsOp((*sqsService).permissionNoop),
	"RemovePermission":             sqsOp((*sqsService).permissionNoop),
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

func (sq *sqsService) queueARN(name string) string {
	return fmt.Sprintf("arn:aws:sqs:%s:%s:%s", sq.region, sq.account, name)
}

// queueURL is a queue's URL as the client reached the server: the host comes
// from the request, so URLs work through any address or port mapping.
func (sq *sqsService) queueURL(r *request, name string) string {
	host := r.host
	if host == "" {
		host = "localhost"
	}
	return "http://" + host + "/" + sq.account + "/" + name
}

// lookup returns the queue with the given name, or nil.
func (sq *sqsService) lookup(name string) *queue {
	sq.mu.RLock()
	defer sq.mu.RUnlock()
	return sq.queues[name]
}

// all returns every queue.
func (sq *sqsService) all() []*queue {
	sq.mu.RLock()
	defer sq.mu.RUnlock()
	out := make([]*queue, 0, len(sq.queues))
	for _, q := range sq.queues {
		out = append(out, q)
	}
	return out
}

// queueByURL finds a queue by its URL (any host) or, leniently, its name.
func (sq *sqsService) queueByURL(u string) (*queue, *APIError) {
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
	q := sq.lookup(name)
	if q == nil {
		return nil, errQueueDoesNotExist()
	}
	return q, nil
}

// queueByARN finds a queue by its ARN, or returns nil.
func (sq *sqsService) queueByARN(arn string) *queue {
	i := strings.LastIndex(arn, ":")
	if i < 0 || !strings.HasPrefix(arn, "arn:") {
		return nil
	}
	q := sq.lookup(arn[i+1:])
	if q == nil || q.arn != arn {
		return nil
	}
	return q
}

type queueInput struct {
	QueueURL string `json:"QueueUrl"`
}

func (in *queueInput) queueURL() string { return in.QueueURL }

// scanner is an input with a reflection-free decoder for its usual shape
// (see jsonScanner).
type scanner interface{ scan(b []byte) bool }

// decodeQueue decodes the input of a queue operation and finds its queue.
func (sq *sqsService) decodeQueue(r *request, in interface{ queueURL() string }) (*queue, *APIError) {
	if sc, ok := in.(scanner); !ok || len(r.body) == 0 || !sc.scan(r.body) {
		if e := r.decode(in); e != nil {
			return nil, e
		}
	}
	return sq.queueByURL(in.queueURL())
}

// inbound is a message SNS hands to a queue. groupID and dedupID are used
// only when the queue is FIFO.
type inbound struct {
	body             string
	attrs            map[string]attrValue
	groupID, dedupID string
	sent             time.Time
}

// deliver stores a message that SNS delivers to the queue with the given ARN,
// validated like a SendMessage. It is the only way SNS reaches SQS state
// (snsService sees the sqsService only as a queueSink), and SNS calls it with
// none of its own locks held.
func (sq *sqsService) deliver(queueARN string, in inbound) error {
	q := sq.queueByARN(queueARN)
	if q == nil {
		return fmt.Errorf("queue %s does not exist", queueARN)
	}
	si := sendInput{MessageBody: &in.body, MessageAttributes: in.attrs}
	if q.fifo {
		si.MessageGroupID, si.MessageDeduplicationID = in.groupID, in.dedupID
	}
	m, delay, e := prepare(q.config(), q.fifo, &si, in.sent)
	if e != nil {
		return e
	}
	if _, e := q.store([]pending{{m, delay}}, sq.now()); e != nil {
		return e
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

func (sq *sqsService) createQueue(r *request) (any, *APIError) {
	var in createQueueInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	name, e := sq.create(in.QueueName, in.Attributes, in.Tags)
	if e != nil {
		return nil, e
	}
	return queueURLOutput{sq.queueURL(r, name)}, nil
}

// create creates a queue, or returns the existing one when its attributes
// match; it returns the queue name.
func (sq *sqsService) create(name string, attrs, tags map[string]string) (string, *APIError) {
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
	arn := sq.queueARN(name)
	settings, e := sq.parseSettings(attrs, fifo, arn)
	if e != nil {
		return "", e
	}
	cfg := defaultQueueConfig()
	settings.applyTo(&cfg)
	if e := sq.add(newQueue(name, arn, fifo, 0, sq.now(), cfg, tags)); e != nil {
		return "", e
	}
	return name, nil
}

// add stores a new queue, or, when one of that name exists, checks that the
// new one's attributes match it (taking the existing queue's lock under the
// service's: lock order rule 1).
func (sq *sqsService) add(q *queue) *APIError {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	if old := sq.queues[q.name]; old != nil {
		return old.sameAttributes(q.st.cfg.raw)
	}
	sq.serial++
	q.st.serial = sq.serial // q is not shared yet
	sq.queues[q.name] = q
	return nil
}

// remove forgets q, unless the name is taken by another queue by now.
func (sq *sqsService) remove(q *queue) {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	if sq.queues[q.name] == q {
		delete(sq.queues, q.name)
	}
}

type getQueueURLInput struct {
	QueueName              string `json:"QueueName"`
	QueueOwnerAWSAccountID string `json:"QueueOwnerAWSAccountId"`
}

func (sq *sqsService) getQueueURL(r *request) (any, *APIError) {
	var in getQueueURLInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.QueueName == "" {
		return nil, errMissingParameter("QueueName")
	}
	if sq.lookup(in.QueueName) == nil {
		return nil, errQueueDoesNotExist()
	}
	return queueURLOutput{sq.queueURL(r, in.QueueName)}, nil
}

type getQueueAttributesInput struct {
	queueInput
	AttributeNames []string `json:"AttributeNames"`
}

type attributesOutput struct {
	Attributes map[string]string `json:"Attributes,omitempty" q:"Attribute,Name,Value"`
}

func (sq *sqsService) getQueueAttributes(r *request) (any, *APIError) {
	var in getQueueAttributesInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	for _, n := range in.AttributeNames {
		if !queueAttrNames[n] {
			return nil, errInvalidAttributeName("Unknown Attribute %s.", n)
		}
	}
	return attributesOutput{selectAttrs(q.attributes(r.now), in.AttributeNames)}, nil
}

type setQueueAttributesInput struct {
	queueInput
	Attributes map[string]string `json:"Attributes"`
}

func (sq *sqsService) setQueueAttributes(r *request) (any, *APIError) {
	var in setQueueAttributesInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if len(in.Attributes) == 0 {
		return nil, errMissingParameter("Attributes")
	}
	settings, e := sq.parseSettings(in.Attributes, q.fifo, q.arn)
	if e != nil {
		return nil, e
	}
	q.configure(settings, r.now)
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

func (sq *sqsService) listQueues(r *request) (any, *APIError) {
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
	var names []string
	for _, q := range sq.all() {
		if strings.HasPrefix(q.name, in.QueueNamePrefix) && q.name > after {
			names = append(names, q.name)
		}
	}
	sort.Strings(names)
	var out listQueuesOutput
	for i, n := range names {
		if i == limit {
			if in.MaxResults.Set {
				out.NextToken = base64.RawURLEncoding.EncodeToString([]byte(names[i-1]))
			}
			break
		}
		out.QueueUrls = append(out.QueueUrls, sq.queueURL(r, n))
	}
	return out, nil
}

func (sq *sqsService) deleteQueue(r *request) (any, *APIError) {
	var in queueInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	sq.remove(q)
	q.markDeleted()
	return nil, nil
}

func (sq *sqsService) purgeQueue(r *request) (any, *APIError) {
	var in queueInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	return nil, q.purge(r.now)
}

type tagQueueInput struct {
	queueInput
	Tags    map[string]string `json:"Tags"`
	TagKeys []string          `json:"TagKeys"`
}

type tagsOutput struct {
	Tags map[string]string `json:"Tags,omitempty" q:"Tag,Key,Value"`
}

func (sq *sqsService) tagQueue(r *request) (any, *APIError) {
	var in tagQueueInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if len(in.Tags) == 0 {
		return nil, errMissingParameter("Tags")
	}
	return nil, q.tag(in.Tags)
}

func (sq *sqsService) untagQueue(r *request) (any, *APIError) {
	var in tagQueueInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	if len(in.TagKeys) == 0 {
		return nil, errMissingParameter("TagKeys")
	}
	q.untag(in.TagKeys)
	return nil, nil
}

func (sq *sqsService) listQueueTags(r *request) (any, *APIError) {
	var in queueInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	return tagsOutput{Tags: q.tags()}, nil
}

type listDLSourcesOutput struct {
	QueueURLs []string `json:"queueUrls" q:"QueueUrl"`
	NextToken string   `json:"NextToken,omitempty"`
}

func (sq *sqsService) listDeadLetterSourceQueues(r *request) (any, *APIError) {
	var in queueInput
	q, e := sq.decodeQueue(r, &in)
	if e != nil {
		return nil, e
	}
	out := listDLSourcesOutput{QueueURLs: []string{}}
	for _, o := range sq.all() {
		if o.deadLetterTarget() == q.arn {
			out.QueueURLs = append(out.QueueURLs, sq.queueURL(r, o.name))
		}
	}
	sort.Strings(out.QueueURLs)
	return out, nil
}

// permissionNoop answers AddPermission and RemovePermission: queue policies
// are not enforced (ADR 0001), so only the queue must exist.
func (sq *sqsService) permissionNoop(r *request) (any, *APIError) {
	var in queueInput
	_, e := sq.decodeQueue(r, &in)
	return nil, e
}
