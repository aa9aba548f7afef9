package localaws

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strconv"
	"strings"
)

const (
	sqsXMLNS = "http://queue.amazonaws.com/doc/2012-11-05/"
	snsXMLNS = "http://sns.amazonaws.com/doc/2010-03-31/"
	// maxRequestBody bounds a request body; the largest legal request (a
	// batch of ten messages of 1 MiB in total, query-encoded) fits.
	maxRequestBody = 8 << 20
)

// readBody reads the request body, up to maxRequestBody, in one allocation
// when the client sent its length. A body that does not arrive in full gets
// an error the client can act on: too large (413), not sent before the
// server's read deadline (408, see cmd/localaws), or cut short (400).
func readBody(w http.ResponseWriter, hr *http.Request) ([]byte, *APIError) {
	r := http.MaxBytesReader(w, hr.Body, maxRequestBody)
	var b []byte
	var err error
	if n := hr.ContentLength; n > 0 && n <= maxRequestBody {
		b = make([]byte, n)
		if _, err = io.ReadFull(r, b); err == nil {
			// Nothing may follow the declared length.
			if _, extra := r.Read(make([]byte, 1)); extra != io.EOF {
				err = &http.MaxBytesError{Limit: n}
			}
		}
	} else {
		b, err = io.ReadAll(r)
	}
	if err == nil {
		return b, nil
	}
	var tooLarge *http.MaxBytesError
	var netErr net.Error
	switch {
	case errors.As(err, &tooLarge):
		return nil, &APIError{Type: "RequestEntityTooLarge", Code: "RequestEntityTooLarge", Status: http.StatusRequestEntityTooLarge,
			Message: "The request body is larger than its Content-Length or than the largest request the service accepts."}
	case errors.As(err, &netErr) && netErr.Timeout():
		return nil, &APIError{Type: "RequestTimeout", Code: "RequestTimeout", Status: http.StatusRequestTimeout,
			Message: "The request body did not arrive within the server's read timeout."}
	default:
		return nil, &APIError{Type: "IncompleteBody", Code: "IncompleteBody", Message: "The request body could not be read in full: " + err.Error() + "."}
	}
}

func parseForm(hr *http.Request, body []byte) (url.Values, *APIError) {
	form, err := url.ParseQuery(hr.URL.RawQuery)
	if err != nil {
		return nil, errMalformed("The query string is malformed: %v.", err)
	}
	if len(body) > 0 {
		bf, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errMalformed("The form body is malformed: %v.", err)
		}
		for k, v := range bf {
			form[k] = v
		}
	}
	return form, nil
}

// serviceOf tells SNS from SQS for a query protocol request: by the service
// in the signature's credential scope, else by the action name.
func serviceOf(hr *http.Request, action string) string {
	auth := hr.Header.Get("Authorization")
	if i := strings.Index(auth, "Credential="); i >= 0 {
		scope := auth[i+len("Credential="):]
		if j := strings.IndexAny(scope, ", "); j >= 0 {
			scope = scope[:j]
		}
		parts := strings.Split(scope, "/")
		if len(parts) >= 5 && (parts[3] == "sns" || parts[3] == "sqs") {
			return parts[3]
		}
	}
	if _, ok := snsOps[action]; ok {
		return "sns"
	}
	return "sqs"
}

// flexInt is an integer input member that the JSON protocol sends as a number
// and the query protocol as a string.
type flexInt struct {
	Set   bool
	Value int64
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%q is not an integer", s)
	}
	f.Set, f.Value = true, v
	return nil
}

// flexBool is a boolean input member sent as a JSON boolean or a query string.
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexBool) UnmarshalJSON(b []byte) error {
	switch strings.ToLower(strings.Trim(string(b), `"`)) {
	case "true":
		*f = true
	case "false", "null", "":
		*f = false
	default:
		return fmt.Errorf("%s is not a boolean", b)
	}
	return nil
}

// queryRenames maps the flattened member names of the SQS query protocol to the
// member names of the JSON protocol.
var queryRenames = map[string]string{
	"Attribute":                      "Attributes",
	"MessageAttribute":               "MessageAttributes",
	"MessageSystemAttribute":         "MessageSystemAttributes",
	"Tag":                            "Tags",
	"AttributeName":                  "AttributeNames",
	"MessageAttributeName":           "MessageAttributeNames",
	"MessageSystemAttributeName":     "MessageSystemAttributeNames",
	"TagKey":                         "TagKeys",
	"SendMessageBatchRequestEntry":   "Entries",
	"DeleteMessageBatchRequestEntry": "Entries",
	"ChangeMessageVisibilityBatchRequestEntry": "Entries",
	"StringListValue":                          "StringListValues",
	"BinaryListValue":                          "BinaryListValues",
}

// queryMaps lists the flattened SQS members that are maps of Name/Value or
// Key/Value entries.
var queryMaps = map[string]bool{"Attribute": true, "MessageAttribute": true, "MessageSystemAttribute": true, "Tag": true}

type qnode struct {
	value    string
	leaf     bool
	children map[string]*qnode
}

// queryToJSON turns the parameters of a query protocol request into the JSON
// document the JSON protocol would have sent, so that one decoder serves both.
// It understands the flattened lists and maps of SQS and the member/entry
// lists and maps of SNS.
func queryToJSON(form url.Values) ([]byte, error) {
	root := &qnode{children: map[string]*qnode{}}
	for k, vs := range form {
		if k == "Action" || k == "Version" || len(vs) == 0 {
			continue
		}
		n := root
		for _, part := range strings.Split(k, ".") {
			if part == "" {
				return nil, errMalformed("parameter name %q is malformed", k)
			}
			if n.leaf {
				return nil, errMalformed("parameter %q conflicts with another parameter", k)
			}
			c := n.children[part]
			if c == nil {
				c = &qnode{children: map[string]*qnode{}}
				n.children[part] = c
			}
			n = c
		}
		if len(n.children) > 0 {
			return nil, errMalformed("parameter %q conflicts with another parameter", k)
		}
		n.leaf, n.value = true, vs[0]
	}
	v, err := root.toValue("")
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

func (n *qnode) indexed() ([]*qnode, bool) {
	if len(n.children) == 0 {
		return nil, false
	}
	type item struct {
		i int
		n *qnode
	}
	items := make([]item, 0, len(n.children))
	for k, c := range n.children {
		i, err := strconv.Atoi(k)
		if err != nil || i < 1 {
			return nil, false
		}
		items = append(items, item{i, c})
	}
	sort.Slice(items, func(a, b int) bool { return items[a].i < items[b].i })
	out := make([]*qnode, len(items))
	for i, it := range items {
		out[i] = it.n
	}
	return out, true
}

func (n *qnode) toValue(name string) (any, error) {
	if n.leaf {
		return n.value, nil
	}
	if items, ok := n.indexed(); ok {
		if queryMaps[name] {
			return entriesToMap(items)
		}
		list := make([]any, 0, len(items))
		for _, it := range items {
			v, err := it.toValue("")
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		return list, nil
	}
	if len(n.children) == 1 {
		if m := n.children["member"]; m != nil {
			if items, ok := m.indexed(); ok {
				list := make([]any, 0, len(items))
				for _, it := range items {
					v, err := it.toValue("")
					if err != nil {
						return nil, err
					}
					list = append(list, v)
				}
				return list, nil
			}
		}
		if e := n.children["entry"]; e != nil {
			if items, ok := e.indexed(); ok {
				return entriesToMap(items)
			}
		}
	}
	obj := make(map[string]any, len(n.children))
	for k, c := range n.children {
		v, err := c.toValue(k)
		if err != nil {
			return nil, err
		}
		key := k
		if r, ok := queryRenames[k]; ok && !c.leaf {
			key = r
		}
		obj[key] = v
	}
	return obj, nil
}

func entriesToMap(items []*qnode) (any, error) {
	m := make(map[string]any, len(items))
	for _, it := range items {
		var key *qnode
		var val *qnode
		for k, c := range it.children {
			switch strings.ToLower(k) {
			case "name", "key":
				key = c
			case "value":
				val = c
			}
		}
		if key == nil || !key.leaf {
			return nil, errMalformed("a map entry has no name")
		}
		if val == nil {
			m[key.value] = nil
			continue
		}
		v, err := val.toValue("")
		if err != nil {
			return nil, err
		}
		m[key.value] = v
	}
	return m, nil
}

// xmlEncoder writes output structures in the XML of the query protocol. Field
// names come from the json tags. With flat set (SQS), lists and maps are
// flattened under the element name of the field's q tag ("Name" or
// "Name,KeyName,ValueName"); otherwise (SNS) they are wrapped in member and
// entry/key/value elements.
type xmlEncoder struct {
	buf  *bytes.Buffer
	flat bool
}

func (e *xmlEncoder) text(s string) {
	_ = xml.EscapeText(e.buf, []byte(s))
}

func (e *xmlEncoder) open(name string)  { e.buf.WriteString("<" + name + ">") }
func (e *xmlEncoder) close(name string) { e.buf.WriteString("</" + name + ">") }

func (e *xmlEncoder) structFields(v reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		fv := v.Field(i)
		if isEmpty(fv) {
			continue
		}
		e.field(name, f.Tag.Get("q"), fv)
	}
}

func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface, reflect.Slice, reflect.Map:
		return v.IsNil()
	case reflect.String:
		return v.Len() == 0
	}
	return false
}

func (e *xmlEncoder) field(name, q string, v reflect.Value) {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.open(name)
			e.text(base64.StdEncoding.EncodeToString(v.Bytes()))
			e.close(name)
			return
		}
		elem, _, _ := strings.Cut(q, ",")
		if e.flat && elem != "" {
			for i := 0; i < v.Len(); i++ {
				e.field(elem, "", v.Index(i))
			}
			return
		}
		e.open(name)
		for i := 0; i < v.Len(); i++ {
			e.field("member", "", v.Index(i))
		}
		e.close(name)
	case reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(a, b int) bool { return keys[a].String() < keys[b].String() })
		parts := strings.Split(q, ",")
		if e.flat && len(parts) == 3 {
			for _, k := range keys {
				e.open(parts[0])
				e.field(parts[1], "", k)
				e.field(parts[2], "", v.MapIndex(k))
				e.close(parts[0])
			}
			return
		}
		e.open(name)
		for _, k := range keys {
			e.open("entry")
			e.field("key", "", k)
			e.field("value", "", v.MapIndex(k))
			e.close("entry")
		}
		e.close(name)
	case reflect.Struct:
		e.open(name)
		e.structFields(v)
		e.close(name)
	case reflect.String:
		e.open(name)
		e.text(v.String())
		e.close(name)
	case reflect.Bool:
		e.open(name)
		e.buf.WriteString(strconv.FormatBool(v.Bool()))
		e.close(name)
	case reflect.Int, reflect.Int32, reflect.Int64:
		e.open(name)
		e.buf.WriteString(strconv.FormatInt(v.Int(), 10))
		e.close(name)
	}
}

// queryResponse renders a successful query protocol response.
func queryResponse(action, xmlns, requestID string, out any, flat bool) []byte {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0"?>`)
	fmt.Fprintf(&b, `<%sResponse xmlns="%s">`, action, xmlns)
	if out != nil {
		e := &xmlEncoder{buf: &b, flat: flat}
		e.field(action+"Result", "", reflect.ValueOf(out))
	}
	fmt.Fprintf(&b, `<ResponseMetadata><RequestId>%s</RequestId></ResponseMetadata></%sResponse>`, requestID, action)
	return b.Bytes()
}

// queryError renders an error of the query protocol.
func queryError(e *APIError, xmlns, requestID string) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<?xml version="1.0"?><ErrorResponse xmlns="%s"><Error><Type>%s</Type><Code>`, xmlns, e.fault())
	_ = xml.EscapeText(&b, []byte(e.Code))
	b.WriteString(`</Code><Message>`)
	_ = xml.EscapeText(&b, []byte(e.Message))
	fmt.Fprintf(&b, `</Message><Detail/></Error><RequestId>%s</RequestId></ErrorResponse>`, requestID)
	return b.Bytes()
}

// jsonAppender is an output that renders itself as JSON without reflection.
type jsonAppender interface{ appendJSON(b []byte) []byte }

func writeJSON(w http.ResponseWriter, out any) {
	switch out := out.(type) {
	case nil:
		writeBody(w, jsonContentType, http.StatusOK, []byte("{}"))
	case jsonAppender:
		writeBody(w, jsonContentType, http.StatusOK, out.appendJSON(make([]byte, 0, 1024)))
	default:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(out); err != nil {
			writeJSONError(w, &APIError{Type: "InternalError", Code: "InternalError", Status: 500, Server: true, Message: err.Error()})
			return
		}
		writeBody(w, jsonContentType, http.StatusOK, b.Bytes())
	}
}

const jsonContentType = "application/x-amz-json-1.0"

func writeJSONError(w http.ResponseWriter, e *APIError) {
	w.Header().Set("x-amzn-query-error", e.Code+";"+e.fault())
	b, _ := json.Marshal(struct {
		Type    string `json:"__type"`
		Message string `json:"message"`
	}{"com.amazonaws.sqs#" + e.Type, e.Message})
	writeBody(w, jsonContentType, e.status(), b)
}

func writeXML(w http.ResponseWriter, status int, b []byte) {
	writeBody(w, "text/xml", status, b)
}

// writeBody writes a whole response with its Content-Length, as AWS does
// (net/http would send bodies over 4 KiB chunked).
func writeBody(w http.ResponseWriter, contentType string, status int, b []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}
