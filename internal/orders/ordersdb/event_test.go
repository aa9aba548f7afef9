package ordersdb

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/orders"
)

// FuzzPlacedMessage checks that the order.placed event built without events.New, for any order the domain
// accepts, is exactly what events.New builds (the same bytes but for the id) and what consumers decode.
func FuzzPlacedMessage(f *testing.F) {
	f.Add("a@example.com", "SKU-1", 2, int64(1250), 3)
	f.Add(`"quoted"@example.com`, "A", 1000, int64(0), 50)
	f.Add("ünïcode@example.com", strings.Repeat("Z", 64), 1, int64(1)<<40, 1)
	f.Fuzz(func(t *testing.T, email, sku string, qty int, price int64, lines int) {
		n := orders.NewOrder{CustomerEmail: email}
		for i := range min(max(lines, 1), orders.MaxItems+1) {
			n.Items = append(n.Items, orders.Item{SKU: sku, Quantity: qty + i%2, PriceCents: price})
		}
		if n.Validate() != nil {
			return
		}
		total, err := orders.Total(n.Items)
		if err != nil {
			return
		}
		o := orders.Order{ID: "0190a0b0-0000-7000-8000-000000000001", CustomerEmail: n.CustomerEmail, Items: n.Items,
			TotalCents: total, Status: orders.StatusPending}
		now := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("CET", 3600))
		msg, err := placedMessage(o, now)
		if err != nil {
			t.Fatalf("placedMessage(%+v) = %v", o, err)
		}
		got, err := events.Decode([]byte(msg.Body))
		if err != nil {
			t.Fatalf("events.Decode(placedMessage(%+v)) = %v; want the event", o, err)
		}
		items := make([]events.Item, len(o.Items))
		for i, it := range o.Items {
			items[i] = events.Item(it)
		}
		want, err := events.New(events.OrderPlaced, events.SourceAPI, o.ID, events.OrderPlacedData{OrderID: o.ID,
			CustomerEmail: o.CustomerEmail, Items: items, TotalCents: o.TotalCents}, now)
		if err != nil {
			t.Fatalf("events.New(order %+v) = %v", o, err)
		}
		want.ID = got.ID
		wantBody, err := want.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		if msg.Body != string(wantBody) {
			t.Errorf("placedMessage body = %s; want %s", msg.Body, wantBody)
		}
		if msg.EventID != got.ID || msg.Topic != events.OrderEventsTopic {
			t.Errorf("placedMessage = id %s topic %s; want id %s topic %s", msg.EventID, msg.Topic, got.ID, events.OrderEventsTopic)
		}
		if diff := cmp.Diff(want.Attributes(), msg.Attributes); diff != "" {
			t.Errorf("placedMessage attributes (-want +got):\n%s", diff)
		}
		var data events.OrderPlacedData
		if err := json.Unmarshal(got.Data, &data); err != nil || data.TotalCents != total {
			t.Errorf("decoded data = %+v, %v; want total %d", data, err, total)
		}
	})
}
