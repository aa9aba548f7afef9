package apicmd

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
)

// TestSIGTERMDuringLoadFailsNoRequest runs the api binary as ECS does, under concurrent load of order creation
// and reads, and stops it with SIGTERM as ECS stops a task. The load balancer is modelled as on ECS with an
// ALB: a health check polls /readyz, and once the task reports not ready no new request is sent to it, while
// the requests already sent must complete. Every request must get its expected answer, the process must exit 0
// within SHUTDOWN_TIMEOUT, and every order a client was told about must be stored with its order.placed event
// published by this very task (its relay drains after the last request, so nothing is left in the outbox).
func TestSIGTERMDuringLoadFailsNoRequest(t *testing.T) {
	const shutdown = 5 * time.Second
	sys := loadtest.NewSystem(t, 5*time.Second)
	bin := devenvtest.Build(t, "./cmd/api")
	p := loadtest.StartReady(t, filepath.Join(bin, "api"), sys.APIEnv(shutdown))
	base := "http://" + p.Addr
	lb := loadtest.WatchReadiness(t.Context(), base, 20*time.Millisecond)

	var (
		mu      sync.Mutex
		created []string
	)
	latest := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(created) == 0 {
			return ""
		}
		return created[len(created)-1]
	}
	op := func(ctx context.Context, c *http.Client, i int) error {
		switch id := latest(); {
		case i%3 == 0 || id == "":
			body, err := loadtest.Do(ctx, c, http.MethodPost, base+"/api/orders",
				fmt.Sprintf(`{"customer_email":"c%d@example.com","items":[{"sku":"SKU-1","quantity":1,"price_cents":500}]}`, i),
				http.StatusCreated)
			if err != nil {
				return err
			}
			var o struct{ ID string }
			if err := json.Unmarshal(body, &o); err != nil || o.ID == "" {
				return fmt.Errorf("POST /api/orders answered %s: no order id", body)
			}
			mu.Lock()
			created = append(created, o.ID)
			mu.Unlock()
			return nil
		case i%3 == 1:
			_, err := loadtest.Do(ctx, c, http.MethodGet, base+"/api/orders/"+id, "", http.StatusOK)
			return err
		default:
			_, err := loadtest.Do(ctx, c, http.MethodGet, base+"/api/orders?limit=5", "", http.StatusOK)
			return err
		}
	}

	// SIGTERM once the load is well under way; the load stops when the balancer takes the task out.
	stopped := make(chan error, 1)
	var stopTook time.Duration
	go func() {
		for deadline := time.Now().Add(time.Minute); len(createdSnapshot(&mu, &created)) < 150 && time.Now().Before(deadline); {
			time.Sleep(10 * time.Millisecond)
		}
		t0 := time.Now()
		err := p.Stop(shutdown)
		stopTook = time.Since(t0)
		stopped <- err
	}()
	res := loadtest.Closed(t.Context(), loadtest.NewClient(16), 16, 200_000, lb.Draining, op)
	err := <-stopped
	t.Logf("load: %v; the process exited %v after SIGTERM", &res, stopTook.Round(time.Millisecond))

	if !lb.Draining() {
		t.Errorf("the load ended before the task reported not ready: SIGTERM did not happen under load")
	}
	if res.Failed != 0 {
		t.Errorf("%d of %d requests failed during the shutdown: %v", res.Failed, res.Sent, res.Errors)
	}
	if err != nil {
		t.Errorf("api after SIGTERM: %v; want exit status 0 within SHUTDOWN_TIMEOUT (%v)", err, shutdown)
	}

	ids := createdSnapshot(&mu, &created)
	if got := sys.Count(t, `SELECT count(*) FROM orders.orders WHERE id::text = ANY($1)`, ids); got != len(ids) {
		t.Errorf("stored orders = %d; want the %d the clients were told were created", got, len(ids))
	}
	if got := sys.Count(t, `SELECT count(*) FROM orders.outbox`); got != 0 {
		t.Errorf("outbox rows left after the shutdown = %d; want 0 (the relay publishes after the last request)", got)
	}
	placed := map[string]int{}
	for _, body := range sys.Drain(t, events.FulfillmentQueue, 2*len(ids)+10) {
		e, err := events.Decode([]byte(body))
		if err != nil || e.Type != events.OrderPlaced {
			t.Fatalf("fulfillment queue holds %q (%v); want order.placed events", body, err)
		}
		placed[e.Subject]++
	}
	for _, id := range ids {
		if placed[id] != 1 {
			t.Errorf("order.placed of order %s published %d times; want once", id, placed[id])
		}
	}
	if len(placed) != len(ids) {
		t.Errorf("order.placed published for %d orders; want the %d created", len(placed), len(ids))
	}
}

func createdSnapshot(mu *sync.Mutex, ids *[]string) []string {
	mu.Lock()
	defer mu.Unlock()
	return append([]string(nil), *ids...)
}
