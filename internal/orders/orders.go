// Package orders is the orders domain: what an order is, the rules a new order must follow, and the Service the
// HTTP layer calls to place, read and list orders and to apply the fulfillment outcomes that arrive as events.
// It knows nothing of HTTP, SQL or AWS; the storage it needs is the Store interface, implemented by ordersdb.
package orders

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"regexp"
	"strings"
	"time"
)

// Status is where an order is in its life: pending until the fulfillment worker has decided, then fulfilled or
// rejected. It changes only through events from the worker.
type Status string

// The statuses of an order.
const (
	StatusPending   Status = "pending"
	StatusFulfilled Status = "fulfilled"
	StatusRejected  Status = "rejected"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case StatusPending, StatusFulfilled, StatusRejected:
		return true
	}
	return false
}

// Limits on a new order. They bound the work and the size of a row and keep the total far from overflowing.
const (
	MaxItems      = 50
	MaxQuantity   = 1000
	MaxPriceCents = 10_000_000
	maxEmailLen   = 254
)

// Errors the domain returns; the HTTP layer maps them to statuses.
var (
	// ErrNotFound is returned when an order does not exist.
	ErrNotFound = errors.New("order not found")
	// ErrIdempotencyConflict is returned when an idempotency key is reused with a different request.
	ErrIdempotencyConflict = errors.New("idempotency key was used with a different request")
	// ErrInvalidCursor is returned for a pagination cursor that this service did not issue.
	ErrInvalidCursor = errors.New("invalid pagination cursor")
	// ErrUnavailable is returned when the store cannot be reached; the request may succeed when retried.
	ErrUnavailable = errors.New("order store unavailable")
)

// Item is one line of an order.
type Item struct {
	SKU        string `json:"sku"`
	Quantity   int    `json:"quantity"`
	PriceCents int64  `json:"price_cents"`
}

// Order is a customer's order as stored.
type Order struct {
	ID            string
	CustomerEmail string
	Items         []Item
	TotalCents    int64
	Status        Status
	// StatusReason explains a rejection; empty otherwise.
	StatusReason string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Notification is a message sent to the customer about an order, recorded when its event arrives.
type Notification struct {
	// ID is the id of the event that carried the notification.
	ID        string
	OrderID   string
	Type      string
	Channel   string
	Recipient string
	Subject   string
	Body      string
	SentAt    time.Time
}

// NewOrder is a request to place an order.
type NewOrder struct {
	CustomerEmail string `json:"customer_email"`
	Items         []Item `json:"items"`
}

// FieldError names a field of a request and why its value is refused.
type FieldError struct {
	Field  string
	Reason string
}

// ValidationError lists every problem found in a request, each naming its field.
type ValidationError struct {
	Problems []FieldError
}

// Error lists every problem, each with its field.
func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Field + ": " + p.Reason
	}
	return "invalid order: " + strings.Join(parts, "; ")
}

var skuPattern = regexp.MustCompile(`^[A-Z0-9][A-Z0-9-]{0,63}$`)

// Validate checks the request against the rules of the domain and returns a *ValidationError naming every
// offending field, such as items[2].quantity.
func (n NewOrder) Validate() error {
	var probs []FieldError
	bad := func(field, reason string) { probs = append(probs, FieldError{field, reason}) }
	switch {
	case n.CustomerEmail == "":
		bad("customer_email", "required")
	case len(n.CustomerEmail) > maxEmailLen || !validEmail(n.CustomerEmail):
		bad("customer_email", "must be an email address such as a@example.com")
	}
	switch {
	case len(n.Items) == 0:
		bad("items", "at least one item is required")
	case len(n.Items) > MaxItems:
		bad("items", fmt.Sprintf("at most %d items are allowed, got %d", MaxItems, len(n.Items)))
	default:
		for i, it := range n.Items {
			f := func(name string) string { return fmt.Sprintf("items[%d].%s", i, name) }
			if !skuPattern.MatchString(it.SKU) {
				bad(f("sku"), "must be 1-64 upper-case letters, digits or dashes, such as SKU-1")
			}
			if it.Quantity < 1 || it.Quantity > MaxQuantity {
				bad(f("quantity"), fmt.Sprintf("must be between 1 and %d", MaxQuantity))
			}
			if it.PriceCents < 0 || it.PriceCents > MaxPriceCents {
				bad(f("price_cents"), fmt.Sprintf("must be between 0 and %d", MaxPriceCents))
			}
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	if _, err := Total(n.Items); err != nil {
		return &ValidationError{Problems: []FieldError{{"items", err.Error()}}}
	}
	return nil
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Address == s && strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".")
}

// Total is the sum of quantity times price over the items, or an error if it would overflow.
func Total(items []Item) (int64, error) {
	var total int64
	for i, it := range items {
		q := int64(it.Quantity)
		if q < 0 || it.PriceCents < 0 {
			return 0, fmt.Errorf("items[%d]: negative quantity or price", i)
		}
		if q != 0 && it.PriceCents > math.MaxInt64/q {
			return 0, fmt.Errorf("items[%d]: line total overflows", i)
		}
		line := q * it.PriceCents
		if total > math.MaxInt64-line {
			return 0, errors.New("total overflows")
		}
		total += line
	}
	return total, nil
}

// Hash is a digest of the request's meaning (not its bytes), stored with an idempotency key so that a retry of
// the same request is recognised and a different request under the same key is refused.
func (n NewOrder) Hash() string {
	b, err := json.Marshal(n)
	if err != nil {
		// NewOrder holds only strings and numbers; encoding it cannot fail.
		panic(fmt.Sprintf("orders: encode request: %v", err))
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
