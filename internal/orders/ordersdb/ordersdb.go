// Package ordersdb stores orders in PostgreSQL (schema orders) with pgx. Every change is one transaction with
// its consequences: a new order is written with its items, its idempotency key and its order.placed event in
// the outbox; an incoming event is applied together with its id in the inbox, so a redelivery has no second
// effect.
package ordersdb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"go.opentelemetry.io/otel/attribute"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
)

// Tables of the orders schema that the platform's outbox and inbox manage.
var (
	OutboxTable = pgx.Identifier{"orders", "outbox"}
	InboxTable  = pgx.Identifier{"orders", "inbox"}
)

// Store is the PostgreSQL implementation of orders.Store.
type Store struct {
	pool   *pgxpool.Pool
	inbox  *inbox.Inbox
	outbox *outbox.Outbox
	now    func() time.Time
}

// New returns a Store using pool.
func New(pool *pgxpool.Pool) *Store {
	return &Store{pool: pool, inbox: inbox.New(InboxTable), outbox: outbox.New(OutboxTable), now: time.Now}
}

var _ orders.Store = (*Store)(nil)

// Outbox is the outbox the store writes order events through: its Wake wakes this process's relay as soon as
// an order is committed.
func (s *Store) Outbox() *outbox.Outbox { return s.outbox }

// Create implements orders.Store. The idempotency key, the order, its items and its outbox row are sent as one
// pgx batch: a batch sent outside a transaction runs in one implicit transaction, so it is as atomic as
// database.InTx and costs one round trip instead of four, which is most of the price of placing an order. A key
// already stored makes the batch fail on its primary key (a concurrent request with the same key waits for the
// first to commit or roll back); the stored request hash then tells a retry from a conflict.
func (s *Store) Create(ctx context.Context, o orders.Order, idem orders.Idempotency) (_ orders.Order, _ bool, err error) {
	ctx, span := tracing.Start(ctx, "db orders.create", attribute.String("order.id", o.ID))
	defer func() { tracing.End(span, err) }()
	b, err := s.createBatch(ctx, o, idem)
	if err != nil {
		return orders.Order{}, false, err
	}
	err = s.pool.SendBatch(ctx, b).Close()
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		s.outbox.Committed()
		return o, true, nil
	case idem.Key != "" && errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "idempotency_keys_pkey":
		var hash, orderID string
		if err := s.pool.QueryRow(ctx, `SELECT request_hash, order_id::text FROM orders.idempotency_keys WHERE key = $1`,
			idem.Key).Scan(&hash, &orderID); err != nil {
			return orders.Order{}, false, storeError(fmt.Errorf("read idempotency key: %w", err))
		}
		if hash != idem.RequestHash {
			return orders.Order{}, false, orders.ErrIdempotencyConflict
		}
		stored, err := get(ctx, s.pool, orderID)
		return stored, false, storeError(err)
	}
	return orders.Order{}, false, storeError(fmt.Errorf("insert order %s: %w", o.ID, err))
}

// createBatch queues the statements that store a new order: its idempotency key, the order, its items and its
// order.placed event in the outbox.
func (s *Store) createBatch(ctx context.Context, o orders.Order, idem orders.Idempotency) (*pgx.Batch, error) {
	msg, err := placedMessage(o, s.now())
	if err != nil {
		return nil, err
	}
	// The event carries the request's trace context through the outbox, so that its consumers' spans join it.
	msg.Attributes = tracing.InjectAttributes(ctx, msg.Attributes)
	skus := make([]string, len(o.Items))
	qtys := make([]int32, len(o.Items))
	prices := make([]int64, len(o.Items))
	for i, it := range o.Items {
		skus[i], qtys[i], prices[i] = it.SKU, int32(it.Quantity), it.PriceCents
	}
	b := &pgx.Batch{}
	if idem.Key != "" {
		b.Queue(`INSERT INTO orders.idempotency_keys (key, request_hash, order_id) VALUES ($1, $2, $3)`,
			idem.Key, idem.RequestHash, o.ID)
	}
	b.Queue(InsertOrderSQL, o.ID, o.CustomerEmail, o.TotalCents, string(o.Status), o.CreatedAt)
	b.Queue(InsertItemsSQL, o.ID, skus, qtys, prices)
	if err := s.outbox.Queue(b, msg); err != nil {
		return nil, err
	}
	return b, nil
}

// placedEnvelope is events.Envelope with the order.placed payload typed, so that the event is encoded in one
// pass. events.New would encode the payload, decode it again strictly and validate it (about 17 µs, a tenth of
// placing an order); the order was validated by orders.Service with the rules events.Decode applies, which a
// test of this package keeps true by decoding what it builds. The JSON is the same: the same members in the
// same order.
type placedEnvelope struct {
	Version int                    `json:"version"`
	ID      string                 `json:"id"`
	Type    events.Type            `json:"type"`
	Time    time.Time              `json:"time"`
	Source  string                 `json:"source"`
	Subject string                 `json:"subject"`
	Data    events.OrderPlacedData `json:"data"`
}

// placedAttributes are the SNS message attributes of every order.placed event.
var placedAttributes = map[string]string{"type": string(events.OrderPlaced)}

// placedMessage builds the order.placed event of a new order as the outbox message that publishes it.
func placedMessage(o orders.Order, now time.Time) (outbox.Message, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return outbox.Message{}, fmt.Errorf("new event id: %w", err)
	}
	items := make([]events.Item, len(o.Items))
	for i, it := range o.Items {
		items[i] = events.Item(it)
	}
	body, err := json.Marshal(placedEnvelope{Version: events.Version, ID: id.String(), Type: events.OrderPlaced,
		Time: now.UTC(), Source: events.SourceAPI, Subject: o.ID, Data: events.OrderPlacedData{
			OrderID: o.ID, CustomerEmail: o.CustomerEmail, Items: items, TotalCents: o.TotalCents}})
	if err != nil {
		return outbox.Message{}, fmt.Errorf("encode order.placed of order %s: %w", o.ID, err)
	}
	return outbox.Message{EventID: id.String(), Topic: events.OrderEventsTopic, Body: string(body), Attributes: placedAttributes}, nil
}

func scanOrder(row pgx.Row) (orders.Order, error) {
	var o orders.Order
	var status string
	err := row.Scan(&o.ID, &o.CustomerEmail, &o.TotalCents, &status, &o.StatusReason, &o.CreatedAt, &o.UpdatedAt, &o.Items)
	o.Status = orders.Status(status)
	return o, err
}

// querier is what reads need: a pool or a transaction.
type querier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func get(ctx context.Context, q querier, id string) (orders.Order, error) {
	o, err := scanOrder(q.QueryRow(ctx, SelectOrderByIDSQL, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return orders.Order{}, orders.ErrNotFound
	}
	if err != nil {
		return orders.Order{}, fmt.Errorf("select order %s: %w", id, err)
	}
	return o, nil
}

// Get implements orders.Store.
func (s *Store) Get(ctx context.Context, id string) (orders.Order, error) {
	o, err := get(ctx, s.pool, id)
	return o, storeError(err)
}

// listSQL holds the list query per combination of filters, rather than one query with "$1 IS NULL OR"
// conditions, so that each keeps its index plan when PostgreSQL switches to a generic plan. Index: whether the
// status filter is set, then whether the page starts after a cursor.
var listSQL = [2][2]string{
	{
		selectOrder + ` ORDER BY o.created_at DESC, o.id DESC LIMIT $1`,
		selectOrder + ` WHERE (o.created_at, o.id) < ($2, $3::uuid) ORDER BY o.created_at DESC, o.id DESC LIMIT $1`,
	},
	{
		selectOrder + ` WHERE o.status = $2 ORDER BY o.created_at DESC, o.id DESC LIMIT $1`,
		selectOrder + ` WHERE o.status = $2 AND (o.created_at, o.id) < ($3, $4::uuid) ORDER BY o.created_at DESC, o.id DESC LIMIT $1`,
	},
}

// List implements orders.Store.
func (s *Store) List(ctx context.Context, q orders.ListQuery) ([]orders.Order, error) {
	args := []any{q.Limit}
	filtered, after := 0, 0
	if q.Status != "" {
		filtered = 1
		args = append(args, string(q.Status))
	}
	if q.After != nil {
		after = 1
		args = append(args, q.After.CreatedAt, q.After.ID)
	}
	rows, err := s.pool.Query(ctx, listSQL[filtered][after], args...)
	if err != nil {
		return nil, storeError(fmt.Errorf("list orders: %w", err))
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (orders.Order, error) { return scanOrder(r) })
	if err != nil {
		return nil, storeError(fmt.Errorf("list orders: %w", err))
	}
	return out, nil
}

// Notifications implements orders.Store.
func (s *Store) Notifications(ctx context.Context, orderID string) ([]orders.Notification, error) {
	rows, err := s.pool.Query(ctx, `SELECT n.event_id::text, n.order_id::text, n.type, n.channel, n.recipient, n.subject,
		n.body, n.sent_at FROM orders.orders o LEFT JOIN orders.notifications n ON n.order_id = o.id
		WHERE o.id = $1 ORDER BY n.sent_at, n.event_id`, orderID)
	if err != nil {
		return nil, storeError(fmt.Errorf("list notifications: %w", err))
	}
	found := false
	var out []orders.Notification
	for rows.Next() {
		found = true
		var id, oid, typ, channel, recipient, subject, body *string
		var sentAt *time.Time
		if err := rows.Scan(&id, &oid, &typ, &channel, &recipient, &subject, &body, &sentAt); err != nil {
			rows.Close()
			return nil, storeError(fmt.Errorf("scan notification: %w", err))
		}
		if id == nil { // the order exists but has no notification yet
			continue
		}
		out = append(out, orders.Notification{ID: *id, OrderID: *oid, Type: *typ, Channel: *channel,
			Recipient: *recipient, Subject: *subject, Body: *body, SentAt: *sentAt})
	}
	if err := rows.Err(); err != nil {
		return nil, storeError(fmt.Errorf("list notifications: %w", err))
	}
	if !found {
		return nil, orders.ErrNotFound
	}
	return out, nil
}

// ApplyOutcome implements orders.Store.
func (s *Store) ApplyOutcome(ctx context.Context, eventID, orderID string, status orders.Status, reason string) (_ bool, err error) {
	ctx, span := tracing.Start(ctx, "db orders.apply_outcome", attribute.String("order.id", orderID),
		attribute.String("order.status", string(status)))
	defer func() { tracing.End(span, err) }()
	applied := false
	err = database.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		first, err := s.inbox.Record(ctx, tx, eventID)
		if err != nil || !first {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE orders.orders SET status = $2, status_reason = $3, updated_at = now()
			WHERE id = $1 AND status = 'pending'`, orderID, string(status), reason)
		if err != nil {
			return fmt.Errorf("update order %s: %w", orderID, err)
		}
		if tag.RowsAffected() == 1 {
			applied = true
			return nil
		}
		var exists bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT FROM orders.orders WHERE id = $1)`, orderID).Scan(&exists); err != nil {
			return fmt.Errorf("find order %s: %w", orderID, err)
		}
		if !exists {
			return orders.ErrNotFound
		}
		return nil // already decided: keep the first outcome
	})
	return applied, storeError(err)
}

// RecordNotification implements orders.Store.
func (s *Store) RecordNotification(ctx context.Context, n orders.Notification) (_ bool, err error) {
	ctx, span := tracing.Start(ctx, "db orders.record_notification", attribute.String("order.id", n.OrderID))
	defer func() { tracing.End(span, err) }()
	recorded := false
	err = database.InTx(ctx, s.pool, func(tx pgx.Tx) error {
		first, err := s.inbox.Record(ctx, tx, n.ID)
		if err != nil || !first {
			return err
		}
		_, err = tx.Exec(ctx, `INSERT INTO orders.notifications (event_id, order_id, type, channel, recipient, subject,
			body, sent_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			n.ID, n.OrderID, n.Type, n.Channel, n.Recipient, n.Subject, n.Body, n.SentAt)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && pgErr.Code == "23503" { // foreign_key_violation: no such order
			return orders.ErrNotFound
		}
		if err != nil {
			return fmt.Errorf("insert notification %s: %w", n.ID, err)
		}
		recorded = true
		return nil
	})
	return recorded, storeError(err)
}

// storeError marks errors that mean the database cannot be reached with orders.ErrUnavailable, so the API can
// answer 503 instead of 500.
func storeError(err error) error {
	if err == nil || !unavailable(err) {
		return err
	}
	return fmt.Errorf("%w: %w", orders.ErrUnavailable, err)
}

func unavailable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		// Class 08: connection exception; class 28: the service's role cannot log in (before the migration has
		// created it, or an IAM token refused); 57P01-57P03: the server is shutting down or starting.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "28") ||
			pgErr.Code == "57P01" || pgErr.Code == "57P02" || pgErr.Code == "57P03"
	}
	var connErr *pgconn.ConnectError
	var netErr net.Error
	return errors.As(err, &connErr) || errors.As(err, &netErr) || pgconn.Timeout(err) || pgconn.SafeToRetry(err) ||
		errors.Is(err, io.ErrUnexpectedEOF)
}

// IdempotencyKeyRetention is how long an idempotency key is remembered: a retry within it returns the first
// order; after it the key may be used again for a new order.
const IdempotencyKeyRetention = 24 * time.Hour

// PruneIdempotencyKeys deletes the keys stored before retention ago, a thousand per statement so as not to hold
// long locks, and returns how many it deleted.
func (s *Store) PruneIdempotencyKeys(ctx context.Context, retention time.Duration) (int64, error) {
	var total int64
	for {
		tag, err := s.pool.Exec(ctx, `DELETE FROM orders.idempotency_keys WHERE key IN (SELECT key
			FROM orders.idempotency_keys WHERE created_at < now() - $1::interval LIMIT 1000)`, retention)
		if err != nil {
			return total, storeError(fmt.Errorf("prune idempotency keys: %w", err))
		}
		total += tag.RowsAffected()
		if tag.RowsAffected() < 1000 {
			return total, nil
		}
	}
}

// RunKeyPruner prunes idempotency keys older than IdempotencyKeyRetention every interval until ctx ends,
// logging failures, and returns nil.
func (s *Store) RunKeyPruner(ctx context.Context, interval time.Duration, log *slog.Logger) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if n, err := s.PruneIdempotencyKeys(ctx, IdempotencyKeyRetention); err != nil && ctx.Err() == nil {
				log.WarnContext(ctx, "prune idempotency keys failed", "err", err)
			} else if n > 0 {
				log.InfoContext(ctx, "idempotency keys pruned", "count", n)
			}
		}
	}
}
