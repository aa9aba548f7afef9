package migrations_test

import (
	"context"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbmigrate"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// The roles the migrations create are the ones the services connect as.
func TestServiceRolesMatchManifest(t *testing.T) {
	m, err := manifest.Load("../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, s := range m.Services {
		if s.DatabaseUser != "" { // a service without database_user has no role
			want = append(want, s.DatabaseUser)
		}
	}
	got := migrations.ServiceRoles()
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ServiceRoles() differs from the manifest's database users (-want +got):\n%s", diff)
	}
}

func TestServiceRoles(t *testing.T) {
	pool := dbtest.New(t)
	ctx := context.Background()
	for _, role := range migrations.ServiceRoles() {
		var login, super, createRole, createDB bool
		err := pool.QueryRow(ctx, "SELECT rolcanlogin, rolsuper, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1",
			role).Scan(&login, &super, &createRole, &createDB)
		if err != nil {
			t.Fatalf("role %s: %v", role, err)
		}
		if !login || super || createRole || createDB {
			t.Errorf("role %s: login=%v super=%v createrole=%v createdb=%v; want login only", role, login, super, createRole, createDB)
		}
	}
	// Each role reaches its own schema and nothing else.
	tests := []struct {
		role, schema string
		want         bool
	}{
		{migrations.OrdersRole, "orders", true},
		{migrations.OrdersRole, "fulfillment", false},
		{migrations.OrdersRole, "public", false},
		{migrations.FulfillmentRole, "fulfillment", true},
		{migrations.FulfillmentRole, "orders", false},
		{migrations.FulfillmentRole, "public", false},
	}
	for _, tt := range tests {
		var usage, create bool
		err := pool.QueryRow(ctx, "SELECT has_schema_privilege($1, $2, 'USAGE'), has_schema_privilege($1, $2, 'CREATE')",
			tt.role, tt.schema).Scan(&usage, &create)
		if err != nil {
			t.Fatal(err)
		}
		if usage != tt.want && tt.schema != "public" {
			t.Errorf("USAGE of %s on schema %s = %v; want %v", tt.role, tt.schema, usage, tt.want)
		}
		if create {
			t.Errorf("CREATE of %s on schema %s = true; want false (only migrations change the structure)", tt.role, tt.schema)
		}
	}
}

// Up works on a fresh database of a cluster where the roles already exist, grants rds_iam where it exists (as
// on RDS), and everything goes down to nothing and up again.
func TestUpDownUp(t *testing.T) {
	pool := dbtest.Connect(t, dbtest.NewEmptyDatabase(t).DSN())
	ctx := context.Background()
	if _, err := pool.Exec(ctx, "CREATE ROLE rds_iam"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := pool.Exec(ctx, "DROP ROLE rds_iam"); err != nil {
			t.Errorf("drop rds_iam: %v", err)
		}
	})
	m, err := dbmigrate.New(pool, migrations.FS(), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	n, err := m.Up(ctx)
	if err != nil || n == 0 {
		t.Fatalf("Up() = %d, %v; want migrations applied", n, err)
	}
	for _, role := range migrations.ServiceRoles() {
		var member bool
		if err := pool.QueryRow(ctx, "SELECT pg_has_role($1, 'rds_iam', 'MEMBER')", role).Scan(&member); err != nil {
			t.Fatal(err)
		}
		if !member {
			t.Errorf("%s is not a member of rds_iam; want IAM authentication granted", role)
		}
	}
	down, err := m.DownTo(ctx, 0)
	if err != nil || down != n {
		t.Fatalf("DownTo(0) = %d, %v; want %d", down, err, n)
	}
	var schemas int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM pg_namespace WHERE nspname IN ('orders', 'fulfillment')").Scan(&schemas); err != nil {
		t.Fatal(err)
	}
	if schemas != 0 {
		t.Errorf("schemas after DownTo(0) = %d; want 0", schemas)
	}
	again, err := m.Up(ctx)
	if err != nil || again != n {
		t.Fatalf("Up() after down = %d, %v; want %d", again, err, n)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if s.Pending() {
			t.Errorf("migration %d (%s) pending after Up", s.Version, s.Source)
		}
	}
}

// TestNumbersAreSequential keeps the numbering rule of the package comment: versions 1, 2, 3... with no gaps
// after the last one shipped with a gap (12), so a new file cannot be slotted below a deployed version.
func TestNumbersAreSequential(t *testing.T) {
	entries, err := fs.Glob(migrations.FS(), "*.sql")
	if err != nil {
		t.Fatal(err)
	}
	// 1-4 and 10-12 predate the rule; from 12 on, each version is the one before it plus one.
	const lastBeforeRule = 12
	prev := 0
	for _, name := range entries {
		v, err := strconv.Atoi(strings.SplitN(name, "_", 2)[0])
		if err != nil {
			t.Fatalf("%s: the name must start with its version number: %v", name, err)
		}
		if v <= prev {
			t.Errorf("%s: version %d does not follow %d", name, v, prev)
		}
		if prev >= lastBeforeRule && v != prev+1 {
			t.Errorf("%s: version %d leaves a gap after %d; take %d", name, v, prev, prev+1)
		}
		prev = v
	}
	if prev < lastBeforeRule {
		t.Errorf("newest version %d is below %d: a migration was removed or renumbered", prev, lastBeforeRule)
	}
}
