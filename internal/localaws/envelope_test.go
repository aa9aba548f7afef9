package localaws

import (
	"testing"
	"time"
)

// TestEnvelopeBytes pins the exact bytes of the SNS envelope delivered to SQS
// for a known notification, against bodies AWS delivers: standard topics carry
// the signature fields, FIFO topics carry SequenceNumber and no signature
// fields, and message attributes follow UnsubscribeURL in name order.
func TestEnvelopeBytes(t *testing.T) {
	s := New(WithRegion("eu-west-1"))
	at := time.Date(2024, 5, 6, 7, 8, 9, 123_000_000, time.UTC)
	sub := &endpoint{arn: "arn:aws:sns:eu-west-1:000000000000:orders:5f0c", baseURL: "http://127.0.0.1:4566"}
	attrs := map[string]snsAttr{
		"size":  {DataType: "Number", StringValue: "3"},
		"color": {DataType: "String", StringValue: `blue "ish"`},
		"raw":   {DataType: "Binary", BinaryValue: []byte{0, 1, 2}},
	}
	tests := []struct {
		name string
		n    snsNotification
		want string
	}{
		{
			name: "standard with subject",
			n: snsNotification{id: "0b7d0c2e-1c3a-4f5e-9d6b-7a8c9d0e1f2a", topicARN: "arn:aws:sns:eu-west-1:000000000000:orders",
				subject: "greeting", message: `{"hello":"world"}`, at: at},
			want: `{
  "Type" : "Notification",
  "MessageId" : "0b7d0c2e-1c3a-4f5e-9d6b-7a8c9d0e1f2a",
  "TopicArn" : "arn:aws:sns:eu-west-1:000000000000:orders",
  "Subject" : "greeting",
  "Message" : "{\"hello\":\"world\"}",
  "Timestamp" : "2024-05-06T07:08:09.123Z",
  "SignatureVersion" : "1",
  "Signature" : "bG9jYWxhd3MgZG9lcyBub3Qgc2lnbiBtZXNzYWdlcw==",
  "SigningCertURL" : "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
  "UnsubscribeURL" : "http://127.0.0.1:4566/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:000000000000:orders:5f0c"
}`,
		},
		{
			name: "standard with attributes",
			n: snsNotification{id: "0b7d0c2e-1c3a-4f5e-9d6b-7a8c9d0e1f2a", topicARN: "arn:aws:sns:eu-west-1:000000000000:orders",
				message: "hi", attrs: attrs, at: at},
			want: `{
  "Type" : "Notification",
  "MessageId" : "0b7d0c2e-1c3a-4f5e-9d6b-7a8c9d0e1f2a",
  "TopicArn" : "arn:aws:sns:eu-west-1:000000000000:orders",
  "Message" : "hi",
  "Timestamp" : "2024-05-06T07:08:09.123Z",
  "SignatureVersion" : "1",
  "Signature" : "bG9jYWxhd3MgZG9lcyBub3Qgc2lnbiBtZXNzYWdlcw==",
  "SigningCertURL" : "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
  "UnsubscribeURL" : "http://127.0.0.1:4566/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:000000000000:orders:5f0c",
  "MessageAttributes" : {
    "color" : {"Type":"String","Value":"blue \"ish\""},
    "raw" : {"Type":"Binary","Value":"AAEC"},
    "size" : {"Type":"Number","Value":"3"}
  }
}`,
		},
		{
			name: "fifo with subject and attributes",
			n: snsNotification{id: "0b7d0c2e-1c3a-4f5e-9d6b-7a8c9d0e1f2a", seq: "10000000000000004000", topicARN: "arn:aws:sns:eu-west-1:000000000000:orders.fifo",
				subject: "greeting", message: "hi", attrs: map[string]snsAttr{"key1": {DataType: "String", StringValue: "value1"}}, at: at},
			want: `{
  "Type" : "Notification",
  "MessageId" : "0b7d0c2e-1c3a-4f5e-9d6b-7a8c9d0e1f2a",
  "SequenceNumber" : "10000000000000004000",
  "TopicArn" : "arn:aws:sns:eu-west-1:000000000000:orders.fifo",
  "Subject" : "greeting",
  "Message" : "hi",
  "Timestamp" : "2024-05-06T07:08:09.123Z",
  "UnsubscribeURL" : "http://127.0.0.1:4566/?Action=Unsubscribe&SubscriptionArn=arn:aws:sns:eu-west-1:000000000000:orders:5f0c",
  "MessageAttributes" : {
    "key1" : {"Type":"String","Value":"value1"}
  }
}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.sns.envelope(sub, &tt.n, "sqs"); got != tt.want {
				t.Errorf("envelope =\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}
