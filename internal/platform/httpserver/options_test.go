package httpserver_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
)

// TestOptionsValidate: the defaults are valid; each rule, cross-field ones included, reports its field.
func TestOptionsValidate(t *testing.T) {
	if err := (httpserver.Options{}).WithDefaults().Validate(); err != nil {
		t.Fatalf("defaults: %v", err)
	}
	if d := (httpserver.Options{}).WithDefaults(); d.ReadHeaderTimeout != httpserver.DefaultReadHeaderTimeout || d.Addr != httpserver.DefaultAddr {
		t.Errorf("WithDefaults() = %+v; want the exported defaults", d)
	}
	tests := []struct {
		name string
		opts httpserver.Options
		want string
	}{
		{"negative timeout", httpserver.Options{IdleTimeout: -time.Second}, "IdleTimeout -1s must be positive"},
		{"header timeout above read timeout", httpserver.Options{ReadHeaderTimeout: 20 * time.Second, ReadTimeout: 10 * time.Second}, "ReadHeaderTimeout 20s must not exceed ReadTimeout 10s"},
		{"delay eats the budget", httpserver.Options{ShutdownTimeout: 5 * time.Second, ShutdownDelay: 5 * time.Second}, "ShutdownDelay 5s must be at least 0 and below ShutdownTimeout 5s"},
		{"negative body limit", httpserver.Options{MaxBodyBytes: -1}, "MaxBodyBytes -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.opts.WithDefaults().Validate()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v; want an error containing %q", err, tt.want)
			}
			if _, err := httpserver.New(nil, nil, tt.opts); err == nil {
				t.Error("New accepted options that Validate rejects")
			}
		})
	}
}
