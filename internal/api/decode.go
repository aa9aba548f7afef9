package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"

	"github.com/ecs-reworked/ecs-reworked/internal/orders"
)

// requestError is a request the API cannot read: malformed JSON, an unknown field or a value of the wrong type.
// It is answered 400 and names the field.
type requestError struct {
	problems []orders.FieldError
}

func (e *requestError) Error() string {
	return fmt.Sprintf("bad request: %s: %s", e.problems[0].Field, e.problems[0].Reason)
}

// reader decodes a JSON document field by field so that every error names the exact path of the offending
// value (items[2].quantity), which encoding/json's own errors do not. It collects all problems it finds.
type reader struct {
	problems []orders.FieldError
}

func (r *reader) bad(field, reason string) {
	r.problems = append(r.problems, orders.FieldError{Field: field, Reason: reason})
}

// object splits a JSON object into its members, reporting unknown members. It returns nil if raw is not an
// object.
func (r *reader) object(raw json.RawMessage, path string, known ...string) map[string]json.RawMessage {
	var m map[string]json.RawMessage
	if kind(raw) != '{' || json.Unmarshal(raw, &m) != nil {
		r.bad(orBody(path), "must be a JSON object")
		return nil
	}
	for _, name := range slices.Sorted(maps.Keys(m)) {
		if !slices.Contains(known, name) {
			r.bad(join(path, name), "unknown field")
		}
	}
	return m
}

// array splits a JSON array into its elements; a missing member is an empty array.
func (r *reader) array(raw json.RawMessage, path string) []json.RawMessage {
	if raw == nil {
		return nil
	}
	var a []json.RawMessage
	if kind(raw) != '[' || json.Unmarshal(raw, &a) != nil {
		r.bad(path, "must be an array")
		return nil
	}
	return a
}

// string reads a JSON string; a missing member is "".
func (r *reader) string(raw json.RawMessage, path string) string {
	if raw == nil {
		return ""
	}
	var s string
	if kind(raw) != '"' || json.Unmarshal(raw, &s) != nil {
		r.bad(path, "must be a string")
	}
	return s
}

// integer reads a JSON number that must be an integer; a missing member is 0. An integer beyond the int64 range
// is returned as the nearest bound so that validation reports it as out of range rather than malformed.
func (r *reader) integer(raw json.RawMessage, path string) int64 {
	if raw == nil {
		return 0
	}
	var n json.Number
	if kind(raw) != 'n' || json.Unmarshal(raw, &n) != nil {
		r.bad(path, "must be an integer")
		return 0
	}
	i, err := strconv.ParseInt(n.String(), 10, 64)
	var numErr *strconv.NumError
	switch {
	case err == nil:
		return i
	case errors.As(err, &numErr) && errors.Is(numErr.Err, strconv.ErrRange):
		if n.String()[0] == '-' {
			return math.MinInt64
		}
		return math.MaxInt64
	}
	r.bad(path, "must be an integer")
	return 0
}

// kind classifies a JSON value by its first byte: '{', '[', '"', 'n' for numbers, or 0.
func kind(raw json.RawMessage) byte {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return 0
	}
	switch c := raw[0]; {
	case c == '{', c == '[', c == '"':
		return c
	case c == '-' || (c >= '0' && c <= '9'):
		return 'n'
	}
	return 0
}

// join appends a member name to a path: items[0].sku, or items[0]["odd name"] for a name that is not a plain
// identifier (so an empty or odd unknown member is still named unambiguously).
func join(path, name string) string {
	if !identifier.MatchString(name) {
		return path + "[" + strconv.Quote(name) + "]"
	}
	if path == "" {
		return name
	}
	return path + "." + name
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,63}$`)

func orBody(path string) string {
	if path == "" {
		return "body"
	}
	return path
}

// parseJSON reads exactly one JSON value from body: malformed JSON and data after the value are errors.
func parseJSON(body []byte) (json.RawMessage, *requestError) {
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		reason := "malformed JSON"
		var syntaxErr *json.SyntaxError
		switch {
		case errors.As(err, &syntaxErr):
			reason = fmt.Sprintf("malformed JSON at offset %d: %v", syntaxErr.Offset, syntaxErr)
		case errors.Is(err, io.EOF):
			reason = "a JSON object is required"
		case errors.Is(err, io.ErrUnexpectedEOF):
			reason = "malformed JSON: unexpected end of input"
		}
		return nil, &requestError{[]orders.FieldError{{Field: "body", Reason: reason}}}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, &requestError{[]orders.FieldError{{Field: "body", Reason: "unexpected data after the JSON object"}}}
	}
	return raw, nil
}

// decodeNewOrder decodes a create-order request strictly. Problems of form (400) come back as *requestError;
// the domain's own rules are checked afterwards by the service (422).
func decodeNewOrder(body []byte) (orders.NewOrder, error) {
	raw, perr := parseJSON(body)
	if perr != nil {
		return orders.NewOrder{}, perr
	}
	var r reader
	var n orders.NewOrder
	if m := r.object(raw, "", "customer_email", "items"); m != nil {
		n.CustomerEmail = r.string(m["customer_email"], "customer_email")
		for i, itemRaw := range r.array(m["items"], "items") {
			path := fmt.Sprintf("items[%d]", i)
			im := r.object(itemRaw, path, "sku", "quantity", "price_cents")
			if im == nil {
				n.Items = append(n.Items, orders.Item{})
				continue
			}
			q := r.integer(im["quantity"], path+".quantity")
			n.Items = append(n.Items, orders.Item{
				SKU:        r.string(im["sku"], path+".sku"),
				Quantity:   int(max(min(q, math.MaxInt32), math.MinInt32)),
				PriceCents: r.integer(im["price_cents"], path+".price_cents"),
			})
		}
	}
	if len(r.problems) > 0 {
		return orders.NewOrder{}, &requestError{r.problems}
	}
	return n, nil
}
