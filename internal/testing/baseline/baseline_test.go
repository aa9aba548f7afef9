package baseline_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/baseline"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// TestBaselineServesOrders checks that the baseline does the work it is compared with: it stores an order and
// reads it back.
func TestBaselineServesOrders(t *testing.T) {
	db := dbtest.NewDatabase(t)
	h := baseline.Handler(dbtest.Connect(t, db.DSNFor(migrations.OrdersRole)))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/orders",
		strings.NewReader(`{"customer_email":"a@example.com","items":[{"sku":"SKU-1","quantity":2,"price_cents":1250}]}`)))
	var created baseline.Order
	if rec.Code != http.StatusCreated || json.Unmarshal(rec.Body.Bytes(), &created) != nil || created.TotalCents != 2500 {
		t.Fatalf("POST /api/orders = %d %s; want 201 with total 2500", rec.Code, rec.Body)
	}
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/orders/"+created.ID, nil))
	var got baseline.Order
	if rec.Code != http.StatusOK || json.Unmarshal(rec.Body.Bytes(), &got) != nil || got.ID != created.ID ||
		len(got.Items) != 1 || got.Items[0].SKU != "SKU-1" || got.Status != "pending" {
		t.Errorf("GET /api/orders/%s = %d %s; want the order", created.ID, rec.Code, rec.Body)
	}
}
