package localaws

import (
	"crypto/md5" // SQS digests message bodies and attributes with MD5
	"encoding/binary"
	"encoding/hex"
	"sort"
	"strings"
	"unicode/utf8"
)

// attrValue is a message attribute as the JSON protocol sends it. Binary
// values are base64 in JSON and decoded on validation.
type attrValue struct {
	DataType         string   `json:"DataType"`
	StringValue      *string  `json:"StringValue,omitempty"`
	BinaryValue      []byte   `json:"BinaryValue,omitempty"`
	StringListValues []string `json:"StringListValues,omitempty" q:"StringListValue"`
	BinaryListValues [][]byte `json:"BinaryListValues,omitempty" q:"BinaryListValue"`
}

func md5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// md5OfAttributes computes the digest SQS returns as MD5OfMessageAttributes:
// for each attribute in name order, the length-prefixed name, data type, a
// transport byte (1 string, 2 binary) and the length-prefixed value.
func md5OfAttributes(attrs map[string]attrValue) string {
	if len(attrs) == 0 {
		return ""
	}
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Strings(names)
	h := md5.New()
	var l [4]byte
	put := func(b []byte) {
		binary.BigEndian.PutUint32(l[:], uint32(len(b)))
		h.Write(l[:])
		h.Write(b)
	}
	for _, n := range names {
		a := attrs[n]
		put([]byte(n))
		put([]byte(a.DataType))
		if strings.HasPrefix(a.DataType, "Binary") {
			h.Write([]byte{2})
			put(a.BinaryValue)
		} else {
			h.Write([]byte{1})
			var s string
			if a.StringValue != nil {
				s = *a.StringValue
			}
			put([]byte(s))
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

// validAttrName applies SQS's rules for message attribute names.
func validAttrName(n string) bool {
	if n == "" || len(n) > 256 || n[0] == '.' || n[len(n)-1] == '.' || strings.Contains(n, "..") {
		return false
	}
	l := strings.ToLower(n)
	if strings.HasPrefix(l, "aws.") || strings.HasPrefix(l, "amazon.") {
		return false
	}
	for _, c := range n {
		if (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (c < '0' || c > '9') && c != '_' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

// validBody reports whether s holds only the characters SQS accepts in a
// body or a String attribute: "#x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to
// #xFFFD | #x10000 to #x10FFFF"
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
// U+FFFD itself is allowed; bytes that are not UTF-8 (which a range loop also
// reports as U+FFFD, one byte at a time) are not.
func validBody(s string) bool {
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			return false
		case r == 0x9 || r == 0xA || r == 0xD:
		case r >= 0x20 && r <= 0xD7FF:
		case r >= 0xE000 && r <= 0xFFFD:
		case r >= 0x10000 && r <= 0x10FFFF:
		default:
			return false
		}
		i += size
	}
	return true
}

// checkAttributes validates message attributes and returns their size as
// counted against the maximum message size. Values must not be empty: "Name,
// type, value and the message body must not be empty or null"
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_MessageAttributeValue.html).
func checkAttributes(attrs map[string]attrValue) (int, *APIError) {
	if len(attrs) > 10 {
		return 0, errInvalidParameterValue("Number of message attributes [%d] exceeds the allowed maximum [10].", len(attrs))
	}
	size := 0
	for n, a := range attrs {
		if !validAttrName(n) {
			return 0, errInvalidParameterValue("Message (user) attribute name '%s' is invalid.", n)
		}
		base, _, _ := strings.Cut(a.DataType, ".")
		switch base {
		case "String", "Number":
			if a.StringValue == nil || *a.StringValue == "" {
				return 0, errInvalidParameterValue("Message (user) attribute '%s' must contain a non-empty value of message attribute type '%s'.", n, a.DataType)
			}
			if !validBody(*a.StringValue) {
				return 0, &APIError{Type: "InvalidMessageContents", Code: "InvalidMessageContents", Message: "Invalid characters found in message attribute " + n}
			}
			size += len(*a.StringValue)
		case "Binary":
			if len(a.BinaryValue) == 0 {
				return 0, errInvalidParameterValue("Message (user) attribute '%s' must contain a non-empty value of message attribute type '%s'.", n, a.DataType)
			}
			size += len(a.BinaryValue)
		default:
			if a.DataType == "" {
				return 0, errInvalidParameterValue("The message attribute '%s' must contain non-empty message attribute type.", n)
			}
			return 0, errInvalidParameterValue("The type of message (user) attribute '%s' is invalid. You must use only the following supported type prefixes: Binary, Number, String.", n)
		}
		size += len(n) + len(a.DataType)
	}
	return size, nil
}

// selectAttributes returns the attributes matching names ("All", ".*",
// "prefix.*" or exact names).
func selectAttributes(attrs map[string]attrValue, names []string) map[string]attrValue {
	if len(attrs) == 0 || len(names) == 0 {
		return nil
	}
	out := map[string]attrValue{}
	for _, want := range names {
		switch {
		case want == "All" || want == ".*":
			return attrs
		case strings.HasSuffix(want, ".*"):
			p := strings.TrimSuffix(want, "*")
			for n, a := range attrs {
				if strings.HasPrefix(n, p) {
					out[n] = a
				}
			}
		default:
			if a, ok := attrs[want]; ok {
				out[want] = a
			}
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
