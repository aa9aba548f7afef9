package messaging_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// A message delivered twice (SNS or the relay may publish an event twice) has one effect, and both copies
// are deleted.
func TestDuplicateDeliveryHasOneEffect(t *testing.T) {
	e := newEnv(t)
	url, _ := e.queue(t, "fulfillment", 30, 0)
	pool := dbtest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE TABLE fulfillment.effects (event_id uuid)"); err != nil {
		t.Fatal(err)
	}
	const a, b = "6a0f4c1e-0000-4000-8000-00000000000a", "6a0f4c1e-0000-4000-8000-00000000000b"
	e.send(t, url, `{"id":"`+a+`"}`, `{"id":"`+a+`"}`, `{"id":"`+b+`"}`, `{"id":"`+a+`"}`)

	in := inbox.New(pgx.Identifier{"fulfillment", "inbox"})
	handled := make(chan bool, 10)
	h := func(ctx context.Context, m messaging.Received) error {
		var ev struct{ ID string }
		if err := json.Unmarshal([]byte(m.Body), &ev); err != nil {
			return err
		}
		var first bool
		err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
			var err error
			if first, err = in.Record(ctx, tx, ev.ID); err != nil || !first {
				return err
			}
			_, err = tx.Exec(ctx, "INSERT INTO fulfillment.effects VALUES ($1)", ev.ID)
			return err
		})
		handled <- first
		return err
	}
	stop := consume(t, newConsumer(t, e.sqs, h, discard,
		messaging.ConsumerOptions{QueueURL: url, Pollers: 2, Concurrency: 4, WaitTime: time.Second}))
	firsts := 0
	for range 4 {
		if <-handled {
			firsts++
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	if firsts != 2 {
		t.Errorf("first deliveries = %d; want 2 (one per event)", firsts)
	}
	for _, id := range []string{a, b} {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM fulfillment.effects WHERE event_id = $1", id).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("effects of %s = %d; want 1", id, n)
		}
	}
	if v, f := e.depth(t, url); v != 0 || f != 0 {
		t.Errorf("queue after handling: %d visible, %d in flight; want the duplicates deleted too", v, f)
	}
}
