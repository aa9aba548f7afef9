package dbtest_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// Each test gets its own database: a row written in one is not seen by another, even in parallel.
func TestNewIsolated(t *testing.T) {
	for i := range 4 {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			pool := dbtest.New(t)
			if _, err := pool.Exec(ctx, "INSERT INTO orders.inbox (event_id) VALUES (gen_random_uuid())"); err != nil {
				t.Fatalf("insert: %v", err)
			}
			var got int
			if err := pool.QueryRow(ctx, "SELECT count(*) FROM orders.inbox").Scan(&got); err != nil {
				t.Fatalf("count: %v", err)
			}
			if got != 1 {
				t.Errorf("rows in orders.inbox = %d; want 1 (databases must not be shared)", got)
			}
		})
	}
}

func TestDatabaseDSNFor(t *testing.T) {
	db := dbtest.NewDatabase(t)
	ctx := context.Background()
	tests := []struct {
		role    string
		query   string
		wantErr string
	}{
		{migrations.OrdersRole, "SELECT count(*) FROM orders.outbox", ""},
		{migrations.OrdersRole, "SELECT count(*) FROM fulfillment.outbox", "permission denied"},
		{migrations.FulfillmentRole, "SELECT count(*) FROM fulfillment.inbox", ""},
		{migrations.FulfillmentRole, "SELECT count(*) FROM orders.inbox", "permission denied"},
	}
	for _, tt := range tests {
		t.Run(tt.role+" "+tt.query, func(t *testing.T) {
			pool := dbtest.Connect(t, db.DSNFor(tt.role))
			var n int
			err := pool.QueryRow(ctx, tt.query).Scan(&n)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("%s as %s: %v; want success", tt.query, tt.role, err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("%s as %s: %v; want an error containing %q", tt.query, tt.role, err, tt.wantErr)
			}
		})
	}
}

func TestNewServer(t *testing.T) {
	srv, db := dbtest.NewServer(t)
	ctx := context.Background()
	pool := dbtest.Connect(t, db.DSNFor(migrations.OrdersRole))
	if err := pool.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(ctx); err == nil {
		t.Fatal("Ping with the server halted succeeded; want an error")
	}
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := pool.Ping(ctx); err != nil {
		t.Errorf("Ping after Resume: %v; want the pool to reconnect", err)
	}
}
