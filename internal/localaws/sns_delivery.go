package localaws

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"
)

// This file delivers notifications. Everything here runs with no lock held,
// on copies taken under snsService.mu (endpoint, snsNotification): to SQS
// through queueSink, to http and https subscribers in the background.

// envelope renders the JSON document SNS delivers when raw delivery is off,
// byte for byte in AWS's layout: two-space indent, " : " between key and
// value, keys in the order Type, MessageId, SequenceNumber (FIFO), TopicArn,
// Subject (if any), Message, Timestamp, SignatureVersion, Signature and
// SigningCertURL (standard topics only: AWS does not sign notifications of
// FIFO topics), UnsubscribeURL, then MessageAttributes (if any) in name order,
// each on its own line as compact {"Type":...,"Value":...}.
func (sn *snsService) envelope(sub *endpoint, n *snsNotification, protocol string) string {
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
		kv("SigningCertURL", "https://sns."+sn.region+".amazonaws.com/SimpleNotificationService-0000000000000000000000.pem", false)
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
func (sn *snsService) deliver(ep *endpoint, n *snsNotification) {
	switch ep.protocol {
	case "sqs":
		if err := sn.deliverSQS(ep.address, ep, n, ep.raw); err != nil {
			sn.log.Warn("sns delivery to sqs failed", "subscription_arn", ep.arn, "endpoint", ep.address, "err", err)
			sn.deadLetter(ep, n)
		}
	case "http", "https":
		body := sn.envelope(ep, n, ep.protocol)
		if ep.raw {
			body = n.messageFor(ep.protocol)
		}
		headers := map[string]string{
			"x-amz-sns-message-type":     "Notification",
			"x-amz-sns-message-id":       n.id,
			"x-amz-sns-topic-arn":        n.topicARN,
			"x-amz-sns-subscription-arn": ep.arn,
		}
		if ep.raw {
			headers["x-amz-sns-rawdelivery"] = "true"
		}
		sn.postAsync(*ep, n, body, headers)
	default:
		sn.log.Info("sns notification for email subscriber", "subscription_arn", ep.arn, "endpoint", ep.address, "subject", n.subject, "message", n.messageFor(ep.protocol))
	}
}

// deliverSQS stores a notification in the queue with the given ARN, as the
// envelope or, with raw delivery, as the message itself with its attributes
// turned into SQS message attributes.
func (sn *snsService) deliverSQS(queueARN string, ep *endpoint, n *snsNotification, raw bool) error {
	in := inbound{body: sn.envelope(ep, n, "sqs"), sent: n.at, groupID: n.groupID, dedupID: n.dedupID}
	if in.groupID == "" {
		// A notification of a standard topic in a FIFO queue: a group of
		// its own, deduplicated by its id.
		in.groupID, in.dedupID = n.id, n.id
	}
	if raw {
		in.body = n.messageFor("sqs")
		if len(n.attrs) > 0 {
			in.attrs = make(map[string]attrValue, len(n.attrs))
			for k, a := range n.attrs {
				v := attrValue{DataType: a.DataType, BinaryValue: a.BinaryValue}
				if a.DataType != "Binary" {
					sv := a.StringValue
					v.StringValue = &sv
				}
				in.attrs[k] = v
			}
		}
	}
	return sn.queues.deliver(queueARN, in)
}

// deadLetter sends an undeliverable notification to the subscription's
// dead-letter queue, if it has one, always as the envelope.
func (sn *snsService) deadLetter(ep *endpoint, n *snsNotification) {
	if ep.dlq == "" {
		return
	}
	if err := sn.deliverSQS(ep.dlq, ep, n, false); err != nil {
		sn.log.Warn("sns dead-letter delivery failed", "subscription_arn", ep.arn, "dead_letter_queue", ep.dlq, "err", err)
	}
}

// postAsync POSTs a message to an http subscriber in the background, retrying
// three times before giving up (and dead-lettering notifications). Closing the
// server cancels it at once; after Close nothing is posted.
func (sn *snsService) postAsync(ep endpoint, n *snsNotification, body string, headers map[string]string) {
	sn.life.goBackground(func() {
		ctx, cancel := sn.life.context()
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
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.address, strings.NewReader(body))
			if err != nil {
				lastErr = err
				break
			}
			req.Header.Set("Content-Type", "text/plain; charset=UTF-8")
			req.Header.Set("User-Agent", "Amazon Simple Notification Service Agent")
			for k, v := range headers {
				req.Header.Set(k, v)
			}
			resp, err := sn.client.Do(req)
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
		sn.log.Warn("sns delivery to http endpoint failed", "subscription_arn", ep.arn, "endpoint", ep.address, "err", lastErr)
		if n != nil {
			sn.deadLetter(&ep, n)
		}
	})
}

// sendConfirmation POSTs the SubscriptionConfirmation message with the
// subscription's token and the message id addSubscription chose.
func (sn *snsService) sendConfirmation(ep endpoint, token, id string) {
	subscribeURL := ep.baseURL + "/?Action=ConfirmSubscription&TopicArn=" + url.QueryEscape(ep.topicARN) + "&Token=" + token
	var b bytes.Buffer
	b.WriteString("{\n")
	pairs := [][2]string{
		{"Type", "SubscriptionConfirmation"},
		{"MessageId", id},
		{"Token", token},
		{"TopicArn", ep.topicARN},
		{"Message", "You have chosen to subscribe to the topic " + ep.topicARN + ".\nTo confirm the subscription, visit the SubscribeURL included in this message."},
		{"SubscribeURL", subscribeURL},
		{"Timestamp", sn.now().UTC().Format("2006-01-02T15:04:05.000Z")},
		{"SignatureVersion", "1"},
		{"Signature", fakeSignature},
		{"SigningCertURL", "https://sns." + sn.region + ".amazonaws.com/SimpleNotificationService-0000000000000000000000.pem"},
	}
	for i, p := range pairs {
		b.WriteString("  " + jsonString(p[0]) + " : " + jsonString(p[1]))
		if i < len(pairs)-1 {
			b.WriteString(",")
		}
		b.WriteString("\n")
	}
	b.WriteString("}")
	sn.postAsync(ep, nil, b.String(), map[string]string{
		"x-amz-sns-message-type": "SubscriptionConfirmation",
		"x-amz-sns-message-id":   id,
		"x-amz-sns-topic-arn":    ep.topicARN,
	})
}
