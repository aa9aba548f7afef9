// Package dbmigrate applies SQL migrations with goose (github.com/pressly/goose/v3), a well-kept library, rather
// than code of our own: versioned files, up and down, a status report, and a PostgreSQL session lock so that
// two migrate runs (say, two deploys) never apply the same migration at once.
//
// The migrations themselves are passed in as an fs.FS (the project's are embedded by package migrations), so
// this package stays service-agnostic.
package dbmigrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Migrator applies the migrations of one fs.FS to one database.
type Migrator struct {
	db       *sql.DB
	provider *goose.Provider
	log      *slog.Logger
}

// New returns a Migrator for the migrations in fsys (goose SQL files at its root), run through pool.
// Close releases it; the pool stays open.
func New(pool *pgxpool.Pool, fsys fs.FS, log *slog.Logger) (*Migrator, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("create migration lock: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
		goose.WithDisableGlobalRegistry(true),
	)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("load migrations: %w", err)
	}
	return &Migrator{db: db, provider: p, log: log}, nil
}

// Close releases the Migrator's database handle.
func (m *Migrator) Close() error { return m.db.Close() }

// Up applies every pending migration in version order and returns how many it applied.
func (m *Migrator) Up(ctx context.Context) (int, error) {
	results, err := m.provider.Up(ctx)
	m.logResults("up", results)
	if err != nil {
		return len(applied(results)), fmt.Errorf("migrate up: %w", err)
	}
	return len(results), nil
}

// DownTo rolls back every applied migration above version (0 rolls back everything) and returns how many it
// rolled back.
func (m *Migrator) DownTo(ctx context.Context, version int64) (int, error) {
	results, err := m.provider.DownTo(ctx, version)
	m.logResults("down", results)
	if err != nil {
		return len(applied(results)), fmt.Errorf("migrate down to %d: %w", version, err)
	}
	return len(results), nil
}

// Status describes one migration: its version, source file and when it was applied (zero when pending).
type Status struct {
	Version   int64
	Source    string
	AppliedAt time.Time
}

// Pending reports whether the migration is not applied yet.
func (s Status) Pending() bool { return s.AppliedAt.IsZero() }

// Status lists every migration in version order.
func (m *Migrator) Status(ctx context.Context) ([]Status, error) {
	st, err := m.provider.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migration status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{Version: s.Source.Version, Source: s.Source.Path, AppliedAt: s.AppliedAt})
	}
	return out, nil
}

func (m *Migrator) logResults(direction string, results []*goose.MigrationResult) {
	for _, r := range results {
		if r.Error != nil {
			m.log.Error("migration failed", "direction", direction, "version", r.Source.Version,
				"source", r.Source.Path, "err", r.Error)
			continue
		}
		m.log.Info("migration applied", "direction", direction, "version", r.Source.Version,
			"source", r.Source.Path, "duration", r.Duration)
	}
}

func applied(results []*goose.MigrationResult) []*goose.MigrationResult {
	var out []*goose.MigrationResult
	for _, r := range results {
		if r.Error == nil {
			out = append(out, r)
		}
	}
	return out
}

// SetPassword sets the password of each role. It is for local systems and tests, where the service roles log
// in with a password; on AWS they use IAM tokens and no password is set. The password never appears in errors.
func SetPassword(ctx context.Context, pool *pgxpool.Pool, password string, roles ...string) error {
	if password == "" {
		return errors.New("set role password: empty password")
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("set role password: %w", err)
	}
	defer conn.Release()
	// ALTER ROLE takes no parameters: quote the literal with the server's own escaping rules.
	lit, err := conn.Conn().PgConn().EscapeString(password)
	if err != nil {
		return fmt.Errorf("set role password: escape: %w", err)
	}
	for _, r := range roles {
		sql := fmt.Sprintf("ALTER ROLE %s PASSWORD '%s'", pgx.Identifier{r}.Sanitize(), lit)
		if _, err := conn.Exec(ctx, sql); err != nil {
			return fmt.Errorf("set password of role %s: %w", r, scrub(err, password))
		}
	}
	return nil
}

// scrub keeps the password out of an error message: a server error may quote the statement.
func scrub(err error, password string) error {
	return errors.New(strings.ReplaceAll(err.Error(), password, "xxxxx"))
}
