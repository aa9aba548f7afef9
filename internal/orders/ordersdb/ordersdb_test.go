package ordersdb_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// newStore returns a store connected as the orders service's own role, so the tests also prove its grants, and
// a superuser pool to look behind the store.
func newStore(t *testing.T) (*ordersdb.Store, *pgxpool.Pool) {
	t.Helper()
	db := dbtest.NewDatabase(t)
	return ordersdb.New(dbtest.Connect(t, db.DSNFor(migrations.OrdersRole))), dbtest.Connect(t, db.DSN())
}

func newOrder(t *testing.T, created time.Time, items ...orders.Item) orders.Order {
	t.Helper()
	if len(items) == 0 {
		items = []orders.Item{{SKU: "SKU-1", Quantity: 2, PriceCents: 1250}, {SKU: "SKU-2", Quantity: 1, PriceCents: 99}}
	}
	total, err := orders.Total(items)
	if err != nil {
		t.Fatal(err)
	}
	created = created.UTC().Truncate(time.Microsecond)
	return orders.Order{ID: uuid.Must(uuid.NewV7()).String(), CustomerEmail: "a@example.com", Items: items,
		TotalCents: total, Status: orders.StatusPending, CreatedAt: created, UpdatedAt: created}
}

func TestCreateWritesOrderAndEvent(t *testing.T) {
	ctx := context.Background()
	store, admin := newStore(t)
	o := newOrder(t, time.Now())
	got, created, err := store.Create(ctx, o, orders.Idempotency{})
	if err != nil || !created {
		t.Fatalf("Create() = _, %v, %v; want created", created, err)
	}
	if diff := cmp.Diff(o, got); diff != "" {
		t.Errorf("Create() mismatch (-want +got):\n%s", diff)
	}
	read, err := store.Get(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(o, read, cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("Get() mismatch (-want +got):\n%s", diff)
	}

	var topic, body string
	var attrs map[string]string
	if err := admin.QueryRow(ctx, `SELECT topic, body, attributes FROM orders.outbox`).Scan(&topic, &body, &attrs); err != nil {
		t.Fatalf("read outbox: %v", err)
	}
	e, err := events.Decode([]byte(body))
	if err != nil {
		t.Fatalf("outbox body does not decode: %v", err)
	}
	var data events.OrderPlacedData
	if err := e.DecodeData(&data); err != nil {
		t.Fatal(err)
	}
	if topic != events.OrderEventsTopic || e.Type != events.OrderPlaced || e.Subject != o.ID || data.TotalCents != o.TotalCents || len(data.Items) != 2 {
		t.Errorf("outbox row = %s %+v %+v; want an order.placed event of order %s to %s", topic, e, data, o.ID, events.OrderEventsTopic)
	}
	if diff := cmp.Diff(map[string]string{"type": "order.placed"}, attrs); diff != "" {
		t.Errorf("outbox attributes mismatch (-want +got):\n%s", diff)
	}
}

func TestCreateRollsBackEverything(t *testing.T) {
	ctx := context.Background()
	store, admin := newStore(t)
	o := newOrder(t, time.Now(), orders.Item{SKU: "SKU-1", Quantity: 5000, PriceCents: 1}) // violates a CHECK
	if _, _, err := store.Create(ctx, o, orders.Idempotency{Key: "k", RequestHash: "h"}); err == nil {
		t.Fatal("Create(quantity 5000) succeeded; want the database to refuse it")
	}
	var n int
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM orders.orders) + (SELECT count(*) FROM orders.outbox)
		+ (SELECT count(*) FROM orders.idempotency_keys)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("rows left after a failed Create = %d; want 0", n)
	}
}

func TestCreateIdempotency(t *testing.T) {
	ctx := context.Background()
	store, admin := newStore(t)
	first := newOrder(t, time.Now())
	if _, created, err := store.Create(ctx, first, orders.Idempotency{Key: "key-1", RequestHash: "h1"}); err != nil || !created {
		t.Fatalf("Create() = %v, %v; want created", created, err)
	}
	retry := newOrder(t, time.Now()) // a retry gets a new id from the service; the store returns the first
	got, created, err := store.Create(ctx, retry, orders.Idempotency{Key: "key-1", RequestHash: "h1"})
	if err != nil || created || got.ID != first.ID {
		t.Errorf("Create(same key, same hash) = %s, %v, %v; want %s, not created", got.ID, created, err, first.ID)
	}
	_, _, err = store.Create(ctx, newOrder(t, time.Now()), orders.Idempotency{Key: "key-1", RequestHash: "h2"})
	if !errors.Is(err, orders.ErrIdempotencyConflict) {
		t.Errorf("Create(same key, other hash) = %v; want ErrIdempotencyConflict", err)
	}

	// Concurrent requests with one new key: exactly one order is created and all return it.
	const n = 8
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			o, _, err := store.Create(ctx, newOrder(t, time.Now()), orders.Idempotency{Key: "key-2", RequestHash: "h"})
			if err != nil {
				t.Errorf("concurrent Create() = %v", err)
			}
			ids[i] = o.ID
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Errorf("concurrent Create() returned orders %v; want one", ids)
			break
		}
	}
	var count int
	if err := admin.QueryRow(ctx, `SELECT count(*) FROM orders.orders`).Scan(&count); err != nil {
		t.Fatal(err)
	}
	if count != 2 {
		t.Errorf("orders stored = %d; want 2", count)
	}
}

func TestGetNotFound(t *testing.T) {
	store, _ := newStore(t)
	if _, err := store.Get(context.Background(), uuid.NewString()); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("Get(unknown) = %v; want ErrNotFound", err)
	}
	if _, err := store.Notifications(context.Background(), uuid.NewString()); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("Notifications(unknown) = %v; want ErrNotFound", err)
	}
}

func TestListKeyset(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	svc := orders.NewService(store, slog.New(slog.DiscardHandler))
	base := time.Now().Add(-time.Hour)
	var want []string // newest first
	for i := range 7 {
		// Two orders share each creation time so the id breaks the tie.
		o := newOrder(t, base.Add(time.Duration(i/2)*time.Second))
		if _, _, err := store.Create(ctx, o, orders.Idempotency{}); err != nil {
			t.Fatal(err)
		}
		want = append([]string{o.ID}, want...)
	}
	if _, err := store.ApplyOutcome(ctx, uuid.NewString(), want[1], orders.StatusFulfilled, ""); err != nil {
		t.Fatal(err)
	}

	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 10 {
			t.Fatal("List() does not end")
		}
		p, err := svc.List(ctx, "", 3, cursor)
		if err != nil {
			t.Fatalf("List(cursor %q) = %v", cursor, err)
		}
		for _, o := range p.Orders {
			got = append(got, o.ID)
		}
		if p.Next == "" {
			break
		}
		cursor = p.Next
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("List() pages mismatch (-want +got):\n%s", diff)
	}

	p, err := svc.List(ctx, orders.StatusFulfilled, 10, "")
	if err != nil || len(p.Orders) != 1 || p.Orders[0].ID != want[1] || p.Next != "" {
		t.Errorf("List(fulfilled) = %+v, %v; want only order %s", p, err, want[1])
	}
	p, err = svc.List(ctx, orders.StatusPending, 6, "")
	if err != nil || len(p.Orders) != 6 || p.Next != "" {
		t.Errorf("List(pending, 6) = %d orders, next %q, %v; want 6 and no next page", len(p.Orders), p.Next, err)
	}
}

func TestApplyOutcomeOnce(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	o := newOrder(t, time.Now())
	if _, _, err := store.Create(ctx, o, orders.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	eventID := uuid.NewString()
	tests := []struct {
		name    string
		eventID string
		status  orders.Status
		want    bool
	}{
		{"first delivery", eventID, orders.StatusRejected, true},
		{"redelivery", eventID, orders.StatusRejected, false},
		{"a later contradicting event", uuid.NewString(), orders.StatusFulfilled, false},
	}
	for _, tt := range tests {
		got, err := store.ApplyOutcome(ctx, tt.eventID, o.ID, tt.status, "short")
		if err != nil || got != tt.want {
			t.Errorf("%s: ApplyOutcome() = %v, %v; want %v", tt.name, got, err, tt.want)
		}
	}
	read, err := store.Get(ctx, o.ID)
	if err != nil || read.Status != orders.StatusRejected || read.StatusReason != "short" {
		t.Errorf("Get() = %+v, %v; want rejected for reason short", read, err)
	}

	unknown := uuid.NewString()
	eventID = uuid.NewString()
	if _, err := store.ApplyOutcome(ctx, eventID, unknown, orders.StatusFulfilled, ""); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("ApplyOutcome(unknown order) = %v; want ErrNotFound", err)
	}
	// The failed event was not recorded: once the order exists, a redelivery applies.
	o2 := newOrder(t, time.Now())
	o2.ID = unknown
	if _, _, err := store.Create(ctx, o2, orders.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	if got, err := store.ApplyOutcome(ctx, eventID, unknown, orders.StatusFulfilled, ""); err != nil || !got {
		t.Errorf("ApplyOutcome(redelivered after failure) = %v, %v; want applied", got, err)
	}
}

func TestRecordNotificationOnce(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	o := newOrder(t, time.Now())
	if _, _, err := store.Create(ctx, o, orders.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	n := orders.Notification{ID: uuid.NewString(), OrderID: o.ID, Type: string(events.NotificationOrderFulfilled),
		Channel: "email", Recipient: o.CustomerEmail, Subject: "On its way", Body: "Thanks",
		SentAt: time.Now().UTC().Truncate(time.Microsecond)}
	for i, want := range []bool{true, false} {
		if got, err := store.RecordNotification(ctx, n); err != nil || got != want {
			t.Errorf("RecordNotification() #%d = %v, %v; want %v", i+1, got, err, want)
		}
	}
	got, err := store.Notifications(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]orders.Notification{n}, got, cmpopts.EquateApproxTime(0)); diff != "" {
		t.Errorf("Notifications() mismatch (-want +got):\n%s", diff)
	}
	n.ID, n.OrderID = uuid.NewString(), uuid.NewString()
	if _, err := store.RecordNotification(ctx, n); !errors.Is(err, orders.ErrNotFound) {
		t.Errorf("RecordNotification(unknown order) = %v; want ErrNotFound", err)
	}
}

func TestPruneIdempotencyKeys(t *testing.T) {
	ctx := context.Background()
	store, admin := newStore(t)
	for _, key := range []string{"old", "new"} {
		if _, _, err := store.Create(ctx, newOrder(t, time.Now()), orders.Idempotency{Key: key, RequestHash: "h"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := admin.Exec(ctx, `UPDATE orders.idempotency_keys SET created_at = now() - interval '25 hours' WHERE key = 'old'`); err != nil {
		t.Fatal(err)
	}
	if n, err := store.PruneIdempotencyKeys(ctx, ordersdb.IdempotencyKeyRetention); err != nil || n != 1 {
		t.Fatalf("PruneIdempotencyKeys() = %d, %v; want 1", n, err)
	}
	// The pruned key starts a new order; the kept one still returns its first.
	for key, wantCreated := range map[string]bool{"old": true, "new": false} {
		if _, created, err := store.Create(ctx, newOrder(t, time.Now()), orders.Idempotency{Key: key, RequestHash: "other"}); err != nil && wantCreated || created != wantCreated {
			t.Errorf("Create(key %s) = created %v, %v; want created %v", key, created, err, wantCreated)
		}
	}
}

// A committed order wakes the relay of this process; a failed one does not.
func TestCreateWakesTheRelayOnCommit(t *testing.T) {
	ctx := context.Background()
	store, _ := newStore(t)
	wake := store.Outbox().Wake()
	bad := newOrder(t, time.Now(), orders.Item{SKU: "SKU-1", Quantity: 5000, PriceCents: 1}) // violates a CHECK
	if _, _, err := store.Create(ctx, bad, orders.Idempotency{}); err == nil {
		t.Fatal("Create(quantity 5000) succeeded; want the database to refuse it")
	}
	select {
	case <-wake:
		t.Fatal("a rolled-back order woke the relay")
	default:
	}
	if _, _, err := store.Create(ctx, newOrder(t, time.Now()), orders.Idempotency{}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	default:
		t.Fatal("a committed order did not wake the relay")
	}
}
