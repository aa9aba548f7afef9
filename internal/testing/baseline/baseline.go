// Package baseline is the baseline the orders API is measured against: the least code that serves the same
// requests with net/http and pgx and the same queries, without the service's layers (strict decoding,
// validation, idempotency, the outbox, problem details, middleware). Benchmarks report the API's throughput as a
// ratio of this baseline's, in the same run on the same database, so the ratio shows what the layers cost and
// not how fast the machine is.
package baseline

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/orders/ordersdb"
)

// Order is the baseline's order: the same JSON as the API's.
type Order struct {
	ID            string    `json:"id"`
	CustomerEmail string    `json:"customer_email"`
	Items         []Item    `json:"items"`
	TotalCents    int64     `json:"total_cents"`
	Status        string    `json:"status"`
	StatusReason  string    `json:"status_reason,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Item is one line of an Order.
type Item struct {
	SKU        string `json:"sku"`
	Quantity   int    `json:"quantity"`
	PriceCents int64  `json:"price_cents"`
}

// Handler returns the baseline server: GET /api/orders/{id} reads an order with the API's query; POST /api/orders
// inserts the order and its items in one transaction with a plain INSERT each (no idempotency key, no outbox).
func Handler(pool *pgxpool.Pool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, r *http.Request) {
		var o Order
		err := pool.QueryRow(r.Context(), ordersdb.SelectOrderByIDSQL, r.PathValue("id")).Scan(&o.ID, &o.CustomerEmail,
			&o.TotalCents, &o.Status, &o.StatusReason, &o.CreatedAt, &o.UpdatedAt, &o.Items)
		if err != nil {
			http.Error(w, err.Error(), http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(o)
	})
	mux.HandleFunc("POST /api/orders", func(w http.ResponseWriter, r *http.Request) {
		var o Order
		if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if err := Insert(r.Context(), pool, &o); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(o)
	})
	return mux
}

// Insert is the plain insert baseline of order creation: the order row and its items with the API's statements,
// in one batch (one implicit transaction, one round trip), and nothing else.
func Insert(ctx context.Context, pool *pgxpool.Pool, o *Order) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	o.ID, o.Status, o.CreatedAt, o.UpdatedAt = uuid.Must(uuid.NewV7()).String(), "pending", now, now
	skus := make([]string, len(o.Items))
	qtys := make([]int32, len(o.Items))
	prices := make([]int64, len(o.Items))
	for i, it := range o.Items {
		o.TotalCents += int64(it.Quantity) * it.PriceCents
		skus[i], qtys[i], prices[i] = it.SKU, int32(it.Quantity), it.PriceCents
	}
	b := &pgx.Batch{}
	b.Queue(ordersdb.InsertOrderSQL, o.ID, o.CustomerEmail, o.TotalCents, o.Status, o.CreatedAt)
	b.Queue(ordersdb.InsertItemsSQL, o.ID, skus, qtys, prices)
	return pool.SendBatch(ctx, b).Close()
}

// Compare runs baseline and subject alternately, b.N times each, and reports the time per operation of each
// and the subject's throughput as a multiple of the baseline's ("x-baseline": 0.9 means 90 % of the
// baseline's throughput). Alternating keeps drift (caches, autovacuum, a busy neighbour) from favouring either.
func Compare(b *testing.B, subject, baseline func(ctx context.Context) error) {
	b.Helper()
	ctx := b.Context()
	var inSubject, inBaseline time.Duration
	i := 0
	for b.Loop() {
		first, second := subject, baseline
		if i%2 == 1 {
			first, second = baseline, subject
		}
		t0 := time.Now()
		if err := first(ctx); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := second(ctx); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		if i%2 == 0 {
			inSubject, inBaseline = inSubject+t1.Sub(t0), inBaseline+t2.Sub(t1)
		} else {
			inBaseline, inSubject = inBaseline+t1.Sub(t0), inSubject+t2.Sub(t1)
		}
		i++
	}
	n := float64(i)
	b.ReportMetric(float64(inSubject.Nanoseconds())/n, "ns/subject")
	b.ReportMetric(float64(inBaseline.Nanoseconds())/n, "ns/baseline")
	b.ReportMetric(float64(inBaseline)/float64(inSubject), "x-baseline")
	b.ReportMetric(0, "ns/op") // the pair's time per loop is meaningless; the metrics above say it all
}
