package boot

import (
	"testing"
	"time"
)

// TestSplitShutdownFitsTheTotal: for every SHUTDOWN_TIMEOUT a service accepts, each part that drains before
// the relay, plus the relay, fits the total; the delay leaves the HTTP server time to drain; nothing is zero.
func TestSplitShutdownFitsTheTotal(t *testing.T) {
	for total := time.Second; total <= 110*time.Second; total += 500 * time.Millisecond {
		b := SplitShutdown(total)
		if b.HTTP+b.Relay > total || b.Consumer+b.Relay > total {
			t.Errorf("SplitShutdown(%s) = %+v: HTTP or Consumer plus Relay exceeds the total", total, b)
		}
		if b.Delay >= b.HTTP {
			t.Errorf("SplitShutdown(%s) = %+v: Delay leaves the HTTP server no time to drain", total, b)
		}
		if b.Delay <= 0 || b.HTTP <= 0 || b.Consumer <= 0 || b.Relay <= 0 {
			t.Errorf("SplitShutdown(%s) = %+v: every part needs time", total, b)
		}
	}
}
