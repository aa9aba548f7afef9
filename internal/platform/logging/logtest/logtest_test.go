package logtest_test

import (
	"strings"
	"sync"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
)

func TestConcurrentWrites(t *testing.T) {
	log, buf := logtest.New()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				log.Debug("line")
				_ = buf.String()
			}
		})
	}
	wg.Wait()
	if got := strings.Count(buf.String(), "msg=line"); got != 400 {
		t.Errorf("lines logged = %d; want 400", got)
	}
}
