// Package httpserver runs a service's HTTP server the way ECS behind a load balancer needs it: every timeout
// set (a slow or idle client cannot hold a connection for ever), request headers and bodies bounded, a panic in
// one handler answered as a plain 500 problem instead of killing the process, and a graceful shutdown.
//
// Shutdown follows the order that loses no request: on SIGTERM the service first reports not ready (so the
// load balancer stops sending new requests), waits a little for it to notice, then stops accepting connections
// and lets in-flight requests finish within the drain budget (SHUTDOWN_TIMEOUT, below the ECS stop timeout).
package httpserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"
)

// Options configure a Server. Zero values take the defaults in brackets (the Default constants).
type Options struct {
	// Addr is the listen address [":8080"].
	Addr string
	// ReadHeaderTimeout [5 s], ReadTimeout [15 s], WriteTimeout [30 s] and IdleTimeout [120 s] bound each phase
	// of a connection.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration
	// MaxHeaderBytes bounds the request headers [64 KiB].
	MaxHeaderBytes int
	// MaxBodyBytes bounds request bodies; larger ones are answered 413 [1 MiB].
	MaxBodyBytes int64
	// ShutdownTimeout is the whole drain budget, including ShutdownDelay [20 s].
	ShutdownTimeout time.Duration
	// ShutdownDelay is how long the server keeps serving after reporting not ready, so that the load balancer
	// sees the failing readiness and stops routing new requests [0].
	ShutdownDelay time.Duration
	// OnShutdown is called first when shutdown begins: typically health.Checker.Shutdown.
	OnShutdown func()
}

// The defaults of Options, which WithDefaults gives the fields left zero.
const (
	DefaultAddr              = ":8080"
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultMaxHeaderBytes    = 64 << 10
	DefaultMaxBodyBytes      = 1 << 20
	DefaultShutdownTimeout   = 20 * time.Second
)

// WithDefaults returns o with every zero field set to its default (ShutdownDelay's default is 0). It changes
// nothing else: a value out of range is left for Validate to report, never clamped.
func (o Options) WithDefaults() Options {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Addr == "" {
		o.Addr = DefaultAddr
	}
	def(&o.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&o.ReadTimeout, DefaultReadTimeout)
	def(&o.WriteTimeout, DefaultWriteTimeout)
	def(&o.IdleTimeout, DefaultIdleTimeout)
	def(&o.ShutdownTimeout, DefaultShutdownTimeout)
	if o.MaxHeaderBytes == 0 {
		o.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	return o
}

// Validate reports every problem of o at once, cross-field rules included. Call it on WithDefaults' result.
func (o Options) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"ReadHeaderTimeout", o.ReadHeaderTimeout}, {"ReadTimeout", o.ReadTimeout}, {"WriteTimeout", o.WriteTimeout},
		{"IdleTimeout", o.IdleTimeout}, {"ShutdownTimeout", o.ShutdownTimeout}} {
		if d.v <= 0 {
			// A zero timeout in net/http means none: a slow client could hold a connection for ever.
			bad("%s %s must be positive", d.name, d.v)
		}
	}
	if o.ReadHeaderTimeout > o.ReadTimeout {
		bad("ReadHeaderTimeout %s must not exceed ReadTimeout %s", o.ReadHeaderTimeout, o.ReadTimeout)
	}
	if o.ShutdownDelay < 0 || o.ShutdownDelay >= o.ShutdownTimeout {
		// The delay is part of the budget: past it nothing would be left to drain requests in.
		bad("ShutdownDelay %s must be at least 0 and below ShutdownTimeout %s", o.ShutdownDelay, o.ShutdownTimeout)
	}
	if o.MaxHeaderBytes <= 0 {
		bad("MaxHeaderBytes %d must be positive", o.MaxHeaderBytes)
	}
	if o.MaxBodyBytes <= 0 {
		bad("MaxBodyBytes %d must be positive", o.MaxBodyBytes)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("http server options: %w", err)
	}
	return nil
}

// Server is an HTTP server with a graceful Run.
type Server struct {
	opts Options
	log  *slog.Logger
	srv  *http.Server

	mu    sync.Mutex
	ln    net.Listener
	fresh map[net.Conn]time.Time // connections accepted that have not begun a request yet, by accept time
}

// New returns a Server for handler, wrapped in panic recovery and the body size limit, or the problems of opts.
func New(handler http.Handler, log *slog.Logger, opts Options) (*Server, error) {
	opts = opts.WithDefaults()
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	h := Recover(log, LimitBody(opts.MaxBodyBytes, handler))
	s := &Server{
		opts:  opts,
		log:   log,
		fresh: map[net.Conn]time.Time{},
		srv: &http.Server{
			Addr:              opts.Addr,
			Handler:           h,
			ReadHeaderTimeout: opts.ReadHeaderTimeout,
			ReadTimeout:       opts.ReadTimeout,
			WriteTimeout:      opts.WriteTimeout,
			IdleTimeout:       opts.IdleTimeout,
			MaxHeaderBytes:    opts.MaxHeaderBytes,
			ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		},
	}
	s.srv.ConnState = s.track
	return s, nil
}

// track remembers the connections that have not begun a request. http.Server.Shutdown waits up to 5 s for
// such a connection (a client that opened one and sent nothing, as pooling clients do when another
// connection freed up first), longer than the drain budget may allow; closeFresh closes them instead.
func (s *Server) track(c net.Conn, state http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if state == http.StateNew {
		s.fresh[c] = time.Now()
		return
	}
	delete(s.fresh, c)
}

// freshConnGrace is how long a connection may stay without a request during a drain before it is closed: a
// request under way on it has had time to arrive, as the load balancer stopped routing new ones.
const freshConnGrace = time.Second

// closeFresh closes, until done is closed, the connections that have gone freshConnGrace without beginning a
// request.
func (s *Server) closeFresh(done <-chan struct{}) {
	t := time.NewTicker(freshConnGrace / 10)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
		}
		s.mu.Lock()
		for c, at := range s.fresh {
			if time.Since(at) >= freshConnGrace {
				_ = c.Close()
				delete(s.fresh, c)
			}
		}
		s.mu.Unlock()
	}
}

// Listen opens the listening socket, so that the address is known (Addr) before Run. Run calls it when it has
// not been called.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln != nil {
		return nil
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(context.Background(), "tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
	}
	s.ln = ln
	return nil
}

// Addr returns the address the server listens on, once Listen has succeeded, or "".
func (s *Server) Addr() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ln == nil {
		return ""
	}
	return s.ln.Addr().String()
}

// Run serves until ctx ends, then shuts down gracefully: OnShutdown, ShutdownDelay, then stop accepting and
// drain in-flight requests within what is left of ShutdownTimeout. It returns nil after a complete drain and
// an error when serving failed or the drain ran out of time (the remaining connections are then closed).
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.log.Info("http server listening", "addr", s.Addr())
	errc := make(chan error, 1)
	go func() { errc <- s.srv.Serve(s.ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}

	deadline := time.Now().Add(s.opts.ShutdownTimeout)
	s.log.Info("http server shutting down", "delay", s.opts.ShutdownDelay, "budget", s.opts.ShutdownTimeout)
	if s.opts.OnShutdown != nil {
		s.opts.OnShutdown()
	}
	if d := min(s.opts.ShutdownDelay, s.opts.ShutdownTimeout/2); d > 0 {
		time.Sleep(d)
	}
	shutdownCtx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	drained := make(chan struct{})
	go s.closeFresh(drained)
	err := s.srv.Shutdown(shutdownCtx)
	close(drained)
	if serveErr := <-errc; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	if err != nil {
		_ = s.srv.Close()
		return fmt.Errorf("http server drain: %w", err)
	}
	s.log.Info("http server stopped")
	return nil
}
