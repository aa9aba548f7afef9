package localaws

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// scanSeeds are inputs of the operations with a scanner: usual ones, and ones
// the scanner must leave to encoding/json.
var scanSeeds = []string{
	`{"QueueUrl":"http://h/0/q","Entries":[{"Id":"m0","MessageBody":"hello"},{"Id":"m1","MessageBody":"a \"b\" \u00e9 \ud83d\ude00","DelaySeconds":5}]}`,
	`{"QueueUrl":"http://h/0/q","Entries":[]}`,
	`{"QueueUrl":"http://h/0/q","MessageBody":"x","MessageGroupId":"g","MessageDeduplicationId":"d"}`,
	`{"QueueUrl":"http://h/0/q","MessageBody":"x","DelaySeconds":"7"}`,
	`{"QueueUrl":"http://h/0/q","MessageBody":"x","MessageAttributes":{"a":{"DataType":"String","StringValue":"v"}}}`,
	`{"QueueUrl":"http://h/0/q","MaxNumberOfMessages":10,"WaitTimeSeconds":"2","AttributeNames":["All"],"MessageAttributeNames":[]}`,
	`{"QueueUrl":"http://h/0/q","Entries":[{"Id":"d0","ReceiptHandle":"AAAA"},{"Id":"d1","ReceiptHandle":"BBBB","VisibilityTimeout":30}]}`,
	`{"QueueUrl":"http://h/0/q","ReceiptHandle":"AAAA"}`,
	` { "QueueUrl" : "q" , "ReceiptHandle" : "r" } `,
	`{"queueurl":"q"}`,
	`{"QueueUrl":null}`,
	`{"QueueUrl":"q","MaxNumberOfMessages":1.5}`,
	`{"QueueUrl":"q","MaxNumberOfMessages":1e3}`,
	`{"QueueUrl":"q","MaxNumberOfMessages":01}`,
	`{"QueueUrl":"q","MaxNumberOfMessages":-0}`,
	`{"QueueUrl":"q","MaxNumberOfMessages":"+1"}`,
	`{"QueueUrl":"q","MaxNumberOfMessages":"\u0031"}`,
	`{"QueueUrl":"q"} x`,
	`{"QueueUrl":"q",}`,
	`{"QueueUrl":"a\u0000b\\c\/d"}`,
	"{\"QueueUrl\":\"\xff\"}",
	"{\"QueueUrl\":\"a\tb\"}",
	`{"QueueUrl":"q","Entries":[{"Id":"m0","MessageBody":5}]}`,
	`[]`,
	``,
}

// scannedInputs returns a fresh value of every input type with a scanner.
func scannedInputs() []scanner {
	return []scanner{&sendMessageBatchInput{}, &sendMessageInput{}, &receiveMessageInput{}, &batchInput{}, &deleteMessageInput{}}
}

// checkScan requires that whenever a scanner accepts b, it reads what
// encoding/json reads.
func checkScan(t *testing.T, b []byte) {
	for _, in := range scannedInputs() {
		if !in.scan(b) {
			continue
		}
		want := reflect.New(reflect.TypeOf(in).Elem()).Interface()
		if err := json.Unmarshal(b, want); err != nil {
			t.Errorf("%T scanned %q, which encoding/json rejects: %v", in, b, err)
			continue
		}
		if !reflect.DeepEqual(in, want) {
			t.Errorf("%T scanned %q as %+v; encoding/json reads %+v", in, b, in, want)
		}
	}
}

func TestScanMatchesEncodingJSON(t *testing.T) {
	for _, seed := range scanSeeds {
		checkScan(t, []byte(seed))
	}
	// The usual inputs must take the fast path.
	for _, tt := range []struct {
		in   scanner
		body string
	}{
		{&sendMessageBatchInput{}, scanSeeds[0]},
		{&sendMessageInput{}, scanSeeds[2]},
		{&receiveMessageInput{}, scanSeeds[5]},
		{&batchInput{}, scanSeeds[6]},
		{&deleteMessageInput{}, scanSeeds[7]},
	} {
		if !tt.in.scan([]byte(tt.body)) {
			t.Errorf("%T.scan(%s) = false; want true", tt.in, tt.body)
		}
	}
}

func FuzzScanMatchesEncodingJSON(f *testing.F) {
	for _, seed := range scanSeeds {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkScan(t, b) })
}

// TestAppendMatchesEncodingJSON requires the reflection-free renderings of the
// busiest outputs to be byte for byte what encoding/json renders.
func TestAppendMatchesEncodingJSON(t *testing.T) {
	odd := "a\"b\\c\n\r\t\b\f\x01\x1f <>& é \u2028\u2029 \xff\xfe 😀"
	sv := "v"
	tests := []jsonAppender{
		sendMessageBatchOutput{Successful: []sendOutput{}, Failed: []batchError{}},
		sendMessageBatchOutput{
			Successful: []sendOutput{{ID: "m0", MessageID: "id", MD5OfMessageBody: "md5"}, {ID: odd, MessageID: odd, MD5OfMessageBody: "x", MD5OfMessageAttributes: "y", MD5OfMessageSystemAttributes: "z", SequenceNumber: "1"}},
			Failed:     []batchError{{ID: "m2", SenderFault: true, Code: "C", Message: odd}, {ID: "m3", Code: "D"}},
		},
		sendOutput{MessageID: "id", MD5OfMessageBody: "md5"},
		sendOutput{MessageID: "id", MD5OfMessageBody: "md5", SequenceNumber: "7"},
		deleteMessageBatchOutput{Successful: []idEntry{}, Failed: []batchError{}},
		deleteMessageBatchOutput{Successful: []idEntry{{"d0"}, {odd}}, Failed: []batchError{{ID: "d2", SenderFault: true, Code: "ReceiptHandleIsInvalid", Message: "bad"}}},
		receiveMessageOutput{},
		receiveMessageOutput{Messages: []outMessage{{MessageID: "a", ReceiptHandle: "r", MD5OfBody: "m", Body: odd}, {MessageID: "b", ReceiptHandle: "s", MD5OfBody: "n", Body: "plain"}}},
		receiveMessageOutput{Messages: []outMessage{{MessageID: "a", ReceiptHandle: "r", MD5OfBody: "m", Body: "<b>", Attributes: map[string]string{"SentTimestamp": "1"},
			MD5OfMessageAttributes: "q", MessageAttributes: map[string]attrValue{"k": {DataType: "String", StringValue: &sv}, "bin": {DataType: "Binary", BinaryValue: []byte{1, 2}}}}}},
	}
	for _, out := range tests {
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			t.Fatal(err)
		}
		if got := string(out.appendJSON(nil)); got != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("%T.appendJSON =\n%s\nwant\n%s", out, got, want.String())
		}
	}
}
