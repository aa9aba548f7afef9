package dbtest_test

import (
	"context"
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
	ctx := context.Background()
	log := slog.New(slog.DiscardHandler)
	for b.Loop() {
		pool, err := pgxpool.New(ctx, dbtest.NewEmptyDatabase(b).DSN())
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
