// Package dbtest hands each test its own migrated PostgreSQL database on a real server, quickly.
//
// One throwaway server (package pgserver: TLS only, like RDS with rds.force_ssl=1) runs per test process. It is
// started by the first test that asks for a database, migrated once into a template database, and every test
// then gets a CREATE DATABASE ... TEMPLATE clone of its own, dropped when the test ends: tests are isolated and
// may run in parallel, and none pays for a new server or for the migrations. Connections use TLS verify-full
// with the server's CA, as the services do on AWS.
//
// A package that uses dbtest runs its tests through Main, which stops the server when they are done:
//
//	func TestMain(m *testing.M) { dbtest.Main(m) }
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbmigrate"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/pgserver"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

const templateName = "dbtest_template"

// cluster is the test process's server: one per process because a server costs a second to start and tests
// share it through template clones. It lives from the first New to the end of Main, which is why this
// package, unlike the rest of the code base, keeps state at package level.
type cluster struct {
	once            sync.Once
	srv             *pgserver.Server
	servicePassword string
	err             error
	next            atomic.Int64
}

var (
	mainMu  sync.Mutex
	current *cluster // set while Main runs
)

// Main runs the package's tests and exits with their result. The server starts lazily, when the first test
// asks for a database, and is stopped (nothing left running or on disk) after the last test.
func Main(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	c := &cluster{}
	mainMu.Lock()
	current = c
	mainMu.Unlock()
	code := m.Run()
	mainMu.Lock()
	current = nil
	mainMu.Unlock()
	if c.srv != nil {
		if err := c.srv.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "dbtest: stop PostgreSQL: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Database is a test's own migrated database and how to reach it.
type Database struct {
	// Name is the database's name.
	Name string
	// Host and Port are where the server listens (TLS only).
	Host string
	Port int
	// User and Password are the superuser's; the superuser owns the migrated objects.
	User     string
	Password string
	// CAFile is the PEM file of the CA that signed the server's certificate.
	CAFile string
	// ServicePassword is the password of every service role (migrations.ServiceRoles).
	ServicePassword string

	srv *pgserver.Server
}

// DSN returns a connection string for the database as the superuser (TLS verify-full).
func (d *Database) DSN() string { return d.srv.DSNFor(d.Name, d.User, d.Password) }

// DSNFor returns a connection string for the database as a service role, such as migrations.OrdersRole, with
// the service password (TLS verify-full).
func (d *Database) DSNFor(role string) string { return d.srv.DSNFor(d.Name, role, d.ServicePassword) }

// New returns a pool connected as the superuser to a new migrated database of the test's own. Both are closed
// and dropped when the test ends.
func New(t testing.TB) *pgxpool.Pool {
	t.Helper()
	return Connect(t, NewDatabase(t).DSN())
}

// Connect returns a pool for dsn that is closed when the test ends.
func Connect(t testing.TB, dsn string) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatalf("dbtest: connect: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// NewDatabase creates a new migrated database for the test and returns how to reach it. It is dropped when the
// test ends (after the test's own cleanups, so close pools first or let Connect do it).
func NewDatabase(t testing.TB) *Database {
	t.Helper()
	return shared(t).newDatabase(t, templateName)
}

// NewEmptyDatabase creates a database with nothing migrated (the service roles exist: they belong to the
// server), for tests of the migrations themselves. It is dropped when the test ends.
func NewEmptyDatabase(t testing.TB) *Database {
	t.Helper()
	return shared(t).newDatabase(t, "template0")
}

// shared returns the test process's server, started on first use.
func shared(t testing.TB) *cluster {
	t.Helper()
	mainMu.Lock()
	c := current
	mainMu.Unlock()
	if c == nil {
		t.Fatal("dbtest: no server: run the package's tests through dbtest.Main (func TestMain(m *testing.M) { dbtest.Main(m) })")
	}
	c.once.Do(c.start)
	if c.err != nil {
		t.Fatalf("dbtest: %v", c.err)
	}
	return c
}

// NewServer starts a server of the test's own, stopped when the test ends, and returns it with a migrated
// database on it. It is for tests that take the database down (Server.Halt, Server.Resume) without disturbing
// the other tests; every other test should use New or NewDatabase, which share one server.
func NewServer(t testing.TB) (*pgserver.Server, *Database) {
	t.Helper()
	c := &cluster{}
	c.start()
	if c.srv != nil {
		t.Cleanup(func() {
			if err := c.srv.Stop(); err != nil {
				t.Errorf("dbtest: stop PostgreSQL: %v", err)
			}
		})
	}
	if c.err != nil {
		t.Fatalf("dbtest: %v", c.err)
	}
	return c.srv, c.newDatabase(t, templateName)
}

// NewUnmigratedServer starts a server of the test's own, stopped when the test ends, with one empty database
// and no service roles: a new RDS instance before its first migration. It is for tests of what the services do
// before the migration has created their roles; ServicePassword is the password to give the roles when the
// test migrates (cmd/migrate's DATABASE_SERVICE_PASSWORD). Tests that need a migrated database use New or
// NewDatabase.
func NewUnmigratedServer(t testing.TB) *Database {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		t.Fatalf("dbtest: start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		if err := srv.Stop(); err != nil {
			t.Errorf("dbtest: stop PostgreSQL: %v", err)
		}
	})
	const name = "app"
	if err := srv.CreateDatabase(ctx, name); err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatalf("dbtest: generate service password: %v", err)
	}
	return &Database{Name: name, Host: srv.Host, Port: srv.Port, User: srv.User, Password: srv.Password,
		CAFile: srv.CAFile, ServicePassword: hex.EncodeToString(b), srv: srv}
}

// newDatabase creates a database from template, dropped when the test ends.
func (c *cluster) newDatabase(t testing.TB, template string) *Database {
	t.Helper()
	name := fmt.Sprintf("test_%d_%d", os.Getpid(), c.next.Add(1))
	ctx := context.Background()
	admin, err := pgx.Connect(ctx, c.srv.DSN("postgres"))
	if err != nil {
		t.Fatalf("dbtest: connect to server: %v", err)
	}
	defer admin.Close(ctx)
	// FILE_COPY copies the template's files after a checkpoint, which fsync=off makes cheap; the default
	// (WAL_LOG) writes every block of the template to the WAL.
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name+" TEMPLATE "+template+" STRATEGY FILE_COPY"); err != nil {
		t.Fatalf("dbtest: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, c.srv.DSN("postgres"))
		if err != nil {
			t.Errorf("dbtest: connect to drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("dbtest: drop database %s: %v", name, err)
		}
	})
	return &Database{
		Name:            name,
		Host:            c.srv.Host,
		Port:            c.srv.Port,
		User:            c.srv.User,
		Password:        c.srv.Password,
		CAFile:          c.srv.CAFile,
		ServicePassword: c.servicePassword,
		srv:             c.srv,
	}
}

// start starts the server and builds the template database; errors are kept for every later caller.
func (c *cluster) start() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		c.err = fmt.Errorf("start PostgreSQL: %w", err)
		return
	}
	c.srv = srv
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		c.err = fmt.Errorf("generate service password: %w", err)
		return
	}
	c.servicePassword = hex.EncodeToString(b)
	if err := c.buildTemplate(ctx); err != nil {
		c.err = fmt.Errorf("build template database: %w", err)
	}
}

func (c *cluster) buildTemplate(ctx context.Context) error {
	admin, err := pgx.Connect(ctx, c.srv.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer admin.Close(ctx)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+templateName); err != nil {
		return fmt.Errorf("create: %w", err)
	}
	pool, err := pgxpool.New(ctx, c.srv.DSN(templateName))
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	err = migrate(ctx, pool, c.servicePassword)
	pool.Close()
	if err != nil {
		return err
	}
	// No connection may touch the template while it is being copied.
	_, err = admin.Exec(ctx, "ALTER DATABASE "+templateName+" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false")
	return err
}

func migrate(ctx context.Context, pool *pgxpool.Pool, servicePassword string) error {
	m, err := dbmigrate.New(pool, migrations.FS(), slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	_, upErr := m.Up(ctx)
	if err := errors.Join(upErr, m.Close()); err != nil {
		return err
	}
	return dbmigrate.SetPassword(ctx, pool, servicePassword, migrations.ServiceRoles()...)
}
