package fulfillment

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
)

func TestDecide(t *testing.T) {
	stock := map[string]int{"SKU-1": 5, "SKU-2": 1, "SKU-9": 0}
	tests := []struct {
		name  string
		items []events.Item
		want  Decision
	}{
		{"in stock", []events.Item{{SKU: "SKU-1", Quantity: 5}, {SKU: "SKU-2", Quantity: 1}},
			Decision{Reserve: map[string]int{"SKU-1": 5, "SKU-2": 1}}},
		{"same sku twice adds up", []events.Item{{SKU: "SKU-1", Quantity: 3}, {SKU: "SKU-1", Quantity: 3}},
			Decision{Short: []string{"SKU-1"}}},
		{"out of stock", []events.Item{{SKU: "SKU-9", Quantity: 1}}, Decision{Short: []string{"SKU-9"}}},
		{"unknown sku", []events.Item{{SKU: "SKU-1", Quantity: 1}, {SKU: "NOPE", Quantity: 1}}, Decision{Short: []string{"NOPE"}}},
		{"every short sku, sorted", []events.Item{{SKU: "SKU-9", Quantity: 1}, {SKU: "SKU-2", Quantity: 2}},
			Decision{Short: []string{"SKU-2", "SKU-9"}}},
	}
	for _, tt := range tests {
		if diff := cmp.Diff(tt.want, Decide(tt.items, stock)); diff != "" {
			t.Errorf("%s: Decide() mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestOutcome(t *testing.T) {
	order := events.OrderPlacedData{OrderID: "o-1", CustomerEmail: "a@example.com", TotalCents: 1250,
		Items: []events.Item{{SKU: "SKU-9", Quantity: 1, PriceCents: 1250}}}
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	outcome, note, err := Outcome(order, Decision{Short: []string{"SKU-9"}}, now)
	if err != nil {
		t.Fatal(err)
	}
	var rejected events.OrderRejectedData
	if err := outcome.DecodeData(&rejected); err != nil {
		t.Fatal(err)
	}
	if outcome.Type != events.OrderRejected || outcome.Subject != "o-1" || rejected.Reason != "out of stock: SKU-9" {
		t.Errorf("outcome = %+v %+v; want order.rejected of o-1 out of stock: SKU-9", outcome, rejected)
	}
	want := map[string]string{"type": "notification.order_rejected", "channel": "email"}
	if diff := cmp.Diff(want, note.Attributes()); diff != "" {
		t.Errorf("notification attributes mismatch (-want +got):\n%s", diff)
	}
	if got, _ := events.TopicOf(note.Type); got != events.NotificationsTopic {
		t.Errorf("TopicOf(%s) = %s; want %s", note.Type, got, events.NotificationsTopic)
	}
	if got, _ := events.TopicOf(outcome.Type); got != events.OrderEventsTopic {
		t.Errorf("TopicOf(%s) = %s; want %s", outcome.Type, got, events.OrderEventsTopic)
	}
	_, note, err = Outcome(order, Decision{Reserve: map[string]int{"SKU-9": 1}}, now)
	if err != nil || note.Type != events.NotificationOrderFulfilled {
		t.Errorf("Outcome(fulfilled) notification = %s, %v; want %s", note.Type, err, events.NotificationOrderFulfilled)
	}
}
