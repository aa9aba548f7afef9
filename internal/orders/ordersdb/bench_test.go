package ordersdb_test

import (
	"context"
	"log/slog"
	"strconv"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/orders"
	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/baseline"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// BenchmarkCreate measures placing an order (validation, order, items and the order.placed outbox row in one
// transaction) against the plain insert of the same order and items, as a throughput ratio (x-baseline).
func BenchmarkCreate(b *testing.B) {
	for _, withKey := range []bool{false, true} {
		b.Run("idempotency_key="+strconv.FormatBool(withKey), func(b *testing.B) {
			db := dbtest.NewDatabase(b)
			pool := dbtest.Connect(b, db.DSNFor(migrations.OrdersRole))
			svc := orders.NewService(ordersdb.New(pool), slog.New(slog.DiscardHandler))
			items := []orders.Item{{SKU: "SKU-1", Quantity: 2, PriceCents: 1250}, {SKU: "SKU-2", Quantity: 1, PriceCents: 999}}
			n := orders.NewOrder{CustomerEmail: "a@example.com", Items: items}
			keys := 0
			baseline.Compare(b,
				func(ctx context.Context) error {
					key := ""
					if withKey {
						keys++
						key = "key-" + strconv.Itoa(keys)
					}
					_, _, err := svc.Place(ctx, n, key)
					return err
				},
				func(ctx context.Context) error {
					o := baseline.Order{CustomerEmail: n.CustomerEmail, Items: []baseline.Item{
						baseline.Item(items[0]), baseline.Item(items[1])}}
					return baseline.Insert(ctx, pool, &o)
				})
		})
	}
}
