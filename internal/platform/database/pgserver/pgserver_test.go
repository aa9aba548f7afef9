package pgserver_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/pgserver"
)

func TestServer(t *testing.T) {
	ctx := context.Background()
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { _ = srv.Stop() })

	addr := net.JoinHostPort(srv.Host, strconv.Itoa(srv.Port))
	tests := []struct {
		name    string
		dsn     string
		wantErr string // "" when the connection must succeed
	}{
		{"verify-full with the server's CA", srv.DSN("postgres"), ""},
		{"localhost name is in the certificate",
			strings.Replace(srv.DSN("postgres"), srv.Host, "localhost", 1), ""},
		{"without TLS is refused",
			"postgres://" + srv.User + ":" + srv.Password + "@" + addr + "/postgres?sslmode=disable", "no encryption"},
		{"verify-full against the system roots is refused",
			"postgres://" + srv.User + ":" + srv.Password + "@" + addr + "/postgres?sslmode=verify-full",
			"unknown authority"},
		{"wrong password is refused",
			srv.DSNFor("postgres", srv.User, "wrong"), "password authentication failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conn, err := pgx.Connect(ctx, tt.dsn)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Connect(%s) = %v; want success", tt.name, err)
				}
				defer conn.Close(ctx)
				var ssl bool
				if err := conn.QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil {
					t.Fatalf("query pg_stat_ssl: %v", err)
				}
				if !ssl {
					t.Errorf("pg_stat_ssl.ssl = false; want true")
				}
				return
			}
			if err == nil {
				conn.Close(ctx)
				t.Fatalf("Connect(%s) succeeded; want an error containing %q", tt.name, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Connect(%s) = %v; want an error containing %q", tt.name, err, tt.wantErr)
			}
		})
	}

	if err := srv.CreateDatabase(ctx, "orders-db"); err != nil {
		t.Fatalf("CreateDatabase: %v", err)
	}
	conn, err := pgx.Connect(ctx, srv.DSN("orders-db"))
	if err != nil {
		t.Fatalf("connect to the created database: %v", err)
	}
	conn.Close(ctx)
	if err := srv.CreateDatabase(ctx, "orders-db"); err == nil {
		t.Errorf("CreateDatabase of an existing name = nil; want an error")
	}

	pid := srvPID(t, srv)
	if err := srv.Stop(); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postmaster %d after Stop: kill(0) = %v; want ESRCH", pid, err)
	}
	if _, err := os.Stat(srv.CAFile); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Stat(CA file) after Stop = %v; want not exist", err)
	}
	if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		c.Close()
		t.Errorf("Dial(%s) after Stop succeeded; want nothing listening", addr)
	}
	if err := srv.Stop(); err != nil {
		t.Errorf("second Stop = %v; want nil", err)
	}
}

func srvPID(t *testing.T, srv *pgserver.Server) int {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	var dir string
	if err := conn.QueryRow(ctx, "SHOW data_directory").Scan(&dir); err != nil {
		t.Fatalf("show data_directory: %v", err)
	}
	b, err := os.ReadFile(dir + "/postmaster.pid")
	if err != nil {
		t.Fatalf("read postmaster.pid: %v", err)
	}
	pid, err := strconv.Atoi(strings.SplitN(string(b), "\n", 2)[0])
	if err != nil {
		t.Fatalf("parse postmaster.pid: %v", err)
	}
	return pid
}

func TestStartGivenPortInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	srv, err := pgserver.Start(context.Background(), pgserver.Options{Port: port})
	if err == nil {
		srv.Stop()
		t.Fatalf("Start on busy port %d succeeded; want an error", port)
	}
	if !strings.Contains(err.Error(), "could not bind") {
		t.Errorf("Start on busy port = %v; want the server's bind error", err)
	}
}

func TestHaltResume(t *testing.T) {
	ctx := context.Background()
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer srv.Stop()
	conn, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (42)"); err != nil {
		t.Fatal(err)
	}
	conn.Close(ctx)
	if err := srv.Halt(); err != nil {
		t.Fatalf("Halt: %v", err)
	}
	if _, err := pgx.Connect(ctx, srv.DSN("postgres")); err == nil {
		t.Fatal("Connect after Halt succeeded; want the server down")
	}
	if err := srv.Resume(ctx); err != nil {
		t.Fatalf("Resume: %v", err)
	}
	conn, err = pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		t.Fatalf("Connect after Resume: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT n FROM kept").Scan(&n); err != nil || n != 42 {
		t.Errorf("SELECT n FROM kept after Resume = %d, %v; want 42", n, err)
	}
}

func TestStartWithoutBinaries(t *testing.T) {
	_, err := pgserver.Start(t.Context(), pgserver.Options{BinDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "install PostgreSQL 15") {
		t.Errorf("Start(empty BinDir) = %v; want an error that says to install PostgreSQL 15", err)
	}
}

// A durable server runs with PostgreSQL's (and RDS's) durable settings, and every transaction it acknowledged
// is there after the whole server is SIGKILLed and recovers from its write-ahead log.
func TestDurableServerSurvivesCrash(t *testing.T) {
	ctx := context.Background()
	srv, err := pgserver.Start(ctx, pgserver.Options{Durable: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer srv.Stop()
	conn, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	for _, setting := range []string{"fsync", "synchronous_commit", "full_page_writes"} {
		var v string
		if err := conn.QueryRow(ctx, "SELECT current_setting($1)", setting).Scan(&v); err != nil || v != "on" {
			t.Errorf("%s = %q, %v; want on", setting, v, err)
		}
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE acked (n int)"); err != nil {
		t.Fatal(err)
	}
	const n = 200
	for i := range n {
		if _, err := conn.Exec(ctx, "INSERT INTO acked VALUES ($1)", i); err != nil {
			t.Fatal(err)
		}
	}
	pid := srv.PID()
	procs := append([]int{pid}, pgserver.Children(pid)...)
	if len(procs) < 3 {
		t.Fatalf("postmaster %d has children %v; want its backend, checkpointer, WAL writer and more", pid, procs[1:])
	}
	if err := srv.Crash(); err != nil {
		t.Fatalf("Crash: %v", err)
	}
	_ = conn.Close(ctx)
	for _, p := range procs {
		if b, err := os.ReadFile("/proc/" + strconv.Itoa(p) + "/stat"); err == nil && !strings.Contains(string(b), ") Z ") {
			t.Errorf("postgres process %d alive after Crash: %s", p, b)
		}
	}
	if err := srv.Resume(ctx); err != nil {
		t.Fatalf("Resume after Crash: %v", err)
	}
	conn, err = pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		t.Fatalf("Connect after crash recovery: %v", err)
	}
	defer conn.Close(ctx)
	var got int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM acked").Scan(&got); err != nil || got != n {
		t.Errorf("rows after crash recovery = %d, %v; want every acknowledged one, %d", got, err, n)
	}
}

// The default, throwaway server turns durability off: it is for tests that never crash it.
func TestThrowawayServerIsNotDurable(t *testing.T) {
	ctx := context.Background()
	srv, err := pgserver.Start(ctx, pgserver.Options{})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer srv.Stop()
	conn, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var v string
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&v); err != nil || v != "off" {
		t.Errorf("fsync = %q, %v; want off", v, err)
	}
}

// A server whose postmaster is killed from outside (as by the OOM killer), with backends still running, is
// brought back by Recover on the first attempt: it waits for the orphaned backends to let go of the shared
// memory before the new postmaster starts, and the data committed before is there.
func TestRecoverAfterPostmasterKilled(t *testing.T) {
	ctx := context.Background()
	srv, err := pgserver.Start(ctx, pgserver.Options{Durable: true})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer srv.Stop()
	conn, err := pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "CREATE TABLE kept (n int); INSERT INTO kept VALUES (7)"); err != nil {
		t.Fatal(err)
	}
	// Busy backends that outlive their postmaster for a moment.
	for range 3 {
		c, err := pgx.Connect(ctx, srv.DSN("postgres"))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close(ctx)
		go func() { _, _ = c.Exec(ctx, "SELECT count(*) FROM generate_series(1, 5000000)") }()
	}
	time.Sleep(200 * time.Millisecond)
	exited := srv.Exited()
	if err := syscall.Kill(srv.PID(), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		t.Fatal("Exited not closed after the postmaster was killed")
	}
	if err := srv.Recover(ctx); err != nil {
		t.Fatalf("Recover after the postmaster was killed: %v", err)
	}
	conn, err = pgx.Connect(ctx, srv.DSN("postgres"))
	if err != nil {
		t.Fatalf("Connect after Recover: %v", err)
	}
	defer conn.Close(ctx)
	var n int
	if err := conn.QueryRow(ctx, "SELECT n FROM kept").Scan(&n); err != nil || n != 7 {
		t.Errorf("SELECT n FROM kept after Recover = %d, %v; want 7", n, err)
	}
	if err := srv.Recover(ctx); err == nil {
		t.Error("Recover of a running server succeeded; want an error")
	}
}
