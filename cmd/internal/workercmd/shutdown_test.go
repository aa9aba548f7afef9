package workercmd

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
)

// TestSIGTERMWithMessagesInFlightLosesNoneAndAppliesEachOnce runs the worker binary on a backlog of orders and
// stops it with SIGTERM as ECS stops a task, while it is busy. It must exit 0 within SHUTDOWN_TIMEOUT, having
// finished, deleted and published the outcome of the messages it held; a second task then handles the rest.
// In the end every order is reserved exactly once and has exactly one outcome and one notification: a message
// received again after the stop is absorbed by the inbox.
func TestSIGTERMWithMessagesInFlightLosesNoneAndAppliesEachOnce(t *testing.T) {
	const (
		shutdown = 10 * time.Second
		orders   = 400
	)
	ctx := context.Background()
	sys := loadtest.NewSystem(t, 2*time.Second)
	bin := filepath.Join(devenvtest.Build(t, "./cmd/worker"), "worker")
	before := sys.Count(t, `SELECT on_hand FROM fulfillment.inventory WHERE sku = 'SKU-1'`)

	pub := messaging.NewPublisher(sys.SNS)
	want := map[string]bool{}
	var batch []messaging.Message
	for range orders {
		e := placedEvent(t, "SKU-1", 1)
		want[e.Subject] = true
		body, err := e.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		batch = append(batch, messaging.Message{ID: e.ID, Body: string(body), Attributes: e.Attributes()})
	}
	if err := pub.PublishBatch(ctx, sys.TopicARN[events.OrderEventsTopic], batch); err != nil {
		t.Fatal(err)
	}

	first := loadtest.Start(t, bin, sys.WorkerEnv(shutdown))
	loadtest.Eventually(t, "the first worker handles a message", func() bool {
		return sys.Count(t, `SELECT count(*) FROM fulfillment.inbox`) > 0
	})
	if err := first.Stop(shutdown); err != nil {
		t.Fatalf("worker after SIGTERM: %v; want exit status 0 within SHUTDOWN_TIMEOUT (%v)", err, shutdown)
	}
	handled := sys.Count(t, `SELECT count(*) FROM fulfillment.inbox`)
	t.Logf("the first worker handled %d of %d orders before it stopped", handled, orders)
	if got := sys.Count(t, `SELECT count(*) FROM fulfillment.outbox`); got != 0 {
		t.Errorf("outbox rows left by the stopped worker = %d; want 0 (its relay publishes after the last message)", got)
	}
	if handled == orders {
		t.Fatalf("the first worker handled the whole backlog before SIGTERM: the stop was not tested")
	}

	second := loadtest.Start(t, bin, sys.WorkerEnv(shutdown))
	loadtest.Eventually(t, "the second worker handles the rest", func() bool {
		return sys.Count(t, `SELECT count(*) FROM fulfillment.inbox`) == orders &&
			sys.Messages(t, events.FulfillmentQueue) == 0 && sys.Count(t, `SELECT count(*) FROM fulfillment.outbox`) == 0
	})
	if err := second.Stop(shutdown); err != nil {
		t.Errorf("second worker after SIGTERM: %v; want exit status 0", err)
	}

	if got := sys.Count(t, `SELECT count(*) FROM fulfillment.reservations`); got != orders {
		t.Errorf("reservations = %d; want %d, one per order", got, orders)
	}
	if got := sys.Count(t, `SELECT on_hand FROM fulfillment.inventory WHERE sku = 'SKU-1'`); got != before-orders {
		t.Errorf("SKU-1 on hand = %d; want %d (each order reserved once)", got, before-orders)
	}
	outcomes, notes := map[string]int{}, map[string]int{}
	for _, body := range sys.Drain(t, events.OrderUpdatesQueue, 3*orders) {
		e, err := events.Decode([]byte(body))
		if err != nil {
			t.Fatalf("order-updates holds %q: %v", body, err)
		}
		switch e.Type {
		case events.OrderFulfilled:
			outcomes[e.Subject]++
		case events.NotificationOrderFulfilled:
			notes[e.Subject]++
		default:
			t.Errorf("order-updates holds a %s event of order %s; want the orders fulfilled", e.Type, e.Subject)
		}
	}
	for id := range want {
		if outcomes[id] != 1 || notes[id] != 1 {
			t.Errorf("order %s: %d outcomes and %d notifications published; want one each", id, outcomes[id], notes[id])
		}
	}
	if len(outcomes) != orders || len(notes) != orders {
		t.Errorf("outcomes for %d orders, notifications for %d; want %d each", len(outcomes), len(notes), orders)
	}
}
