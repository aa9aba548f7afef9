package main

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/tracestore"
)

// TestOrderTrace places an order through the real binaries and finds, in the trace collector `make up` runs,
// one trace that follows it through every hop, each a child of the one before across the queues: the API
// request, its transaction and outbox publish, the worker's handling, transaction and publish, and the API's
// handling of the outcome and its status update.
func TestOrderTrace(t *testing.T) {
	sys := devenvtest.Start(t, devenvtest.Build(t))
	id := placeOrder(t, sys.URL, "SKU-1", "trace-1")
	waitStatus(t, sys.URL, id, "fulfilled")

	// Each hop: service and span name, and the hop it must be the child of (by index; -1 for the root).
	hops := []struct {
		service, name string
		parent        int
	}{
		{"api", "POST /api/orders", -1},
		{"api", "db orders.create", 0},
		{"api", "publish order-events", 1}, // the outbox row is written in the transaction's span
		{"worker", "process fulfillment", 2},
		{"worker", "db fulfillment.fulfill", 3},
		{"worker", "publish order-events", 4},
		{"api", "process order-updates", 5},
		{"api", "db orders.apply_outcome", 6},
	}
	var tr tracestore.Trace
	var found []tracestore.Span
	var missing string
	deadline := time.Now().Add(30 * time.Second)
	for !func() bool {
		var got struct {
			Traces []tracestore.Trace `json:"traces"`
		}
		getJSON(t, sys.URL+"/dev/traces?order_id="+id, &got)
		if len(got.Traces) != 1 {
			missing = fmt.Sprintf("%d traces", len(got.Traces))
			return false
		}
		tr = got.Traces[0]
		found = found[:0]
		for _, h := range hops {
			// A name can stand twice (the API handles both the order's outcome and its notification from
			// order-updates): the hop is the span of that name whose parent is the hop before it.
			parent := ""
			if h.parent >= 0 {
				parent = found[h.parent].SpanID
			}
			i := indexOf(tr.Spans, h.service, h.name, parent, found)
			if i < 0 {
				missing = h.service + " " + h.name
				return false
			}
			found = append(found, tr.Spans[i])
		}
		return true
	}() {
		if time.Now().After(deadline) {
			t.Fatalf("no trace of order %s holds every hop: %s missing; spans:%s", id, missing, describeTrace(tr))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i, h := range hops {
		s := found[i]
		if h.parent < 0 {
			if s.ParentSpanID != "" {
				t.Errorf("%s %q has parent %s; want it to be the root", h.service, h.name, s.ParentSpanID)
			}
			continue
		}
		if p := found[h.parent]; s.ParentSpanID != p.SpanID {
			t.Errorf("%s %q is a child of %s; want of %s %q (%s)", h.service, h.name, s.ParentSpanID, p.Service, p.Name, p.SpanID)
		}
		if s.DurationMS < 0 || s.Start.Before(found[0].Start) {
			t.Errorf("%s %q starts %s, before the request %s", h.service, h.name, s.Start, found[0].Start)
		}
	}
	t.Logf("trace %s:%s", tr.TraceID, describeTrace(tr))
}

// describeTrace lists a trace's spans, one a line, with their offsets from the first.
func describeTrace(tr tracestore.Trace) string {
	var b strings.Builder
	for _, s := range tr.Spans {
		fmt.Fprintf(&b, "\n  %-7s %-28s %8.2f ms  +%-12s %s <- %s", s.Service, s.Name, s.DurationMS,
			s.Start.Sub(tr.Spans[0].Start), s.SpanID, s.ParentSpanID)
	}
	return b.String()
}

// indexOf finds the span of service named name whose parent is parent (any parent when parent is ""), or else
// the first such span of any parent, for the caller's parent check to report. Spans in taken are skipped: the API
// and the worker both publish to order-events.
func indexOf(spans []tracestore.Span, service, name, parent string, taken []tracestore.Span) int {
	first := -1
	for i, s := range spans {
		if s.Service != service || s.Name != name {
			continue
		}
		dup := false
		for _, x := range taken {
			dup = dup || x.SpanID == s.SpanID
		}
		if dup {
			continue
		}
		if parent == "" || s.ParentSpanID == parent {
			return i
		}
		if first < 0 {
			first = i // no span of that name under parent: the parent check below reports it
		}
	}
	return first
}
