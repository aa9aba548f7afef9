package localaws_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sns"
	snstypes "github.com/aws/aws-sdk-go-v2/service/sns/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
)

// snsCase is one conformance case for SNS (and its delivery to SQS).
type snsCase struct {
	name string
	run  func(t *testing.T, tg target, c *sns.Client, q *sqs.Client)
}

// subscribeQueue creates a queue and subscribes it to the topic.
func subscribeQueue(t *testing.T, c *sns.Client, q *sqs.Client, topicARN string, attrs map[string]string) (queueURL, subARN string) {
	t.Helper()
	name := uniqueName(t, "")
	qattrs := map[string]string(nil)
	if strings.HasSuffix(topicARN, ".fifo") {
		name += ".fifo"
		qattrs = map[string]string{"FifoQueue": "true"}
	}
	u := createQueue(t, q, name, qattrs)
	out := must(c.Subscribe(ctxT(t), &sns.SubscribeInput{TopicArn: aws.String(topicARN), Protocol: aws.String("sqs"), Endpoint: aws.String(queueARN(t, q, u)), Attributes: attrs, ReturnSubscriptionArn: true}))
	return u, aws.ToString(out.SubscriptionArn)
}

func createTopic(t *testing.T, c *sns.Client, suffix string, attrs map[string]string) string {
	t.Helper()
	return aws.ToString(must(c.CreateTopic(ctxT(t), &sns.CreateTopicInput{Name: aws.String(uniqueName(t, suffix)), Attributes: attrs})).TopicArn)
}

func strAttr(v string) snstypes.MessageAttributeValue {
	return snstypes.MessageAttributeValue{DataType: aws.String("String"), StringValue: aws.String(v)}
}

func numAttr(v string) snstypes.MessageAttributeValue {
	return snstypes.MessageAttributeValue{DataType: aws.String("Number"), StringValue: aws.String(v)}
}

// envelopeRE is the layout of a notification as SNS delivers it to SQS.
var envelopeRE = regexp.MustCompile(`^\{\n  "Type" : "Notification",\n  "MessageId" : "[0-9a-f-]{36}",\n  "TopicArn" : "[^"]+",\n  "Subject" : "greeting",\n  "Message" : "hello \\"world\\"",\n  "Timestamp" : "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",\n  "SignatureVersion" : "1",\n  "Signature" : "[^"]+",\n  "SigningCertURL" : "https://sns\.us-east-1\.amazonaws\.com/[^"]+\.pem",\n  "UnsubscribeURL" : "[^"]+\?Action=Unsubscribe&SubscriptionArn=[^"]+",\n  "MessageAttributes" : \{\n    "color" : \{"Type":"String","Value":"blue"\},\n    "size" : \{"Type":"Number","Value":"3"\}\n  \}\n\}$`)

// fifoEnvelopeRE is the layout of a notification of a FIFO topic as SNS
// delivers it to SQS: with SequenceNumber and without the signature fields.
var fifoEnvelopeRE = regexp.MustCompile(`^\{\n  "Type" : "Notification",\n  "MessageId" : "[0-9a-f-]{36}",\n  "SequenceNumber" : "(\d+)",\n  "TopicArn" : "[^"]+\.fifo",\n  "Message" : "hello",\n  "Timestamp" : "\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z",\n  "UnsubscribeURL" : "[^"]+\?Action=Unsubscribe&SubscriptionArn=[^"]+",\n  "MessageAttributes" : \{\n    "color" : \{"Type":"String","Value":"blue"\}\n  \}\n\}$`)

var snsCases = []snsCase{
	{name: "topic lifecycle", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, "", nil)
		if again := createTopic(t, c, "", nil); again == arn {
			t.Errorf("two names gave one topic")
		}
		same := aws.ToString(must(c.CreateTopic(ctxT(t), &sns.CreateTopicInput{Name: aws.String(arn[strings.LastIndex(arn, ":")+1:])})).TopicArn)
		if same != arn {
			t.Errorf("CreateTopic of an existing name = %s; want %s", same, arn)
		}
		found := false
		p := sns.NewListTopicsPaginator(c, &sns.ListTopicsInput{})
		for p.HasMorePages() {
			for _, tp := range must(p.NextPage(ctxT(t))).Topics {
				found = found || aws.ToString(tp.TopicArn) == arn
			}
		}
		if !found {
			t.Errorf("ListTopics does not list %s", arn)
		}
		must(c.SetTopicAttributes(ctxT(t), &sns.SetTopicAttributesInput{TopicArn: aws.String(arn), AttributeName: aws.String("DisplayName"), AttributeValue: aws.String("Orders")}))
		attrs := must(c.GetTopicAttributes(ctxT(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})).Attributes
		if attrs["DisplayName"] != "Orders" || attrs["TopicArn"] != arn {
			t.Errorf("attributes = %v; want DisplayName Orders and TopicArn %s", attrs, arn)
		}
		must(c.DeleteTopic(ctxT(t), &sns.DeleteTopicInput{TopicArn: aws.String(arn)}))
		_, err := c.GetTopicAttributes(ctxT(t), &sns.GetTopicAttributesInput{TopicArn: aws.String(arn)})
		var nf *snstypes.NotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("GetTopicAttributes of a deleted topic: %v; want NotFoundException", err)
		}
		_, err = c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("x")})
		if !errors.As(err, &nf) {
			t.Errorf("Publish to a deleted topic: %v; want NotFoundException", err)
		}
		_, err = c.CreateTopic(ctxT(t), &sns.CreateTopicInput{Name: aws.String("bad name!")})
		var inv *snstypes.InvalidParameterException
		if !errors.As(err, &inv) {
			t.Errorf("CreateTopic with a bad name: %v; want InvalidParameterException", err)
		}
	}},
	{name: "publish to sqs in the AWS envelope", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, "", nil)
		u, subARN := subscribeQueue(t, c, q, arn, nil)
		pub := must(c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Subject: aws.String("greeting"), Message: aws.String(`hello "world"`),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"color": strAttr("blue"), "size": numAttr("3")}}))
		msgs := receive(t, q, u, 10, 30, 2)
		if len(msgs) != 1 {
			t.Fatalf("queue got %d messages; want 1", len(msgs))
		}
		body := aws.ToString(msgs[0].Body)
		if !envelopeRE.MatchString(body) {
			t.Errorf("envelope does not have AWS's shape:\n%s", body)
		}
		var env map[string]any
		if err := json.Unmarshal([]byte(body), &env); err != nil {
			t.Fatalf("envelope is not JSON: %v", err)
		}
		if env["MessageId"] != aws.ToString(pub.MessageId) || env["TopicArn"] != arn || !strings.Contains(env["UnsubscribeURL"].(string), subARN) {
			t.Errorf("envelope = %v; want message id %s, topic %s and subscription %s", env, aws.ToString(pub.MessageId), arn, subARN)
		}
		if len(msgs[0].MessageAttributes) != 0 {
			t.Errorf("non-raw delivery set SQS message attributes %v", msgs[0].MessageAttributes)
		}
		subs := must(c.ListSubscriptionsByTopic(ctxT(t), &sns.ListSubscriptionsByTopicInput{TopicArn: aws.String(arn)}))
		if len(subs.Subscriptions) != 1 || aws.ToString(subs.Subscriptions[0].SubscriptionArn) != subARN || aws.ToString(subs.Subscriptions[0].Protocol) != "sqs" {
			t.Errorf("ListSubscriptionsByTopic = %+v; want the one sqs subscription", subs.Subscriptions)
		}
		all := must(c.ListSubscriptions(ctxT(t), &sns.ListSubscriptionsInput{}))
		if len(all.Subscriptions) == 0 {
			t.Errorf("ListSubscriptions is empty")
		}
		must(c.Unsubscribe(ctxT(t), &sns.UnsubscribeInput{SubscriptionArn: aws.String(subARN)}))
		must(c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("after")}))
		if got := receive(t, q, u, 10, 30, 0); len(got) != 0 {
			t.Errorf("queue got %v after Unsubscribe; want nothing", bodies(got))
		}
	}},
	{name: "raw delivery maps message attributes", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, "", nil)
		u, subARN := subscribeQueue(t, c, q, arn, map[string]string{"RawMessageDelivery": "true"})
		attrs := must(c.GetSubscriptionAttributes(ctxT(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(subARN)})).Attributes
		if attrs["RawMessageDelivery"] != "true" || attrs["TopicArn"] != arn {
			t.Errorf("subscription attributes = %v", attrs)
		}
		must(c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("raw body"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"color": strAttr("red"), "n": numAttr("7"),
				"list": {DataType: aws.String("String.Array"), StringValue: aws.String(`["a","b"]`)}}}))
		msgs := receive(t, q, u, 10, 30, 2)
		if len(msgs) != 1 || aws.ToString(msgs[0].Body) != "raw body" {
			t.Fatalf("queue got %v; want [raw body]", bodies(msgs))
		}
		got := msgs[0].MessageAttributes
		if aws.ToString(got["color"].StringValue) != "red" || aws.ToString(got["n"].DataType) != "Number" || aws.ToString(got["list"].DataType) != "String.Array" {
			t.Errorf("SQS message attributes = %+v; want color, n and list mapped", got)
		}
	}},
	{name: "filter policies", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, "", nil)
		attrPolicy := `{"kind":["order"],"region":[{"prefix":"eu-"}],"total":[{"numeric":[">",100,"<=",500]}],"status":[{"anything-but":["cancelled","void"]}],"vip":[{"exists":false}]}`
		ua, _ := subscribeQueue(t, c, q, arn, map[string]string{"FilterPolicy": attrPolicy, "RawMessageDelivery": "true"})
		orPolicy := `{"$or":[{"source":["web"]},{"priority":[{"numeric":[">=",5]}]}]}`
		uo, _ := subscribeQueue(t, c, q, arn, map[string]string{"FilterPolicy": orPolicy, "RawMessageDelivery": "true"})
		bodyPolicy := `{"order":{"customer":{"tier":["gold"]},"sku":[{"suffix":"-X"}]}}`
		ub, _ := subscribeQueue(t, c, q, arn, map[string]string{"FilterPolicy": bodyPolicy, "FilterPolicyScope": "MessageBody", "RawMessageDelivery": "true"})
		publish := func(msg string, attrs map[string]snstypes.MessageAttributeValue) {
			must(c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(msg), MessageAttributes: attrs}))
		}
		publish("match-attrs", map[string]snstypes.MessageAttributeValue{"kind": strAttr("order"), "region": strAttr("eu-west-1"), "total": numAttr("250"), "status": strAttr("new")})
		publish("wrong-status", map[string]snstypes.MessageAttributeValue{"kind": strAttr("order"), "region": strAttr("eu-west-1"), "total": numAttr("250"), "status": strAttr("void")})
		publish("too-big", map[string]snstypes.MessageAttributeValue{"kind": strAttr("order"), "region": strAttr("eu-west-1"), "total": numAttr("501"), "status": strAttr("new")})
		publish("vip", map[string]snstypes.MessageAttributeValue{"kind": strAttr("order"), "region": strAttr("eu-west-1"), "total": numAttr("250"), "status": strAttr("new"), "vip": strAttr("y")})
		publish("or-web", map[string]snstypes.MessageAttributeValue{"source": strAttr("web")})
		publish("or-priority", map[string]snstypes.MessageAttributeValue{"priority": numAttr("9")})
		publish(`{"order":{"customer":{"tier":"gold"},"sku":"A-X"}}`, nil)
		publish(`{"order":{"customer":{"tier":"silver"},"sku":"A-X"}}`, nil)
		publish("not json", nil)
		check := func(name, u string, want ...string) {
			got := bodies(receive(t, q, u, 10, 30, 0))
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Errorf("%s subscription got %q; want %q", name, got, want)
			}
		}
		check("attribute", ua, "match-attrs")
		check("$or", uo, "or-web", "or-priority")
		check("body", ub, `{"order":{"customer":{"tier":"gold"},"sku":"A-X"}}`)
		_, err := c.Subscribe(ctxT(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:x"),
			Attributes: map[string]string{"FilterPolicy": `{"a":[{"bogus-op":1}]}`}})
		var inv *snstypes.InvalidParameterException
		if !errors.As(err, &inv) {
			t.Errorf("Subscribe with an invalid filter policy: %v; want InvalidParameterException", err)
		}
	}},
	{name: "publish batch", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, "", nil)
		u, _ := subscribeQueue(t, c, q, arn, map[string]string{"RawMessageDelivery": "true"})
		out := must(c.PublishBatch(ctxT(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
			{Id: aws.String("1"), Message: aws.String("one")},
			{Id: aws.String("2"), Message: aws.String("")},
			{Id: aws.String("3"), Message: aws.String("three")},
		}}))
		if len(out.Successful) != 2 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "2" {
			t.Errorf("PublishBatch: %d ok, failed %+v; want 2 ok and entry 2 failed", len(out.Successful), out.Failed)
		}
		if got := bodies(receive(t, q, u, 10, 30, 2)); strings.Join(got, ",") != "one,three" {
			t.Errorf("queue got %v; want one,three", got)
		}
	}},
	{name: "fifo topic to fifo queue", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, ".fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
		u, _ := subscribeQueue(t, c, q, arn, map[string]string{"RawMessageDelivery": "true"})
		var seqs []string
		for _, m := range []string{"1", "2", "1"} {
			out := must(c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String(m), MessageGroupId: aws.String("g")}))
			seqs = append(seqs, aws.ToString(out.SequenceNumber))
		}
		if seqs[0] == "" || seqs[2] != seqs[0] {
			t.Errorf("sequence numbers %v; want the duplicate to repeat the first", seqs)
		}
		got := receive(t, q, u, 10, 30, 2)
		if strings.Join(bodies(got), ",") != "1,2" || got[0].Attributes["MessageGroupId"] != "g" {
			t.Errorf("queue got %v (%v); want 1,2 in group g", bodies(got), got[0].Attributes)
		}
		_, err := c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("x")})
		var inv *snstypes.InvalidParameterException
		if !errors.As(err, &inv) {
			t.Errorf("FIFO publish without a group: %v; want InvalidParameterException", err)
		}
	}},
	{name: "fifo topic envelope", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, ".fifo", map[string]string{"FifoTopic": "true", "ContentBasedDeduplication": "true"})
		u, _ := subscribeQueue(t, c, q, arn, nil)
		out := must(c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("hello"), MessageGroupId: aws.String("g"),
			MessageAttributes: map[string]snstypes.MessageAttributeValue{"color": strAttr("blue")}}))
		got := receive(t, q, u, 10, 30, 1)
		if len(got) != 1 {
			t.Fatalf("queue got %d messages; want 1", len(got))
		}
		body := aws.ToString(got[0].Body)
		m := fifoEnvelopeRE.FindStringSubmatch(body)
		if m == nil {
			t.Fatalf("FIFO envelope does not have AWS's shape:\n%s", body)
		}
		if m[1] != aws.ToString(out.SequenceNumber) {
			t.Errorf("envelope SequenceNumber = %s; want %s from Publish", m[1], aws.ToString(out.SequenceNumber))
		}
	}},
	{name: "http subscription with confirmation", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		type post struct {
			kind string
			body map[string]any
		}
		posts := make(chan post, 10)
		hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			var m map[string]any
			_ = json.Unmarshal(b, &m)
			posts <- post{r.Header.Get("x-amz-sns-message-type"), m}
		}))
		defer hs.Close()
		arn := createTopic(t, c, "", nil)
		sub := must(c.Subscribe(ctxT(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("http"), Endpoint: aws.String(hs.URL + "/hook")}))
		if got := aws.ToString(sub.SubscriptionArn); got != "pending confirmation" {
			t.Errorf("Subscribe(http) = %q; want pending confirmation", got)
		}
		conf := <-posts
		if conf.kind != "SubscriptionConfirmation" || conf.body["Token"] == nil || conf.body["SubscribeURL"] == nil {
			t.Fatalf("first POST = %s %v; want a SubscriptionConfirmation", conf.kind, conf.body)
		}
		// Visiting SubscribeURL confirms, as with AWS.
		resp, err := http.Get(conf.body["SubscribeURL"].(string))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(b), "<SubscriptionArn>"+arn+":") {
			t.Fatalf("GET SubscribeURL = %d %s", resp.StatusCode, b)
		}
		must(c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("to http")}))
		note := <-posts
		if note.kind != "Notification" || note.body["Message"] != "to http" || note.body["Type"] != "Notification" {
			t.Errorf("notification POST = %s %v", note.kind, note.body)
		}
		// ConfirmSubscription with a wrong token is refused.
		_, err = c.ConfirmSubscription(ctxT(t), &sns.ConfirmSubscriptionInput{TopicArn: aws.String(arn), Token: aws.String("nope")})
		var inv *snstypes.InvalidParameterException
		if !errors.As(err, &inv) {
			t.Errorf("ConfirmSubscription with a wrong token: %v; want InvalidParameterException", err)
		}
	}},
	{name: "subscription attributes and redrive", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, "", nil)
		dlq := createQueue(t, q, uniqueName(t, "-dlq"), nil)
		gone := createQueue(t, q, uniqueName(t, "-gone"), nil)
		goneARN := queueARN(t, q, gone)
		sub := aws.ToString(must(c.Subscribe(ctxT(t), &sns.SubscribeInput{TopicArn: aws.String(arn), Protocol: aws.String("sqs"), Endpoint: aws.String(goneARN), ReturnSubscriptionArn: true})).SubscriptionArn)
		must(c.SetSubscriptionAttributes(ctxT(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub), AttributeName: aws.String("RedrivePolicy"),
			AttributeValue: aws.String(fmt.Sprintf(`{"deadLetterTargetArn":"%s"}`, queueARN(t, q, dlq)))}))
		must(q.DeleteQueue(ctxT(t), &sqs.DeleteQueueInput{QueueUrl: aws.String(gone)}))
		must(c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Message: aws.String("undeliverable")}))
		got := receive(t, q, dlq, 10, 30, 2)
		if len(got) != 1 || !strings.Contains(aws.ToString(got[0].Body), `"Message" : "undeliverable"`) {
			t.Errorf("subscription dead-letter queue got %v; want the notification", bodies(got))
		}
		_, err := c.SetSubscriptionAttributes(ctxT(t), &sns.SetSubscriptionAttributesInput{SubscriptionArn: aws.String(sub), AttributeName: aws.String("Bogus"), AttributeValue: aws.String("x")})
		var inv *snstypes.InvalidParameterException
		if !errors.As(err, &inv) {
			t.Errorf("SetSubscriptionAttributes(Bogus): %v; want InvalidParameterException", err)
		}
		_, err = c.GetSubscriptionAttributes(ctxT(t), &sns.GetSubscriptionAttributesInput{SubscriptionArn: aws.String(arn + ":no-such")})
		var nf *snstypes.NotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("GetSubscriptionAttributes of a missing subscription: %v; want NotFoundException", err)
		}
	}},
	{name: "subject with a line break or control character is rejected", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		// "Subjects must be UTF-8 text with no line breaks or control characters."
		arn := createTopic(t, c, "", nil)
		u, _ := subscribeQueue(t, c, q, arn, nil)
		var inv *snstypes.InvalidParameterException
		for _, subject := range []string{"two\nlines", "carriage\rreturn", "line\u2028separator", "tab\tbed", "bell\a"} {
			_, err := c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn), Subject: aws.String(subject), Message: aws.String("m")})
			if !errors.As(err, &inv) {
				t.Errorf("Publish with Subject %q: %v; want InvalidParameterException", subject, err)
			}
		}
		out := must(c.PublishBatch(ctxT(t), &sns.PublishBatchInput{TopicArn: aws.String(arn), PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{
			{Id: aws.String("ok"), Message: aws.String("kept"), Subject: aws.String("one line, punctuation & unicode: \u00e9")},
			{Id: aws.String("bad"), Message: aws.String("dropped"), Subject: aws.String("two\nlines")},
		}}))
		if len(out.Successful) != 1 || len(out.Failed) != 1 || aws.ToString(out.Failed[0].Id) != "bad" || aws.ToString(out.Failed[0].Code) != "InvalidParameter" {
			t.Errorf("PublishBatch: %d ok, failed %+v; want entry bad failed with InvalidParameter", len(out.Successful), out.Failed)
		}
		got := receive(t, q, u, 10, 30, 2)
		if len(got) != 1 || !strings.Contains(aws.ToString(got[0].Body), `"Message" : "kept"`) {
			t.Errorf("queue got %q; want only the notification with a valid subject", bodies(got))
		}
	}},
	{name: "a TopicArn that is not a topic ARN is an invalid parameter", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, "", nil)
		var inv *snstypes.InvalidParameterException
		for _, bad := range []string{"not-an-arn", "arn:aws:sqs:us-east-1:000000000000:a-queue", "urn:aws:sns:us-east-1:000000000000:t", arn + ":extra", "arn:aws:sns:eu-west-1:000000000000:elsewhere"} {
			_, err := c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(bad), Message: aws.String("m")})
			if !errors.As(err, &inv) {
				t.Errorf("Publish to TopicArn %q: %v; want InvalidParameterException", bad, err)
			}
		}
		bad := aws.String("not-an-arn")
		_, err := c.GetTopicAttributes(ctxT(t), &sns.GetTopicAttributesInput{TopicArn: bad})
		if !errors.As(err, &inv) {
			t.Errorf("GetTopicAttributes(not-an-arn): %v; want InvalidParameterException", err)
		}
		_, err = c.Subscribe(ctxT(t), &sns.SubscribeInput{TopicArn: bad, Protocol: aws.String("sqs"), Endpoint: aws.String("arn:aws:sqs:us-east-1:000000000000:q")})
		if !errors.As(err, &inv) {
			t.Errorf("Subscribe(not-an-arn): %v; want InvalidParameterException", err)
		}
		_, err = c.PublishBatch(ctxT(t), &sns.PublishBatchInput{TopicArn: bad, PublishBatchRequestEntries: []snstypes.PublishBatchRequestEntry{{Id: aws.String("1"), Message: aws.String("m")}}})
		if !errors.As(err, &inv) {
			t.Errorf("PublishBatch(not-an-arn): %v; want InvalidParameterException", err)
		}
		// A well-formed ARN of no topic is not found.
		_, err = c.Publish(ctxT(t), &sns.PublishInput{TopicArn: aws.String(arn + "-missing"), Message: aws.String("m")})
		var nf *snstypes.NotFoundException
		if !errors.As(err, &nf) {
			t.Errorf("Publish to a topic that does not exist: %v; want NotFoundException", err)
		}
	}},
	{name: "fault injection", run: func(t *testing.T, tg target, c *sns.Client, q *sqs.Client) {
		arn := createTopic(t, c, "", nil)
		// ListTagsForResource is used by no other case.
		tg.faults(t, `{"action":"ListTagsForResource","code":"Throttled","status":429,"times":1}`)
		_, err := c.ListTagsForResource(ctxT(t), &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)})
		if apiCode(err) != "Throttled" {
			t.Errorf("ListTagsForResource with a fault: %v; want Throttled", err)
		}
		if _, err := c.ListTagsForResource(ctxT(t), &sns.ListTagsForResourceInput{ResourceArn: aws.String(arn)}); err != nil {
			t.Errorf("ListTagsForResource after the fault: %v", err)
		}
	}},
}
