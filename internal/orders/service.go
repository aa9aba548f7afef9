package orders

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
)

// Store keeps orders. Implementations write an order, its items, its idempotency key and its order.placed event
// in one transaction, and apply each incoming event exactly once by recording its id in the same transaction as
// the effect.
type Store interface {
	// Create stores a new order. With a non-empty idem.Key it first claims the key: if the key is already stored
	// with the same request hash, Create returns the order stored under it and created false; with another hash,
	// ErrIdempotencyConflict.
	Create(ctx context.Context, o Order, idem Idempotency) (stored Order, created bool, err error)
	// Get returns the order with the id, or ErrNotFound.
	Get(ctx context.Context, id string) (Order, error)
	// List returns up to q.Limit orders, newest first, strictly after q.After when it is set.
	List(ctx context.Context, q ListQuery) ([]Order, error)
	// Notifications returns the notifications recorded for an order, oldest first, or ErrNotFound.
	Notifications(ctx context.Context, orderID string) ([]Notification, error)
	// ApplyOutcome moves a pending order to status, once per event id. It reports false when the event was
	// already applied or the order had already left pending, and ErrNotFound when the order does not exist.
	ApplyOutcome(ctx context.Context, eventID, orderID string, status Status, reason string) (applied bool, err error)
	// RecordNotification stores a notification, once per event id (n.ID). It reports false when it was already
	// recorded, and ErrNotFound when the order does not exist.
	RecordNotification(ctx context.Context, n Notification) (recorded bool, err error)
}

// Idempotency is the idempotency key of a request and the hash of the request it was first used with.
type Idempotency struct {
	Key         string
	RequestHash string
}

// Cursor is a position in the list of orders, which is ordered by creation time and id, newest first.
type Cursor struct {
	CreatedAt time.Time
	ID        string
}

// ListQuery selects a page of orders.
type ListQuery struct {
	// Status filters by status when set.
	Status Status
	Limit  int
	// After, when set, starts the page strictly after this position.
	After *Cursor
}

// Page is one page of orders and the opaque cursor of the next page, empty on the last page.
type Page struct {
	Orders []Order
	Next   string
}

// Paging limits.
const (
	DefaultLimit = 20
	MaxLimit     = 100
)

// Service is the orders use cases.
type Service struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// NewService returns a Service storing orders in store.
func NewService(store Store, log *slog.Logger) *Service {
	return &Service{store: store, log: log, now: time.Now}
}

// Place validates and stores a new order in status pending; its order.placed event is published afterwards
// from the outbox. With an idempotency key, a retry of the same request returns the order of the first attempt
// with created false.
func (s *Service) Place(ctx context.Context, n NewOrder, idempotencyKey string) (Order, bool, error) {
	if err := n.Validate(); err != nil {
		return Order{}, false, err
	}
	total, err := Total(n.Items)
	if err != nil {
		return Order{}, false, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return Order{}, false, fmt.Errorf("new order id: %w", err)
	}
	now := s.now().UTC().Truncate(time.Microsecond)
	o := Order{
		ID: id.String(), CustomerEmail: n.CustomerEmail, Items: n.Items, TotalCents: total,
		Status: StatusPending, CreatedAt: now, UpdatedAt: now,
	}
	var idem Idempotency
	if idempotencyKey != "" {
		idem = Idempotency{Key: idempotencyKey, RequestHash: n.Hash()}
	}
	stored, created, err := s.store.Create(ctx, o, idem)
	if err != nil {
		return Order{}, false, fmt.Errorf("place order: %w", err)
	}
	if created {
		s.log.InfoContext(ctx, "order placed", "order_id", stored.ID, "items", len(stored.Items), "total_cents", stored.TotalCents)
	}
	return stored, created, nil
}

// Get returns an order or ErrNotFound.
func (s *Service) Get(ctx context.Context, id string) (Order, error) {
	if !validID(id) {
		return Order{}, ErrNotFound
	}
	o, err := s.store.Get(ctx, id)
	if err != nil {
		return Order{}, fmt.Errorf("get order %s: %w", id, err)
	}
	return o, nil
}

// Notifications returns the notifications sent about an order, or ErrNotFound.
func (s *Service) Notifications(ctx context.Context, orderID string) ([]Notification, error) {
	if !validID(orderID) {
		return nil, ErrNotFound
	}
	ns, err := s.store.Notifications(ctx, orderID)
	if err != nil {
		return nil, fmt.Errorf("notifications of order %s: %w", orderID, err)
	}
	return ns, nil
}

// List returns a page of orders, newest first. status may be empty; limit 0 means DefaultLimit; cursor is the
// Next of a previous page or empty. Bad values are a *ValidationError naming status, limit or cursor.
func (s *Service) List(ctx context.Context, status Status, limit int, cursor string) (Page, error) {
	var probs []FieldError
	if status != "" && !status.Valid() {
		probs = append(probs, FieldError{"status", "must be pending, fulfilled or rejected"})
	}
	if limit == 0 {
		limit = DefaultLimit
	}
	if limit < 1 || limit > MaxLimit {
		probs = append(probs, FieldError{"limit", fmt.Sprintf("must be between 1 and %d", MaxLimit)})
	}
	q := ListQuery{Status: status, Limit: limit + 1}
	if cursor != "" {
		c, err := ParseCursor(cursor)
		if err != nil {
			probs = append(probs, FieldError{"cursor", "is not a cursor returned by this API"})
		}
		q.After = &c
	}
	if len(probs) > 0 {
		return Page{}, &ValidationError{Problems: probs}
	}
	os, err := s.store.List(ctx, q)
	if err != nil {
		return Page{}, fmt.Errorf("list orders: %w", err)
	}
	p := Page{Orders: os}
	if len(os) > limit {
		p.Orders = os[:limit]
		last := p.Orders[limit-1]
		p.Next = Cursor{CreatedAt: last.CreatedAt, ID: last.ID}.String()
	}
	return p, nil
}

// String encodes the cursor opaquely for clients.
func (c Cursor) String() string {
	b, _ := json.Marshal([]string{strconv.FormatInt(c.CreatedAt.UnixMicro(), 10), c.ID})
	return base64.RawURLEncoding.EncodeToString(b)
}

// ParseCursor decodes a cursor made by Cursor.String, or returns ErrInvalidCursor.
func ParseCursor(s string) (Cursor, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(s) > 200 {
		return Cursor{}, ErrInvalidCursor
	}
	var parts []string
	if json.Unmarshal(b, &parts) != nil || len(parts) != 2 {
		return Cursor{}, ErrInvalidCursor
	}
	micros, err := strconv.ParseInt(parts[0], 10, 64)
	if err != nil || micros < 0 || !validID(parts[1]) {
		return Cursor{}, ErrInvalidCursor
	}
	return Cursor{CreatedAt: time.UnixMicro(micros).UTC(), ID: parts[1]}, nil
}

// validID reports whether s is a UUID in the canonical form this service issues (8-4-4-4-12 hexadecimal
// digits). uuid.Validate also accepts the urn:uuid: prefix, braces and the form without hyphens, some of which
// PostgreSQL's uuid type rejects: such an id names no order, it is not a server error.
func validID(s string) bool {
	return len(s) == 36 && uuid.Validate(s) == nil
}

// ErrUnexpectedEvent is returned by Apply for an event this service does not consume. Such a message is left
// to reach the dead-letter queue.
var ErrUnexpectedEvent = errors.New("unexpected event type")

// Apply applies an event from the order-updates queue: a fulfillment outcome changes the order's status, a
// notification is recorded for the order. Applying the same event twice has the effect of applying it once.
func (s *Service) Apply(ctx context.Context, e events.Envelope) error {
	log := s.log.With("event_id", e.ID, "event_type", string(e.Type), "order_id", e.Subject)
	switch {
	case e.Type == events.OrderFulfilled || e.Type == events.OrderRejected:
		var orderID, reason string
		status := StatusFulfilled
		if e.Type == events.OrderFulfilled {
			var d events.OrderFulfilledData
			if err := e.DecodeData(&d); err != nil {
				return err
			}
			orderID = d.OrderID
		} else {
			var d events.OrderRejectedData
			if err := e.DecodeData(&d); err != nil {
				return err
			}
			orderID, reason, status = d.OrderID, d.Reason, StatusRejected
		}
		applied, err := s.store.ApplyOutcome(ctx, e.ID, orderID, status, reason)
		if err != nil {
			return fmt.Errorf("apply %s to order %s: %w", e.Type, orderID, err)
		}
		log.InfoContext(ctx, "order outcome", "status", string(status), "applied", applied)
		return nil
	case events.IsNotification(e.Type):
		var d events.NotificationData
		if err := e.DecodeData(&d); err != nil {
			return err
		}
		n := Notification{
			ID: e.ID, OrderID: d.OrderID, Type: string(e.Type), Channel: d.Channel, Recipient: d.Recipient,
			Subject: d.Subject, Body: d.Body, SentAt: e.Time.UTC().Truncate(time.Microsecond),
		}
		recorded, err := s.store.RecordNotification(ctx, n)
		if err != nil {
			return fmt.Errorf("record %s for order %s: %w", e.Type, d.OrderID, err)
		}
		log.InfoContext(ctx, "notification recorded", "channel", d.Channel, "recorded", recorded)
		return nil
	}
	return fmt.Errorf("%w %q", ErrUnexpectedEvent, e.Type)
}
