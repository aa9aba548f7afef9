package database_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/pgserver"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var discard = slog.New(slog.DiscardHandler)

// configFor returns the configuration a service would read to reach db as role.
func configFor(db *dbtest.Database, role string) database.Config {
	return database.Config{
		Host: db.Host, Port: db.Port, Name: db.Name, User: role,
		Password: config.Secret(db.ServicePassword), SSLMode: "verify-full", CAFile: db.CAFile,
	}
}

func TestReadConfig(t *testing.T) {
	base := map[string]string{
		"DATABASE_HOST": "db.example", "DATABASE_NAME": "app", "DATABASE_USER": "orders_api",
		"DATABASE_PASSWORD": "pw",
	}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr []string
	}{
		{"password", base, nil},
		{"iam", with("DATABASE_PASSWORD", "", "DATABASE_IAM_AUTH", "true", "AWS_REGION", "eu-west-1"), nil},
		{"nothing set", map[string]string{}, []string{"DATABASE_HOST: required", "DATABASE_NAME: required",
			"DATABASE_USER: required", "DATABASE_PASSWORD: required unless"}},
		{"iam without region, with password", with("DATABASE_IAM_AUTH", "true"),
			[]string{"AWS_REGION: required", "DATABASE_PASSWORD: must be unset"}},
		{"bad sslmode and port", with("DATABASE_SSLMODE", "disable", "DATABASE_PORT", "0"),
			[]string{"DATABASE_SSLMODE", "DATABASE_PORT"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := config.NewReader(func(k string) string { return tt.env[k] })
			cfg := database.ReadConfig(r)
			err := r.Err()
			if len(tt.wantErr) == 0 {
				if err != nil {
					t.Fatalf("ReadConfig: %v", err)
				}
				if cfg.Port != 5432 || cfg.SSLMode != "verify-full" {
					t.Errorf("defaults: port %d sslmode %q; want 5432 verify-full", cfg.Port, cfg.SSLMode)
				}
				return
			}
			for _, want := range tt.wantErr {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("ReadConfig error = %v; want it to contain %q", err, want)
				}
			}
		})
	}
}

// DATABASE_CA_FILE is system (the default) or an absolute path to a PEM bundle; anything else is a
// configuration error that names the key, before any connection is tried.
func TestReadConfigCAFile(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	bundle, err := filepath.Abs(filepath.Join("..", "..", "..", "certs", "rds-global-bundle.pem"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, caFile, sslMode string
		want                  string // the CAFile read, or the error's text
		wantErr               bool
	}{
		{"unset: system roots", "", "", database.SystemRoots, false},
		{"system", "system", "verify-full", database.SystemRoots, false},
		{"bundle", bundle, "", bundle, false},
		{"system with a weaker mode", "system", "verify-ca", "DATABASE_CA_FILE: system (the operating system's roots) needs DATABASE_SSLMODE=verify-full", true},
		{"misspelt", "System", "", `DATABASE_CA_FILE: "System" is neither "system" nor an absolute path`, true},
		{"relative path", "certs/rds-global-bundle.pem", "", `DATABASE_CA_FILE: "certs/rds-global-bundle.pem" is neither`, true},
		{"missing file", filepath.Join(dir, "missing.pem"), "", "DATABASE_CA_FILE: cannot read the CA bundle", true},
		{"not PEM", notPEM, "", "DATABASE_CA_FILE: " + notPEM + " holds no PEM certificate", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := map[string]string{"DATABASE_HOST": "db.example", "DATABASE_NAME": "app", "DATABASE_USER": "orders_api",
				"DATABASE_PASSWORD": "pw", "DATABASE_CA_FILE": tt.caFile, "DATABASE_SSLMODE": tt.sslMode}
			r := config.NewReader(func(k string) string { return env[k] })
			cfg := database.ReadConfig(r)
			err := r.Err()
			switch {
			case tt.wantErr && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("ReadConfig(DATABASE_CA_FILE=%q) error = %v; want %q", tt.caFile, err, tt.want)
			case !tt.wantErr && err != nil:
				t.Errorf("ReadConfig(DATABASE_CA_FILE=%q) error = %v; want none", tt.caFile, err)
			case !tt.wantErr && cfg.CAFile != tt.want:
				t.Errorf("ReadConfig(DATABASE_CA_FILE=%q).CAFile = %q; want %q", tt.caFile, cfg.CAFile, tt.want)
			}
		})
	}
}

func TestConfigLogValueHidesPassword(t *testing.T) {
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("config", "database", database.Config{User: "u", Password: "hunter2"})
	if strings.Contains(buf.String(), "hunter2") {
		t.Errorf("logged config reveals the password: %s", buf.String())
	}
}

func TestOpenInTx(t *testing.T) {
	db := dbtest.NewDatabase(t)
	ctx := context.Background()
	pool, err := database.Open(ctx, configFor(db, migrations.OrdersRole), discard)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer pool.Close()
	if err := database.Ready(pool)(ctx); err != nil {
		t.Errorf("Ready: %v", err)
	}
	errBoom := errors.New("boom")
	insert := func(id string) func(pgx.Tx) error {
		return func(tx pgx.Tx) error {
			_, err := tx.Exec(ctx, "INSERT INTO orders.inbox (event_id) VALUES ($1)", id)
			return err
		}
	}
	tests := []struct {
		name      string
		id        string
		fn        func(pgx.Tx) error
		wantErr   error
		wantSaved bool
	}{
		{"commit", "00000000-0000-0000-0000-000000000001", insert("00000000-0000-0000-0000-000000000001"), nil, true},
		{"rollback on error", "00000000-0000-0000-0000-000000000002", func(tx pgx.Tx) error {
			if err := insert("00000000-0000-0000-0000-000000000002")(tx); err != nil {
				return err
			}
			return errBoom
		}, errBoom, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := database.InTx(ctx, pool, tt.fn)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("InTx = %v; want %v", err, tt.wantErr)
			}
			var saved bool
			if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM orders.inbox WHERE event_id = $1)", tt.id).Scan(&saved); err != nil {
				t.Fatal(err)
			}
			if saved != tt.wantSaved {
				t.Errorf("row saved = %v; want %v", saved, tt.wantSaved)
			}
		})
	}
	t.Run("rollback on panic", func(t *testing.T) {
		id := "00000000-0000-0000-0000-000000000003"
		func() {
			defer func() { _ = recover() }()
			_ = database.InTx(ctx, pool, func(tx pgx.Tx) error {
				_ = insert(id)(tx)
				panic("handler bug")
			})
		}()
		var saved bool
		if err := pool.QueryRow(ctx, "SELECT EXISTS (SELECT FROM orders.inbox WHERE event_id = $1)", id).Scan(&saved); err != nil {
			t.Fatal(err)
		}
		if saved {
			t.Errorf("row saved after a panic; want it rolled back")
		}
	})
}

// TLS is verified: the system roots do not trust the local CA, and a refused mode never falls back.
func TestOpenRefusesUntrustedServer(t *testing.T) {
	db := dbtest.NewDatabase(t)
	cfg := configFor(db, migrations.OrdersRole)
	cfg.CAFile = "" // system roots
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var logs bytes.Buffer
	pool, err := database.Open(ctx, cfg, slog.New(slog.NewTextHandler(&logs, nil)))
	if err == nil {
		pool.Close()
		t.Fatal("Open with an untrusted certificate succeeded; want an error")
	}
	if !strings.Contains(err.Error(), "certificate") || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Open = %v; want a certificate error after retrying until the deadline", err)
	}
	if !strings.Contains(logs.String(), "database not ready yet") || !strings.Contains(logs.String(), "DATABASE_CA_FILE") {
		t.Errorf("logs = %q; want each failed attempt logged with a reason naming DATABASE_CA_FILE", logs.String())
	}
}

// Open waits for a database that is not up yet, as when a task starts before the database.
func TestOpenRetriesUntilDatabaseUp(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	ctx := context.Background()
	srv, err := pgserver.Start(ctx, pgserver.Options{Port: port, Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Stop()
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	cfg := database.Config{Host: srv.Host, Port: port, Name: "postgres", User: srv.User, Password: "pw",
		SSLMode: "verify-full", CAFile: srv.CAFile}
	type result struct{ err error }
	done := make(chan result, 1)
	log, logs := logtest.New()
	openCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	go func() {
		pool, err := database.Open(openCtx, cfg, log)
		if err == nil {
			pool.Close()
		}
		done <- result{err}
	}()
	// Start the database only once Open has failed at least once.
	for !strings.Contains(logs.String(), "database not ready yet") {
		time.Sleep(10 * time.Millisecond)
	}
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if r := <-done; r.err != nil {
		t.Errorf("Open = %v; want success once the database is up", r.err)
	}
}

func TestReadyFailsWhenDatabaseDown(t *testing.T) {
	srv, db := dbtest.NewServer(t)
	ctx := context.Background()
	pool, err := database.Open(ctx, configFor(db, migrations.FulfillmentRole), discard)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ready := database.Ready(pool)
	if err := srv.Halt(); err != nil {
		t.Fatal(err)
	}
	checkCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := ready(checkCtx); err == nil {
		t.Error("Ready with the database down = nil; want an error")
	}
	if err := srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ready(ctx); err != nil {
		t.Errorf("Ready after the database came back = %v; want nil", err)
	}
}
