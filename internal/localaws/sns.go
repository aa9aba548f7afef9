package localaws

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// snsService holds the topics and subscriptions of a Server and serves the
// SNS actions. Its mu guards both maps and every field of the topics and
// subscriptions in them. One lock for all of SNS is enough: SNS state is
// small, and the costly parts of a Publish (filtering, rendering, delivering)
// run after the lock is released, on copies of the subscriptions.
type snsService struct {
	region  string
	account string
	now     func() time.Time
	log     *slog.Logger
	client  *http.Client
	life    *lifecycle
	// queues is SQS as SNS sees it: one method, called with no SNS lock held.
	queues queueSink

	mu     sync.RWMutex
	topics map[string]*topic
	subs   map[string]*subscription
}

// queueSink is what SNS needs of SQS: storing a message in a queue named by
// its ARN. Keeping it to one method keeps SNS from reaching into queues.
type queueSink interface {
	deliver(queueARN string, m inbound) error
}

var snsOps = map[string]opFunc{
	"CreateTopic":               snsOp((*snsService).createTopic),
	"ListTopics":                snsOp((*snsService).listTopics),
	"GetTopicAttributes":        snsOp((*snsService).getTopicAttributes),
	"SetTopicAttributes":        snsOp((*snsService).setTopicAttributes),
	"DeleteTopic":               snsOp((*snsService).deleteTopic),
	"Subscribe":                 snsOp((*snsService).subscribeAction),
	"ConfirmSubscription":       snsOp((*snsService).confirmSubscription),
	"Unsubscribe":               snsOp((*snsService).unsubscribe),
	"ListSubscriptions":         snsOp((*snsService).listSubscriptions),
	"ListSubscriptionsByTopic":  snsOp((*snsService).listSubscriptionsByTopic),
	"GetSubscriptionAttributes": snsOp((*snsService).getSubscriptionAttributes),
	"SetSubscriptionAttributes": snsOp((*snsService).setSubscriptionAttributes),
	"Publish":                   snsOp((*snsService).publish),
	"PublishBatch":              snsOp((*snsService).publishBatch),
	"TagResource":               snsOp((*snsService).tagResource),
	"UntagResource":             snsOp((*snsService).untagResource),
	"ListTagsForResource":       snsOp((*snsService).listTagsForResource),
}

var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// topic is an SNS topic; guarded by snsService.mu.
type topic struct {
	name  string
	arn   string
	fifo  bool
	attrs map[string]string
	tags  map[string]string
	subs  []*subscription
	dedup dedupWindow
	seq   uint64
	ids   idSource
}

func (sn *snsService) topicARN(name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", sn.region, sn.account, name)
}

// checkTopicARN rejects a topic ARN that is not one, before anything is
// looked up. AWS answers InvalidParameter, not NotFound, to a TopicArn that
// is not an ARN ("Invalid parameter: TopicArn Reason: An ARN must have at
// least 6 elements, not 1") or names a topic of another region
// (https://docs.aws.amazon.com/sns/latest/api/API_Publish.html lists
// InvalidParameter, "a request parameter does not comply with the associated
// constraints"; the answers themselves are quoted in
// aws-samples/amazon-rekognition-video-analyzer#41 and boto/boto3#1084). A
// well-formed ARN of no topic is NotFound.
func (sn *snsService) checkTopicARN(param, arn string) *APIError {
	if arn == "" {
		return errSNSInvalidParameter("%s", param)
	}
	parts := strings.Split(arn, ":")
	switch {
	case len(parts) < 6:
		return errSNSInvalidParameter("%s Reason: An ARN must have at least 6 elements, not %d", param, len(parts))
	case parts[0] != "arn":
		return errSNSInvalidParameter("%s Reason: An ARN must begin with arn:, not %s", param, arn)
	case parts[2] != "sns" || len(parts) > 6 || !topicNameRE.MatchString(strings.TrimSuffix(parts[5], ".fifo")):
		return errSNSInvalidParameter("%s Reason: %s is not the ARN of an SNS topic", param, arn)
	case parts[3] != sn.region:
		return errSNSInvalidParameter("%s Reason: the topic is in region %s, not %s", param, parts[3], sn.region)
	}
	return nil
}

type createTopicInput struct {
	Name       string            `json:"Name"`
	Attributes map[string]string `json:"Attributes"`
	Tags       []tag             `json:"Tags"`
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type topicARNOutput struct {
	TopicArn string `json:"TopicArn"`
}

var topicAttrNames = map[string]bool{
	"DeliveryPolicy": true, "DisplayName": true, "FifoTopic": true, "Policy": true, "SignatureVersion": true,
	"TracingConfig": true, "KmsMasterKeyId": true, "ContentBasedDeduplication": true, "ArchivePolicy": true,
	"FifoThroughputScope": true, "DataProtectionPolicy": true,
}

func (sn *snsService) createTopic(r *request) (any, *APIError) {
	var in createTopicInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[t.Key] = t.Value
	}
	arn, e := sn.create(in.Name, in.Attributes, tags)
	if e != nil {
		return nil, e
	}
	return topicARNOutput{arn}, nil
}

// create creates a topic, or returns the existing one when the attributes
// given match it; it returns the topic ARN.
func (sn *snsService) create(name string, attrs, tags map[string]string) (string, *APIError) {
	fifo := strings.HasSuffix(name, ".fifo")
	if !topicNameRE.MatchString(strings.TrimSuffix(name, ".fifo")) {
		return "", errSNSInvalidParameter("Topic Name")
	}
	if v, ok := attrs["FifoTopic"]; ok && strings.EqualFold(v, "true") != fifo {
		return "", errSNSInvalidParameter("Fifo Topic names must end with .fifo and Non-fifo topic names must not end with .fifo")
	}
	if fifo && !strings.EqualFold(attrs["FifoTopic"], "true") {
		return "", errSNSInvalidParameter("Fifo Topic names must end with .fifo and Non-fifo topic names must not end with .fifo")
	}
	for k := range attrs {
		if !topicAttrNames[k] {
			return "", errSNSInvalidParameter("Attributes Reason: Unknown attribute %s", k)
		}
	}
	if _, ok := attrs["ContentBasedDeduplication"]; ok && !fifo {
		return "", errSNSInvalidParameter("Attributes Reason: ContentBasedDeduplication can only be set for FIFO topics")
	}
	now := sn.now()
	t := &topic{name: name, arn: sn.topicARN(name), fifo: fifo, attrs: map[string]string{}, tags: map[string]string{},
		ids: newIDSource(), seq: uint64(now.UnixNano()) % 1e18 * 10}
	for k, v := range attrs {
		t.attrs[k] = v
	}
	for k, v := range tags {
		t.tags[k] = v
	}
	return t.arn, sn.add(t)
}

// add stores a new topic, or checks the attributes of an existing one.
func (sn *snsService) add(t *topic) *APIError {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	if old := sn.topics[t.arn]; old != nil {
		for k, v := range t.attrs {
			if old.attrs[k] != v {
				return errSNSInvalidParameter("Attributes Reason: Topic already exists with different attributes")
			}
		}
		return nil
	}
	sn.topics[t.arn] = t
	return nil
}

// topicByARN, subscriptionByARN and resourceByARN find what an input names;
// called with snsService.mu held.
func (sn *snsService) topicByARN(arn string) (*topic, *APIError) {
	t := sn.topics[arn]
	if t == nil {
		return nil, errSNSNotFound("Topic does not exist")
	}
	return t, nil
}

func (sn *snsService) subscriptionByARN(arn string) (*subscription, *APIError) {
	sub := sn.subs[arn]
	if sub == nil {
		return nil, errSNSNotFound("Subscription does not exist")
	}
	return sub, nil
}

func (sn *snsService) resourceByARN(arn string) (*topic, *APIError) {
	t := sn.topics[arn]
	if t == nil {
		return nil, snsErr("ResourceNotFound", 404, "Resource does not exist")
	}
	return t, nil
}

// topicInput, subscriptionInput and resourceInput are embedded by the inputs
// of operations on a topic, a subscription or a taggable resource; onSNS
// checks and finds what they name.
type topicInput struct {
	TopicArn string `json:"TopicArn"`
}

type subscriptionInput struct {
	SubscriptionArn string `json:"SubscriptionArn"`
}

type resourceInput struct {
	ResourceArn string `json:"ResourceArn"`
}

// snsTarget is an input that names one SNS resource by ARN.
type snsTarget interface {
	target() string
	// check validates the ARN before any lookup.
	check(sn *snsService) *APIError
}

func (in *topicInput) target() string        { return in.TopicArn }
func (in *subscriptionInput) target() string { return in.SubscriptionArn }
func (in *resourceInput) target() string     { return in.ResourceArn }

func (in *topicInput) check(sn *snsService) *APIError {
	return sn.checkTopicARN("TopicArn", in.TopicArn)
}
func (in *subscriptionInput) check(*snsService) *APIError { return nil }
func (in *resourceInput) check(*snsService) *APIError     { return nil }

// lockMode says whether an SNS operation changes what it finds.
type lockMode bool

const (
	reading lockMode = false
	writing lockMode = true
)

// onSNS decodes the input of an SNS operation into in and checks the ARN it
// names with no lock held, then, in one critical section (exclusive when
// writing), finds what the ARN names with find and runs fn on it. fn runs
// under the lock, so it must only read or change SNS state and return
// copies.
func onSNS[T any](sn *snsService, r *request, in snsTarget, mode lockMode,
	find func(sn *snsService, arn string) (T, *APIError), fn func(T) (any, *APIError)) (any, *APIError) {
	if e := r.decode(in); e != nil {
		return nil, e
	}
	if e := in.check(sn); e != nil {
		return nil, e
	}
	run := sn.shared
	if mode == writing {
		run = sn.exclusive
	}
	return run(func() (any, *APIError) {
		x, e := find(sn, in.target())
		if e != nil {
			return nil, e
		}
		return fn(x)
	})
}

// shared and exclusive run fn in one critical section.
func (sn *snsService) shared(fn func() (any, *APIError)) (any, *APIError) {
	sn.mu.RLock()
	defer sn.mu.RUnlock()
	return fn()
}

func (sn *snsService) exclusive(fn func() (any, *APIError)) (any, *APIError) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	return fn()
}

// listInput is the input of the paginated list operations.
type listInput struct {
	topicInput
	NextToken string `json:"NextToken"`
}

type topicEntry struct {
	TopicArn string `json:"TopicArn"`
}

type listTopicsOutput struct {
	Topics    []topicEntry `json:"Topics"`
	NextToken string       `json:"NextToken,omitempty"`
}

const snsPage = 100

// page returns the slice of sorted keys after token, and the next token.
func page(keys []string, token string) ([]string, string) {
	sort.Strings(keys)
	start := 0
	if token != "" {
		if b, err := base64.RawURLEncoding.DecodeString(token); err == nil {
			start = sort.SearchStrings(keys, string(b))
			if start < len(keys) && keys[start] == string(b) {
				start++
			}
		}
	}
	keys = keys[start:]
	if len(keys) > snsPage {
		return keys[:snsPage], base64.RawURLEncoding.EncodeToString([]byte(keys[snsPage-1]))
	}
	return keys, ""
}

// topicARNs returns the ARNs of every topic.
func (sn *snsService) topicARNs() []string {
	sn.mu.RLock()
	defer sn.mu.RUnlock()
	keys := make([]string, 0, len(sn.topics))
	for k := range sn.topics {
		keys = append(keys, k)
	}
	return keys
}

func (sn *snsService) listTopics(r *request) (any, *APIError) {
	var in listInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	keys, next := page(sn.topicARNs(), in.NextToken)
	out := listTopicsOutput{Topics: []topicEntry{}, NextToken: next}
	for _, k := range keys {
		out.Topics = append(out.Topics, topicEntry{k})
	}
	return out, nil
}

type snsAttributesOutput struct {
	Attributes map[string]string `json:"Attributes"`
}

func (sn *snsService) getTopicAttributes(r *request) (any, *APIError) {
	var in topicInput
	return onSNS(sn, r, &in, reading, (*snsService).topicByARN, sn.topicAttributes)
}

// topicAttributes answers GetTopicAttributes; called with snsService.mu held.
func (sn *snsService) topicAttributes(t *topic) (any, *APIError) {
	a := map[string]string{
		"TopicArn": t.arn, "Owner": sn.account, "DisplayName": "",
		"SubscriptionsPending": "0", "SubscriptionsConfirmed": "0", "SubscriptionsDeleted": "0",
		"Policy":                  fmt.Sprintf(`{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:Publish","SNS:Subscribe"],"Resource":"%s","Condition":{"StringEquals":{"AWS:SourceOwner":"%s"}}}]}`, t.arn, sn.account),
		"EffectiveDeliveryPolicy": `{"http":{"defaultHealthyRetryPolicy":{"minDelayTarget":20,"maxDelayTarget":20,"numRetries":3,"numMaxDelayRetries":0,"numNoDelayRetries":0,"numMinDelayRetries":0,"backoffFunction":"linear"},"disableSubscriptionOverrides":false,"defaultRequestPolicy":{"headerContentType":"text/plain; charset=UTF-8"}}}`,
	}
	pending, confirmed := 0, 0
	for _, sub := range t.subs {
		if sub.confirmed {
			confirmed++
		} else {
			pending++
		}
	}
	a["SubscriptionsPending"], a["SubscriptionsConfirmed"] = strconv.Itoa(pending), strconv.Itoa(confirmed)
	if t.fifo {
		a["FifoTopic"] = "true"
		a["ContentBasedDeduplication"] = "false"
	}
	for k, v := range t.attrs {
		a[k] = v
	}
	return snsAttributesOutput{a}, nil
}

type attributeInput struct {
	AttributeName  string `json:"AttributeName"`
	AttributeValue string `json:"AttributeValue"`
}

func (sn *snsService) setTopicAttributes(r *request) (any, *APIError) {
	var in struct {
		topicInput
		attributeInput
	}
	return onSNS(sn, r, &in, writing, (*snsService).topicByARN, func(t *topic) (any, *APIError) {
		if !topicAttrNames[in.AttributeName] || in.AttributeName == "FifoTopic" {
			return nil, errSNSInvalidParameter("AttributeName")
		}
		if in.AttributeName == "ContentBasedDeduplication" && !t.fifo {
			return nil, errSNSInvalidParameter("AttributeName: ContentBasedDeduplication can only be set for FIFO topics")
		}
		t.attrs[in.AttributeName] = in.AttributeValue
		return nil, nil
	})
}

func (sn *snsService) deleteTopic(r *request) (any, *APIError) {
	var in topicInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if e := in.check(sn); e != nil {
		return nil, e
	}
	sn.remove(in.TopicArn)
	return nil, nil
}

// remove deletes a topic and its subscriptions; deleting a topic that does
// not exist succeeds, as on AWS.
func (sn *snsService) remove(arn string) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	t := sn.topics[arn]
	if t == nil {
		return
	}
	for _, sub := range t.subs {
		delete(sn.subs, sub.arn)
	}
	delete(sn.topics, arn)
}

type tagResourceInput struct {
	resourceInput
	Tags    []tag    `json:"Tags"`
	TagKeys []string `json:"TagKeys"`
}

type listTagsOutput struct {
	Tags []tag `json:"Tags"`
}

func (sn *snsService) tagResource(r *request) (any, *APIError) {
	var in tagResourceInput
	return onSNS(sn, r, &in, writing, (*snsService).resourceByARN, func(t *topic) (any, *APIError) {
		for _, tg := range in.Tags {
			t.tags[tg.Key] = tg.Value
		}
		return nil, nil
	})
}

func (sn *snsService) untagResource(r *request) (any, *APIError) {
	var in tagResourceInput
	return onSNS(sn, r, &in, writing, (*snsService).resourceByARN, func(t *topic) (any, *APIError) {
		for _, k := range in.TagKeys {
			delete(t.tags, k)
		}
		return nil, nil
	})
}

func (sn *snsService) listTagsForResource(r *request) (any, *APIError) {
	var in tagResourceInput
	return onSNS(sn, r, &in, reading, (*snsService).resourceByARN, func(t *topic) (any, *APIError) {
		out := listTagsOutput{Tags: []tag{}}
		for k, v := range t.tags {
			out.Tags = append(out.Tags, tag{k, v})
		}
		sort.Slice(out.Tags, func(i, j int) bool { return out.Tags[i].Key < out.Tags[j].Key })
		return out, nil
	})
}
