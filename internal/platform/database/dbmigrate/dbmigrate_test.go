package dbmigrate_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbmigrate"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

func TestSetPassword(t *testing.T) {
	db := dbtest.NewDatabase(t)
	pool := dbtest.Connect(t, db.DSN())
	ctx := context.Background()
	tests := []string{"plain", `it's "quoted" \ and; DROP ROLE x; --`, "ünïcode pass"}
	for _, password := range tests {
		if err := dbmigrate.SetPassword(ctx, pool, password, migrations.FulfillmentRole); err != nil {
			t.Fatalf("SetPassword(%q) = %v", password, err)
		}
		cfg, err := pgx.ParseConfig(db.DSNFor(migrations.FulfillmentRole))
		if err != nil {
			t.Fatal(err)
		}
		cfg.Password = password
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			t.Fatalf("log in with password %q set by SetPassword: %v", password, err)
		}
		conn.Close(ctx)
	}
	// Restore the password the other tests of this cluster use.
	if err := dbmigrate.SetPassword(ctx, pool, db.ServicePassword, migrations.FulfillmentRole); err != nil {
		t.Fatal(err)
	}
}

func TestSetPasswordErrors(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	if err := dbmigrate.SetPassword(ctx, pool, ""); err == nil {
		t.Errorf("SetPassword with an empty password = nil; want an error")
	}
	err := dbmigrate.SetPassword(ctx, pool, "s3cret-value", "no_such_role")
	var pgErr *pgconn.PgError
	if err == nil || errors.As(err, &pgErr) {
		t.Fatalf("SetPassword(no_such_role) = %v; want a scrubbed error", err)
	}
	if strings.Contains(err.Error(), "s3cret-value") || !strings.Contains(err.Error(), "no_such_role") {
		t.Errorf("SetPassword(no_such_role) = %q; want the role named and the password absent", err)
	}
}
