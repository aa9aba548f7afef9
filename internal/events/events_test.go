package events

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var now = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func placed(t *testing.T) Envelope {
	t.Helper()
	e, err := New(OrderPlaced, SourceAPI, "ord-1", OrderPlacedData{
		OrderID: "ord-1", CustomerEmail: "a@example.com", TotalCents: 2500,
		Items: []Item{{SKU: "SKU-1", Quantity: 2, PriceCents: 1250}},
	}, now)
	if err != nil {
		t.Fatalf("New(order.placed) = %v", err)
	}
	return e
}

func TestRoundTrip(t *testing.T) {
	e := placed(t)
	body, err := e.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decode(body)
	if err != nil {
		t.Fatalf("Decode(%s) = %v", body, err)
	}
	if diff := cmp.Diff(e, got); diff != "" {
		t.Errorf("Decode(Marshal(e)) mismatch (-want +got):\n%s", diff)
	}
	var data OrderPlacedData
	if err := got.DecodeData(&data); err != nil {
		t.Fatal(err)
	}
	if got, want := data.TotalCents, int64(2500); got != want {
		t.Errorf("TotalCents = %d; want %d", got, want)
	}
	if got, want := e.Attributes(), map[string]string{"type": "order.placed"}; !cmp.Equal(got, want) {
		t.Errorf("Attributes() = %v; want %v", got, want)
	}
}

func TestNotificationAttributes(t *testing.T) {
	e, err := New(NotificationOrderRejected, SourceWorker, "ord-1", NotificationData{
		OrderID: "ord-1", Channel: ChannelEmail, Recipient: "a@example.com", Subject: "Sorry", Body: "Out of stock",
	}, now)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"type": "notification.order_rejected", "channel": "email"}
	if got := e.Attributes(); !cmp.Equal(got, want) {
		t.Errorf("Attributes() = %v; want %v", got, want)
	}
}

func TestNewRefusesInvalidPayload(t *testing.T) {
	_, err := New(OrderFulfilled, SourceWorker, "ord-1", OrderFulfilledData{}, now)
	var de *DecodeError
	if !errors.As(err, &de) || de.Field != "data.order_id" {
		t.Errorf("New(order.fulfilled without order_id) = %v; want a DecodeError on data.order_id", err)
	}
}

const valid = `{"version":1,"id":"0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","type":"order.fulfilled","time":"2025-03-01T12:00:00Z","source":"worker","subject":"ord-1","data":{"order_id":"ord-1"}}`

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, body, field string
	}{
		{"empty", ``, ""},
		{"malformed", `{"version":1,`, ""},
		{"not an object", `[1]`, ""},
		{"trailing data", valid + `{}`, ""},
		{"unknown field", strings.Replace(valid, `"version":1`, `"version":1,"extra":true`, 1), "extra"},
		{"wrong version", strings.Replace(valid, `"version":1`, `"version":2`, 1), "version"},
		{"version as string", strings.Replace(valid, `"version":1`, `"version":"1"`, 1), "version"},
		{"missing id", strings.Replace(valid, `"id":"0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",`, ``, 1), "id"},
		{"id not a uuid", strings.Replace(valid, `0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b`, `nope`, 1), "id"},
		{"unknown type", strings.Replace(valid, `order.fulfilled`, `order.exploded`, 1), "type"},
		{"bad time", strings.Replace(valid, `2025-03-01T12:00:00Z`, `yesterday`, 1), "time"},
		{"missing source", strings.Replace(valid, `"source":"worker",`, ``, 1), "source"},
		{"missing subject", strings.Replace(valid, `"subject":"ord-1",`, ``, 1), "subject"},
		{"null data", strings.Replace(valid, `{"order_id":"ord-1"}`, `null`, 1), "data"},
		{"data not an object", strings.Replace(valid, `{"order_id":"ord-1"}`, `"x"`, 1), "data"},
		{"unknown data field", strings.Replace(valid, `{"order_id":"ord-1"}`, `{"order_id":"ord-1","x":1}`, 1), "data.x"},
		{"payload invalid", strings.Replace(valid, `{"order_id":"ord-1"}`, `{"order_id":""}`, 1), "data.order_id"},
		{"payload of other type", strings.Replace(valid, `{"order_id":"ord-1"}`, `{"order_id":"o","reason":"r","short_skus":[]}`, 1), "data.reason"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode([]byte(tt.body))
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%s) = %v; want a *DecodeError", tt.body, err)
			}
			if de.Field != tt.field {
				t.Errorf("Decode(%s) field = %q (%v); want %q", tt.body, de.Field, err, tt.field)
			}
		})
	}
}

func TestDecodeOrderPlacedItems(t *testing.T) {
	body := `{"version":1,"id":"0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","type":"order.placed","time":"2025-03-01T12:00:00Z","source":"api","subject":"o","data":{"order_id":"o","customer_email":"a@example.com","items":[{"sku":"SKU-1","quantity":1,"price_cents":1},{"sku":"SKU-2","quantity":0,"price_cents":1}],"total_cents":2}}`
	_, err := Decode([]byte(body))
	var de *DecodeError
	if !errors.As(err, &de) || de.Field != "data.items[1].quantity" {
		t.Errorf("Decode(quantity 0) = %v; want a DecodeError on data.items[1].quantity", err)
	}
}

// FuzzDecode checks that Decode never panics and that whatever it accepts survives a round trip unchanged. The
// seed corpus runs in every `go test`.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(valid))
	f.Add([]byte(`{"version":1,"id":"0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","type":"notification.order_fulfilled","time":"2025-03-01T12:00:00Z","source":"worker","subject":"o","data":{"order_id":"o","channel":"email","recipient":"a@example.com","subject":"s","body":"b"}}`))
	f.Add([]byte(`{"version":1,"id":"0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b","type":"order.placed","time":"2025-03-01T12:00:00Z","source":"api","subject":"o","data":{"order_id":"o","customer_email":"a@example.com","items":[{"sku":"SKU-1","quantity":1,"price_cents":1}],"total_cents":1}}`))
	f.Add([]byte(`{"version":1}`))
	f.Add([]byte(`{"data":{"order_id":1}}`))
	f.Add([]byte(`null`))
	f.Add([]byte(`{"version":1e400}`))
	f.Add([]byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := Decode(body)
		if err != nil {
			var de *DecodeError
			if !errors.As(err, &de) {
				t.Fatalf("Decode(%q) = %v; want a *DecodeError", body, err)
			}
			return
		}
		again, err := e.Marshal()
		if err != nil {
			t.Fatalf("Marshal(Decode(%q)) = %v", body, err)
		}
		e2, err := Decode(again)
		if err != nil {
			t.Fatalf("Decode(Marshal(Decode(%q))) = %v", body, err)
		}
		if e2.ID != e.ID || e2.Type != e.Type || !e2.Time.Equal(e.Time) {
			t.Errorf("round trip of %q changed the envelope: %+v -> %+v", body, e, e2)
		}
	})
}
