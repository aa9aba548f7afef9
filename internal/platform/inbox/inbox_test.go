package inbox_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/inbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

const (
	eventA = "0b3f6a1e-0000-4000-8000-00000000000a"
	eventB = "0b3f6a1e-0000-4000-8000-00000000000b"
)

// apply applies an event's effect (a row in effects) at most once, as a handler would.
func apply(ctx context.Context, pool *pgxpool.Pool, in *inbox.Inbox, eventID string, fail bool) (bool, error) {
	var first bool
	err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
		var err error
		if first, err = in.Record(ctx, tx, eventID); err != nil || !first {
			return err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO effects VALUES ($1)", eventID); err != nil {
			return err
		}
		if fail {
			return errors.New("effect failed")
		}
		return nil
	})
	return first, err
}

func newPool(t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool := dbtest.New(t)
	if _, err := pool.Exec(context.Background(), "CREATE TABLE effects (event_id uuid)"); err != nil {
		t.Fatal(err)
	}
	return pool
}

func effects(t *testing.T, pool *pgxpool.Pool, eventID string) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM effects WHERE event_id = $1", eventID).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestRecord(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	in := inbox.New(pgx.Identifier{"orders", "inbox"})
	steps := []struct {
		name      string
		event     string
		fail      bool
		wantFirst bool
		wantErr   bool
	}{
		{"first delivery", eventA, false, true, false},
		{"duplicate", eventA, false, false, false},
		{"effect fails: rolled back with its record", eventB, true, true, true},
		{"redelivery after a rollback is applied", eventB, false, true, false},
		{"then a duplicate again", eventB, false, false, false},
	}
	for _, s := range steps {
		first, err := apply(ctx, pool, in, s.event, s.fail)
		if first != s.wantFirst || (err != nil) != s.wantErr {
			t.Errorf("%s: Record = %v, err %v; want %v, error %v", s.name, first, err, s.wantFirst, s.wantErr)
		}
	}
	for _, id := range []string{eventA, eventB} {
		if n := effects(t, pool, id); n != 1 {
			t.Errorf("effects of %s = %d; want 1", id, n)
		}
		seen, err := in.Seen(ctx, pool, id)
		if err != nil || !seen {
			t.Errorf("Seen(%s) = %v, %v; want true", id, seen, err)
		}
	}
	if seen, err := in.Seen(ctx, pool, "0b3f6a1e-0000-4000-8000-0000000000ff"); err != nil || seen {
		t.Errorf("Seen(unknown) = %v, %v; want false", seen, err)
	}
}

// Duplicates delivered at the same time to different workers still have one effect.
func TestRecordConcurrentDuplicates(t *testing.T) {
	pool := newPool(t)
	ctx := context.Background()
	in := inbox.New(pgx.Identifier{"fulfillment", "inbox"})
	const workers = 8
	var wg sync.WaitGroup
	start := make(chan struct{})
	firsts := make(chan bool, workers)
	for range workers {
		wg.Go(func() {
			<-start
			first, err := apply(ctx, pool, in, eventA, false)
			if err != nil {
				t.Errorf("apply: %v", err)
			}
			firsts <- first
		})
	}
	close(start)
	wg.Wait()
	close(firsts)
	var n int
	for f := range firsts {
		if f {
			n++
		}
	}
	if n != 1 || effects(t, pool, eventA) != 1 {
		t.Errorf("%d deliveries saw a first delivery, %d effects; want 1 and 1", n, effects(t, pool, eventA))
	}
}

func TestPrune(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	if _, err := pool.Exec(ctx, `INSERT INTO orders.inbox (event_id, processed_at)
		SELECT gen_random_uuid(), now() - interval '20 days' FROM generate_series(1, 2500)`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, "INSERT INTO orders.inbox (event_id) VALUES ($1)", eventA); err != nil {
		t.Fatal(err)
	}
	in := inbox.New(pgx.Identifier{"orders", "inbox"})
	n, err := in.Prune(ctx, pool, 15*24*time.Hour)
	if err != nil || n != 2500 {
		t.Fatalf("Prune = %d, %v; want 2500 old ids deleted", n, err)
	}
	if seen, err := in.Seen(ctx, pool, eventA); err != nil || !seen {
		t.Errorf("recent id after Prune: Seen = %v, %v; want kept", seen, err)
	}
}
