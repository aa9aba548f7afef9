package metrics_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
)

// emf is the part of an EMF line the tests read.
type emf struct {
	AWS struct {
		Timestamp         int64
		CloudWatchMetrics []struct {
			Namespace  string
			Dimensions [][]string
			Metrics    []struct{ Name, Unit string }
		}
	} `json:"_aws"`
	Fields map[string]any `json:"-"`
}

func parse(t *testing.T, out string) []emf {
	t.Helper()
	var docs []emf
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var d emf
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		if err := json.Unmarshal([]byte(line), &d.Fields); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	return docs
}

func TestFlush(t *testing.T) {
	var buf bytes.Buffer
	r := metrics.New(&buf, "ECSReworked", "Service", "worker")
	r.Add("MessagesHandled", metrics.Count, 1, "Outcome", "ok")
	r.Add("MessagesHandled", metrics.Count, 2, "Outcome", "ok")
	r.Add("MessagesHandled", metrics.Count, 1, "Outcome", "failed")
	for i := range 1000 {
		r.Observe("HandleTime", metrics.Milliseconds, float64(i))
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	docs := parse(t, buf.String())
	if len(docs) != 3 {
		t.Fatalf("lines = %d; want 3 (one per series)\n%s", len(docs), buf.String())
	}
	type summary struct {
		Metric, Unit, Namespace string
		Dimensions              [][]string
		Outcome                 any
		Value                   any
	}
	var got []summary
	for _, d := range docs {
		m := d.AWS.CloudWatchMetrics[0]
		name := m.Metrics[0].Name
		s := summary{Metric: name, Unit: m.Metrics[0].Unit, Namespace: m.Namespace, Dimensions: m.Dimensions,
			Outcome: d.Fields["Outcome"], Value: d.Fields[name]}
		if d.Fields["Service"] != "worker" || d.AWS.Timestamp == 0 {
			t.Errorf("line without the service dimension or a timestamp: %+v", d.Fields)
		}
		if vals, ok := s.Value.([]any); ok {
			if len(vals) != 100 {
				t.Errorf("HandleTime values = %d; want 100 (the EMF maximum) sampled from 1000", len(vals))
			}
			s.Value = "sampled"
		}
		got = append(got, s)
	}
	want := []summary{
		{"HandleTime", "Milliseconds", "ECSReworked", [][]string{{"Service"}}, nil, "sampled"},
		{"MessagesHandled", "Count", "ECSReworked", [][]string{{"Service", "Outcome"}, {"Service"}}, "failed", 1.0},
		{"MessagesHandled", "Count", "ECSReworked", [][]string{{"Service", "Outcome"}, {"Service"}}, "ok", 3.0},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("EMF lines (-want +got):\n%s", diff)
	}

	buf.Reset()
	if err := r.Flush(); err != nil || buf.Len() != 0 {
		t.Errorf("second Flush wrote %q, %v; want nothing (values are reset)", buf.String(), err)
	}
}

func TestMiddleware(t *testing.T) {
	var buf bytes.Buffer
	r := metrics.New(&buf, "ECSReworked", "Service", "api")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders/{id}", func(w http.ResponseWriter, req *http.Request) {
		if req.PathValue("id") == "missing" {
			http.NotFound(w, req)
			return
		}
		_, _ = w.Write([]byte("{}"))
	})
	mux.HandleFunc("POST /api/orders", func(http.ResponseWriter, *http.Request) { panic("bug") })
	h := metrics.Middleware(r, mux)
	for _, path := range []string{"/api/orders/1", "/api/orders/2", "/api/orders/missing", "/nowhere"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("panic swallowed; want it passed on to the recovery middleware")
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodPost, "/api/orders", nil))
	}()
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	requests := map[string]any{}
	latencies := map[string]int{}
	for _, d := range parse(t, buf.String()) {
		switch d.AWS.CloudWatchMetrics[0].Metrics[0].Name {
		case "Requests":
			requests[d.Fields["Route"].(string)+" "+d.Fields["StatusClass"].(string)] = d.Fields["Requests"]
		case "Latency":
			latencies[d.Fields["Route"].(string)] = len(d.Fields["Latency"].([]any))
		}
	}
	wantRequests := map[string]any{
		"GET /api/orders/{id} 2xx": 2.0, "GET /api/orders/{id} 4xx": 1.0, "unmatched 4xx": 1.0, "POST /api/orders 5xx": 1.0,
	}
	if diff := cmp.Diff(wantRequests, requests); diff != "" {
		t.Errorf("Requests by route and status class (-want +got):\n%s", diff)
	}
	wantLatencies := map[string]int{"GET /api/orders/{id}": 3, "unmatched": 1, "POST /api/orders": 1}
	if diff := cmp.Diff(wantLatencies, latencies); diff != "" {
		t.Errorf("Latency values by route (-want +got):\n%s", diff)
	}
}
