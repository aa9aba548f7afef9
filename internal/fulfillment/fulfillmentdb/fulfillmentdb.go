// Package fulfillmentdb is the PostgreSQL implementation of fulfillment.Store (schema fulfillment): inventory,
// reservations, and the worker's inbox and outbox, changed together in one transaction per order.
package fulfillmentdb

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/fulfillment"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// Tables of the fulfillment schema that the platform's outbox and inbox manage.
var (
	OutboxTable = pgx.Identifier{"fulfillment", "outbox"}
	InboxTable  = pgx.Identifier{"fulfillment", "inbox"}
)

// Store is the PostgreSQL implementation of fulfillment.Store.
type Store struct {
	pool   *pgxpool.Pool
	outbox *outbox.Outbox
	inbox  *inbox.Inbox
}

// New returns a Store using pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, outbox: outbox.New(OutboxTable), inbox: inbox.New(InboxTable)}
}

var _ fulfillment.Store = (*Store)(nil)

// Outbox is the outbox the store writes fulfillment events through: its Wake wakes this process's relay as soon
// as an outcome is committed.
func (s *Store) Outbox() *outbox.Outbox { return s.outbox }

// Fulfill implements fulfillment.Store. Inventory rows are locked in SKU order, so concurrent orders sharing
// SKUs wait for each other instead of deadlocking.
func (s *Store) Fulfill(ctx context.Context, eventID string, order events.OrderPlacedData,
	decide func(stock map[string]int) (fulfillment.Decision, []events.Envelope, error)) (_ fulfillment.Decision, _ bool, err error) {
	ctx, span := tracing.Start(ctx, "db fulfillment.fulfill", attribute.String("order.id", order.OrderID))
	defer func() { tracing.End(span, err) }()
	var d fulfillment.Decision
	applied := false
	err = database.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		first, err := s.inbox.Record(ctx, tx, eventID)
		if err != nil || !first {
			return err
		}
		skus := make([]string, 0, len(order.Items))
		for sku := range fulfillment.Needs(order.Items) {
			skus = append(skus, sku)
		}
		slices.Sort(skus)
		rows, err := tx.Query(ctx, `SELECT sku, on_hand FROM fulfillment.inventory WHERE sku = ANY($1)
			ORDER BY sku FOR UPDATE`, skus)
		if err != nil {
			return fmt.Errorf("lock inventory: %w", err)
		}
		stock := map[string]int{}
		var sku string
		var onHand int
		if _, err := pgx.ForEachRow(rows, []any{&sku, &onHand}, func() error { stock[sku] = onHand; return nil }); err != nil {
			return fmt.Errorf("read inventory: %w", err)
		}
		var evs []events.Envelope
		d, evs, err = decide(stock)
		if err != nil {
			return err
		}
		if d.Fulfilled() {
			b := &pgx.Batch{}
			for _, sku := range skus {
				q := d.Reserve[sku]
				b.Queue(`UPDATE fulfillment.inventory SET on_hand = on_hand - $2, updated_at = now() WHERE sku = $1`, sku, q)
				b.Queue(`INSERT INTO fulfillment.reservations (order_id, sku, quantity) VALUES ($1, $2, $3)`, order.OrderID, sku, q)
			}
			if err := tx.SendBatch(ctx, b).Close(); err != nil {
				return fmt.Errorf("reserve stock: %w", err)
			}
		}
		for _, e := range evs {
			body, err := e.Marshal()
			if err != nil {
				return err
			}
			topic, ok := events.TopicOf(e.Type)
			if !ok {
				return fmt.Errorf("event %s: type %s is in no topic of the event catalog", e.ID, e.Type)
			}
			if err := s.outbox.Enqueue(ctx, tx, outbox.Message{EventID: e.ID, Topic: topic,
				Body: string(body), Attributes: e.Attributes()}); err != nil {
				return err
			}
		}
		applied = true
		return nil
	})
	if err != nil {
		return fulfillment.Decision{}, false, err
	}
	if applied {
		s.outbox.Committed()
	}
	return d, applied, nil
}
