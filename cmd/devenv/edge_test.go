package main

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// startEdge runs the edge in front of a stand-in API that reads the whole body and echoes its length, with the
// read timeout shortened so that a stalled body is seen quickly.
func startEdge(t *testing.T, readTimeout time.Duration) string {
	t.Helper()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"read":`+strconv.Itoa(len(b))+`}`)
	}))
	t.Cleanup(api.Close)
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("<html></html>"), 0o600); err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(api.URL)
	srv := newEdgeServer(newEdge([]edgeRoute{{name: "api", pattern: "/api/*", target: u, probes: true}}, web))
	srv.ReadTimeout = readTimeout
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return ln.Addr().String()
}

// rawRequest writes req on a new connection and returns the status code of the answer, failing the test if
// none arrives within wait.
func rawRequest(t *testing.T, addr, req string, wait time.Duration) int {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(wait))
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer to %q within %s: %v", req[:min(len(req), 60)], wait, err)
	}
	_ = resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); resp.StatusCode >= 400 && strings.HasPrefix(req, "POST") && ct != "application/problem+json" {
		t.Errorf("Content-Type = %q; want application/problem+json", ct)
	}
	return resp.StatusCode
}

// The edge answers the client's bad input as the client's error, within its timeouts.
func TestEdgeBadInput(t *testing.T) {
	addr := startEdge(t, 500*time.Millisecond)
	tests := []struct {
		name, req string
		want      int
	}{
		{"well-formed body", "POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}", 200},
		{"malformed chunked body", "POST /api/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n", 400},
		{"chunk announced longer than what arrives", "POST /api/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc\r\n0\r\n\r\n", 408},
		{"chunk without its line end", "POST /api/orders HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcXY0\r\n\r\n", 400},
		{"body stops before its length", "POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"a\":", 408},
		{"body over the limit", "POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.Itoa(edgeMaxBodyBytes+1) + "\r\n\r\n" + strings.Repeat("x", edgeMaxBodyBytes+1), 413},
		{"file name over 255 bytes", "GET /" + strings.Repeat("a", 300) + " HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"file name over 255 bytes in a folder", "GET /assets/" + strings.Repeat("b", 256) + ".js HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"file name of 255 bytes", "GET /" + strings.Repeat("a", 255) + " HTTP/1.1\r\nHost: x\r\n\r\n", 404},
		{"existing file", "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", 301},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rawRequest(t, addr, tt.req, 5*time.Second); got != tt.want {
				t.Errorf("status = %d; want %d", got, tt.want)
			}
		})
	}
}

// A client that sends headers and then nothing is disconnected within the read timeout; the edge holds no
// connection for ever.
func TestEdgeDropsSilentClient(t *testing.T) {
	addr := startEdge(t, 500*time.Millisecond)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, _ = io.WriteString(c, "GET /index.html HTTP/1.1\r\nHost: x\r\n")
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	start := time.Now()
	_, _ = io.ReadAll(c)
	if d := time.Since(start); d > 8*time.Second {
		t.Errorf("connection with unfinished headers held for %s; want it closed within the header timeout", d)
	}
}

// Every timeout of the edge's server is set.
func TestEdgeServerTimeouts(t *testing.T) {
	s := newEdgeServer(http.NotFoundHandler())
	if s.ReadHeaderTimeout == 0 || s.ReadTimeout == 0 || s.WriteTimeout == 0 || s.IdleTimeout == 0 || s.MaxHeaderBytes == 0 {
		t.Errorf("edge server %+v; want every timeout and the header limit set", s)
	}
}

// The edge routes a path to the web service whose pattern takes precedence, as the listener rules do: a more
// specific pattern first; what no pattern matches is the site's.
func TestEdgeRoutesByPathPattern(t *testing.T) {
	answer := func(name string) *url.URL {
		s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, name) }))
		t.Cleanup(s.Close)
		u, _ := url.Parse(s.URL)
		return u
	}
	web := t.TempDir()
	if err := os.WriteFile(filepath.Join(web, "index.html"), []byte("site"), 0o600); err != nil {
		t.Fatal(err)
	}
	edge := httptest.NewServer(newEdge([]edgeRoute{
		{name: "catalog", pattern: "/api/catalog/*", target: answer("catalog")},
		{name: "api", pattern: "/api/*", target: answer("api"), probes: true},
	}, web))
	defer edge.Close()
	for path, want := range map[string]string{
		"/api/catalog/hello": "catalog", "/api/orders": "api", "/api/catalogue": "api", "/healthz": "api", "/": "site",
	} {
		resp, err := http.Get(edge.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want {
			t.Errorf("GET %s answered %q; want %q's answer", path, b, want)
		}
	}
}
