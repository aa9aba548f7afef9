package loadtest_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/testing/loadtest"
)

func TestClosedCountsEveryRequestAndStops(t *testing.T) {
	tests := []struct {
		name       string
		max        int
		stopAfter  int64 // stop reports true after this many calls (one per request taken); 0: never
		failEvery  int
		wantSent   int
		wantFailed int
	}{
		{"bounded by max", 100, 0, 0, 100, 0},
		{"failures counted", 30, 0, 3, 30, 10},
		{"stopped", 1000, 40, 0, 40, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int64
			stop := func() bool { return tt.stopAfter > 0 && calls.Add(1) > tt.stopAfter }
			res := loadtest.Closed(context.Background(), http.DefaultClient, 4, tt.max, stop,
				func(_ context.Context, _ *http.Client, i int) error {
					if tt.failEvery > 0 && i%tt.failEvery == 0 {
						return errors.New("unexpected answer")
					}
					return nil
				})
			if res.Sent != tt.wantSent || res.Failed != tt.wantFailed {
				t.Errorf("Closed() = %d sent, %d failed; want %d, %d", res.Sent, res.Failed, tt.wantSent, tt.wantFailed)
			}
			if tt.wantFailed > 0 && len(res.Errors) == 0 {
				t.Errorf("Closed() kept no error; want the first ones")
			}
			if res.Percentile(0.5) > res.Percentile(0.99) {
				t.Errorf("p50 %v > p99 %v", res.Percentile(0.5), res.Percentile(0.99))
			}
		})
	}
}
