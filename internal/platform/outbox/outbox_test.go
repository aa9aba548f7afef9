package outbox_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/messaging"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/outbox"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var (
	discard = slog.New(slog.DiscardHandler)
	table   = pgx.Identifier{"orders", "outbox"}
	topics  = map[string]string{"order-events": "arn:aws:sns:us-east-1:000000000000:order-events"}
)

func eventID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

// fakePublisher records what it published, in order; fail decides per call whether and how it fails.
type fakePublisher struct {
	mu        sync.Mutex
	published []string
	batches   [][]string
	calls     int
	fail      func(call int, msgs []messaging.Message) error
}

func (p *fakePublisher) PublishBatch(_ context.Context, arn string, msgs []messaging.Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls++
	var err error
	if p.fail != nil {
		err = p.fail(p.calls, msgs)
	}
	failed := messaging.Failed(err, msgs)
	var batch []string
	for _, m := range msgs {
		if _, bad := failed[m.ID]; !bad {
			p.published = append(p.published, m.ID)
			batch = append(batch, m.ID)
		}
	}
	p.batches = append(p.batches, batch)
	return err
}

func (p *fakePublisher) got() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.published)
}

func enqueue(t *testing.T, pool *pgxpool.Pool, from, to int) []string {
	t.Helper()
	ob := outbox.New(table)
	var ids []string
	err := database.InTx(context.Background(), pool, func(tx pgx.Tx) error {
		for i := from; i < to; i++ {
			ids = append(ids, eventID(i))
			if err := ob.Enqueue(context.Background(), tx, outbox.Message{EventID: eventID(i), Topic: "order-events",
				Body: bodyOf(i), Attributes: map[string]string{"type": "order.placed"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return ids
}

func bodyOf(i int) string { return fmt.Sprintf(`{"n":%d}`, i) }

// newPoolWithEvents returns a database whose outbox holds n committed events.
func newPoolWithEvents(t *testing.T, n int) *pgxpool.Pool {
	t.Helper()
	pool := dbtest.New(t)
	enqueue(t, pool, 0, n)
	return pool
}

func remaining(t *testing.T, pool *pgxpool.Pool) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), "SELECT count(*) FROM orders.outbox").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// drain relays until the outbox is empty or a pass fails.
func drain(t *testing.T, r *outbox.Relay) {
	t.Helper()
	for {
		n, err := r.RelayOnce(context.Background())
		if err != nil {
			t.Fatalf("RelayOnce: %v", err)
		}
		if n == 0 {
			return
		}
	}
}

// Only committed events are published; one relay publishes in id order, in batches of at most ten per call.
func TestRelayPublishesCommittedInOrder(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	want := enqueue(t, pool, 0, 25)
	errRollback := errors.New("rolled back")
	err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
		if err := outbox.New(table).Enqueue(ctx, tx, outbox.Message{EventID: eventID(99), Topic: "order-events", Body: "{}"}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	drain(t, newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics, BatchSize: 12}))
	if diff := cmp.Diff(want, pub.got()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	for _, b := range pub.batches {
		if len(b) > 12 {
			t.Errorf("batch of %d; want at most the claim size", len(b))
		}
	}
	if n := remaining(t, pool); n != 0 {
		t.Errorf("rows left = %d; want 0", n)
	}
}

// Many relays at once (one per API task) publish every event, each once.
func TestConcurrentRelays(t *testing.T) {
	pool := dbtest.New(t)
	want := enqueue(t, pool, 0, 300)
	pub := &fakePublisher{}
	var wg sync.WaitGroup
	for range 6 {
		r := newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics, BatchSize: 10})
		wg.Go(func() {
			for {
				n, err := r.RelayOnce(context.Background())
				if err != nil {
					t.Errorf("RelayOnce: %v", err)
					return
				}
				if n == 0 && remaining(t, pool) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	got := pub.got()
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

func TestRelayFailures(t *testing.T) {
	tests := []struct {
		name         string
		fail         func(call int, msgs []messaging.Message) error
		wantFirst    int // published by the first pass
		wantAttempts map[string]int
	}{
		{"SNS down, then back", func(call int, _ []messaging.Message) error {
			if call == 1 {
				return errors.New("ServiceUnavailable")
			}
			return nil
		}, 0, map[string]int{eventID(0): 1, eventID(1): 1, eventID(2): 1}},
		{"one message refused once", func(call int, msgs []messaging.Message) error {
			if call == 1 {
				return &messaging.BatchError{Failed: map[string]error{eventID(1): errors.New("InternalError")}}
			}
			return nil
		}, 2, map[string]int{eventID(1): 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pool := dbtest.New(t)
			want := enqueue(t, pool, 0, 3)
			pub := &fakePublisher{fail: tt.fail}
			r := newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics})
			if _, err := r.RelayOnce(context.Background()); err == nil {
				t.Fatal("RelayOnce = nil; want the failure reported")
			}
			if got := len(pub.got()); got != tt.wantFirst {
				t.Errorf("published by the failing pass = %d; want %d", got, tt.wantFirst)
			}
			attempts := map[string]int{}
			rows, err := pool.Query(context.Background(), "SELECT event_id::text, attempts FROM orders.outbox WHERE last_error IS NOT NULL")
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var id string
				var n int
				if err := rows.Scan(&id, &n); err != nil {
					t.Fatal(err)
				}
				attempts[id] = n
			}
			if diff := cmp.Diff(tt.wantAttempts, attempts); diff != "" {
				t.Errorf("attempts recorded (-want +got):\n%s", diff)
			}
			drain(t, r)
			got := pub.got()
			slices.Sort(got)
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("published after retry (-want +got):\n%s", diff)
			}
		})
	}
}

// An event with a topic the relay does not know stays in the outbox with its error; the others go out.
func TestRelayUnknownTopic(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	enqueue(t, pool, 0, 2)
	if err := database.InTx(ctx, pool, func(tx pgx.Tx) error {
		return outbox.New(table).Enqueue(ctx, tx, outbox.Message{EventID: eventID(7), Topic: "nowhere", Body: "{}"})
	}); err != nil {
		t.Fatal(err)
	}
	pub := &fakePublisher{}
	r := newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics})
	if _, err := r.RelayOnce(ctx); err == nil {
		t.Error("RelayOnce = nil; want the unknown topic reported")
	}
	var lastError string
	if err := pool.QueryRow(ctx, "SELECT last_error FROM orders.outbox WHERE event_id = $1", eventID(7)).Scan(&lastError); err != nil {
		t.Fatal(err)
	}
	if want := `unknown topic "nowhere"`; !strings.Contains(lastError, want) {
		t.Errorf("last_error = %q; want it to contain %q", lastError, want)
	}
	if diff := cmp.Diff([]string{eventID(0), eventID(1)}, pub.got()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

// A relay that dies between publishing and deleting (its connection is gone) leaves the rows, and the next
// pass publishes them again: at-least-once, never lost.
func TestRelayDiesBetweenPublishAndMark(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	want := enqueue(t, pool, 0, 3)
	pub := &fakePublisher{fail: func(call int, _ []messaging.Message) error {
		if call == 1 {
			// The claiming transaction's connection dies right after SNS accepted the batch. The timeout makes
			// pg_terminate_backend wait until the backend is gone, and its row locks with it: without it, the next
			// pass may still find the rows locked, skip them and report an empty outbox.
			if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity
				WHERE datname = current_database() AND state = 'idle in transaction' AND pid <> pg_backend_pid()`); err != nil {
				return fmt.Errorf("terminate: %w", err)
			}
		}
		return nil
	}}
	r := newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics})
	if _, err := r.RelayOnce(ctx); err == nil {
		t.Fatal("RelayOnce = nil; want the lost connection reported")
	}
	if n := remaining(t, pool); n != 3 {
		t.Fatalf("rows after the relay died = %d; want all 3 kept", n)
	}
	drain(t, r)
	wantTwice := append(slices.Clone(want), want...)
	slices.Sort(wantTwice)
	got := pub.got()
	slices.Sort(got)
	if diff := cmp.Diff(wantTwice, got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

// Run publishes what was committed before shutdown before it returns.
func TestRunDrainsOnShutdown(t *testing.T) {
	pool := dbtest.New(t)
	want := enqueue(t, pool, 0, 120)
	pub := &fakePublisher{}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics}).Run(ctx); err != nil {
		t.Fatalf("Run = %v", err)
	}
	if diff := cmp.Diff(want, pub.got()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

// Run keeps publishing as rows arrive, and retries after failures.
func TestRunPublishesNewRows(t *testing.T) {
	pool := dbtest.New(t)
	pub := &fakePublisher{fail: func(call int, _ []messaging.Message) error {
		if call%2 == 1 {
			return errors.New("throttled")
		}
		return nil
	}}
	published := make(chan int, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	r := newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics, MinBackoff: 1, MaxBackoff: 10_000_000,
		OnPublished: func(n, _ int) { published <- n }})
	go func() { done <- r.Run(ctx) }()
	var want []string
	for round := range 3 {
		want = append(want, enqueue(t, pool, round*5, round*5+5)...)
		for total := 0; total < 5; {
			total += <-published
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, pub.got()); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
}

// acceptingPublisher is SNS accepting a batch while the relay's task is told to stop: the first call has its
// messages accepted, then waits for the stop and reports what its context says, as the SDK would when its
// request is cut short after the service took it.
type acceptingPublisher struct {
	mu        sync.Mutex
	published []string
	calls     int
	started   chan struct{}
	stopped   chan struct{}
}

func (p *acceptingPublisher) PublishBatch(ctx context.Context, _ string, msgs []messaging.Message) error {
	p.mu.Lock()
	p.calls++
	first := p.calls == 1
	for _, m := range msgs {
		p.published = append(p.published, m.ID)
	}
	p.mu.Unlock()
	if first {
		close(p.started)
		<-p.stopped
		time.Sleep(50 * time.Millisecond) // past the moment a cancellation would have reached the request
	}
	return ctx.Err()
}

// A shutdown while a batch is being published lets that batch finish and be marked: every event is published
// once, not once by the interrupted batch and again by the drain.
func TestRunFinishesTheBatchInFlightOnShutdown(t *testing.T) {
	pool := dbtest.New(t)
	want := enqueue(t, pool, 0, 25)
	pub := &acceptingPublisher{started: make(chan struct{}), stopped: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- newRelay(t, pool, table, pub, discard, outbox.RelayOptions{Topics: topics}).Run(ctx)
	}()
	<-pub.started
	cancel()
	close(pub.stopped)
	if err := <-done; err != nil {
		t.Fatalf("Run = %v", err)
	}
	pub.mu.Lock()
	got := slices.Clone(pub.published)
	pub.mu.Unlock()
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("published (-want +got):\n%s", diff)
	}
	if n := remaining(t, pool); n != 0 {
		t.Errorf("rows left in the outbox = %d; want 0", n)
	}
}

// newRelay is outbox.NewRelay for tests: bad options fail the test.
func newRelay(t testing.TB, pool *pgxpool.Pool, table pgx.Identifier, pub outbox.Publisher, log *slog.Logger, opts outbox.RelayOptions) *outbox.Relay {
	t.Helper()
	r, err := outbox.NewRelay(pool, table, pub, log, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A relay whose poll is an hour away publishes rows at once when the writer says it committed them, and
// wake-ups sent while nobody waits merge instead of blocking the writer.
func TestCommittedWakesTheRelay(t *testing.T) {
	pool := dbtest.New(t)
	ob := outbox.New(table)
	ob.Committed()
	ob.Committed() // never blocks, though no relay has received the first
	published := make(chan int, 100)
	r := newRelay(t, pool, table, &fakePublisher{}, discard, outbox.RelayOptions{Topics: topics, PollInterval: time.Hour,
		Wake: ob.Wake(), OnPublished: func(n, _ int) { published <- n }})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	for round := range 3 {
		enqueue(t, pool, round*3, round*3+3)
		ob.Committed()
		select {
		case n := <-published:
			if n != 3 {
				t.Fatalf("round %d: published %d rows, want 3", round, n)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("round %d: the committed rows were not published: the relay waited for its hourly poll", round)
		}
	}
}
