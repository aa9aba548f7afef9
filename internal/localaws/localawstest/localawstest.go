// Package localawstest starts an embedded SQS and SNS endpoint for a test.
package localawstest

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/localaws"
)

// New starts a localaws.Server on a free loopback port for the duration of
// the test and returns its endpoint URL (for the SDK's BaseEndpoint) and the
// server (for Apply, InjectFault and the like). Everything is stopped in
// t.Cleanup.
func New(t testing.TB, opts ...localaws.Option) (string, *localaws.Server) {
	t.Helper()
	var lc net.ListenConfig
	ln, err := lc.Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("localawstest: listen: %v", err)
	}
	srv := localaws.New(opts...)
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = hs.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		_ = hs.Close()
		<-done
	})
	return "http://" + ln.Addr().String(), srv
}
