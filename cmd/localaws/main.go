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
	"syscall"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
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
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("localaws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
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
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	base := "http://" + ln.Addr().String()
	srv := localaws.New(localaws.WithRegion(cfg.region), localaws.WithAccount(cfg.account), localaws.WithLogger(log))
	if err := srv.Apply(topo, base); err != nil {
		ln.Close()
		return fmt.Errorf("apply init file: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
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
	// Long polls and deliveries end at once when the server closes; give
	// in-flight requests a moment to be answered.
	closed := make(chan struct{})
	go func() { _ = srv.Close(); close(closed) }()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	<-closed
	log.Info("stopped")
	return nil
}
