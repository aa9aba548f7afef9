package migratecmd

import (
	"bytes"
	"context"
	"io/fs"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

// emptyDatabaseEnv returns the environment migrate needs for a new, unmigrated database.
func emptyDatabaseEnv(t *testing.T) (map[string]string, *dbtest.Database) {
	t.Helper()
	db := dbtest.NewEmptyDatabase(t)
	return map[string]string{
		"DATABASE_HOST": db.Host, "DATABASE_PORT": strconv.Itoa(db.Port), "DATABASE_NAME": db.Name,
		"DATABASE_USER": db.User, "DATABASE_PASSWORD": db.Password, "DATABASE_CA_FILE": db.CAFile,
		"LOG_FORMAT": "text",
	}, db
}

func TestRun(t *testing.T) {
	env, db := emptyDatabaseEnv(t)
	env["DATABASE_SERVICE_PASSWORD"] = "local-service-password"
	getenv := func(k string) string { return env[k] }
	ctx := context.Background()
	var out bytes.Buffer
	if err := Run(ctx, nil, getenv, &out); err != nil {
		t.Fatalf("Run(up) = %v\n%s", err, out.String())
	}
	if strings.Contains(out.String(), "local-service-password") || strings.Contains(out.String(), db.Password) {
		t.Errorf("migrate logged a password:\n%s", out.String())
	}
	// The service roles log in with the local password.
	cfg, err := pgx.ParseConfig(db.DSNFor(migrations.OrdersRole))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Password = "local-service-password"
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatalf("log in as %s with DATABASE_SERVICE_PASSWORD: %v", migrations.OrdersRole, err)
	}
	conn.Close(ctx)
	// Put the password the other tests of this server use back.
	env["DATABASE_SERVICE_PASSWORD"] = db.ServicePassword

	tests := []struct {
		args        []string
		wantPending int
		wantApplied int
	}{
		{[]string{"up"}, 0, len(migrationFiles(t))},
		{[]string{"down-to", "1"}, len(migrationFiles(t)) - 1, 1},
		{[]string{"down-to", "0"}, len(migrationFiles(t)), 0},
		{nil, 0, len(migrationFiles(t))},
	}
	for _, tt := range tests {
		out.Reset()
		if err := Run(ctx, tt.args, getenv, &out); err != nil {
			t.Fatalf("Run(%v) = %v", tt.args, err)
		}
		out.Reset()
		if err := Run(ctx, []string{"status"}, getenv, &out); err != nil {
			t.Fatalf("Run(status) = %v", err)
		}
		if got := strings.Count(out.String(), " pending\n"); got != tt.wantPending {
			t.Errorf("after %v: %d pending; want %d\n%s", tt.args, got, tt.wantPending, out.String())
		}
		if got := strings.Count(out.String(), "Z\n"); got != tt.wantApplied {
			t.Errorf("after %v: %d applied; want %d\n%s", tt.args, got, tt.wantApplied, out.String())
		}
	}
}

func migrationFiles(t *testing.T) []string {
	t.Helper()
	names, err := fs.Glob(migrations.FS(), "*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("migration files: %v, %v", names, err)
	}
	return names
}

func TestRunErrors(t *testing.T) {
	tests := []struct {
		args []string
		env  map[string]string
		want []string
	}{
		{nil, map[string]string{}, []string{"DATABASE_HOST: required", "DATABASE_NAME: required", "DATABASE_USER: required", "DATABASE_PASSWORD: required"}},
		{[]string{"sideways"}, map[string]string{}, []string{"usage: migrate"}},
		{[]string{"down-to", "x"}, map[string]string{}, []string{`down-to "x"`}},
		{nil, map[string]string{"DATABASE_HOST": "h", "DATABASE_NAME": "n", "DATABASE_USER": "u", "DATABASE_PASSWORD": "p",
			"DATABASE_SSLMODE": "disable", "LOG_FORMAT": "yaml"}, []string{"DATABASE_SSLMODE", "LOG_FORMAT"}},
	}
	for _, tt := range tests {
		err := Run(context.Background(), tt.args, func(k string) string { return tt.env[k] }, &bytes.Buffer{})
		for _, want := range tt.want {
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("Run(%v, %v) = %v; want an error containing %q", tt.args, tt.env, err, want)
			}
		}
	}
}
