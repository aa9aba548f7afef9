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

// strInto, stringsInto and integerInto read a value into *v.
func (s *jsonScanner) strInto(v *string) (ok bool) {
	*v, ok = s.str()
	return ok
}

func (s *jsonScanner) stringsInto(v *[]string) (ok bool) {
	*v, ok = s.strings()
	return ok
}

func (s *jsonScanner) integerInto(v *flexInt) (ok bool) {
	*v, ok = s.integer()
	return ok
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

// scanObject reads b, one object, into a fresh T with member, which reads
// the value of the named member, and stores it in *in if all of b was read.
func scanObject[T any](in *T, b []byte, member func(s *jsonScanner, x *T, name string) bool) bool {
	var x T
	s := newJSONScanner(b)
	s.object(func(name string) bool { return member(s, &x, name) })
	if !s.end() {
		return false
	}
	*in = x
	return true
}

// objects reads an array of objects into *list, each with member.
func objects[T any](s *jsonScanner, list *[]T, member func(x *T, name string) bool) bool {
	*list = []T{}
	return s.array(func() bool {
		var x T
		if !s.object(func(name string) bool { return member(&x, name) }) {
			return false
		}
		*list = append(*list, x)
		return true
	})
}

// The scanners of the busiest inputs. Each reports whether it read the whole
// input; on false the input is left as it was. A member not named here, or
// named with another spelling, fails the scan.

func (in *sendMessageBatchInput) scan(b []byte) bool {
	return scanObject(in, b, func(s *jsonScanner, x *sendMessageBatchInput, name string) bool {
		switch name {
		case "QueueUrl":
			return s.strInto(&x.QueueURL)
		case "Entries":
			return objects(s, &x.Entries, func(en *sendInput, name string) bool { return en.scanField(s, name, true) })
		}
		return false
	})
}

func (in *sendMessageInput) scan(b []byte) bool {
	return scanObject(in, b, func(s *jsonScanner, x *sendMessageInput, name string) bool {
		if name == "QueueUrl" {
			return s.strInto(&x.QueueURL)
		}
		return x.scanField(s, name, false)
	})
}

// scanField reads one member of a message to send; messages with attributes
// are left to encoding/json.
func (en *sendInput) scanField(s *jsonScanner, name string, batch bool) bool {
	switch name {
	case "Id":
		return batch && s.strInto(&en.ID)
	case "MessageBody":
		en.MessageBody = new(string)
		return s.strInto(en.MessageBody)
	case "DelaySeconds":
		return s.integerInto(&en.DelaySeconds)
	case "MessageDeduplicationId":
		return s.strInto(&en.MessageDeduplicationID)
	case "MessageGroupId":
		return s.strInto(&en.MessageGroupID)
	}
	return false
}

func (in *receiveMessageInput) scan(b []byte) bool {
	return scanObject(in, b, func(s *jsonScanner, x *receiveMessageInput, name string) bool {
		switch name {
		case "QueueUrl":
			return s.strInto(&x.QueueURL)
		case "AttributeNames":
			return s.stringsInto(&x.AttributeNames)
		case "MessageSystemAttributeNames":
			return s.stringsInto(&x.MessageSystemAttributeNames)
		case "MessageAttributeNames":
			return s.stringsInto(&x.MessageAttributeNames)
		case "MaxNumberOfMessages":
			return s.integerInto(&x.MaxNumberOfMessages)
		case "VisibilityTimeout":
			return s.integerInto(&x.VisibilityTimeout)
		case "WaitTimeSeconds":
			return s.integerInto(&x.WaitTimeSeconds)
		case "ReceiveRequestAttemptId":
			return s.strInto(&x.ReceiveRequestAttemptID)
		}
		return false
	})
}

func (in *batchInput) scan(b []byte) bool {
	return scanObject(in, b, func(s *jsonScanner, x *batchInput, name string) bool {
		switch name {
		case "QueueUrl":
			return s.strInto(&x.QueueURL)
		case "Entries":
			return objects(s, &x.Entries, func(en *batchEntry, name string) bool {
				switch name {
				case "Id":
					return s.strInto(&en.ID)
				case "ReceiptHandle":
					return s.strInto(&en.ReceiptHandle)
				case "VisibilityTimeout":
					return s.integerInto(&en.VisibilityTimeout)
				}
				return false
			})
		}
		return false
	})
}

func (in *deleteMessageInput) scan(b []byte) bool {
	return scanObject(in, b, func(s *jsonScanner, x *deleteMessageInput, name string) bool {
		switch name {
		case "QueueUrl":
			return s.strInto(&x.QueueURL)
		case "ReceiptHandle":
			return s.strInto(&x.ReceiptHandle)
		}
		return false
	})
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

// appendList appends "name":[...] with each element rendered by elem.
func appendList[T any](b []byte, name string, list []T, elem func(b []byte, x T) []byte) []byte {
	b = append(b, '"')
	b = append(b, name...)
	b = append(b, '"', ':', '[')
	for i, x := range list {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, x)
	}
	return append(b, ']')
}

func appendBatchError(b []byte, e batchError) []byte {
	b = appendMember(b, true, "Id", e.ID, true)
	b = append(b, `,"SenderFault":`...)
	b = strconv.AppendBool(b, e.SenderFault)
	b = appendMember(b, false, "Code", e.Code, true)
	b = appendMember(b, false, "Message", e.Message, false)
	return append(b, '}')
}

// appendBatchOutput appends {"Successful":[...],"Failed":[...]}.
func appendBatchOutput[T any](b []byte, ok []T, elem func(b []byte, x T) []byte, failed []batchError) []byte {
	b = append(b, '{')
	b = appendList(b, "Successful", ok, elem)
	b = append(b, ',')
	b = appendList(b, "Failed", failed, func(b []byte, e batchError) []byte { return appendBatchError(append(b, '{'), e) })
	return append(b, '}')
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
	return appendBatchOutput(b, o.Successful, func(b []byte, e sendOutput) []byte { return e.appendJSON(b) }, o.Failed)
}

func (o deleteMessageBatchOutput) appendJSON(b []byte) []byte {
	return appendBatchOutput(b, o.Successful, func(b []byte, e idEntry) []byte {
		return append(appendMember(append(b, '{'), true, "Id", e.ID, true), '}')
	}, o.Failed)
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
	b = appendList(append(b, '{'), "Messages", o.Messages, func(b []byte, m outMessage) []byte {
		b = appendMember(append(b, '{'), true, "MessageId", m.MessageID, true)
		b = appendMember(b, false, "ReceiptHandle", m.ReceiptHandle, true)
		b = appendMember(b, false, "MD5OfBody", m.MD5OfBody, true)
		b = appendMember(b, false, "Body", m.Body, true)
		b = appendMember(b, false, "MD5OfMessageAttributes", m.MD5OfMessageAttributes, false)
		return append(b, '}')
	})
	return append(b, '}')
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
