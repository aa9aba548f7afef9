package localaws

import (
	"bytes"
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// The busiest operations (sending, receiving and deleting messages) read
// their inputs and write their outputs without reflection: encoding/json was
// the largest cost of the server in profiles. Both paths are checked against
// encoding/json byte for byte (fastjson_test.go).

// jsonScanner reads the JSON inputs of the busiest operations (sending,
// receiving and deleting messages) without reflection. It accepts only what it
// reads exactly as encoding/json would: member names spelled as the service
// model spells them, strings, integers and arrays. On anything else (another
// spelling, null, a fraction, a nested map, malformed input) it fails, and the
// caller decodes with encoding/json instead, which also words the errors.
type jsonScanner struct {
	b  []byte
	i  int
	ok bool
}

func newJSONScanner(b []byte) *jsonScanner { return &jsonScanner{b: b, ok: true} }

func (s *jsonScanner) fail() bool { s.ok = false; return false }

func (s *jsonScanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips white space and then c, or fails.
func (s *jsonScanner) consume(c byte) bool {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return s.fail()
}

// peek skips white space and returns the next byte (0 at the end).
func (s *jsonScanner) peek() byte {
	s.ws()
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

// end reports whether only white space is left and nothing failed.
func (s *jsonScanner) end() bool {
	s.ws()
	return s.ok && s.i == len(s.b)
}

// object calls member with each member name; member must read the value.
func (s *jsonScanner) object(member func(name string) bool) bool {
	if !s.consume('{') {
		return false
	}
	if s.peek() == '}' {
		s.i++
		return true
	}
	for {
		name, ok := s.str()
		if !ok || !s.consume(':') || !member(name) {
			return s.fail()
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return true
		default:
			return s.fail()
		}
	}
}

// array calls elem for each element; elem must read it.
func (s *jsonScanner) array(elem func() bool) bool {
	if !s.consume('[') {
		return false
	}
	if s.peek() == ']' {
		s.i++
		return true
	}
	for {
		if !elem() {
			return s.fail()
		}
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			s.i++
			return true
		default:
			return s.fail()
		}
	}
}

// str reads a string.
func (s *jsonScanner) str() (string, bool) {
	if !s.consume('"') {
		return "", false
	}
	start, escaped, ascii := s.i, false, true
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !ascii && !utf8.Valid(raw) {
				return "", s.fail() // encoding/json would replace the bad bytes
			}
			if !escaped {
				return string(raw), true
			}
			var v string
			if json.Unmarshal(s.b[start-1:s.i], &v) != nil {
				return "", s.fail()
			}
			return v, true
		case c == '\\':
			escaped = true
			s.i++ // the escaped byte is never the closing quote
		case c < 0x20:
			return "", s.fail()
		case c >= 0x80:
			ascii = false
		}
	}
	return "", s.fail()
}

// strings reads an array of strings.
func (s *jsonScanner) strings() ([]string, bool) {
	out := []string{}
	ok := s.array(func() bool {
		v, ok := s.str()
		out = append(out, v)
		return ok
	})
	return out, ok
}

// integer reads an integer sent as a number (JSON protocol) or a string
// (query protocol), as flexInt does.
func (s *jsonScanner) integer() (flexInt, bool) {
	if s.peek() == '"' {
		for j := s.i + 1; j < len(s.b) && s.b[j] != '"'; j++ {
			if s.b[j] == '\\' {
				return flexInt{}, s.fail() // flexInt reads the raw text
			}
		}
		v, ok := s.str()
		if !ok {
			return flexInt{}, false
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return flexInt{}, s.fail()
		}
		return flexInt{Set: true, Value: n}, true
	}
	start := s.i
	for s.i < len(s.b) && (s.b[s.i] == '-' || s.b[s.i] >= '0' && s.b[s.i] <= '9') {
		s.i++
	}
	num := s.b[start:s.i]
	if d := bytesTrimMinus(num); len(d) > 1 && d[0] == '0' {
		return flexInt{}, s.fail() // JSON has no leading zeros
	}
	n, err := strconv.ParseInt(string(num), 10, 64)
	if err != nil {
		return flexInt{}, s.fail()
	}
	return flexInt{Set: true, Value: n}, true
}

func bytesTrimMinus(b []byte) []byte {
	if len(b) > 0 && b[0] == '-' {
		return b[1:]
	}
	return b
}

// The scanners of the busiest inputs. Each reports whether it read the whole
// input; on false the input is left as it was.

func (in *sendMessageBatchInput) scan(b []byte) bool {
	var x sendMessageBatchInput
	s := newJSONScanner(b)
	s.object(func(name string) bool {
		var ok bool
		switch name {
		case "QueueUrl":
			x.QueueURL, ok = s.str()
		case "Entries":
			x.Entries = []sendInput{}
			ok = s.array(func() bool {
				var en sendInput
				if !en.scanFields(s, true) {
					return false
				}
				x.Entries = append(x.Entries, en)
				return true
			})
		}
		return ok
	})
	if !s.end() {
		return false
	}
	*in = x
	return true
}

func (in *sendMessageInput) scan(b []byte) bool {
	var x sendMessageInput
	s := newJSONScanner(b)
	s.object(func(name string) bool {
		if name == "QueueUrl" {
			var ok bool
			x.QueueURL, ok = s.str()
			return ok
		}
		return x.sendInput.scanField(s, name, false)
	})
	if !s.end() {
		return false
	}
	*in = x
	return true
}

// scanFields reads a batch entry object.
func (en *sendInput) scanFields(s *jsonScanner, batch bool) bool {
	return s.object(func(name string) bool { return en.scanField(s, name, batch) })
}

// scanField reads one member of a message to send; messages with attributes
// are left to encoding/json.
func (en *sendInput) scanField(s *jsonScanner, name string, batch bool) bool {
	var ok bool
	switch name {
	case "Id":
		if !batch {
			return false
		}
		en.ID, ok = s.str()
	case "MessageBody":
		var v string
		v, ok = s.str()
		en.MessageBody = &v
	case "DelaySeconds":
		en.DelaySeconds, ok = s.integer()
	case "MessageDeduplicationId":
		en.MessageDeduplicationID, ok = s.str()
	case "MessageGroupId":
		en.MessageGroupID, ok = s.str()
	}
	return ok
}

func (in *receiveMessageInput) scan(b []byte) bool {
	var x receiveMessageInput
	s := newJSONScanner(b)
	s.object(func(name string) bool {
		var ok bool
		switch name {
		case "QueueUrl":
			x.QueueURL, ok = s.str()
		case "AttributeNames":
			x.AttributeNames, ok = s.strings()
		case "MessageSystemAttributeNames":
			x.MessageSystemAttributeNames, ok = s.strings()
		case "MessageAttributeNames":
			x.MessageAttributeNames, ok = s.strings()
		case "MaxNumberOfMessages":
			x.MaxNumberOfMessages, ok = s.integer()
		case "VisibilityTimeout":
			x.VisibilityTimeout, ok = s.integer()
		case "WaitTimeSeconds":
			x.WaitTimeSeconds, ok = s.integer()
		case "ReceiveRequestAttemptId":
			x.ReceiveRequestAttemptID, ok = s.str()
		}
		return ok
	})
	if !s.end() {
		return false
	}
	*in = x
	return true
}

func (in *batchInput) scan(b []byte) bool {
	var x batchInput
	s := newJSONScanner(b)
	s.object(func(name string) bool {
		var ok bool
		switch name {
		case "QueueUrl":
			x.QueueURL, ok = s.str()
		case "Entries":
			x.Entries = []batchEntry{}
			ok = s.array(func() bool {
				var en batchEntry
				if !s.object(func(name string) bool {
					var ok bool
					switch name {
					case "Id":
						en.ID, ok = s.str()
					case "ReceiptHandle":
						en.ReceiptHandle, ok = s.str()
					case "VisibilityTimeout":
						en.VisibilityTimeout, ok = s.integer()
					}
					return ok
				}) {
					return false
				}
				x.Entries = append(x.Entries, en)
				return true
			})
		}
		return ok
	})
	if !s.end() {
		return false
	}
	*in = x
	return true
}

func (in *deleteMessageInput) scan(b []byte) bool {
	var x deleteMessageInput
	s := newJSONScanner(b)
	s.object(func(name string) bool {
		var ok bool
		switch name {
		case "QueueUrl":
			x.QueueURL, ok = s.str()
		case "ReceiptHandle":
			x.ReceiptHandle, ok = s.str()
		}
		return ok
	})
	if !s.end() {
		return false
	}
	*in = x
	return true
}

// appendJSONString appends s as a JSON string, escaped as encoding/json
// escapes it with HTML escaping off.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			switch r {
			case utf8.RuneError:
				b = append(b, `\ufffd`...)
			default:
				b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			}
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// appendMember appends ,"name":"value" (without the comma for the first
// member) when value is set or always is.
func appendMember(b []byte, first bool, name, value string, always bool) []byte {
	if value == "" && !always {
		return b
	}
	if !first {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendJSONString(b, value)
}

func (e batchError) appendJSON(b []byte) []byte {
	b = appendMember(b, true, "Id", e.ID, true)
	b = append(b, `,"SenderFault":`...)
	b = strconv.AppendBool(b, e.SenderFault)
	b = appendMember(b, false, "Code", e.Code, true)
	return appendMember(b, false, "Message", e.Message, false)
}

func appendFailed(b []byte, failed []batchError) []byte {
	b = append(b, `,"Failed":[`...)
	for i, f := range failed {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = f.appendJSON(b)
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

func (o sendOutput) appendJSON(b []byte) []byte {
	b = append(b, '{')
	b = appendMember(b, true, "Id", o.ID, false)
	b = appendMember(b, o.ID == "", "MessageId", o.MessageID, true)
	b = appendMember(b, false, "MD5OfMessageBody", o.MD5OfMessageBody, true)
	b = appendMember(b, false, "MD5OfMessageAttributes", o.MD5OfMessageAttributes, false)
	b = appendMember(b, false, "MD5OfMessageSystemAttributes", o.MD5OfMessageSystemAttributes, false)
	b = appendMember(b, false, "SequenceNumber", o.SequenceNumber, false)
	return append(b, '}')
}

func (o sendMessageBatchOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"Successful":[`...)
	for i, e := range o.Successful {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendJSON(b)
	}
	b = append(b, ']')
	return appendFailed(b, o.Failed)
}

func (o deleteMessageBatchOutput) appendJSON(b []byte) []byte {
	b = append(b, `{"Successful":[`...)
	for i, e := range o.Successful {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendMember(b, true, "Id", e.ID, true)
		b = append(b, '}')
	}
	b = append(b, ']')
	return appendFailed(b, o.Failed)
}

// appendJSON renders the output; messages with attributes are rendered by
// encoding/json.
func (o receiveMessageOutput) appendJSON(b []byte) []byte {
	for _, m := range o.Messages {
		if m.Attributes != nil || m.MessageAttributes != nil {
			return appendEncoded(b, o)
		}
	}
	if len(o.Messages) == 0 {
		return append(b, '{', '}')
	}
	b = append(b, `{"Messages":[`...)
	for i, m := range o.Messages {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		b = appendMember(b, true, "MessageId", m.MessageID, true)
		b = appendMember(b, false, "ReceiptHandle", m.ReceiptHandle, true)
		b = appendMember(b, false, "MD5OfBody", m.MD5OfBody, true)
		b = appendMember(b, false, "Body", m.Body, true)
		b = appendMember(b, false, "MD5OfMessageAttributes", m.MD5OfMessageAttributes, false)
		b = append(b, '}')
	}
	return append(b, ']', '}')
}

// appendEncoded appends v as encoding/json renders it with HTML escaping off.
func appendEncoded(b []byte, v any) []byte {
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(err) // the outputs hold only strings, numbers, maps and slices
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'})
}
