package localaws

import (
	"encoding/json"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// subscription is an SNS subscription; guarded by snsService.mu. Deliveries
// work on copies (endpoint), never on the subscription itself.
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
	// dlq is the ARN of the dead-letter queue of its RedrivePolicy, or "".
	dlq string
}

// endpoint is what delivering a notification needs of a subscription,
// copied under the lock so that delivery runs without it. The filter policy
// is shared: it is never changed once parsed, only replaced.
type endpoint struct {
	arn, topicARN, protocol, address, baseURL, dlq string
	raw, bodyScope                                 bool
	filter                                         *filterPolicy
}

func (sub *subscription) snapshot() endpoint {
	return endpoint{arn: sub.arn, topicARN: sub.topicARN, protocol: sub.protocol, address: sub.endpoint, baseURL: sub.baseURL,
		dlq: sub.dlq, raw: sub.raw, bodyScope: sub.bodyScope, filter: sub.filter}
}

// baseURL is where http subscribers are told to confirm and unsubscribe: the
// address the client reached the server on.
func baseURL(r *request) string {
	host := r.host
	if host == "" {
		host = "localhost:4566"
	}
	return "http://" + host
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

func (sn *snsService) subscribeAction(r *request) (any, *APIError) {
	var in subscribeInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	arn, pending, e := sn.subscribe(baseURL(r), in.TopicArn, in.Protocol, in.Endpoint, in.Attributes)
	if e != nil {
		return nil, e
	}
	if pending && !bool(in.ReturnSubscriptionArn) {
		arn = "pending confirmation"
	}
	return subscriptionARNOutput{arn}, nil
}

// subscribe subscribes an endpoint to a topic and returns the subscription
// ARN and whether it awaits confirmation. The subscription is built and
// validated before the lock; http subscribers get their confirmation request
// after it.
func (sn *snsService) subscribe(baseURL, topicARN, protocol, address string, attrs map[string]string) (string, bool, *APIError) {
	if e := sn.checkTopicARN("TopicArn", topicARN); e != nil {
		return "", false, e
	}
	switch protocol {
	case "sqs":
		if !strings.HasPrefix(address, "arn:aws:sqs:") {
			return "", false, errSNSInvalidParameter("SQS endpoint ARN")
		}
	case "http", "https":
		u, err := url.Parse(address)
		if err != nil || u.Scheme != protocol || u.Host == "" {
			return "", false, errSNSInvalidParameter("Endpoint must match the specified protocol")
		}
	case "email", "email-json":
		if !strings.Contains(address, "@") {
			return "", false, errSNSInvalidParameter("Email address")
		}
	case "":
		return "", false, errSNSInvalidParameter("Protocol")
	default:
		return "", false, errSNSInvalidParameter("Invalid protocol type: %s", protocol)
	}
	sub := &subscription{topicARN: topicARN, protocol: protocol, endpoint: address, baseURL: baseURL, attrs: map[string]string{}}
	names := make([]string, 0, len(attrs))
	for k := range attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	// The scope first: it decides how FilterPolicy is parsed.
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
	res, e := sn.addSubscription(sub)
	if e != nil || res.existed {
		return res.arn, res.pending, e
	}
	switch protocol {
	case "http", "https":
		sn.sendConfirmation(res.endpoint, res.token, res.confirmationID)
	case "email", "email-json":
		sn.log.Info("email subscription created; confirm it with ConfirmSubscription", "topic_arn", topicARN, "endpoint", address, "token", res.token)
	}
	return res.arn, res.pending, nil
}

// added is the outcome of addSubscription.
type added struct {
	arn     string
	pending bool
	// existed says the topic had a subscription of that endpoint already;
	// its ARN is returned and nothing else changes.
	existed bool
	// For a new subscription that awaits confirmation: its token, the id of
	// the confirmation message, and where to send it.
	token          string
	confirmationID string
	endpoint       endpoint
}

// addSubscription adds sub to its topic, or finds the topic's subscription
// of the same endpoint. sqs subscriptions are confirmed at once; others get a
// token to confirm with.
func (sn *snsService) addSubscription(sub *subscription) (added, *APIError) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	t, e := sn.topicByARN(sub.topicARN)
	if e != nil {
		return added{}, e
	}
	if t.fifo && sub.protocol != "sqs" {
		return added{}, errSNSInvalidParameter("Invalid protocol type: %s for a FIFO topic", sub.protocol)
	}
	for _, old := range t.subs {
		if old.protocol == sub.protocol && old.endpoint == sub.endpoint {
			return added{arn: old.arn, pending: !old.confirmed, existed: true}, nil
		}
	}
	sub.arn = sub.topicARN + ":" + t.ids.newID()
	sub.confirmed = sub.protocol == "sqs"
	res := added{arn: sub.arn, pending: !sub.confirmed}
	if !sub.confirmed {
		sub.token = strings.ReplaceAll(t.ids.newID()+t.ids.newID(), "-", "")
		res.token, res.confirmationID, res.endpoint = sub.token, t.ids.newID(), sub.snapshot()
	}
	t.subs = append(t.subs, sub)
	sn.subs[sub.arn] = sub
	return res, nil
}

// set validates and applies one subscription attribute, changing nothing
// when it fails; called before the subscription is shared or with
// snsService.mu held.
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
		var body bool
		switch value {
		case "MessageAttributes", "":
		case "MessageBody":
			body = true
		default:
			return errSNSInvalidParameter("Attributes Reason: FilterPolicyScope: Invalid value [%s]. Please use either MessageBody or MessageAttributes", value)
		}
		if sub.filter != nil {
			if _, err := parseFilterPolicy(sub.attrs["FilterPolicy"], body); err != nil {
				return errSNSInvalidParameter("Attributes Reason: FilterPolicy: %v", err)
			}
		}
		sub.bodyScope = body
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
		var rp struct {
			DeadLetterTargetArn string `json:"deadLetterTargetArn"`
		}
		if value != "" {
			if err := json.Unmarshal([]byte(value), &rp); err != nil || !strings.HasPrefix(rp.DeadLetterTargetArn, "arn:aws:sqs:") {
				return errSNSInvalidParameter("Attributes Reason: RedrivePolicy: deadLetterTargetArn is missing or not an SQS queue ARN")
			}
		}
		sub.dlq = rp.DeadLetterTargetArn
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

func (sn *snsService) confirmSubscription(r *request) (any, *APIError) {
	var in struct {
		topicInput
		Token string `json:"Token"`
	}
	return onSNS(sn, r, &in, writing, (*snsService).topicByARN, func(t *topic) (any, *APIError) {
		for _, sub := range t.subs {
			if in.Token != "" && sub.token == in.Token {
				sub.confirmed = true
				return subscriptionARNOutput{sub.arn}, nil
			}
		}
		return nil, errSNSInvalidParameter("Token")
	})
}

func (sn *snsService) unsubscribe(r *request) (any, *APIError) {
	var in subscriptionInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	if in.SubscriptionArn == "" {
		return nil, errSNSInvalidParameter("SubscriptionArn")
	}
	sn.removeSubscription(in.SubscriptionArn)
	return nil, nil
}

// removeSubscription deletes a subscription; one that does not exist is
// deleted already, as on AWS.
func (sn *snsService) removeSubscription(arn string) {
	sn.mu.Lock()
	defer sn.mu.Unlock()
	sub := sn.subs[arn]
	if sub == nil {
		return
	}
	delete(sn.subs, sub.arn)
	if t := sn.topics[sub.topicARN]; t != nil {
		for i, x := range t.subs {
			if x == sub {
				t.subs = append(t.subs[:i:i], t.subs[i+1:]...)
				break
			}
		}
	}
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

// subscriptionList renders one page of subs; called with snsService.mu held.
func (sn *snsService) subscriptionList(subs map[string]*subscription, token string) listSubscriptionsOutput {
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
		out.Subscriptions = append(out.Subscriptions, subscriptionEntry{arn, sn.account, sub.protocol, sub.endpoint, sub.topicARN})
	}
	return out
}

func (sn *snsService) listSubscriptions(r *request) (any, *APIError) {
	var in listInput
	if e := r.decode(&in); e != nil {
		return nil, e
	}
	return sn.shared(func() (any, *APIError) { return sn.subscriptionList(sn.subs, in.NextToken), nil })
}

func (sn *snsService) listSubscriptionsByTopic(r *request) (any, *APIError) {
	var in listInput
	return onSNS(sn, r, &in, reading, (*snsService).topicByARN, func(t *topic) (any, *APIError) {
		subs := make(map[string]*subscription, len(t.subs))
		for _, sub := range t.subs {
			subs[sub.arn] = sub
		}
		return sn.subscriptionList(subs, in.NextToken), nil
	})
}

func (sn *snsService) getSubscriptionAttributes(r *request) (any, *APIError) {
	var in subscriptionInput
	return onSNS(sn, r, &in, reading, (*snsService).subscriptionByARN, sn.subscriptionAttributes)
}

// subscriptionAttributes answers GetSubscriptionAttributes; called with
// snsService.mu held.
func (sn *snsService) subscriptionAttributes(sub *subscription) (any, *APIError) {
	a := map[string]string{
		"SubscriptionArn": sub.arn, "TopicArn": sub.topicARN, "Owner": sn.account, "Protocol": sub.protocol,
		"Endpoint": sub.endpoint, "ConfirmationWasAuthenticated": strconv.FormatBool(sub.confirmed),
		"PendingConfirmation": strconv.FormatBool(!sub.confirmed), "RawMessageDelivery": "false",
		"SubscriptionPrincipal": "arn:aws:iam::" + sn.account + ":root",
	}
	for k, v := range sub.attrs {
		a[k] = v
	}
	if sub.filter != nil && a["FilterPolicyScope"] == "" {
		a["FilterPolicyScope"] = "MessageAttributes"
	}
	return snsAttributesOutput{a}, nil
}

func (sn *snsService) setSubscriptionAttributes(r *request) (any, *APIError) {
	var in struct {
		subscriptionInput
		attributeInput
	}
	return onSNS(sn, r, &in, writing, (*snsService).subscriptionByARN, func(sub *subscription) (any, *APIError) {
		return nil, sub.set(in.AttributeName, in.AttributeValue)
	})
}
