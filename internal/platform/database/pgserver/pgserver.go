// Package pgserver starts a throwaway PostgreSQL server from the locally installed binaries, configured the way
// the services meet PostgreSQL on AWS: TLS only (a connection without TLS is refused, as with RDS and
// rds.force_ssl=1), SCRAM passwords, and a certificate the client verifies with verify-full against a CA
// generated for this server alone.
//
// It exists so that tests and the local development system (`make up`) run against a real server without Docker.
// By default the server is tuned for throwaway use (no fsync): tests that never crash it and throw its data away
// want speed. Options.Durable keeps PostgreSQL's durable defaults, as every RDS instance has them, so that a
// crash (Crash, SIGKILL of the whole server) loses no committed transaction; `make up` and the chaos suite use
// it. Either way its data does not survive Stop, which removes everything.
package pgserver

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// DefaultBinDir is where Debian's postgresql-15 package installs the server binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// Options configure Start. The zero value starts a server on a free loopback port.
type Options struct {
	// BinDir holds initdb and postgres. Default DefaultBinDir.
	BinDir string
	// ParentDir is where the server's temporary directory is created. Default os.TempDir(). When running as
	// root the server runs as RunAs, which must be able to traverse every parent of this directory.
	ParentDir string
	// Host is the address to listen on. Default 127.0.0.1.
	Host string
	// Port to listen on; 0 picks a free one.
	Port int
	// User and Password of the superuser. Defaults: "postgres" and a random password.
	User     string
	Password string
	// RunAs is the operating-system user the server runs as when the caller is root (PostgreSQL refuses to
	// run as root). Default "postgres".
	RunAs string
	// MaxConnections is the server's max_connections. Default 200.
	MaxConnections int
	// Durable keeps fsync, synchronous_commit and full_page_writes on (PostgreSQL's defaults, and RDS's), so a
	// committed transaction survives a crash of the server or the machine. Off, they are off: faster, for data
	// that is thrown away and a server that is never crashed.
	Durable bool
}

// Server is a running PostgreSQL server. Its fields describe how to reach it.
type Server struct {
	// Host and Port are where the server listens for TCP connections (TLS only).
	Host string
	Port int
	// User and Password are the superuser's credentials.
	User     string
	Password string
	// CAFile is the PEM file of the CA that signed the server certificate; clients verify against it.
	CAFile string
	// SocketDir holds the server's unix socket.
	SocketDir string

	dir     string
	logFile string
	opts    Options
	cred    *syscall.Credential
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	mu sync.Mutex // guards cmd and exited against Exited, PID and Recover from another goroutine

	stopOnce sync.Once
	stopErr  error
}

// Start initialises a new cluster in a temporary directory, starts the server and returns once it accepts TLS
// connections. The caller must call Stop. If ctx ends first, Start stops what it started and returns ctx's error.
func Start(ctx context.Context, opts Options) (*Server, error) {
	opts = opts.withDefaults()
	for _, bin := range []string{"initdb", "postgres"} {
		if _, err := os.Stat(filepath.Join(opts.BinDir, bin)); err != nil {
			return nil, fmt.Errorf("PostgreSQL server binary %s not found in %s: install PostgreSQL 15 "+
				"(apt-get install -y postgresql; `make up` and `make test` do this themselves)", bin, opts.BinDir)
		}
	}
	if opts.Password == "" {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			return nil, fmt.Errorf("generate superuser password: %w", err)
		}
		opts.Password = hex.EncodeToString(b)
	}
	cred, owner, err := credential(opts.RunAs)
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(opts.ParentDir, "pgserver-")
	if err != nil {
		return nil, fmt.Errorf("create server directory: %w", err)
	}
	s := &Server{
		Host:      opts.Host,
		User:      opts.User,
		Password:  opts.Password,
		CAFile:    filepath.Join(dir, "ca.pem"),
		SocketDir: filepath.Join(dir, "socket"),
		dir:       dir,
		logFile:   filepath.Join(dir, "postgres.log"),
		opts:      opts,
		cred:      cred,
	}
	if err := s.prepare(ctx, opts, cred, owner); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// A free port can be taken by someone else between picking it and the server binding it: try again with
	// another one when that happens and the port was not asked for.
	for attempt := 1; ; attempt++ {
		port := opts.Port
		if port == 0 {
			if port, err = freePort(opts.Host); err != nil {
				_ = s.Stop()
				return nil, err
			}
		}
		s.Port = port
		err = s.start(ctx, opts, cred)
		if err == nil {
			return s, nil
		}
		_ = s.halt()
		if opts.Port != 0 || attempt == 3 || !strings.Contains(err.Error(), "could not bind") || ctx.Err() != nil {
			_ = s.Stop()
			return nil, err
		}
	}
}

func (o Options) withDefaults() Options {
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir
	}
	if o.ParentDir == "" {
		o.ParentDir = os.TempDir()
	}
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.User == "" {
		o.User = "postgres"
	}
	if o.RunAs == "" {
		o.RunAs = "postgres"
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 200
	}
	return o
}

// owner is the uid and gid that must own the server's files; -1 when they stay with the current user.
type owner struct{ uid, gid int }

// credential returns who the server processes run as: RunAs when the caller is root, otherwise the caller.
func credential(runAs string) (*syscall.Credential, owner, error) {
	if os.Geteuid() != 0 {
		return nil, owner{-1, -1}, nil
	}
	u, err := user.Lookup(runAs)
	if err != nil {
		return nil, owner{}, fmt.Errorf("look up user %q to run PostgreSQL as (it refuses to run as root): %w", runAs, err)
	}
	uid, err := strconv.Atoi(u.Uid)
	if err != nil {
		return nil, owner{}, fmt.Errorf("uid of %q: %w", runAs, err)
	}
	gid, err := strconv.Atoi(u.Gid)
	if err != nil {
		return nil, owner{}, fmt.Errorf("gid of %q: %w", runAs, err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), NoSetGroups: true}, owner{uid, gid}, nil
}

// prepare runs initdb and writes the TLS material and access rules into the new cluster.
func (s *Server) prepare(ctx context.Context, opts Options, cred *syscall.Credential, own owner) error {
	// The directory must be traversable by the server's user; MkdirTemp creates it 0700.
	if err := os.Chmod(s.dir, 0o755); err != nil { //nolint:gosec // the server's user must traverse it; it holds no secret
		return fmt.Errorf("open server directory: %w", err)
	}
	if err := os.Mkdir(s.SocketDir, 0o755); err != nil { //nolint:gosec // clients of any user reach the socket
		return fmt.Errorf("create socket directory: %w", err)
	}
	pwFile := filepath.Join(s.dir, "pwfile")
	if err := os.WriteFile(pwFile, []byte(s.Password+"\n"), 0o600); err != nil {
		return fmt.Errorf("write password file: %w", err)
	}
	if err := chownAll(own, s.dir, s.SocketDir, pwFile); err != nil {
		return err
	}
	data := filepath.Join(s.dir, "data")
	initArgs := []string{"--pgdata", data, "--username", s.User, "--pwfile", pwFile, "--auth", "scram-sha-256",
		"--encoding", "UTF8", "--locale", "C", "--no-instructions"}
	if !opts.Durable {
		initArgs = append(initArgs, "--no-sync")
	}
	initdb := exec.CommandContext(ctx, filepath.Join(opts.BinDir, "initdb"), initArgs...)
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true}
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, bytes.TrimSpace(out))
	}
	if err := os.Remove(pwFile); err != nil {
		return fmt.Errorf("remove password file: %w", err)
	}
	certs, err := newCertificates(opts.Host)
	if err != nil {
		return err
	}
	files := []struct {
		path string
		data []byte
		mode os.FileMode
	}{
		{s.CAFile, certs.caPEM, 0o644},
		{filepath.Join(data, "server.crt"), certs.certPEM, 0o644},
		{filepath.Join(data, "server.key"), certs.keyPEM, 0o600},
		{filepath.Join(data, "pg_hba.conf"), []byte(hbaConf), 0o600},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, f.data, f.mode); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Base(f.path), err)
		}
		if err := chownAll(own, f.path); err != nil {
			return err
		}
	}
	return nil
}

// hbaConf accepts password (SCRAM) logins over TLS and over the unix socket, and refuses TCP without TLS, as RDS
// does with rds.force_ssl=1.
const hbaConf = `# TYPE     DATABASE  USER  ADDRESS  METHOD
local       all       all            scram-sha-256
hostssl     all       all   all      scram-sha-256
hostnossl   all       all   all      reject
`

func chownAll(own owner, paths ...string) error {
	if own.uid < 0 {
		return nil
	}
	for _, p := range paths {
		if err := os.Chown(p, own.uid, own.gid); err != nil {
			return fmt.Errorf("hand %s to the server's user: %w", p, err)
		}
	}
	return nil
}

// start starts the postmaster and waits until it accepts a TLS connection.
func (s *Server) start(ctx context.Context, opts Options, cred *syscall.Credential) error {
	// Appended to, not truncated: backends of a server that died may still write to it for a moment, and a
	// truncated file would fill with zero bytes up to their offset.
	log, err := os.OpenFile(s.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("create server log: %w", err)
	}
	defer log.Close()
	args := []string{"-D", filepath.Join(s.dir, "data"),
		"-c", "listen_addresses=" + opts.Host,
		"-c", "port=" + strconv.Itoa(s.Port),
		"-c", "unix_socket_directories=" + s.SocketDir,
		"-c", "max_connections=" + strconv.Itoa(opts.MaxConnections),
		"-c", "ssl=on",
		"-c", "ssl_min_protocol_version=TLSv1.2",
		"-c", "password_encryption=scram-sha-256",
		"-c", "log_min_messages=warning",
	}
	args = append(args, durabilitySettings(opts.Durable)...)
	// Not CommandContext: ctx bounds the start-up only, the server runs until Stop.
	cmd := exec.Command(filepath.Join(opts.BinDir, "postgres"), args...) //nolint:noctx // see above
	cmd.Stdout = log
	cmd.Stderr = log
	// Own process group: a Ctrl-C in the terminal reaches the parent only, which stops the server in order.
	// Pdeathsig: the server does not outlive a parent that dies without calling Stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	s.mu.Unlock()
	go func() {
		s.waitErr = cmd.Wait()
		close(exited)
	}()
	return s.waitReady(ctx)
}

// durabilitySettings are the server settings that decide whether a committed transaction survives a crash.
// Durable leaves PostgreSQL's defaults (fsync, synchronous_commit and full_page_writes on), which RDS does not
// let anyone turn off for fsync and full_page_writes; otherwise all three are off, for throwaway test data.
func durabilitySettings(durable bool) []string {
	if durable {
		return []string{"-c", "fsync=on", "-c", "synchronous_commit=on", "-c", "full_page_writes=on"}
	}
	return []string{"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"}
}

func (s *Server) waitReady(ctx context.Context) error {
	cfg, err := pgx.ParseConfig(s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("parse connection string: %w", err)
	}
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, time.Second)
		conn, err := pgx.ConnectConfig(attemptCtx, cfg)
		cancel()
		if err == nil {
			return conn.Close(ctx)
		}
		select {
		case <-s.exited:
			return fmt.Errorf("postgres exited during start-up (%w): %s", s.waitErr, s.logTail())
		case <-ctx.Done():
			return fmt.Errorf("wait for postgres to accept connections: %w (last error: %w)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

func (s *Server) logTail() string {
	b, err := os.ReadFile(s.logFile)
	if err != nil {
		return "no server log: " + err.Error()
	}
	b = bytes.TrimSpace(b)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func freePort(host string) (int, error) {
	var lc net.ListenConfig
	l, err := lc.Listen(context.Background(), "tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN returns a connection string for database name as the superuser, over TLS with verify-full against CAFile.
func (s *Server) DSN(name string) string {
	return s.DSNFor(name, s.User, s.Password)
}

// DSNFor returns a connection string for database name as user with password, over TLS with verify-full.
func (s *Server) DSNFor(name, user, password string) string {
	u := url.URL{
		Scheme: "postgres",
		User:   url.UserPassword(user, password),
		Host:   net.JoinHostPort(s.Host, strconv.Itoa(s.Port)),
		Path:   "/" + name,
		RawQuery: url.Values{
			"sslmode":     {"verify-full"},
			"sslrootcert": {s.CAFile},
		}.Encode(),
	}
	return u.String()
}

// CreateDatabase creates an empty database owned by the superuser.
func (s *Server) CreateDatabase(ctx context.Context, name string) error {
	conn, err := pgx.Connect(ctx, s.DSN("postgres"))
	if err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return fmt.Errorf("create database %s: %w", name, err)
	}
	return nil
}

// Stop shuts the server down (fast shutdown: sessions are ended), waits for it to exit and removes its
// directory. It is safe to call more than once.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if err := s.halt(); err != nil {
			errs = append(errs, err)
		}
		if err := os.RemoveAll(s.dir); err != nil {
			errs = append(errs, fmt.Errorf("remove server directory: %w", err))
		}
		s.stopErr = errors.Join(errs...)
	})
	return s.stopErr
}

// Halt stops the server process but keeps its data, as when a database goes down; Resume starts it again.
// Tests use the pair to check that services notice an outage and recover by themselves.
func (s *Server) Halt() error { return s.halt() }

// Resume starts a halted server again on the same port, with the same data and certificates, and waits until
// it accepts connections.
func (s *Server) Resume(ctx context.Context) error {
	if s.cmd != nil {
		return errors.New("resume postgres: already running")
	}
	return s.restart(ctx)
}

// Crash kills the postmaster and every process it started (backends, checkpointer, WAL writer) at once with
// SIGKILL, as when a machine or container dies, keeping the data; Resume or Recover then starts it again and
// PostgreSQL runs crash recovery from its write-ahead log. With Options.Durable no committed transaction is
// lost. (Killing the postmaster's process group is not enough: each child of the postmaster calls setsid.)
func (s *Server) Crash() error {
	s.mu.Lock()
	cmd := s.cmd
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	defer s.clearCmd()
	procs := append([]int{cmd.Process.Pid}, Children(cmd.Process.Pid)...)
	for _, pid := range procs {
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil && !errors.Is(err, syscall.ESRCH) {
			return fmt.Errorf("kill postgres process %d: %w", pid, err)
		}
	}
	<-s.exited
	// SIGKILL is delivered asynchronously: wait until every process is gone (or a zombie, which holds no
	// shared memory), or the next postmaster finds their shared memory in use.
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range procs[1:] {
		for alive(pid) && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	return nil
}

// alive reports whether pid is a process that has not exited (a zombie has).
func alive(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || !bytes.HasPrefix(b[i+1:], []byte(" Z"))
}

// Children are the process ids whose parent is pid, from /proc (Linux).
func Children(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var out []int
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) {
			out = append(out, child)
		}
	}
	return out
}

// Exited is closed when the running server process exits, whether by Halt, Crash or on its own. It is nil
// when no server runs.
func (s *Server) Exited() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	return s.exited
}

// Recover starts the server again after its process exited on its own (or was killed from outside), on the
// same port with the same data: PostgreSQL runs crash recovery first. It is an error while the server runs.
func (s *Server) Recover(ctx context.Context) error {
	s.mu.Lock()
	if s.cmd != nil {
		select {
		case <-s.exited:
		default:
			s.mu.Unlock()
			return errors.New("recover postgres: still running")
		}
	}
	s.cmd = nil
	s.mu.Unlock()
	return s.restart(ctx)
}

// restart starts the server again on its data. Backends of a postmaster that was killed alone live on until
// they notice its death (a running query first finishes its current step), holding its shared memory, and a
// new postmaster refuses to start beside them ("pre-existing shared memory block is still in use"): restart
// tries again until they are gone.
func (s *Server) restart(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := s.start(ctx, s.opts, s.cred)
		if err == nil {
			return nil
		}
		_ = s.halt()
		if !strings.Contains(err.Error(), "pre-existing shared memory block") || time.Now().After(deadline) || ctx.Err() != nil {
			return err
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// PID is the postmaster's process id, 0 when the server is not running.
func (s *Server) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

func (s *Server) clearCmd() {
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
}

// halt stops the server process, if one runs, and waits for it to exit.
func (s *Server) halt() error {
	if s.cmd == nil {
		return nil
	}
	defer s.clearCmd()
	// SIGINT is PostgreSQL's fast shutdown; SIGQUIT its immediate one when that takes too long.
	if err := s.cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal postgres: %w", err)
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(10 * time.Second):
	}
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.exited:
		return nil
	case <-time.After(5 * time.Second):
	}
	_ = s.cmd.Process.Kill()
	<-s.exited
	return nil
}
