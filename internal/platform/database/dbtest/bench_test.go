package dbtest_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbmigrate"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// BenchmarkNewDatabase measures what a test pays for its own migrated database: a template clone.
// Compare with BenchmarkMigrateFresh, the same database built by running the migrations.
func BenchmarkNewDatabase(b *testing.B) {
	for b.Loop() {
		dbtest.NewDatabase(b)
	}
}

// BenchmarkMigrateFresh is the baseline: an empty database created and migrated from scratch.
func BenchmarkMigrateFresh(b *testing.B) {
	db := dbtest.NewDatabase(b)
	admin := dbtest.Connect(b, db.DSN())
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg, err := pgxpool.ParseConfig(db.DSN())
	if err != nil {
		b.Fatal(err)
	}
	i := 0
	for b.Loop() {
		i++
		name := fmt.Sprintf("%s_fresh_%d", db.Name, i)
		if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _, _ = admin.Exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)") })
		c := cfg.Copy()
		c.ConnConfig.Database = name
		pool, err := pgxpool.NewWithConfig(ctx, c)
		if err != nil {
			b.Fatal(err)
		}
		m, err := dbmigrate.New(pool, migrations.FS(), log)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.Up(ctx); err != nil {
			b.Fatal(err)
		}
		m.Close()
		pool.Close()
	}
}
