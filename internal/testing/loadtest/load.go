package loadtest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Op sends request number i and returns nil when the answer was the expected one, or an error saying what
// came instead (a connection error, an unexpected status).
type Op func(ctx context.Context, client *http.Client, i int) error

// NewClient returns an HTTP client that keeps up to conns connections per host alive and gives up on a
// request after 30 s.
func NewClient(conns int) *http.Client {
	return &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConns: conns, MaxIdleConnsPerHost: conns, IdleConnTimeout: time.Minute},
	}
}

// Result is the outcome of a run: every request sent, with the latency of each answered one.
type Result struct {
	// Sent counts the requests sent, Failed those whose Op returned an error.
	Sent, Failed int
	// Errors holds the first few errors.
	Errors []error
	// Elapsed is the run's duration, from the first request sent to the last answer.
	Elapsed time.Duration

	latencies []time.Duration // of the successful requests, sorted once the run ends
}

const keptErrors = 10

func (r *Result) add(d time.Duration, err error) {
	r.Sent++
	if err != nil {
		r.Failed++
		if len(r.Errors) < keptErrors {
			r.Errors = append(r.Errors, err)
		}
		return
	}
	r.latencies = append(r.latencies, d)
}

func (r *Result) merge(o *Result) {
	r.Sent += o.Sent
	r.Failed += o.Failed
	r.Errors = append(r.Errors, o.Errors[:min(len(o.Errors), keptErrors-min(len(r.Errors), keptErrors))]...)
	r.latencies = append(r.latencies, o.latencies...)
}

// Throughput is the successful requests per second.
func (r *Result) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.latencies)) / r.Elapsed.Seconds()
}

// Percentile returns the latency below which the fraction q (0.99 for p99) of the successful requests
// answered, exactly (every latency is kept), or 0 without any.
func (r *Result) Percentile(q float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(q*float64(len(r.latencies))+0.5) - 1
	return r.latencies[min(max(i, 0), len(r.latencies)-1)]
}

// String summarises the run.
func (r *Result) String() string {
	s := fmt.Sprintf("%d sent, %d failed, %.0f/s, p50 %v, p99 %v", r.Sent, r.Failed, r.Throughput(),
		r.Percentile(0.50).Round(10*time.Microsecond), r.Percentile(0.99).Round(10*time.Microsecond))
	if len(r.Errors) > 0 {
		s += fmt.Sprintf("; first errors: %v", r.Errors)
	}
	return s
}

// Closed runs a closed loop: workers loops, each sending its next request as soon as the previous one was
// answered, until ctx ends, max requests were sent or stop (checked before each new request, never during
// one) reports true. Requests already sent are always waited for: they get context.WithoutCancel(ctx).
func Closed(ctx context.Context, client *http.Client, workers, max int, stop func() bool, op Op) Result {
	var (
		mu   sync.Mutex
		next int
		all  Result
		wg   sync.WaitGroup
	)
	reqCtx := context.WithoutCancel(ctx)
	take := func() (int, bool) {
		mu.Lock()
		defer mu.Unlock()
		if ctx.Err() != nil || next >= max || (stop != nil && stop()) {
			return 0, false
		}
		next++
		return next - 1, true
	}
	start := time.Now()
	for range workers {
		wg.Go(func() {
			var r Result
			for {
				i, ok := take()
				if !ok {
					break
				}
				t0 := time.Now()
				err := op(reqCtx, client, i)
				r.add(time.Since(t0), err)
			}
			mu.Lock()
			all.merge(&r)
			mu.Unlock()
		})
	}
	wg.Wait()
	all.Elapsed = time.Since(start)
	slices.Sort(all.latencies)
	return all
}

// Open runs an open loop: it starts a request every 1/rate seconds for d, whether or not earlier ones were
// answered, as independent clients do, and waits for every answer. A latency is counted from the moment its
// request was due, so a stalled server is not hidden by requests that could not be sent on time.
func Open(ctx context.Context, client *http.Client, rate float64, d time.Duration, op Op) Result {
	var (
		mu  sync.Mutex
		all Result
		wg  sync.WaitGroup
	)
	reqCtx := context.WithoutCancel(ctx)
	interval := time.Duration(float64(time.Second) / rate)
	n := int(d / interval)
	start := time.Now()
	for i := range n {
		due := start.Add(time.Duration(i) * interval)
		if wait := time.Until(due); wait > 0 {
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			err := op(reqCtx, client, i)
			lat := time.Since(due)
			mu.Lock()
			all.add(lat, err)
			mu.Unlock()
		})
	}
	wg.Wait()
	all.Elapsed = time.Since(start)
	slices.Sort(all.latencies)
	return all
}

// Do sends a request and checks that the answer has the wanted status; it returns the body.
func Do(ctx context.Context, client *http.Client, method, url, body string, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	if err != nil {
		return nil, err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: read answer: %w", method, url, err)
	}
	if res.StatusCode != want {
		return b, fmt.Errorf("%s %s = %d %s; want %d", method, url, res.StatusCode, b, want)
	}
	return b, nil
}

// Balancer models how the load balancer (ALB) treats a target that is stopping: its health check polls
// /readyz, and once the target reports not ready (or stops answering), no new request is routed to it, while
// requests already sent run to completion.
type Balancer struct {
	draining atomic.Bool
	done     chan struct{}
}

// WatchReadiness polls base+"/readyz" every interval until the target reports not ready or ctx ends.
func WatchReadiness(ctx context.Context, base string, interval time.Duration) *Balancer {
	b := &Balancer{done: make(chan struct{})}
	client := NewClient(1)
	go func() {
		defer close(b.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			if _, err := Do(ctx, client, http.MethodGet, base+"/readyz", "", http.StatusOK); err != nil {
				if ctx.Err() == nil {
					b.draining.Store(true)
				}
				return
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return b
}

// Draining reports whether the target was taken out of rotation.
func (b *Balancer) Draining() bool { return b.draining.Load() }
