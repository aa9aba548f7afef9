package api

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ecs-reworked/ecs-reworked/internal/orders"
)

var decodeSeeds = []string{
	validBody,
	`{"customer_email":"a@example.com","items":[]}`,
	`{"customer_email":"a@example.com","items":[{"sku":"SKU-1","quantity":1e2,"price_cents":0}]}`,
	`{"customer_email":"a@example.com","items":[{"sku":"SKU-1","quantity":-0,"price_cents":-99999999999999999999}]}`,
	`{"customer_email":"a@example.com","items":[null,1,"x",[],{}]}`,
	`{"customer_email":null,"items":null}`,
	`{"customer_email":"a@example.com","customer_email":"b@example.com","items":[]}`,
	`{"x":{"y":[1,2,{"z":null}]}}`,
	`{"customer_email":"\u00e9@example.com","items":[{"sku":"\ud800","quantity":1,"price_cents":1}]}`,
	`{} {}`,
	`{`,
	``,
	"\xff",
	`[{"sku":"A"}]`,
}

func TestDecodeNewOrder(t *testing.T) {
	got, err := decodeNewOrder([]byte(validBody))
	if err != nil {
		t.Fatal(err)
	}
	want := orders.NewOrder{CustomerEmail: "a@example.com", Items: []orders.Item{{SKU: "SKU-1", Quantity: 2, PriceCents: 1250}, {SKU: "SKU-9", Quantity: 1, PriceCents: 1}}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("decodeNewOrder() mismatch (-want +got):\n%s", diff)
	}
}

// FuzzDecodeNewOrder checks that decoding never panics, that a refusal names a field, and that whatever is
// accepted means the same after a round trip through encoding/json. The seed corpus runs in every `go test`.
func FuzzDecodeNewOrder(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := decodeNewOrder(body)
		if err != nil {
			var re *requestError
			if !errors.As(err, &re) || len(re.problems) == 0 || re.problems[0].Field == "" {
				t.Fatalf("decodeNewOrder(%q) = %v; want a requestError naming a field", body, err)
			}
			return
		}
		if n.Items == nil {
			n.Items = []orders.Item{} // absent and empty both mean no items
		}
		b, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		again, err := decodeNewOrder(b)
		if err != nil {
			t.Fatalf("decodeNewOrder(%s), re-encoded from %q = %v", b, body, err)
		}
		if diff := cmp.Diff(n, again, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("round trip of %q changed the request (-first +second):\n%s", body, diff)
		}
	})
}

// validatingOrders is an Orders that applies the domain's validation and otherwise accepts every order, so the
// HTTP layer can be fuzzed without a database.
type validatingOrders struct{}

func (validatingOrders) Place(_ context.Context, n orders.NewOrder, _ string) (orders.Order, bool, error) {
	if err := n.Validate(); err != nil {
		return orders.Order{}, false, err
	}
	total, err := orders.Total(n.Items)
	return orders.Order{ID: "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", CustomerEmail: n.CustomerEmail, Items: n.Items,
		TotalCents: total, Status: orders.StatusPending}, true, err
}

func (validatingOrders) Get(context.Context, string) (orders.Order, error) {
	return orders.Order{}, orders.ErrNotFound
}

func (validatingOrders) List(context.Context, orders.Status, int, string) (orders.Page, error) {
	return orders.Page{}, nil
}

func (validatingOrders) Notifications(context.Context, string) ([]orders.Notification, error) {
	return nil, orders.ErrNotFound
}

// FuzzCreateOrder checks that no body makes POST /api/orders answer anything but 201 or a 400, 413 or 422
// problem that names a field, and that every answer matches the OpenAPI document.
func FuzzCreateOrder(f *testing.F) {
	for _, s := range decodeSeeds {
		f.Add(s)
	}
	spec := newSpecValidator(f)
	h := New(validatingOrders{}, slog.New(slog.DiscardHandler))
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/api/orders", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusCreated:
			return
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		default:
			t.Fatalf("POST %q = %d %s; want 201, 400, 413 or 422", body, rec.Code, rec.Body)
		}
		var p problem
		if err := json.Unmarshal(rec.Body.Bytes(), &p); err != nil || len(p.Errors) == 0 || p.Errors[0].Field == "" {
			t.Fatalf("POST %q = %d %s; want a problem naming a field", body, rec.Code, rec.Body)
		}
		res := rec.Result()
		vreq := httptest.NewRequest(http.MethodPost, "/api/orders", nil)
		vreq.Header = req.Header
		if ok, errs := spec.ValidateHttpResponse(vreq, res); !ok {
			t.Fatalf("POST %q: response %s does not match openapi.yaml: %v", body, rec.Body, errs[0].Message)
		}
	})
}
