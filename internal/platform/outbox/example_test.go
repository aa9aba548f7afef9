package outbox_test

import (
	"context"
	"log/slog"
	"os"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
)

// The change and its event are written in one transaction; the relay (one per API task) publishes it.
func ExampleOutbox_Enqueue() {
	ctx := context.Background()
	var pool *pgxpool.Pool // database.Open(...)
	ob := outbox.New(pgx.Identifier{"orders", "outbox"})
	place := func() error {
		return database.InTx(ctx, pool, func(tx pgx.Tx) error {
			// INSERT INTO orders.orders ...
			return ob.Enqueue(ctx, tx, outbox.Message{
				EventID:    "3f0c5b8e-8f0a-4c8e-9d6b-0b7f3f6c2a11",
				Topic:      "order-events",
				Body:       `{"version":1,"id":"3f0c5b8e-8f0a-4c8e-9d6b-0b7f3f6c2a11","type":"order.placed"}`,
				Attributes: map[string]string{"type": "order.placed"},
			})
		})
	}
	_ = place

	var pub *messaging.Publisher // messaging.NewPublisher(sns.NewFromConfig(awsCfg))
	relay, err := outbox.NewRelay(pool, pgx.Identifier{"orders", "outbox"}, pub, slog.New(slog.NewJSONHandler(os.Stdout, nil)),
		outbox.RelayOptions{Topics: map[string]string{"order-events": "arn:aws:sns:eu-west-1:123456789012:order-events"}})
	if err != nil {
		return // in run: return err
	}
	_ = relay // in run: errgroup.Go(func() error { return relay.Run(ctx) })
}
