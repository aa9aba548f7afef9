// Package tracestore is the local trace collector of `make up`: an OTLP/HTTP receiver (POST /v1/traces, the
// protobuf the OpenTelemetry exporters send, or OTLP JSON) that keeps the most recent traces in memory and
// serves them as JSON, so a person can follow an order's path with no collector or trace viewer installed:
//
//	GET /dev/traces?order_id=<id>   the traces holding a span with that order.id attribute
//	GET /dev/traces/<trace id>      one trace
//
// A trace's spans are listed in start order with each one's parent, service and duration: what the web UI's
// timeline draws. It is a development tool; on AWS traces go to X-Ray (docs/adr/0015).
package tracestore

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Span is one span as served.
type Span struct {
	TraceID      string            `json:"trace_id"`
	SpanID       string            `json:"span_id"`
	ParentSpanID string            `json:"parent_span_id,omitempty"`
	Name         string            `json:"name"`
	Service      string            `json:"service"`
	Kind         string            `json:"kind"`
	Start        time.Time         `json:"start"`
	End          time.Time         `json:"end"`
	DurationMS   float64           `json:"duration_ms"`
	Error        bool              `json:"error,omitempty"`
	Attributes   map[string]string `json:"attributes,omitempty"`
}

// Trace is one trace's spans, in start order.
type Trace struct {
	TraceID string `json:"trace_id"`
	Spans   []Span `json:"spans"`
}

// Store keeps the spans of the most recent traces.
type Store struct {
	mu     sync.Mutex
	max    int
	traces map[string][]Span
	order  []string // trace ids, oldest first
}

// DefaultMaxTraces is how many traces a Store keeps by default; older ones are forgotten.
const DefaultMaxTraces = 1000

// New returns a Store keeping up to maxTraces traces.
func New(maxTraces int) *Store {
	return &Store{max: maxTraces, traces: map[string][]Span{}}
}

// maxBody bounds one export request.
const maxBody = 8 << 20

// Handler serves POST /v1/traces and GET /dev/traces.
func (s *Store) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", s.receive)
	mux.HandleFunc("GET /dev/traces", s.search)
	mux.HandleFunc("GET /dev/traces/{id}", s.get)
	return mux
}

func (s *Store) receive(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	var req coltracepb.ExportTraceServiceRequest
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-protobuf":
		err = proto.Unmarshal(body, &req)
	case "application/json":
		err = unmarshalJSON(body, &req)
	default:
		http.Error(w, fmt.Sprintf("Content-Type %q: want application/x-protobuf or application/json", ct), http.StatusUnsupportedMediaType)
		return
	}
	if err != nil {
		http.Error(w, "decode OTLP traces: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.Add(&req)
	resp := &coltracepb.ExportTraceServiceResponse{}
	var out []byte
	if ct == "application/json" {
		out, _ = protojson.Marshal(resp)
	} else {
		out, _ = proto.Marshal(resp)
	}
	w.Header().Set("Content-Type", ct)
	_, _ = w.Write(out)
}

// unmarshalJSON decodes OTLP/JSON, whose trace and span ids are hex strings where the protobuf JSON mapping
// expects base64 (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding): the ids are re-encoded first.
func unmarshalJSON(body []byte, req *coltracepb.ExportTraceServiceRequest) error {
	var doc any
	if err := json.Unmarshal(body, &doc); err != nil {
		return err
	}
	var fix func(v any) error
	fix = func(v any) error {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if s, ok := val.(string); ok && (k == "traceId" || k == "spanId" || k == "parentSpanId") {
					b, err := hex.DecodeString(s)
					if err != nil {
						return fmt.Errorf("%s %q is not hex: %w", k, s, err)
					}
					x[k] = base64.StdEncoding.EncodeToString(b)
					continue
				}
				if err := fix(val); err != nil {
					return err
				}
			}
		case []any:
			for _, e := range x {
				if err := fix(e); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := fix(doc); err != nil {
		return err
	}
	fixed, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return protojson.Unmarshal(fixed, req)
}

// Add stores the spans of an export request.
func (s *Store) Add(req *coltracepb.ExportTraceServiceRequest) {
	var spans []Span
	for _, rs := range req.GetResourceSpans() {
		service := attrs(rs.GetResource().GetAttributes())["service.name"]
		for _, ss := range rs.GetScopeSpans() {
			for _, sp := range ss.GetSpans() {
				start, end := time.Unix(0, int64(sp.GetStartTimeUnixNano())).UTC(), time.Unix(0, int64(sp.GetEndTimeUnixNano())).UTC()
				spans = append(spans, Span{
					TraceID:      hex.EncodeToString(sp.GetTraceId()),
					SpanID:       hex.EncodeToString(sp.GetSpanId()),
					ParentSpanID: hex.EncodeToString(sp.GetParentSpanId()),
					Name:         sp.GetName(),
					Service:      service,
					Kind:         kinds[sp.GetKind()],
					Start:        start,
					End:          end,
					DurationMS:   float64(end.Sub(start).Microseconds()) / 1000,
					Error:        sp.GetStatus().GetCode() == tracepb.Status_STATUS_CODE_ERROR,
					Attributes:   attrs(sp.GetAttributes()),
				})
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sp := range spans {
		if _, ok := s.traces[sp.TraceID]; !ok {
			s.order = append(s.order, sp.TraceID)
			if len(s.order) > s.max {
				delete(s.traces, s.order[0])
				s.order = s.order[1:]
			}
		}
		s.traces[sp.TraceID] = append(s.traces[sp.TraceID], sp)
	}
}

var kinds = map[tracepb.Span_SpanKind]string{
	tracepb.Span_SPAN_KIND_INTERNAL: "internal", tracepb.Span_SPAN_KIND_SERVER: "server",
	tracepb.Span_SPAN_KIND_CLIENT: "client", tracepb.Span_SPAN_KIND_PRODUCER: "producer",
	tracepb.Span_SPAN_KIND_CONSUMER: "consumer",
}

func attrs(kvs []*commonpb.KeyValue) map[string]string {
	if len(kvs) == 0 {
		return nil
	}
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		v := kv.GetValue()
		switch x := v.GetValue().(type) {
		case *commonpb.AnyValue_StringValue:
			out[kv.GetKey()] = x.StringValue
		case *commonpb.AnyValue_IntValue:
			out[kv.GetKey()] = strconv.FormatInt(x.IntValue, 10)
		case *commonpb.AnyValue_BoolValue:
			out[kv.GetKey()] = strconv.FormatBool(x.BoolValue)
		case *commonpb.AnyValue_DoubleValue:
			out[kv.GetKey()] = strconv.FormatFloat(x.DoubleValue, 'g', -1, 64)
		}
	}
	return out
}

// Trace returns a copy of one trace, its spans in start order.
func (s *Store) Trace(id string) (Trace, bool) {
	s.mu.Lock()
	spans, ok := s.traces[id]
	spans = slices.Clone(spans)
	s.mu.Unlock()
	slices.SortStableFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
	return Trace{TraceID: id, Spans: spans}, ok
}

// ByOrder returns the traces holding a span whose order.id attribute is orderID, oldest first.
func (s *Store) ByOrder(orderID string) []Trace {
	s.mu.Lock()
	var ids []string
	for _, id := range s.order {
		if slices.ContainsFunc(s.traces[id], func(sp Span) bool { return sp.Attributes["order.id"] == orderID }) {
			ids = append(ids, id)
		}
	}
	s.mu.Unlock()
	out := make([]Trace, 0, len(ids))
	for _, id := range ids {
		if t, ok := s.Trace(id); ok {
			out = append(out, t)
		}
	}
	return out
}

func (s *Store) search(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("order_id")
	if id == "" {
		http.Error(w, "order_id is required", http.StatusBadRequest)
		return
	}
	writeJSON(w, map[string][]Trace{"traces": s.ByOrder(id)})
}

func (s *Store) get(w http.ResponseWriter, r *http.Request) {
	t, ok := s.Trace(r.PathValue("id"))
	if !ok {
		http.Error(w, "no such trace (only recent ones are kept)", http.StatusNotFound)
		return
	}
	writeJSON(w, t)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(v)
}
