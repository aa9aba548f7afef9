package inbox_test

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
)

// A handler records the event id in the transaction that applies the effect, and skips duplicates.
func ExampleInbox_Record() {
	ctx := context.Background()
	var pool *pgxpool.Pool // database.Open(...)
	in := inbox.New(pgx.Identifier{"fulfillment", "inbox"})
	handle := func(eventID string) error {
		return database.InTx(ctx, pool, func(tx pgx.Tx) error {
			first, err := in.Record(ctx, tx, eventID)
			if err != nil || !first {
				return err // a duplicate: already applied
			}
			// Reserve stock, write the outcome event to the outbox, all in tx.
			return nil
		})
	}
	_ = handle
}
