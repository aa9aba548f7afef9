// Package logging builds the services' slog loggers: JSON on ECS (one object per line, which CloudWatch Logs
// indexes and Logs Insights queries) and text locally, where people read it. It also carries a request id
// from the X-Request-Id header into every log line written with the request's context, so one request's lines
// can be found together across the API and the load balancer's logs, and the trace_id and span_id of the
// context's span, so they can be found together across the services (package tracing).
package logging

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"

	"go.opentelemetry.io/otel/trace"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

// Config chooses the log format and level.
type Config struct {
	// Format is "json" or "text".
	Format string
	// Level is the least severe level written.
	Level slog.Level
}

// ReadConfig reads LOG_FORMAT (json or text, default json) and LOG_LEVEL (debug, info, warn or error, default
// info).
func ReadConfig(r *config.Reader) Config {
	format := r.OneOf("LOG_FORMAT", "json", "json", "text")
	name := r.OneOf("LOG_LEVEL", "info", "debug", "info", "warn", "error")
	var level slog.Level
	if err := level.UnmarshalText([]byte(name)); err != nil {
		r.Fail("LOG_LEVEL", err.Error())
	}
	return Config{Format: format, Level: level}
}

// New returns a logger writing to w in cfg's format and level. Records logged with a context that carries a
// request id (see Middleware) get a request_id attribute.
func New(w io.Writer, cfg Config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.Level}
	var h slog.Handler
	if cfg.Format == "text" {
		h = slog.NewTextHandler(w, opts)
	} else {
		h = slog.NewJSONHandler(w, opts)
	}
	return slog.New(contextHandler{h})
}

// contextHandler adds the request id in a record's context to the record, and the trace and span ids of the
// context's span (OpenTelemetry, package tracing), so a log line leads to its trace and back.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

type requestIDKey struct{}

// WithRequestID returns a context carrying the request id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the request id in ctx, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// RequestIDHeader is the header that carries the request id in both directions.
const RequestIDHeader = "X-Request-Id"

// Middleware takes the request id from the X-Request-Id header when it is a sane one (a client or a proxy
// chose it), or makes a new one, puts it in the request's context and echoes it in the response header.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(RequestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(RequestIDHeader, id)
		next.ServeHTTP(w, r.WithContext(WithRequestID(r.Context(), id)))
	})
}

// validRequestID accepts up to 128 printable ASCII characters without spaces, so a client cannot inject log
// lines or bloat every record.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}

func newRequestID() string {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		// crypto/rand does not fail on Linux; a fixed marker keeps the request going if it ever does.
		return fmt.Sprintf("no-id-%v", err)
	}
	return hex.EncodeToString(b)
}
