package tracestore_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/tracestore"
)

// An OTLP/JSON export is stored and served by order id and by trace id; other content types are refused, and
// the oldest trace is forgotten past the limit.
func TestReceiveAndServe(t *testing.T) {
	srv := httptest.NewServer(tracestore.New(2).Handler())
	defer srv.Close()
	export := func(traceID, orderID string) int {
		body := `{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"api"}}]},
			"scopeSpans":[{"spans":[{"traceId":"` + traceID + `","spanId":"00f067aa0ba902b7","name":"POST /api/orders",
			"kind":2,"startTimeUnixNano":"1000000000","endTimeUnixNano":"1012500000",
			"attributes":[{"key":"order.id","value":{"stringValue":"` + orderID + `"}}]}]}]}]}`
		resp, err := http.Post(srv.URL+"/v1/traces", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := export("4bf92f3577b34da6a3ce929d0e0e4736", "o-1"); code != http.StatusOK {
		t.Fatalf("export = %d; want 200", code)
	}
	var got struct{ Traces []tracestore.Trace }
	getJSON(t, srv.URL+"/dev/traces?order_id=o-1", &got)
	if len(got.Traces) != 1 || len(got.Traces[0].Spans) != 1 {
		t.Fatalf("traces of o-1 = %+v; want one trace of one span", got.Traces)
	}
	s := got.Traces[0].Spans[0]
	if s.Service != "api" || s.Kind != "server" || s.DurationMS != 12.5 || s.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("span = %+v; want api, server, 12.5 ms, the trace id sent", s)
	}
	resp, err := http.Post(srv.URL+"/v1/traces", "text/plain", strings.NewReader("spans"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("export as text/plain = %s; want 415", resp.Status)
	}
	export("5bf92f3577b34da6a3ce929d0e0e4736", "o-2")
	export("6bf92f3577b34da6a3ce929d0e0e4736", "o-3")
	getJSON(t, srv.URL+"/dev/traces?order_id=o-1", &got)
	if len(got.Traces) != 0 {
		t.Errorf("o-1's trace is still kept after two newer ones with a limit of 2")
	}
	var newest tracestore.Trace
	getJSON(t, srv.URL+"/dev/traces/6bf92f3577b34da6a3ce929d0e0e4736", &newest)
	if len(newest.Spans) != 1 {
		t.Errorf("GET the newest trace by id = %+v; want its span", newest)
	}
}

func getJSON(t *testing.T, url string, v any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
