// Package metrics records service metrics as CloudWatch Embedded Metric Format (EMF) log lines: JSON objects
// written to stdout, which the awslogs driver ships to CloudWatch Logs, where CloudWatch extracts them as
// metrics. There is no agent or sidecar to run and no PutMetricData call in the request path; see
// docs/adr for the decision.
//
// Values are aggregated in memory and flushed periodically (Run): counters as one sum per flush, and
// distributions (latencies) as up to 100 values per flush, the EMF maximum, taken as a uniform random sample
// when there are more, from which CloudWatch computes percentiles. Counts and sums are exact.
package metrics

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"
)

// Unit is a CloudWatch unit.
type Unit string

// Units used by the services.
const (
	Count        Unit = "Count"
	Milliseconds Unit = "Milliseconds"
	Seconds      Unit = "Seconds"
)

// maxValues is the most values EMF accepts for one metric in one line.
const maxValues = 100

// Recorder aggregates metrics and writes them as EMF lines. It is safe for concurrent use.
type Recorder struct {
	w         io.Writer
	namespace string
	base      []dim
	now       func() time.Time

	mu     sync.Mutex
	series map[string]*series
}

type dim struct{ name, value string }

// series is one metric with one set of dimension values, aggregated since the last flush.
type series struct {
	name string
	unit Unit
	dims []dim
	dist bool
	sum  float64
	n    int
	vals []float64
}

// New returns a Recorder writing to w (stdout on ECS) under the CloudWatch namespace. Every metric carries
// the base dimensions, given as name, value pairs (such as "Service", "api").
func New(w io.Writer, namespace string, base ...string) *Recorder {
	return &Recorder{w: w, namespace: namespace, base: pairs(base), now: time.Now, series: map[string]*series{}}
}

func pairs(kv []string) []dim {
	out := make([]dim, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, dim{kv[i], kv[i+1]})
	}
	return out
}

func (r *Recorder) get(name string, unit Unit, dist bool, dims []string) *series {
	var b strings.Builder
	b.WriteString(name)
	for _, d := range dims {
		b.WriteByte(0)
		b.WriteString(d)
	}
	key := b.String()
	s, ok := r.series[key]
	if !ok {
		s = &series{name: name, unit: unit, dist: dist, dims: pairs(dims)}
		r.series[key] = s
	}
	return s
}

// Add adds v to a counter; dims are extra dimension name, value pairs.
func (r *Recorder) Add(name string, unit Unit, v float64, dims ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(name, unit, false, dims)
	s.sum += v
	s.n++
}

// Observe records one value of a distribution (such as a latency); dims are extra dimension name, value pairs.
func (r *Recorder) Observe(name string, unit Unit, v float64, dims ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.get(name, unit, true, dims)
	s.sum += v
	s.n++
	if len(s.vals) < maxValues {
		s.vals = append(s.vals, v)
		return
	}
	// Reservoir sampling: every value offered has the same chance to be kept.
	if i := rand.IntN(s.n); i < maxValues {
		s.vals[i] = v
	}
}

// Flush writes one EMF line per metric and dimension set recorded since the last flush, and resets them.
func (r *Recorder) Flush() error {
	r.mu.Lock()
	all := r.series
	r.series = map[string]*series{}
	r.mu.Unlock()
	keys := slices.Sorted(maps.Keys(all))
	ts := r.now().UnixMilli()
	var buf []byte
	for _, k := range keys {
		line, err := r.line(all[k], ts)
		if err != nil {
			return err
		}
		buf = append(append(buf, line...), '\n')
	}
	if len(buf) == 0 {
		return nil
	}
	if _, err := r.w.Write(buf); err != nil {
		return fmt.Errorf("write metrics: %w", err)
	}
	return nil
}

// line renders a series as an EMF document: the _aws metadata, the dimension values and the metric value.
func (r *Recorder) line(s *series, ts int64) ([]byte, error) {
	doc := map[string]any{}
	var names []string
	for _, d := range append(slices.Clone(r.base), s.dims...) {
		doc[d.name] = d.value
		names = append(names, d.name)
	}
	dimSets := [][]string{names}
	if len(s.dims) > 0 && len(r.base) > 0 {
		// Also per service alone, so a dashboard can show the total without summing every route.
		base := make([]string, len(r.base))
		for i, d := range r.base {
			base[i] = d.name
		}
		dimSets = append(dimSets, base)
	}
	doc["_aws"] = map[string]any{
		"Timestamp": ts,
		"CloudWatchMetrics": []map[string]any{{
			"Namespace":  r.namespace,
			"Dimensions": dimSets,
			"Metrics":    []map[string]string{{"Name": s.name, "Unit": string(s.unit)}},
		}},
	}
	if s.dist {
		doc[s.name] = s.vals
	} else {
		doc[s.name] = s.sum
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, fmt.Errorf("encode metric %s: %w", s.name, err)
	}
	return b, nil
}

// Run flushes every interval until ctx ends, then flushes once more and returns nil.
func (r *Recorder) Run(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = r.Flush()
			return nil
		case <-t.C:
			_ = r.Flush()
		}
	}
}
