package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// restartPolicy is how devenv replaces a service process that exits on its own, as ECS starts a replacement
// task for a service whose task stopped: after a back-off that doubles with each crash in a row, and not for
// ever.
type restartPolicy struct {
	// firstDelay is the back-off before the first restart; each further crash in a row doubles it up to
	// maxDelay.
	firstDelay, maxDelay time.Duration
	// maxCrashes is how many crashes in a row devenv restarts; the next one gives up and stops the system.
	maxCrashes int
	// stableAfter is how long a process must have run for its exit not to count as a crash in a row.
	stableAfter time.Duration
}

var defaultRestartPolicy = restartPolicy{firstDelay: 500 * time.Millisecond, maxDelay: 5 * time.Second,
	maxCrashes: 5, stableAfter: 10 * time.Second}

// delay is the back-off before restart number n (1-based) of a run of crashes in a row.
func (p restartPolicy) delay(n int) time.Duration {
	d := p.firstDelay
	for i := 1; i < n && d < p.maxDelay; i++ {
		d *= 2
	}
	return min(d, p.maxDelay)
}

// service is a supervised service process: started with a fixed configuration and started again with the same
// configuration when it exits without having been asked to stop.
type service struct {
	name   string
	out    *syncWriter
	start  func() (*process, error)
	policy restartPolicy

	mu       sync.Mutex
	cur      *process
	stopping bool
	restarts int

	stopc  chan struct{}
	done   chan struct{} // closed when the supervising goroutine returns
	failed chan error    // receives the reason when devenv gives up on the service
}

// supervise starts a process with start and keeps one running until stop.
func supervise(name string, out *syncWriter, policy restartPolicy, start func() (*process, error)) (*service, error) {
	p, err := start()
	if err != nil {
		return nil, err
	}
	s := &service{name: name, out: out, start: start, policy: policy, cur: p,
		stopc: make(chan struct{}), done: make(chan struct{}), failed: make(chan error, 1)}
	out.Printf("%s started (pid %d)", name, p.cmd.Process.Pid)
	go s.loop()
	return s, nil
}

func (s *service) current() *process {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cur
}

// Restarts is how many times the service was started again after an unexpected exit.
func (s *service) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

func (s *service) loop() {
	defer close(s.done)
	inARow := 0
	for {
		p := s.current()
		select {
		case <-p.done:
		case <-s.stopc:
			return
		}
		s.mu.Lock()
		stopping := s.stopping
		s.mu.Unlock()
		if stopping {
			return
		}
		why := p.exitErr()
		if why == nil {
			why = errors.New("exit status 0")
		}
		if time.Since(p.started) >= s.policy.stableAfter {
			inARow = 0
		}
		inARow++
		if inARow > s.policy.maxCrashes {
			err := fmt.Errorf("%s crashed %d times in a row, each within %s of starting (last: %w); giving up",
				s.name, inARow, s.policy.stableAfter, why)
			s.out.Printf("%v", err)
			s.failed <- err
			return
		}
		delay := s.policy.delay(inARow)
		s.out.Printf("%s exited unexpectedly (%v); starting a replacement in %s (crash %d in a row, at most %d)",
			s.name, why, delay, inARow, s.policy.maxCrashes)
		select {
		case <-time.After(delay):
		case <-s.stopc:
			return
		}
		np, err := s.start()
		if err != nil {
			err = fmt.Errorf("%s could not be started again: %w; giving up", s.name, err)
			s.out.Printf("%v", err)
			s.failed <- err
			return
		}
		s.mu.Lock()
		s.cur = np
		s.restarts++
		n := s.restarts
		s.mu.Unlock()
		s.out.Printf("%s restarted (pid %d, restart %d)", s.name, np.cmd.Process.Pid, n)
	}
}

// stop stops supervising, then stops the current process with SIGTERM and budget as ECS stops a task.
func (s *service) stop(budget time.Duration) error {
	s.mu.Lock()
	if s.stopping {
		s.mu.Unlock()
		return nil
	}
	s.stopping = true
	close(s.stopc)
	s.mu.Unlock()
	<-s.done // no replacement can start after this
	return s.current().stop(budget)
}

// waitFailed returns devenv's reason to give up on the service, or nil when ctx ends first.
func (s *service) waitFailed(ctx context.Context) error {
	select {
	case err := <-s.failed:
		return err
	case <-ctx.Done():
		return nil
	}
}
