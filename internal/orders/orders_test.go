package orders

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func items(n int) []Item {
	its := make([]Item, n)
	for i := range its {
		its[i] = Item{SKU: "SKU-1", Quantity: 1, PriceCents: 100}
	}
	return its
}

func TestValidate(t *testing.T) {
	ok := Item{SKU: "SKU-1", Quantity: 2, PriceCents: 1250}
	tests := []struct {
		name string
		in   NewOrder
		want []string // fields named, in order
	}{
		{"valid", NewOrder{"a@example.com", []Item{ok}}, nil},
		{"max items and values", NewOrder{"a@example.com", append(items(MaxItems-1), Item{"X", MaxQuantity, MaxPriceCents})}, nil},
		{"free item", NewOrder{"a@example.com", []Item{{"SKU-2", 1, 0}}}, nil},
		{"missing email", NewOrder{"", []Item{ok}}, []string{"customer_email"}},
		{"bad email", NewOrder{"not-an-email", []Item{ok}}, []string{"customer_email"}},
		{"email with name", NewOrder{"Bob <b@example.com>", []Item{ok}}, []string{"customer_email"}},
		{"email without domain dot", NewOrder{"a@localhost", []Item{ok}}, []string{"customer_email"}},
		{"long email", NewOrder{strings.Repeat("a", 250) + "@example.com", []Item{ok}}, []string{"customer_email"}},
		{"no items", NewOrder{"a@example.com", nil}, []string{"items"}},
		{"too many items", NewOrder{"a@example.com", items(MaxItems + 1)}, []string{"items"}},
		{"bad sku", NewOrder{"a@example.com", []Item{ok, {"sku 1", 1, 1}}}, []string{"items[1].sku"}},
		{"empty sku", NewOrder{"a@example.com", []Item{{"", 1, 1}}}, []string{"items[0].sku"}},
		{"zero quantity", NewOrder{"a@example.com", []Item{{"A", 0, 1}}}, []string{"items[0].quantity"}},
		{"negative quantity", NewOrder{"a@example.com", []Item{{"A", -1, 1}}}, []string{"items[0].quantity"}},
		{"huge quantity", NewOrder{"a@example.com", []Item{{"A", MaxQuantity + 1, 1}}}, []string{"items[0].quantity"}},
		{"negative price", NewOrder{"a@example.com", []Item{{"A", 1, -1}}}, []string{"items[0].price_cents"}},
		{"huge price", NewOrder{"a@example.com", []Item{{"A", 1, MaxPriceCents + 1}}}, []string{"items[0].price_cents"}},
		{"every problem", NewOrder{"x", []Item{ok, {"?", 0, -5}}}, []string{"customer_email", "items[1].sku", "items[1].quantity", "items[1].price_cents"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.in.Validate()
			var got []string
			var ve *ValidationError
			if errors.As(err, &ve) {
				for _, p := range ve.Problems {
					got = append(got, p.Field)
				}
			} else if err != nil {
				t.Fatalf("Validate() = %v; want a *ValidationError", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Validate() fields mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTotal(t *testing.T) {
	tests := []struct {
		name    string
		items   []Item
		want    int64
		wantErr bool
	}{
		{"sum", []Item{{"A", 2, 1250}, {"B", 1, 1}}, 2501, false},
		{"largest valid order", append(items(0), func() []Item {
			its := items(MaxItems)
			for i := range its {
				its[i] = Item{"A", MaxQuantity, MaxPriceCents}
			}
			return its
		}()...), MaxItems * MaxQuantity * MaxPriceCents, false},
		{"line overflow", []Item{{"A", 2, math.MaxInt64/2 + 1}}, 0, true},
		{"sum overflow", []Item{{"A", 1, math.MaxInt64}, {"B", 1, 1}}, 0, true},
	}
	for _, tt := range tests {
		got, err := Total(tt.items)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("%s: Total() = %d, %v; want %d, error %v", tt.name, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestHash(t *testing.T) {
	a := NewOrder{"a@example.com", []Item{{"A", 1, 1}}}
	b := NewOrder{"a@example.com", []Item{{"A", 2, 1}}}
	same := NewOrder{"a@example.com", []Item{{"A", 1, 1}}}
	if a.Hash() != same.Hash() {
		t.Error("Hash() differs for equal requests")
	}
	if a.Hash() == b.Hash() {
		t.Error("Hash() is the same for different requests")
	}
}

func TestCursorRoundTrip(t *testing.T) {
	c := Cursor{CreatedAt: time.Date(2025, 3, 1, 12, 0, 0, 123456000, time.UTC), ID: "0195a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"}
	got, err := ParseCursor(c.String())
	if err != nil {
		t.Fatalf("ParseCursor(%q) = %v", c.String(), err)
	}
	if !got.CreatedAt.Equal(c.CreatedAt) || got.ID != c.ID {
		t.Errorf("ParseCursor(String()) = %+v; want %+v", got, c)
	}
}

func TestParseCursorRejects(t *testing.T) {
	for _, s := range []string{"", "!!!", "bm9wZQ", "WyIxIl0", "WyJ4IiwieSJd", "WyItMSIsIjAxOTVhMWIyLWMzZDQtN2U1Zi04YTliLTBjMWQyZTNmNGE1YiJd", strings.Repeat("A", 300)} {
		if _, err := ParseCursor(s); !errors.Is(err, ErrInvalidCursor) {
			t.Errorf("ParseCursor(%q) = %v; want ErrInvalidCursor", s, err)
		}
	}
}
