package localaws

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

var snsOps = map[string]opFunc{
	"CreateTopic":               (*Server).createTopic,
	"ListTopics":                (*Server).listTopics,
	"GetTopicAttributes":        (*Server).getTopicAttributes,
	"SetTopicAttributes":        (*Server).setTopicAttributes,
	"DeleteTopic":               (*Server).deleteTopic,
	"Subscribe":                 (*Server).subscribe,
	"ConfirmSubscription":       (*Server).confirmSubscription,
	"Unsubscribe":               (*Server).unsubscribe,
	"ListSubscriptions":         (*Server).listSubscriptions,
	"ListSubscriptionsByTopic":  (*Server).listSubscriptionsByTopic,
	"GetSubscriptionAttributes": (*Server).getSubscriptionAttributes,
	"SetSubscriptionAttributes": (*Server).setSubscriptionAttributes,
	"Publish":                   (*Server).publish,
	"PublishBatch":              (*Server).publishBatch,
	"TagResource":               (*Server).tagResource,
	"UntagResource":             (*Server).untagResource,
	"ListTagsForResource":       (*Server).listTagsForResource,
}

var topicNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)

// topic is an SNS topic; guarded by Server.mu.
type topic struct {
	name  string
	arn   string
	fifo  bool
	attrs map[string]string
	tags  map[string]string
	subs  []*subscription
	dedup dedupWindow
	seq   uint64
	ids   *queue // only for its random source and lock
}

// subscription is an SNS subscription; guarded by Server.mu.
type subscription struct {
	arn       string
	topicARN  string
	protocol  string
	endpoint  string
	confirmed bool
	token     string
	baseURL   string
	attrs     map[string]string
	raw       bool
	filter    *filterPolicy
	bodyScope bool
}

func (s *Server) topicARN(name string) string {
	return fmt.Sprintf("arn:aws:sns:%s:%s:%s", s.region, s.account, name)
}

func (s *Server) baseURL(r *request) string {
	host := r.host
	if host == "" {
		host = "localhost:4566"
	}
	return "http://" + host
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

func (s *Server) createTopic(r *request) (any, *APIError) {
	var in createTopicInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[t.Key] = t.Value
	}
	arn, e := s.CreateTopic(in.Name, in.Attributes, tags)
	if e != nil {
		return nil, e
	}
	return topicARNOutput{arn}, nil
}

// CreateTopic creates a topic, or returns the existing one, like the
// CreateTopic action; it returns the topic ARN.
func (s *Server) CreateTopic(name string, attrs, tags map[string]string) (string, *APIError) {
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
	arn := s.topicARN(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if t := s.topics[arn]; t != nil {
		for k, v := range attrs {
			if t.attrs[k] != v {
				return "", errSNSInvalidParameter("Attributes Reason: Topic already exists with different attributes")
			}
		}
		return arn, nil
	}
	t := &topic{name: name, arn: arn, fifo: fifo, attrs: map[string]string{}, tags: map[string]string{},
		ids: newQueue(name, arn, false, 0, time.Now(), newSeed())}
	for k, v := range attrs {
		t.attrs[k] = v
	}
	for k, v := range tags {
		t.tags[k] = v
	}
	t.seq = uint64(time.Now().UnixNano()) % 1e18 * 10
	s.topics[arn] = t
	return arn, nil
}

func (s *Server) topicByARN(arn string) (*topic, *APIError) {
	if arn == "" {
		return nil, errSNSInvalidParameter("TopicArn")
	}
	t := s.topics[arn]
	if t == nil {
		return nil, errSNSNotFound("Topic does not exist")
	}
	return t, nil
}

// topicInput, subscriptionInput and resourceInput are embedded by the inputs
// of operations on a topic, a subscription or a taggable resource; onSNS finds
// what they name.
type topicInput struct {
	TopicArn string `json:"TopicArn"`
}

type subscriptionInput struct {
	SubscriptionArn string `json:"SubscriptionArn"`
}

type resourceInput struct {
	ResourceArn string `json:"ResourceArn"`
}

func (in *topicInput) target() string        { return in.TopicArn }
func (in *subscriptionInput) target() string { return in.SubscriptionArn }
func (in *resourceInput) target() string     { return in.ResourceArn }

// lockMode says whether an SNS operation changes what it finds.
type lockMode bool

const (
	reading lockMode = false
	writing lockMode = true
)

// onSNS decodes the input of an SNS operation into in, finds what it names
// with find and runs fn on it, all under the server's lock (exclusive when
// writing).
func onSNS[T any](s *Server, r *request, in interface{ target() string }, mode lockMode,
	find func(s *Server, arn string) (T, *APIError), fn func(T) (any, *APIError)) (any, *APIError) {
	if e := r.decode(in); e != nil {
		return nil, e
	}
	if mode == writing {
		s.mu.Lock()
		defer s.mu.Unlock()
	} else {
		s.mu.RLock()
		defer s.mu.RUnlock()
	}
	x, e := find(s, in.target())
	if e != nil {
		return nil, e
	}
	return fn(x)
}

// subscriptionByARN and resourceByARN find what an input names; called with
// Server.mu held, like topicByARN.
func (s *Server) subscriptionByARN(arn string) (*subscription, *APIError) {
	sub := s.subs[arn]
	if sub == nil {
		return nil, errSNSNotFound("Subscription does not exist")
	}
	return sub, nil
}

func (s *Server) resourceByARN(arn string) (*topic, *APIError) {
	t := s.topics[arn]
	if t == nil {
		return nil, snsErr("ResourceNotFound", 404, "Resource does not exist")
	}
	return t, nil
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

func (s *Server) listTopics(r *request) (any, *APIError) {
	var in listInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	s.mu.RLock()
	keys := make([]string, 0, len(s.topics))
	for k := range s.topics {
		keys = append(keys, k)
	}
	s.mu.RUnlock()
	keys, next := page(keys, in.NextToken)
	out := listTopicsOutput{Topics: []topicEntry{}, NextToken: next}
	for _, k := range keys {
		out.Topics = append(out.Topics, topicEntry{k})
	}
	return out, nil
}

type snsAttributesOutput struct {
	Attributes map[string]string `json:"Attributes"`
}

func (s *Server) getTopicAttributes(r *request) (any, *APIError) {
	var in topicInput
	return onSNS(s, r, &in, reading, (*Server).topicByARN, s.topicAttributes)
}

// topicAttributes answers GetTopicAttributes; called with Server.mu held.
func (s *Server) topicAttributes(t *topic) (any, *APIError) {
	a := map[string]string{
		"TopicArn": t.arn, "Owner": s.account, "DisplayName": "",
		"SubscriptionsPending": "0", "SubscriptionsConfirmed": "0", "SubscriptionsDeleted": "0",
		"Policy":                  fmt.Sprintf(`{"Version":"2008-10-17","Id":"__default_policy_ID","Statement":[{"Sid":"__default_statement_ID","Effect":"Allow","Principal":{"AWS":"*"},"Action":["SNS:Publish","SNS:Subscribe"],"Resource":"%s","Condition":{"StringEquals":{"AWS:SourceOwner":"%s"}}}]}`, t.arn, s.account),
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

func (s *Server) setTopicAttributes(r *request) (any, *APIError) {
	var in struct {
		topicInput
		attributeInput
	}
	return onSNS(s, r, &in, writing, (*Server).topicByARN, func(t *topic) (any, *APIError) {
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

func (s *Server) deleteTopic(r *request) (any, *APIError) {
	var in topicInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.topics[in.TopicArn]
	if t == nil {
		return nil, nil
	}
	for _, sub := range t.subs {
		delete(s.subs, sub.arn)
	}
	delete(s.topics, in.TopicArn)
	return nil, nil
}

type subscribeInput struct {
	TopicArn              string            `json:"TopicArn"`
	Protocol              string            `json:"Protocol"`
	Endpoint              string            `json:"Endpoint"`
	Attributes            map[string]string `json:"Attributes"`
	ReturnSubscriptionArn flexBool          `json:"ReturnSubscriptionArn"`
}

type subscriptionARNOutput struct {
	SubscriptionArn string `json:"SubscriptionArn"`
}

var subAttrNames = map[string]bool{
	"DeliveryPolicy": true, "FilterPolicy": true, "FilterPolicyScope": true, "RawMessageDelivery": true,
	"RedrivePolicy": true, "SubscriptionRoleArn": true, "ReplayPolicy": true,
}

func (s *Server) subscribe(r *request) (any, *APIError) {
	var in subscribeInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	arn, pending, e := s.Subscribe(s.baseURL(r), in.TopicArn, in.Protocol, in.Endpoint, in.Attributes)
	if e != nil {
		return nil, e
	}
	if pending && !bool(in.ReturnSubscriptionArn) {
		arn = "pending confirmation"
	}
	return subscriptionARNOutput{arn}, nil
}

// Subscribe subscribes an endpoint to a topic like the Subscribe action. The
// base URL is where http subscribers are told to confirm. It returns the
// subscription ARN and whether the subscription awaits confirmation.
func (s *Server) Subscribe(baseURL, topicARN, protocol, endpoint string, attrs map[string]string) (string, bool, *APIError) {
	switch protocol {
	case "sqs":
		if !strings.HasPrefix(endpoint, "arn:aws:sqs:") {
			return "", false, errSNSInvalidParameter("SQS endpoint ARN")
		}
	case "http", "https":
		u, err := url.Parse(endpoint)
		if err != nil || u.Scheme != protocol || u.Host == "" {
			return "", false, errSNSInvalidParameter("Endpoint must match the specified protocol")
		}
	case "email", "email-json":
		if !strings.Contains(endpoint, "@") {
			return "", false, errSNSInvalidParameter("Email address")
		}
	case "":
		return "", false, errSNSInvalidParameter("Protocol")
	default:
		return "", false, errSNSInvalidParameter("Invalid protocol type: %s", protocol)
	}
	sub := &subscription{topicARN: topicARN, protocol: protocol, endpoint: endpoint, baseURL: baseURL, attrs: map[string]string{}}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	if attrs["FilterPolicyScope"] != "" {
		if e := sub.set("FilterPolicyScope", attrs["FilterPolicyScope"]); e != nil {
			return "", false, e
		}
	}
	for _, k := range names {
		if e := sub.set(k, attrs[k]); e != nil {
			return "", false, e
		}
	}
	s.mu.Lock()
	t, e := s.topicByARN(topicARN)
	if e != nil {
		s.mu.Unlock()
		return "", false, e
	}
	if t.fifo && protocol != "sqs" {
		s.mu.Unlock()
		return "", false, errSNSInvalidParameter("Invalid protocol type: %s for a FIFO topic", protocol)
	}
	for _, old := range t.subs {
		if old.protocol == protocol && old.endpoint == endpoint {
			arn, pending := old.arn, !old.confirmed
			s.mu.Unlock()
			return arn, pending, nil
		}
	}
	sub.arn = topicARN + ":" + t.ids.newHandle()
	sub.confirmed = protocol == "sqs"
	if !sub.confirmed {
		sub.token = strings.ReplaceAll(t.ids.newHandle()+t.ids.newHandle(), "-", "")
	}
	t.subs = append(t.subs, sub)
	s.subs[sub.arn] = sub
	s.mu.Unlock()
	switch protocol {
	case "http", "https":
		s.sendConfirmation(sub)
	case "email", "email-json":
		s.log.Info("email subscription created; confirm it with ConfirmSubscription", "topic_arn", topicARN, "endpoint", endpoint, "token", sub.token)
	}
	return sub.arn, !sub.confirmed, nil
}

// set validates and applies one subscription attribute; called before the
// subscription is shared or with Server.mu held.
func (sub *subscription) set(name, value string) *APIError {
	if !subAttrNames[name] {
		return errSNSInvalidParameter("AttributeName")
	}
	switch name {
	case "RawMessageDelivery":
		b, err := strconv.ParseBool(value)
		if err != nil {
			return errSNSInvalidParameter("Attributes Reason: RawMessageDelivery: Invalid value [%s]. Must be true or false.", value)
		}
		if b && sub.protocol != "sqs" && sub.protocol != "http" && sub.protocol != "https" {
			return errSNSInvalidParameter("Attributes Reason: Delivery protocol [%s] does not support raw message delivery.", sub.protocol)
		}
		sub.raw = b
	case "FilterPolicyScope":
		switch value {
		case "MessageAttributes", "":
			sub.bodyScope = false
		case "MessageBody":
			sub.bodyScope = true
		default:
			return errSNSInvalidParameter("Attributes Reason: FilterPolicyScope: Invalid value [%s]. Please use either MessageBody or MessageAttributes", value)
		}
		if sub.filter != nil {
			if _, err := parseFilterPolicy(sub.attrs["FilterPolicy"], sub.bodyScope); err != nil {
				return errSNSInvalidParameter("Attributes Reason: FilterPolicy: %v", err)
			}
		}
	case "FilterPolicy":
		if value == "" {
			sub.filter = nil
			break
		}
		p, err := parseFilterPolicy(value, sub.bodyScope)
		if err != nil {
			return errSNSInvalidParameter("Attributes Reason: FilterPolicy: %v", err)
		}
		sub.filter = p
	case "RedrivePolicy":
		if value != "" {
			var rp struct {
				DeadLetterTargetArn string `json:"deadLetterTargetArn"`
			}
			if err := json.Unmarshal([]byte(value), &rp); err != nil || !strings.HasPrefix(rp.DeadLetterTargetArn, "arn:aws:sqs:") {
				return errSNSInvalidParameter("Attributes Reason: RedrivePolicy: deadLetterTargetArn is missing or not an SQS queue ARN")
			}
		}
	case "DeliveryPolicy", "ReplayPolicy":
		if value != "" && !json.Valid([]byte(value)) {
			return errSNSInvalidParameter("Attributes Reason: %s: not valid JSON", name)
		}
	}
	if value == "" {
		delete(sub.attrs, name)
	} else {
		sub.attrs[name] = value
	}
	return nil
}

func (s *Server) confirmSubscription(r *request) (any, *APIError) {
	var in struct {
		topicInput
		Token string `json:"Token"`
	}
	return onSNS(s, r, &in, writing, (*Server).topicByARN, func(t *topic) (any, *APIError) {
		for _, sub := range t.subs {
			if in.Token != "" && sub.token == in.Token {
				sub.confirmed = true
				return subscriptionARNOutput{sub.arn}, nil
			}
		}
		return nil, errSNSInvalidParameter("Token")
	})
}

func (s *Server) unsubscribe(r *request) (any, *APIError) {
	var in subscriptionInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.subs[in.SubscriptionArn]
	if sub == nil {
		if in.SubscriptionArn == "" {
			return nil, errSNSInvalidParameter("SubscriptionArn")
		}
		return nil, nil
	}
	delete(s.subs, sub.arn)
	if t := s.topics[sub.topicARN]; t != nil {
		for i, x := range t.subs {
			if x == sub {
				t.subs = append(t.subs[:i:i], t.subs[i+1:]...)
				break
			}
		}
	}
	return nil, nil
}

type subscriptionEntry struct {
	SubscriptionArn string `json:"SubscriptionArn"`
	Owner           string `json:"Owner"`
	Protocol        string `json:"Protocol"`
	Endpoint        string `json:"Endpoint"`
	TopicArn        string `json:"TopicArn"`
}

type listSubscriptionsOutput struct {
	Subscriptions []subscriptionEntry `json:"Subscriptions"`
	NextToken     string              `json:"NextToken,omitempty"`
}

func (s *Server) subscriptionList(subs map[string]*subscription, token string) listSubscriptionsOutput {
	keys := make([]string, 0, len(subs))
	for k := range subs {
		keys = append(keys, k)
	}
	keys, next := page(keys, token)
	out := listSubscriptionsOutput{Subscriptions: []subscriptionEntry{}, NextToken: next}
	for _, k := range keys {
		sub := subs[k]
		arn := sub.arn
		if !sub.confirmed {
			arn = "PendingConfirmation"
		}
		out.Subscriptions = append(out.Subscriptions, subscriptionEntry{arn, s.account, sub.protocol, sub.endpoint, sub.topicARN})
	}
	return out
}

func (s *Server) listSubscriptions(r *request) (any, *APIError) {
	var in listInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.subscriptionList(s.subs, in.NextToken), nil
}

func (s *Server) listSubscriptionsByTopic(r *request) (any, *APIError) {
	var in listInput
	return onSNS(s, r, &in, reading, (*Server).topicByARN, func(t *topic) (any, *APIError) {
		subs := make(map[string]*subscription, len(t.subs))
		for _, sub := range t.subs {
			subs[sub.arn] = sub
		}
		return s.subscriptionList(subs, in.NextToken), nil
	})
}

func (s *Server) getSubscriptionAttributes(r *request) (any, *APIError) {
	var in subscriptionInput
	return onSNS(s, r, &in, reading, (*Server).subscriptionByARN, s.subscriptionAttributes)
}

// subscriptionAttributes answers GetSubscriptionAttributes; called with
// Server.mu held.
func (s *Server) subscriptionAttributes(sub *subscription) (any, *APIError) {
	a := map[string]string{
		"SubscriptionArn": sub.arn, "TopicArn": sub.topicARN, "Owner": s.account, "Protocol": sub.protocol,
		"Endpoint": sub.endpoint, "ConfirmationWasAuthenticated": strconv.FormatBool(sub.confirmed),
		"PendingConfirmation": strconv.FormatBool(!sub.confirmed), "RawMessageDelivery": "false",
		"SubscriptionPrincipal": "arn:aws:iam::" + s.account + ":root",
	}
	for k, v := range sub.attrs {
		a[k] = v
	}
	if sub.filter != nil && a["FilterPolicyScope"] == "" {
		a["FilterPolicyScope"] = "MessageAttributes"
	}
	return snsAttributesOutput{a}, nil
}

func (s *Server) setSubscriptionAttributes(r *request) (any, *APIError) {
	var in struct {
		subscriptionInput
		attributeInput
	}
	return onSNS(s, r, &in, writing, (*Server).subscriptionByARN, func(sub *subscription) (any, *APIError) {
		return nil, sub.set(in.AttributeName, in.AttributeValue)
	})
}

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

func (s *Server) publish(r *request) (any, *APIError) {
	var in publishInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	arn := in.TopicArn
	if arn == "" {
		arn = in.TargetArn
	}
	if arn == "" {
		return nil, errSNSInvalidParameter("TopicArn or TargetArn Reason: no value for required parameter")
	}
	return s.publishTo(arn, &in.publishEntry)
}

// snsNotification is one message published to a topic, ready for delivery.
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

// publishTo publishes a message to a topic like the Publish action and delivers
// it to the topic's subscriptions: to SQS queues before it returns, to http
// subscribers in the background.
func (s *Server) publishTo(topicARN string, in *publishEntry) (*publishOutput, *APIError) {
	if in.Message == nil || *in.Message == "" {
		return nil, errSNSInvalidParameter("Empty message")
	}
	if len(*in.Message) > 256*1024 {
		return nil, errSNSInvalidParameter("Message too long")
	}
	if len(in.Subject) > 100 {
		return nil, errSNSInvalidParameter("Subject")
	}
	if e := checkSNSAttributes(in.MessageAttributes); e != nil {
		return nil, e
	}
	n := &snsNotification{topicARN: topicARN, subject: in.Subject, message: *in.Message, attrs: in.MessageAttributes, at: s.now(), groupID: in.MessageGroupID}
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
	s.mu.Lock()
	t, e := s.topicByARN(topicARN)
	if e != nil {
		s.mu.Unlock()
		return nil, e
	}
	if t.fifo {
		if in.MessageGroupID == "" {
			s.mu.Unlock()
			return nil, errSNSInvalidParameter("The MessageGroupId parameter is required for FIFO topics")
		}
		n.dedupID = in.MessageDeduplicationID
		if n.dedupID == "" {
			if !strings.EqualFold(t.attrs["ContentBasedDeduplication"], "true") {
				s.mu.Unlock()
				return nil, errSNSInvalidParameter("The topic should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly")
			}
			n.dedupID = contentDedupID(*in.Message)
		}
		if d, ok := t.dedup.lookup(n.dedupID, n.at); ok {
			s.mu.Unlock()
			return &publishOutput{MessageID: d.msgID, SequenceNumber: d.seq}, nil
		}
		t.seq++
		n.seq = strconv.FormatUint(t.seq, 10)
	} else if in.MessageDeduplicationID != "" {
		s.mu.Unlock()
		return nil, errSNSInvalidParameter("MessageDeduplicationId Reason: The request includes MessageDeduplicationId parameter that is not valid for this topic type")
	}
	n.id = t.ids.newHandle()
	if t.fifo {
		t.dedup.add(n.dedupID, dedupEntry{msgID: n.id, seq: n.seq, at: n.at})
	}
	targets := make([]subscription, 0, len(t.subs))
	for _, sub := range t.subs {
		targets = append(targets, *sub)
	}
	s.mu.Unlock()
	for i := range targets {
		sub := &targets[i]
		if !sub.confirmed || !sub.matches(n) {
			continue
		}
		s.deliver(sub, n)
	}
	return &publishOutput{MessageID: n.id, SequenceNumber: n.seq}, nil
}

// matches applies the subscription's filter policy.
func (sub *subscription) matches(n *snsNotification) bool {
	if sub.filter == nil {
		return true
	}
	if sub.bodyScope {
		var body any
		if err := json.Unmarshal([]byte(n.message), &body); err != nil {
			return false
		}
		obj, ok := body.(map[string]any)
		if !ok {
			return false
		}
		return sub.filter.match(bodyLookup(obj))
	}
	return sub.filter.match(attrLookup(n.attrs))
}

func (n *snsNotification) messageFor(protocol string) string {
	if n.perProtocol != nil {
		if m, ok := n.perProtocol[protocol]; ok {
			return m
		}
	}
	return n.message
}

// envelope renders the JSON document SNS delivers when raw delivery is off,
// byte for byte in AWS's layout: two-space indent, " : " between key and
// value, keys in the order Type, MessageId, SequenceNumber (FIFO), TopicArn,
// Subject (if any), Message, Timestamp, SignatureVersion, Signature and
// SigningCertURL (standard topics only: AWS does not sign notifications of
// FIFO topics), UnsubscribeURL, then MessageAttributes (if any) in name order,
// each on its own line as compact {"Type":...,"Value":...}.
func (s *Server) envelope(sub *subscription, n *snsNotification, protocol string) string {
	var b bytes.Buffer
	kv := func(k, v string, last bool) {
		b.WriteString("  ")
		b.WriteString(jsonString(k))
		b.WriteString(" : ")
		b.WriteString(jsonString(v))
		if !last {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("{\n")
	kv("Type", "Notification", false)
	kv("MessageId", n.id, false)
	if n.seq != "" {
		kv("SequenceNumber", n.seq, false)
	}
	kv("TopicArn", n.topicARN, false)
	if n.subject != "" {
		kv("Subject", n.subject, false)
	}
	kv("Message", n.messageFor(protocol), false)
	kv("Timestamp", n.at.UTC().Format("2006-01-02T15:04:05.000Z"), false)
	if n.seq == "" {
		kv("SignatureVersion", "1", false)
		kv("Signature", fakeSignature, false)
		kv("SigningCertURL", "https://sns."+s.region+".amazonaws.com/SimpleNotificationService-0000000000000000000000.pem", false)
	}
	kv("UnsubscribeURL", sub.baseURL+"/?Action=Unsubscribe&SubscriptionArn="+sub.arn, len(n.attrs) == 0)
	if len(n.attrs) > 0 {
		b.WriteString(`  "MessageAttributes" : {` + "\n")
		names := make([]string, 0, len(n.attrs))
		for k := range n.attrs {
			names = append(names, k)
		}
		sort.Strings(names)
		for i, k := range names {
			a := n.attrs[k]
			v := a.StringValue
			if a.DataType == "Binary" {
				v = base64.StdEncoding.EncodeToString(a.BinaryValue)
			}
			b.WriteString("    " + jsonString(k) + ` : {"Type":` + jsonString(a.DataType) + `,"Value":` + jsonString(v) + "}")
			if i < len(names)-1 {
				b.WriteString(",")
			}
			b.WriteString("\n")
		}
		b.WriteString("  }\n")
	}
	b.WriteString("}")
	return b.String()
}

// fakeSignature stands where AWS puts an RSA signature; this endpoint does not
// sign messages.
const fakeSignature = "bG9jYWxhd3MgZG9lcyBub3Qgc2lnbiBtZXNzYWdlcw=="

func jsonString(s string) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// deliver sends one notification to one subscription.
func (s *Server) deliver(sub *subscription, n *snsNotification) {
	switch sub.protocol {
	case "sqs":
		if err := s.deliverSQS(sub.endpoint, sub, n); err != nil {
			s.log.Warn("sns delivery to sqs failed", "subscription_arn", sub.arn, "endpoint", sub.endpoint, "error", err)
			s.deadLetter(sub, n)
		}
	case "http", "https":
		body := s.envelope(sub, n, sub.protocol)
		if sub.raw {
			body = n.messageFor(sub.protocol)
		}
		headers := map[string]string{
			"x-amz-sns-message-type":     "Notification",
			"x-amz-sns-message-id":       n.id,
			"x-amz-sns-topic-arn":        n.topicARN,
			"x-amz-sns-subscription-arn": sub.arn,
		}
		if sub.raw {
			headers["x-amz-sns-rawdelivery"] = "true"
		}
		s.postAsync(sub, n, body, headers)
	default:
		s.log.Info("sns notification for email subscriber", "subscription_arn", sub.arn, "endpoint", sub.endpoint, "subject", n.subject, "message", n.messageFor(sub.protocol))
	}
}

// deliverSQS stores a notification in a queue.
func (s *Server) deliverSQS(queueARN string, sub *subscription, n *snsNotification) error {
	q := s.queueByARN(queueARN)
	if q == nil {
		return fmt.Errorf("queue %s does not exist", queueARN)
	}
	body := s.envelope(sub, n, "sqs")
	var attrs map[string]attrValue
	if sub.raw {
		body = n.messageFor("sqs")
		if len(n.attrs) > 0 {
			attrs = make(map[string]attrValue, len(n.attrs))
			for k, a := range n.attrs {
				v := attrValue{DataType: a.DataType, BinaryValue: a.BinaryValue}
				if a.DataType != "Binary" {
					sv := a.StringValue
					v.StringValue = &sv
				}
				attrs[k] = v
			}
		}
	}
	in := &sendInput{MessageBody: &body, MessageAttributes: attrs}
	if q.fifo {
		in.MessageGroupID = n.groupID
		in.MessageDeduplicationID = n.dedupID
		if in.MessageGroupID == "" {
			in.MessageGroupID = n.id
			in.MessageDeduplicationID = n.id
		}
	}
	m, delay, e := q.prepare(in, n.at)
	if e != nil {
		return e
	}
	if _, e := q.store(m, delay, s.now()); e != nil {
		return e
	}
	return nil
}

// deadLetter sends an undeliverable notification to the subscription's
// dead-letter queue, if it has one.
func (s *Server) deadLetter(sub *subscription, n *snsNotification) {
	var rp struct {
		DeadLetterTargetArn string `json:"deadLetterTargetArn"`
	}
	if err := json.Unmarshal([]byte(sub.attrs["RedrivePolicy"]), &rp); err != nil || rp.DeadLetterTargetArn == "" {
		return
	}
	dl := *sub
	dl.raw = false
	if err := s.deliverSQS(rp.DeadLetterTargetArn, &dl, n); err != nil {
		s.log.Warn("sns dead-letter delivery failed", "subscription_arn", sub.arn, "dead_letter_queue", rp.DeadLetterTargetArn, "error", err)
	}
}

// postAsync POSTs a message to an http subscriber in the background, retrying
// three times before giving up (and dead-lettering notifications). Closing the
// server cancels it at once; after Close nothing is posted.
func (s *Server) postAsync(sub *subscription, n *snsNotification, body string, headers map[string]string) {
	s.goBackground(func() {
		ctx, cancel := s.closingContext()
		defer cancel()
		var lastErr error
		for attempt := 0; attempt < 4; attempt++ {
			if attempt > 0 {
				select {
				case <-time.After(time.Duration(attempt) * 200 * time.Millisecond):
				case <-ctx.Done():
					return
				}
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, sub.endpoint, strings.NewReader(body))
			if err != nil {
				lastErr = err
				break
			}
			req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
			req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := s.client.Do(req)
			if err == nil {
				_ = resp.Body.Close()
				if resp.StatusCode >= 200 && resp.StatusCode < 300 {
					return
				}
				err = fmt.Errorf("status %s", resp.Status)
			}
			lastErr = err
		}
		if ctx.Err() != nil {
			return // the server closed
		}
		s.log.Warn("sns delivery to http endpoint failed", "subscription_arn", sub.arn, "endpoint", sub.endpoint, "error", lastErr)
		if n != nil {
			s.deadLetter(sub, n)
		}
	})
}

// sendConfirmation POSTs the SubscriptionConfirmation message.
func (s *Server) sendConfirmation(sub *subscription) {
	s.mu.RLock()
	t := s.topics[sub.topicARN]
	s.mu.RUnlock()
	if t == nil {
		return
	}
	id := t.ids.newHandle()
	subscribeURL := sub.baseURL + "/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(sub.topicARN) + "&Token=" + sub.token
	var b bytes.Buffer
	b.WriteString("{\n")
	pairs := [][2]string{
		{"Type", "SubscriptionConfirmation"},
		{"MessageId", id},
		{"Token", sub.token},
		{"TopicArn", sub.topicARN},
		{"Message", "You have chosen to subscribe to the topic " + sub.topicARN + ".\nTo confirm the subscription, visit the SubscribeURL included in this message."},
		{"SubscribeURL", subscribeURL},
		{"Timestamp", s.now().UTC().Format("2006-01-02T15:04:05.000Z")},
		{"SignatureVersion", "1"},
		{"Signature", fakeSignature},
		{"SigningCertURL", "https://sns." + s.region + ".amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"},
	}
	for i, p := range pairs {
		b.WriteString("  " + jsonString(p[0]) + " : " + jsonString(p[1]))
		if i < len(pairs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}")
	s.postAsync(sub, nil, b.String(), map[string]string{
		"x-amz-sns-message-type": "SubscriptionConfirmation",
		"x-amz-sns-message-id":   id,
		"x-amz-sns-topic-arn":    sub.topicARN,
	})
}

type publishBatchInput struct {
	topicInput
	PublishBatchRequestEntries []publishEntry `json:"PublishBatchRequestEntries"`
}

type publishBatchOutput struct {
	Successful []publishOutput `json:"Successful"`
	Failed     []batchError    `json:"Failed"`
}

func (s *Server) publishBatch(r *request) (any, *APIError) {
	var in publishBatchInput
	exists := func(*topic) (any, *APIError) { return nil, nil }
	if _, e := onSNS(s, r, &in, reading, (*Server).topicByARN, exists); e != nil {
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
		o, e := s.publishTo(in.TopicArn, en)
		if e != nil {
			out.Failed = append(out.Failed, entryError(en.ID, e))
			continue
		}
		o.ID = en.ID
		out.Successful = append(out.Successful, *o)
	}
	return out, nil
}

type tagResourceInput struct {
	resourceInput
	Tags    []tag    `json:"Tags"`
	TagKeys []string `json:"TagKeys"`
}

type listTagsOutput struct {
	Tags []tag `json:"Tags"`
}

func (s *Server) tagResource(r *request) (any, *APIError) {
	var in tagResourceInput
	return onSNS(s, r, &in, writing, (*Server).resourceByARN, func(t *topic) (any, *APIError) {
		for _, tg := range in.Tags {
			t.tags[tg.Key] = tg.Value
		}
		return nil, nil
	})
}

func (s *Server) untagResource(r *request) (any, *APIError) {
	var in tagResourceInput
	return onSNS(s, r, &in, writing, (*Server).resourceByARN, func(t *topic) (any, *APIError) {
		for _, k := range in.TagKeys {
			delete(t.tags, k)
		}
		return nil, nil
	})
}

func (s *Server) listTagsForResource(r *request) (any, *APIError) {
	var in tagResourceInput
	return onSNS(s, r, &in, reading, (*Server).resourceByARN, func(t *topic) (any, *APIError) {
		out := listTagsOutput{Tags: []tag{}}
		for k, v := range t.tags {
			out.Tags = append(out.Tags, tag{k, v})
		}
		sort.Slice(out.Tags, func(i, j int) bool { return out.Tags[i].Key < out.Tags[j].Key })
		return out, nil
	})
}
