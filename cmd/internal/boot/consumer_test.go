package boot_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

// A Consumer that cannot work is refused before it listens or receives: one without a handler or with two, and
// one with an outbox or an inbox but no database.
func TestConsumerRefusesWhatCannotWork(t *testing.T) {
	handle := func(context.Context, *boot.Base, []byte) error { return nil }
	setup := func(*boot.Base) (func(context.Context, []byte) error, <-chan struct{}, error) {
		return func(context.Context, []byte) error { return nil }, nil, nil
	}
	for _, tc := range []struct {
		name string
		edit func(*boot.Consumer)
		want string
	}{
		{"no handler", func(c *boot.Consumer) { c.Handle = nil }, "exactly one of Handle and Setup"},
		{"two handlers", func(c *boot.Consumer) { c.Setup = setup }, "exactly one of Handle and Setup"},
		{"outbox without database", func(c *boot.Consumer) {
			c.Outbox = boot.Relay{Table: pgx.Identifier{"shipping", "outbox"}, Topics: map[string]string{"t": "arn:aws:sns:eu-west-1:1:t"}}
		}, "an outbox needs the service's database"},
		{"inbox without database", func(c *boot.Consumer) { c.InboxTable = pgx.Identifier{"shipping", "inbox"} }, "an inbox needs the service's database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"AWS_REGION": "eu-west-1", "HTTP_ADDR": "127.0.0.1:0", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
			r := config.NewReader(func(k string) string { return env[k] })
			c := boot.Consumer{Name: "shipping", Settings: boot.ReadSettingsWithoutDatabase(r, ":8090", 5*time.Second), Env: r,
				QueueURL: "http://127.0.0.1:1/000000000000/shipping", Visibility: 30 * time.Second, Handle: handle}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			tc.edit(&c)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := c.Run(ctx, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run() = %v; want an error saying %q", err, tc.want)
			}
		})
	}
}

// A Web service that cannot work is refused: one without a Setup, one whose queue has no handler, and one with
// an outbox but no database.
func TestWebRefusesWhatCannotWork(t *testing.T) {
	routes := func(_ *boot.Base, mux *http.ServeMux) (boot.WebService, error) {
		mux.HandleFunc("/api/shipments", func(http.ResponseWriter, *http.Request) {})
		return boot.WebService{}, nil
	}
	for _, tc := range []struct {
		name string
		edit func(*boot.Web)
		want string
	}{
		{"no setup", func(w *boot.Web) { w.Setup = nil }, "needs a Setup"},
		{"queue without handler", func(w *boot.Web) { w.QueueURL = "http://127.0.0.1:1/000000000000/shipping" }, "needs a WebService.Handle"},
		{"outbox without database", func(w *boot.Web) {
			w.Outbox = boot.Relay{Table: pgx.Identifier{"shipping", "outbox"}, Topics: map[string]string{"t": "arn:aws:sns:eu-west-1:1:t"}}
		}, "an outbox needs the service's database"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"AWS_REGION": "eu-west-1", "HTTP_ADDR": "127.0.0.1:0", "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x"}
			r := config.NewReader(func(k string) string { return env[k] })
			w := boot.Web{Name: "shipping", Settings: boot.ReadSettingsWithoutDatabase(r, ":8090", 5*time.Second), Env: r, Setup: routes}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			tc.edit(&w)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			err := w.Run(ctx, &bytes.Buffer{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Run() = %v; want an error saying %q", err, tc.want)
			}
		})
	}
}
