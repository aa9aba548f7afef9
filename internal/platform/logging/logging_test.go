package logging_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging"
)

func TestReadConfig(t *testing.T) {
	tests := []struct {
		env     map[string]string
		want    logging.Config
		wantErr string
	}{
		{map[string]string{}, logging.Config{Format: "json", Level: slog.LevelInfo}, ""},
		{map[string]string{"LOG_FORMAT": "text", "LOG_LEVEL": "debug"}, logging.Config{Format: "text", Level: slog.LevelDebug}, ""},
		{map[string]string{"LOG_FORMAT": "xml"}, logging.Config{}, "LOG_FORMAT"},
		{map[string]string{"LOG_LEVEL": "loud"}, logging.Config{}, "LOG_LEVEL"},
	}
	for _, tt := range tests {
		r := config.NewReader(func(k string) string { return tt.env[k] })
		got := logging.ReadConfig(r)
		err := r.Err()
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ReadConfig(%v) error = %v; want one naming %s", tt.env, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ReadConfig(%v) = %+v, %v; want %+v", tt.env, got, err, tt.want)
		}
	}
}

func TestMiddlewareRequestID(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, logging.Config{Format: "json", Level: slog.LevelInfo})
	h := logging.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handled")
	}))
	tests := []struct {
		name, header string
		keep         bool
	}{
		{"client id kept", "abc-123", true},
		{"none: one is made", "", false},
		{"injection replaced", "bad id\n{\"level\":\"ERROR\"}", false},
		{"too long replaced", strings.Repeat("a", 129), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			buf.Reset()
			req := httptest.NewRequest(http.MethodGet, "/", nil)
			if tt.header != "" {
				req.Header.Set(logging.RequestIDHeader, tt.header)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			got := rec.Header().Get(logging.RequestIDHeader)
			if tt.keep && got != tt.header {
				t.Errorf("response %s = %q; want %q", logging.RequestIDHeader, got, tt.header)
			}
			if !tt.keep && (got == "" || got == tt.header) {
				t.Errorf("response %s = %q; want a new id", logging.RequestIDHeader, got)
			}
			var line struct {
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("log line %q: %v", buf.String(), err)
			}
			if line.RequestID != got {
				t.Errorf("logged request_id = %q; want %q", line.RequestID, got)
			}
		})
	}
}

func TestNewTextAndLevel(t *testing.T) {
	var buf bytes.Buffer
	log := logging.New(&buf, logging.Config{Format: "text", Level: slog.LevelWarn}).With("service", "api")
	log.Info("hidden")
	log.Warn("shown", "n", 1)
	got := buf.String()
	if strings.Contains(got, "hidden") || !strings.Contains(got, "level=WARN msg=shown service=api n=1") {
		t.Errorf("text log = %q; want only the warning, in text", got)
	}
}
