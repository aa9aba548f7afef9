// Package fulfillment is the fulfillment worker's domain: for each placed order it reserves stock for every
// item, or rejects the order when some stock is short, and says so with an outcome event (order.fulfilled or
// order.rejected) and a notification to the customer. Deciding is pure (Decide); the Service applies a decision
// through a Store that does it in one transaction with the inbox and the outbox, so a redelivered order.placed
// has no second effect.
package fulfillment

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
)

// Decision is what the worker decided for an order.
type Decision struct {
	// Reserve holds the quantity to take from stock per SKU when the order is fulfilled.
	Reserve map[string]int
	// Short lists, sorted, the SKUs whose stock is short (or unknown); the order is rejected when it is not
	// empty.
	Short []string
}

// Fulfilled reports whether the order can be fulfilled.
func (d Decision) Fulfilled() bool { return len(d.Short) == 0 }

// Needs sums the quantities of the items per SKU: one order may list a SKU more than once.
func Needs(items []events.Item) map[string]int {
	need := map[string]int{}
	for _, it := range items {
		need[it.SKU] += it.Quantity
	}
	return need
}

// Decide reserves every SKU's total quantity if stock (on hand per SKU; absent means unknown) covers all of
// them, and otherwise reserves nothing and lists what is short. All or nothing: a partial shipment is not a
// thing this shop does.
func Decide(items []events.Item, stock map[string]int) Decision {
	need := Needs(items)
	d := Decision{Reserve: need}
	for sku, q := range need {
		if have, ok := stock[sku]; !ok || have < q {
			d.Short = append(d.Short, sku)
		}
	}
	if len(d.Short) > 0 {
		slices.Sort(d.Short)
		d.Reserve = nil
	}
	return d
}

// Outcome builds the events that announce a decision: the outcome on order-events and the customer's
// notification.
func Outcome(order events.OrderPlacedData, d Decision, now time.Time) (outcome, notification events.Envelope, err error) {
	n := events.NotificationData{OrderID: order.OrderID, Channel: events.ChannelEmail, Recipient: order.CustomerEmail}
	var ntype events.Type
	if d.Fulfilled() {
		outcome, err = events.New(events.OrderFulfilled, events.SourceWorker, order.OrderID,
			events.OrderFulfilledData{OrderID: order.OrderID}, now)
		ntype = events.NotificationOrderFulfilled
		n.Subject = "Your order is on its way"
		n.Body = fmt.Sprintf("Order %s (%s) has been fulfilled.", order.OrderID, money(order.TotalCents))
	} else {
		reason := "out of stock: " + strings.Join(d.Short, ", ")
		outcome, err = events.New(events.OrderRejected, events.SourceWorker, order.OrderID,
			events.OrderRejectedData{OrderID: order.OrderID, Reason: reason, ShortSKUs: d.Short}, now)
		ntype = events.NotificationOrderRejected
		n.Subject = "We could not fulfil your order"
		n.Body = fmt.Sprintf("Order %s could not be fulfilled (%s). You have not been charged.", order.OrderID, reason)
	}
	if err != nil {
		return events.Envelope{}, events.Envelope{}, err
	}
	notification, err = events.New(ntype, events.SourceWorker, order.OrderID, n, now)
	return outcome, notification, err
}

func money(cents int64) string { return fmt.Sprintf("$%d.%02d", cents/100, cents%100) }

// Store applies decisions. Fulfill must, in one transaction: record eventID in the inbox (and do nothing more
// when it is already there, returning applied false), read and lock the stock of the order's SKUs, call decide,
// take the reserved stock, and write the events decide returns to the outbox.
type Store interface {
	Fulfill(ctx context.Context, eventID string, order events.OrderPlacedData,
		decide func(stock map[string]int) (Decision, []events.Envelope, error)) (d Decision, applied bool, err error)
}

// ErrUnexpectedEvent is returned for a message that is not an order.placed event; it is left to reach the
// dead-letter queue.
var ErrUnexpectedEvent = errors.New("unexpected event type")

// Service handles the messages of the fulfillment queue.
type Service struct {
	store Store
	log   *slog.Logger
	now   func() time.Time
}

// NewService returns a Service applying decisions through store.
func NewService(store Store, log *slog.Logger) *Service {
	return &Service{store: store, log: log, now: time.Now}
}

// Handle handles one message body from the fulfillment queue. An error leaves the message to be received again
// (and, if it keeps failing, to reach the dead-letter queue); a redelivered event is acknowledged without a
// second effect.
func (s *Service) Handle(ctx context.Context, body []byte) error {
	e, err := events.Decode(body)
	if err != nil {
		return err
	}
	if e.Type != events.OrderPlaced {
		return fmt.Errorf("%w %q (event %s)", ErrUnexpectedEvent, e.Type, e.ID)
	}
	var order events.OrderPlacedData
	if err := e.DecodeData(&order); err != nil {
		return err
	}
	d, applied, err := s.store.Fulfill(ctx, e.ID, order, func(stock map[string]int) (Decision, []events.Envelope, error) {
		d := Decide(order.Items, stock)
		outcome, notification, err := Outcome(order, d, s.now())
		return d, []events.Envelope{outcome, notification}, err
	})
	if err != nil {
		return fmt.Errorf("fulfill order %s: %w", order.OrderID, err)
	}
	log := s.log.With("event_id", e.ID, "order_id", order.OrderID)
	switch {
	case !applied:
		log.InfoContext(ctx, "order already handled; redelivery ignored")
	case d.Fulfilled():
		log.InfoContext(ctx, "order fulfilled", "items", len(order.Items))
	default:
		log.InfoContext(ctx, "order rejected", "short_skus", d.Short)
	}
	return nil
}
