package fulfillmentdb_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/fulfillment"
	"github.com/ecs-reworked/ecs-reworked/internal/fulfillment/fulfillmentdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// newService returns the worker's service connected as the worker's own role, and a superuser pool to look
// behind it.
func newService(t *testing.T) (*fulfillment.Service, *pgxpool.Pool) {
	t.Helper()
	svc, _, admin := newServiceAndStore(t)
	return svc, admin
}

func newServiceAndStore(t *testing.T) (*fulfillment.Service, *fulfillmentdb.Store, *pgxpool.Pool) {
	t.Helper()
	db := dbtest.NewDatabase(t)
	store := fulfillmentdb.New(dbtest.Connect(t, db.DSNFor(migrations.FulfillmentRole)))
	return fulfillment.NewService(store, slog.New(slog.DiscardHandler)), store, dbtest.Connect(t, db.DSN())
}

func placed(t *testing.T, items ...events.Item) []byte {
	t.Helper()
	id := uuid.NewString()
	e, err := events.New(events.OrderPlaced, events.SourceAPI, id, events.OrderPlacedData{
		OrderID: id, CustomerEmail: "a@example.com", Items: items, TotalCents: 100}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func onHand(t *testing.T, admin *pgxpool.Pool, sku string) int {
	t.Helper()
	var n int
	if err := admin.QueryRow(context.Background(), `SELECT on_hand FROM fulfillment.inventory WHERE sku = $1`, sku).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

type outboxRow struct {
	Topic, Type, Channel string
}

func outboxRows(t *testing.T, admin *pgxpool.Pool) []outboxRow {
	t.Helper()
	rows, err := admin.Query(context.Background(), `SELECT topic, attributes->>'type', coalesce(attributes->>'channel', '')
		FROM fulfillment.outbox ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var out []outboxRow
	for rows.Next() {
		var r outboxRow
		if err := rows.Scan(&r.Topic, &r.Type, &r.Channel); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestFulfillReservesOnce(t *testing.T) {
	ctx := context.Background()
	svc, admin := newService(t)
	before := onHand(t, admin, "SKU-1")
	msg := placed(t, events.Item{SKU: "SKU-1", Quantity: 2, PriceCents: 1}, events.Item{SKU: "SKU-1", Quantity: 1, PriceCents: 1})
	for i := range 2 { // the second is a redelivery
		if err := svc.Handle(ctx, msg); err != nil {
			t.Fatalf("Handle() #%d = %v", i+1, err)
		}
	}
	if got, want := onHand(t, admin, "SKU-1"), before-3; got != want {
		t.Errorf("SKU-1 on hand = %d; want %d (reserved once)", got, want)
	}
	want := []outboxRow{{"order-events", "order.fulfilled", ""}, {"notifications", "notification.order_fulfilled", "email"}}
	if diff := cmp.Diff(want, outboxRows(t, admin)); diff != "" {
		t.Errorf("outbox mismatch (-want +got):\n%s", diff)
	}
}

func TestRejectWhenShort(t *testing.T) {
	ctx := context.Background()
	svc, admin := newService(t)
	before := onHand(t, admin, "SKU-1")
	for _, msg := range [][]byte{
		placed(t, events.Item{SKU: "SKU-1", Quantity: 1, PriceCents: 1}, events.Item{SKU: "SKU-9", Quantity: 1, PriceCents: 1}),
		placed(t, events.Item{SKU: "UNKNOWN-1", Quantity: 1, PriceCents: 1}),
	} {
		if err := svc.Handle(ctx, msg); err != nil {
			t.Fatalf("Handle() = %v", err)
		}
	}
	if got := onHand(t, admin, "SKU-1"); got != before {
		t.Errorf("SKU-1 on hand = %d; want %d (nothing reserved for a rejected order)", got, before)
	}
	want := []outboxRow{
		{"order-events", "order.rejected", ""}, {"notifications", "notification.order_rejected", "email"},
		{"order-events", "order.rejected", ""}, {"notifications", "notification.order_rejected", "email"},
	}
	if diff := cmp.Diff(want, outboxRows(t, admin)); diff != "" {
		t.Errorf("outbox mismatch (-want +got):\n%s", diff)
	}
}

func TestPoisonMessageHasNoEffect(t *testing.T) {
	ctx := context.Background()
	svc, admin := newService(t)
	wrongType, err := events.New(events.OrderFulfilled, events.SourceWorker, "o", events.OrderFulfilledData{OrderID: "o"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := wrongType.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{`{`, `{"version":2}`, string(wrong)} {
		if err := svc.Handle(ctx, []byte(body)); err == nil {
			t.Errorf("Handle(%.40q) = nil; want an error so the message reaches the dead-letter queue", body)
		}
	}
	var n int
	if err := admin.QueryRow(ctx, `SELECT (SELECT count(*) FROM fulfillment.inbox) + (SELECT count(*) FROM fulfillment.outbox)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("inbox and outbox rows after poison messages = %d; want 0", n)
	}
}

func TestConcurrentOrdersNeverOversell(t *testing.T) {
	ctx := context.Background()
	svc, admin := newService(t)
	if _, err := admin.Exec(ctx, `UPDATE fulfillment.inventory SET on_hand = 5 WHERE sku IN ('SKU-1', 'SKU-2')`); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 12 {
		// Orders list the SKUs in both orders, which would deadlock without ordered locking.
		items := []events.Item{{SKU: "SKU-1", Quantity: 1, PriceCents: 1}, {SKU: "SKU-2", Quantity: 1, PriceCents: 1}}
		if i%2 == 1 {
			items[0], items[1] = items[1], items[0]
		}
		msg := placed(t, items...)
		wg.Go(func() {
			if err := svc.Handle(ctx, msg); err != nil {
				t.Errorf("Handle() = %v", err)
			}
		})
	}
	wg.Wait()
	fulfilled := 0
	for _, r := range outboxRows(t, admin) {
		if r.Type == "order.fulfilled" {
			fulfilled++
		}
	}
	if fulfilled != 5 || onHand(t, admin, "SKU-1") != 0 || onHand(t, admin, "SKU-2") != 0 {
		t.Errorf("fulfilled %d orders, SKU-1 %d, SKU-2 %d left; want 5 fulfilled and none left", fulfilled,
			onHand(t, admin, "SKU-1"), onHand(t, admin, "SKU-2"))
	}
}

// An outcome committed wakes the relay of this process; a redelivery, which commits nothing, does not.
func TestFulfillWakesTheRelayOnCommit(t *testing.T) {
	ctx := context.Background()
	svc, store, _ := newServiceAndStore(t)
	wake := store.Outbox().Wake()
	msg := placed(t, events.Item{SKU: "SKU-1", Quantity: 1, PriceCents: 1})
	if err := svc.Handle(ctx, msg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-wake:
	default:
		t.Fatal("a committed outcome did not wake the relay")
	}
	if err := svc.Handle(ctx, msg); err != nil { // a redelivery
		t.Fatal(err)
	}
	select {
	case <-wake:
		t.Fatal("a redelivery, which wrote no event, woke the relay")
	default:
	}
}
