package api

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/baseline"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// BenchmarkGetOrder measures GET /api/orders/{id} over HTTP through the API as cmd/api serves it (request ids,
// metrics, the service, the store) against the minimal net/http + pgx handler running the same query, as a
// throughput ratio (x-baseline).
func BenchmarkGetOrder(b *testing.B) {
	db := dbtest.NewDatabase(b)
	pool := dbtest.Connect(b, db.DSNFor(migrations.OrdersRole))
	log := slog.New(slog.DiscardHandler)
	svc := orders.NewService(ordersdb.New(pool), log)
	o, _, err := svc.Place(context.Background(), orders.NewOrder{CustomerEmail: "a@example.com",
		Items: []orders.Item{{SKU: "SKU-1", Quantity: 2, PriceCents: 1250}, {SKU: "SKU-2", Quantity: 1, PriceCents: 999}}}, "")
	if err != nil {
		b.Fatal(err)
	}
	mux := http.NewServeMux()
	New(svc, log).Register(mux)
	ours := httptest.NewServer(logging.Middleware(metrics.Middleware(metrics.New(io.Discard, "bench"), mux)))
	b.Cleanup(ours.Close)
	base := httptest.NewServer(baseline.Handler(pool))
	b.Cleanup(base.Close)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(url string) func(ctx context.Context) error {
		return func(ctx context.Context) error {
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
			if err != nil {
				return err
			}
			res, err := client.Do(req)
			if err != nil {
				return err
			}
			defer res.Body.Close()
			if _, err := io.Copy(io.Discard, res.Body); err != nil {
				return err
			}
			if res.StatusCode != http.StatusOK {
				return fmt.Errorf("GET %s = %d", url, res.StatusCode)
			}
			return nil
		}
	}
	baseline.Compare(b, get(ours.URL+"/api/orders/"+o.ID), get(base.URL+"/api/orders/"+o.ID))
}
