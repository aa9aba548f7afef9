// Command localaws serves an embedded SQS and SNS endpoint on one port for
// local runs and tests.
//
//	go run ./cmd/localaws -addr 127.0.0.1:4566 -init topology.yaml
//
// It prints the address it listens on and stops cleanly on SIGINT or SIGTERM.
// See docs/localaws.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "localaws: %v\n", err)
		os.Exit(1)
	}
}

// config is the command's configuration, from flags.
type config struct {
	addr     string
	initFile string
	region   string
	account  string
	logLevel slog.Level
	// timeouts are not flags: defaultTimeouts serves every use, and tests
	// shorten them through serve.
	timeouts timeouts
}

// timeouts bound how long a client can hold a connection without progress,
// so that a client that sends its request slowly, stops in the middle of a
// body or never reads its response gets an answer or a closed connection
// instead of holding a goroutine and a socket forever.
type timeouts struct {
	// header bounds reading a request's header (http.Server.ReadHeaderTimeout).
	header time.Duration
	// request bounds reading the whole request, header and body, from its
	// first byte (http.Server.ReadTimeout): it is the body's deadline. A
	// body that has not arrived by then is answered 408 RequestTimeout and
	// the connection is closed. It does not cut long polls short: net/http
	// lifts the read deadline once the body has been read
	// (connReader.startBackgroundRead), before the handler starts waiting.
	request time.Duration
	// write bounds the time from the end of a request's header to the end
	// of its response (http.Server.WriteTimeout), so it must cover reading
	// the body, the longest long poll and any fault delay.
	write time.Duration
	// idle bounds how long a keep-alive connection waits for its next
	// request (http.Server.IdleTimeout). It is longer than the idle timeout
	// of the AWS SDKs' HTTP clients (90 s in aws-sdk-go-v2), so that the
	// server does not close a connection a client is about to reuse.
	idle time.Duration
}

// maxLongPoll is the longest ReceiveMessage wait: "WaitTimeSeconds ... valid
// values: 0 to 20" (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html).
const maxLongPoll = 20 * time.Second

// defaultTimeouts leave a request 15 seconds to arrive and its handler 45
// more, enough for the longest long poll and 25 seconds of injected delay.
var defaultTimeouts = timeouts{header: 10 * time.Second, request: 15 * time.Second, write: time.Minute, idle: 2 * time.Minute}

// validate checks that the timeouts let every legal request finish: a body
// that arrives within the request timeout followed by the longest long poll
// must be answered before the write timeout.
func (t timeouts) validate() error {
	if t.header <= 0 || t.request < t.header || t.idle <= 0 {
		return fmt.Errorf("timeouts %+v: want header > 0, request >= header and idle > 0", t)
	}
	if t.write <= t.request+maxLongPoll {
		return fmt.Errorf("write timeout %s does not cover a request of %s and a long poll of %s", t.write, t.request, maxLongPoll)
	}
	return nil
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("localaws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := config{timeouts: defaultTimeouts}
	fs.StringVar(&c.addr, "addr", "127.0.0.1:4566", "address to listen on (port 0 picks a free port)")
	fs.StringVar(&c.initFile, "init", "", "JSON or YAML file declaring queues, topics and subscriptions to create at start")
	fs.StringVar(&c.region, "region", "us-east-1", "region used in ARNs")
	fs.StringVar(&c.account, "account", "000000000000", "account id used in ARNs and queue URLs")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")
	if err := fs.Parse(args); err != nil {
		return config{}, fmt.Errorf("parse flags: %w", err)
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments: %v", fs.Args())
	}
	if err := c.logLevel.UnmarshalText([]byte(*level)); err != nil {
		return config{}, fmt.Errorf("flag -log-level: %w", err)
	}
	return c, nil
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	return serve(ctx, cfg, stdout, stderr)
}

// serve runs the endpoint with cfg until ctx ends.
func serve(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if err := cfg.timeouts.validate(); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: cfg.logLevel}))
	var topo localaws.Topology
	if cfg.initFile != "" {
		b, err := os.ReadFile(cfg.initFile)
		if err != nil {
			return fmt.Errorf("read init file: %w", err)
		}
		if topo, err = localaws.ParseTopology(b); err != nil {
			return fmt.Errorf("init file %s: %w", cfg.initFile, err)
		}
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	srv := localaws.New(localaws.WithRegion(cfg.region), localaws.WithAccount(cfg.account), localaws.WithLogger(log))
	if err := srv.Apply(topo, base); err != nil {
		_ = ln.Close()
		return fmt.Errorf("apply init file: %w", err)
	}
	conns := &connTracker{conns: map[net.Conn]http.ConnState{}}
	hs := &http.Server{Handler: srv, ConnState: conns.track,
		ReadHeaderTimeout: cfg.timeouts.header, ReadTimeout: cfg.timeouts.request,
		WriteTimeout: cfg.timeouts.write, IdleTimeout: cfg.timeouts.idle}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	fmt.Fprintf(stdout, "localaws listening on %s\n", base)
	log.Info("serving SQS and SNS", "addr", ln.Addr().String(), "region", cfg.region, "account", cfg.account)
	select {
	case err := <-errc:
		_ = srv.Close()
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	if err := shutdown(hs, srv, conns, shutdownBudget); err != nil {
		return err
	}
	log.Info("stopped")
	return nil
}

// shutdownBudget bounds a graceful stop. Nothing in the server waits on its
// own (long polls, fault delays and deliveries end when it closes), so a stop
// takes milliseconds; the budget only guards against a client that stalls in
// the middle of sending a request (which the request timeout ends anyway). It stays below the 10 seconds container
// runtimes and ECS give between SIGTERM and SIGKILL by default.
const shutdownBudget = 5 * time.Second

// shutdown stops the HTTP server and the endpoint within budget: it closes
// the endpoint, which answers every long poll at once, closes connections that
// carry no request, and waits for the requests in progress to be answered.
func shutdown(hs *http.Server, srv *localaws.Server, conns *connTracker, budget time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), budget)
	defer cancel()
	// http.Server.Shutdown closes idle keep-alive connections, but waits
	// up to five seconds for accepted connections on which no request has
	// started (clients open such spare connections when a dial races
	// with a connection being freed). They carry nothing, so close them.
	conns.closeUnused()
	closed := make(chan struct{})
	go func() { _ = srv.Close(); close(closed) }()
	err := hs.Shutdown(ctx)
	if err != nil {
		_ = hs.Close()
	}
	select {
	case <-closed:
	case <-ctx.Done():
		if err == nil {
			err = ctx.Err()
		}
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown within %s: %w", budget, err)
	}
	return nil
}

// connTracker follows the HTTP server's connections so that shutdown can close
// those on which no request has started. Once closeUnused ran, connections
// accepted later are closed as soon as they are seen.
type connTracker struct {
	mu       sync.Mutex
	conns    map[net.Conn]http.ConnState
	stopping bool
}

// track is the http.Server's ConnState hook.
func (c *connTracker) track(conn net.Conn, state http.ConnState) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch state {
	case http.StateClosed, http.StateHijacked:
		delete(c.conns, conn)
	case http.StateNew:
		if c.stopping {
			_ = conn.Close()
			return
		}
		c.conns[conn] = state
	default:
		c.conns[conn] = state
	}
}

// closeUnused closes every connection that has not started a request and
// makes track close new ones.
func (c *connTracker) closeUnused() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.stopping = true
	for conn, state := range c.conns {
		if state == http.StateNew {
			_ = conn.Close()
		}
	}
}
