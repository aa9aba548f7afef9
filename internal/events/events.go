// Package events holds the event contracts shared by the services that publish and consume them: a versioned
// JSON envelope and the payload of each event type. Publishers build envelopes with New; consumers decode them
// strictly with Decode, so a malformed or unknown message is rejected with an error that names the field
// instead of being half applied.
package events

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/mail"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Version is the envelope version this package writes and the only one it reads. A breaking change to the
// envelope gets a new version, read side by side with the old one until every publisher has moved.
const Version = 1

// Type names an event. It travels both in the envelope and as the SNS message attribute "type", which the
// subscriptions' filter policies match on.
type Type string

// The event types of the system.
const (
	// OrderPlaced is published by the orders API when an order is accepted; the fulfillment worker consumes it.
	OrderPlaced Type = "order.placed"
	// OrderFulfilled is published by the worker when stock for every item was reserved.
	OrderFulfilled Type = "order.fulfilled"
	// OrderRejected is published by the worker when stock for some item was short.
	OrderRejected Type = "order.rejected"
	// NotificationOrderFulfilled tells the customer that the order is on its way.
	NotificationOrderFulfilled Type = "notification.order_fulfilled"
	// NotificationOrderRejected tells the customer that the order could not be fulfilled.
	NotificationOrderRejected Type = "notification.order_rejected"
)

// Sources of events: the service that published them.
const (
	SourceAPI    = "api"
	SourceWorker = "worker"
)

// ChannelEmail is the notification channel for email. It is the SNS message attribute "channel" of
// notifications, so subscribers can filter on it.
const ChannelEmail = "email"

// Envelope is the versioned wrapper around every event. ID is the idempotency key downstream: consumers record
// it in their inbox in the same transaction as the effect. Subject is the id of the entity the event is about
// (the order id).
type Envelope struct {
	Version int             `json:"version"`
	ID      string          `json:"id"`
	Type    Type            `json:"type"`
	Time    time.Time       `json:"time"`
	Source  string          `json:"source"`
	Subject string          `json:"subject"`
	Data    json.RawMessage `json:"data"`
}

// Item is one line of an order as events carry it.
type Item struct {
	SKU        string `json:"sku"`
	Quantity   int    `json:"quantity"`
	PriceCents int64  `json:"price_cents"`
}

// OrderPlacedData is the payload of OrderPlaced.
type OrderPlacedData struct {
	OrderID       string `json:"order_id"`
	CustomerEmail string `json:"customer_email"`
	Items         []Item `json:"items"`
	TotalCents    int64  `json:"total_cents"`
}

// OrderFulfilledData is the payload of OrderFulfilled.
type OrderFulfilledData struct {
	OrderID string `json:"order_id"`
}

// OrderRejectedData is the payload of OrderRejected. ShortSKUs lists the items whose stock was short.
type OrderRejectedData struct {
	OrderID   string   `json:"order_id"`
	Reason    string   `json:"reason"`
	ShortSKUs []string `json:"short_skus"`
}

// NotificationData is the payload of the notification types: a message to a customer on a channel.
type NotificationData struct {
	OrderID   string `json:"order_id"`
	Channel   string `json:"channel"`
	Recipient string `json:"recipient"`
	Subject   string `json:"subject"`
	Body      string `json:"body"`
}

// DecodeError is a message that does not follow the contract. Field names the offending JSON field as a path
// ("data.items[0].quantity"), or is empty when the document as a whole is malformed.
type DecodeError struct {
	Field  string
	Reason string
}

// Error describes the problem with the field.
func (e *DecodeError) Error() string {
	if e.Field == "" {
		return "decode event: " + e.Reason
	}
	return fmt.Sprintf("decode event: %s: %s", e.Field, e.Reason)
}

// New builds an envelope of the given type with a fresh time-ordered id. data must be the payload type that
// belongs to typ; New validates it as Decode would, so a publisher cannot emit what its consumers refuse.
func New(typ Type, source, subject string, data any, now time.Time) (Envelope, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return Envelope{}, fmt.Errorf("new event id: %w", err)
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return Envelope{}, fmt.Errorf("encode %s payload: %w", typ, err)
	}
	e := Envelope{Version: Version, ID: id.String(), Type: typ, Time: now.UTC(), Source: source, Subject: subject, Data: raw}
	if err := e.validate(); err != nil {
		return Envelope{}, fmt.Errorf("new %s event: %w", typ, err)
	}
	return e, nil
}

// Marshal encodes the envelope as the message body.
func (e Envelope) Marshal() ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.ID, err)
	}
	return b, nil
}

// Attributes returns the SNS message attributes the event is published with: "type" always, and "channel" for
// notifications. Filter policies match on them.
func (e Envelope) Attributes() map[string]string {
	attrs := map[string]string{"type": string(e.Type)}
	if IsNotification(e.Type) {
		var n NotificationData
		if json.Unmarshal(e.Data, &n) == nil && n.Channel != "" {
			attrs["channel"] = n.Channel
		}
	}
	return attrs
}

// IsNotification reports whether t is a customer notification type.
func IsNotification(t Type) bool { return strings.HasPrefix(string(t), "notification.") }

// Decode decodes a message body strictly: unknown fields, wrong types, trailing data, a version other than
// Version, an unknown type, a missing field or a payload that does not match its type are errors of type
// *DecodeError naming the field.
func Decode(body []byte) (Envelope, error) {
	var e Envelope
	if err := decodeStrict(body, &e, ""); err != nil {
		return Envelope{}, err
	}
	if err := e.validate(); err != nil {
		return Envelope{}, err
	}
	return e, nil
}

// DecodeData decodes the envelope's payload strictly into v, which must be a pointer to the payload type of the
// envelope's type.
func (e Envelope) DecodeData(v any) error {
	return decodeStrict(e.Data, v, "data")
}

// payloads maps each known type to a constructor of its payload, so Decode can check the payload matches.
var payloads = map[Type]func() validator{
	OrderPlaced:                func() validator { return &OrderPlacedData{} },
	OrderFulfilled:             func() validator { return &OrderFulfilledData{} },
	OrderRejected:              func() validator { return &OrderRejectedData{} },
	NotificationOrderFulfilled: func() validator { return &NotificationData{} },
	NotificationOrderRejected:  func() validator { return &NotificationData{} },
}

type validator interface{ validate() error }

func (e Envelope) validate() error {
	switch {
	case e.Version != Version:
		return &DecodeError{"version", fmt.Sprintf("%d is not supported; want %d", e.Version, Version)}
	case e.ID == "":
		return &DecodeError{"id", "required"}
	case uuid.Validate(e.ID) != nil:
		return &DecodeError{"id", "must be a UUID"}
	case e.Type == "":
		return &DecodeError{"type", "required"}
	case payloads[e.Type] == nil:
		return &DecodeError{"type", fmt.Sprintf("unknown event type %q", e.Type)}
	case e.Time.IsZero():
		return &DecodeError{"time", "required"}
	case e.Source == "":
		return &DecodeError{"source", "required"}
	case e.Subject == "":
		return &DecodeError{"subject", "required"}
	case len(e.Data) == 0 || bytes.Equal(bytes.TrimSpace(e.Data), []byte("null")):
		return &DecodeError{"data", "required"}
	}
	p := payloads[e.Type]()
	if err := e.DecodeData(p); err != nil {
		return err
	}
	if err := p.validate(); err != nil {
		var de *DecodeError
		if errors.As(err, &de) {
			de.Field = "data." + de.Field
		}
		return err
	}
	return nil
}

var skuPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,63}$`)

func (d *OrderPlacedData) validate() error {
	switch {
	case d.OrderID == "":
		return &DecodeError{"order_id", "required"}
	case !validEmail(d.CustomerEmail):
		return &DecodeError{"customer_email", "must be an email address"}
	case len(d.Items) == 0:
		return &DecodeError{"items", "at least one item is required"}
	}
	for i, it := range d.Items {
		switch {
		case !skuPattern.MatchString(it.SKU):
			return &DecodeError{fmt.Sprintf("items[%d].sku", i), "must be upper-case letters, digits and dashes"}
		case it.Quantity < 1:
			return &DecodeError{fmt.Sprintf("items[%d].quantity", i), "must be at least 1"}
		case it.PriceCents < 0:
			return &DecodeError{fmt.Sprintf("items[%d].price_cents", i), "must not be negative"}
		}
	}
	if d.TotalCents < 0 {
		return &DecodeError{"total_cents", "must not be negative"}
	}
	return nil
}

func (d *OrderFulfilledData) validate() error {
	if d.OrderID == "" {
		return &DecodeError{"order_id", "required"}
	}
	return nil
}

func (d *OrderRejectedData) validate() error {
	switch {
	case d.OrderID == "":
		return &DecodeError{"order_id", "required"}
	case d.Reason == "":
		return &DecodeError{"reason", "required"}
	}
	return nil
}

func (d *NotificationData) validate() error {
	switch {
	case d.OrderID == "":
		return &DecodeError{"order_id", "required"}
	case d.Channel != ChannelEmail:
		return &DecodeError{"channel", fmt.Sprintf("%q is not a known channel", d.Channel)}
	case !validEmail(d.Recipient):
		return &DecodeError{"recipient", "must be an email address"}
	case d.Subject == "":
		return &DecodeError{"subject", "required"}
	}
	return nil
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s
}

// decodeStrict decodes one JSON value into v, refusing unknown fields and trailing data. prefix is prepended to
// the field names in errors.
func decodeStrict(data []byte, v any, prefix string) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeError(err, prefix)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return &DecodeError{prefix, "unexpected data after the JSON value"}
	}
	return nil
}

func decodeError(err error, prefix string) error {
	join := func(field string) string {
		switch {
		case prefix == "":
			return field
		case field == "":
			return prefix
		}
		return prefix + "." + field
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	var timeErr *time.ParseError
	switch {
	case errors.As(err, &timeErr):
		return &DecodeError{join("time"), "must be an RFC 3339 time"}
	case errors.As(err, &typeErr):
		return &DecodeError{join(typeErr.Field), fmt.Sprintf("must be %s, not %s", jsonKind(typeErr.Type.Kind().String()), typeErr.Value)}
	case errors.As(err, &syntaxErr):
		return &DecodeError{prefix, fmt.Sprintf("malformed JSON at offset %d", syntaxErr.Offset)}
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return &DecodeError{prefix, "malformed JSON: unexpected end"}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &DecodeError{join(strings.Trim(name, `"`)), "unknown field"}
	}
	return &DecodeError{prefix, err.Error()}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "int", "int64", "int32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "map":
		return "an object"
	case "bool":
		return "a boolean"
	}
	return goKind
}
