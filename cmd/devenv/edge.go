package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The edge's connection timeouts, as every server of the project has them (internal/platform/httpserver gives
// the services the same): a client that sends its headers or body slowly, or stops mid-body, is answered
// within edgeReadTimeout instead of holding a connection for ever.
const (
	edgeReadHeaderTimeout = 5 * time.Second
	// edgeReadTimeout bounds reading the whole request, headers and body: it is the body's deadline.
	edgeReadTimeout = 15 * time.Second
	// edgeWriteTimeout runs from the end of the request's headers to the end of the response, so it covers
	// the body, the API's answer (its own write timeout is 30 s) and writing it back.
	edgeWriteTimeout = 35 * time.Second
	edgeIdleTimeout  = 120 * time.Second
	// edgeMaxBodyBytes bounds what the edge forwards; the API itself accepts at most 64 KiB.
	edgeMaxBodyBytes = 1 << 20
	// maxNameBytes is the longest file name a Linux file system holds (NAME_MAX); a longer one names no file.
	maxNameBytes = 255
)

// newEdgeServer is the edge's HTTP server with every timeout set.
func newEdgeServer(h http.Handler) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: edgeReadHeaderTimeout, ReadTimeout: edgeReadTimeout,
		WriteTimeout: edgeWriteTimeout, IdleTimeout: edgeIdleTimeout, MaxHeaderBytes: 64 << 10}
}

// edgeRoute sends the requests whose path matches pattern (a load balancer path pattern, * and ? wildcards) to
// the web service name at target.
type edgeRoute struct {
	name    string
	pattern string
	target  *url.URL
	// probes routes /healthz and /readyz to this service too (the manifest's first web service, the API).
	probes bool
}

// newEdge returns the local stand-in for CloudFront and the load balancer: a request whose path matches a web
// service's path_pattern goes to that service, the first match in routes' order (the manifest's precedence, as
// the listener rules' priorities: more specific patterns first), like the distribution's behaviours for those
// paths to the load balancer; everything else is served from the static web files, like the default behaviour to
// the S3 bucket. The browser sees one origin, so no CORS is needed, as on AWS. The route marked probes also
// answers /healthz and /readyz, as the load balancer's test listener exposes the API's to the release smoke test
// (internal/smoke, `make smoke`).
//
// A request whose body cannot be read (malformed chunked encoding, a client that stops mid-body, a body over
// edgeMaxBodyBytes) is the client's error: it is answered 400, 408 or 413, never 502, which means the service is
// not reachable.
func newEdge(routes []edgeRoute, webDir string) http.Handler {
	type route struct {
		match *regexp.Regexp
		proxy http.Handler
	}
	mux := http.NewServeMux()
	proxies := make([]route, 0, len(routes))
	for _, rt := range routes {
		proxy := httputil.NewSingleHostReverseProxy(rt.target)
		proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
			// The proxy hands this handler its outgoing copy of the request, whose body the transport wraps; the
			// client's body is found through the context.
			if b, ok := r.Context().Value(watchedBodyKey{}).(*watchedBody); ok {
				if status, detail, bad := b.clientError(); bad {
					writeEdgeProblem(w, status, detail)
					return
				}
			}
			writeEdgeProblem(w, http.StatusBadGateway, "the "+rt.name+" service is not reachable")
		}
		proxies = append(proxies, route{match: pathPattern(rt.pattern), proxy: proxy})
		if rt.probes {
			mux.Handle("GET /healthz", proxy)
			mux.Handle("GET /readyz", proxy)
		}
	}
	static := staticFiles(webDir)
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for _, p := range proxies {
			if !p.match.MatchString(r.URL.Path) {
				continue
			}
			if r.Body != nil && r.Body != http.NoBody {
				b := &watchedBody{ReadCloser: http.MaxBytesReader(w, r.Body, edgeMaxBodyBytes)}
				r = r.WithContext(context.WithValue(r.Context(), watchedBodyKey{}, b))
				r.Body = b
			}
			p.proxy.ServeHTTP(w, r)
			return
		}
		static.ServeHTTP(w, r)
	}))
	return mux
}

// pathPattern compiles a load balancer path pattern: * matches any characters, / included, and ? one
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html).
func pathPattern(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range p {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func writeEdgeProblem(w http.ResponseWriter, status int, detail string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Connection", "close")
	w.WriteHeader(status)
	body, _ := json.Marshal(struct {
		Title  string `json:"title"`
		Status int    `json:"status"`
		Detail string `json:"detail"`
	}{http.StatusText(status), status, detail}) // escaped: detail may quote what the client sent
	_, _ = w.Write(body)
}

type watchedBodyKey struct{}

// watchedBody remembers the first error reading the client's body, so that the proxy's error handler can tell
// the client's fault from the API's.
type watchedBody struct {
	io.ReadCloser
	mu  sync.Mutex
	err error
}

func (b *watchedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && !errors.Is(err, io.EOF) {
		b.mu.Lock()
		if b.err == nil {
			b.err = err
		}
		b.mu.Unlock()
	}
	return n, err
}

// clientError maps a failed read of the client's body to the status the client gets.
func (b *watchedBody) clientError() (int, string, bool) {
	b.mu.Lock()
	err := b.err
	b.mu.Unlock()
	var tooLarge *http.MaxBytesError
	var ne net.Error
	switch {
	case err == nil:
		return 0, "", false
	case errors.As(err, &tooLarge):
		return http.StatusRequestEntityTooLarge, "the body is larger than " + strconv.Itoa(edgeMaxBodyBytes) + " bytes", true
	case errors.As(err, &ne) && ne.Timeout():
		return http.StatusRequestTimeout, "the body did not arrive within " + edgeReadTimeout.String(), true
	default:
		return http.StatusBadRequest, "the request body could not be read (malformed or cut short)", true
	}
}

// staticFiles serves the web UI with the cache headers CloudFront gets from the bucket: file names that carry
// a content hash are immutable, everything else is revalidated.
func staticFiles(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := os.Stat(dir); err != nil {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			_, _ = w.Write([]byte("ECS Reworked is running. The orders API is at /api/orders.\n"))
			return
		}
		// A name longer than any file system allows names no file: 404, not the 500 that the file server
		// makes of the operating system's ENAMETOOLONG.
		for _, name := range strings.Split(r.URL.Path, "/") {
			if len(name) > maxNameBytes {
				http.NotFound(w, r)
				return
			}
		}
		if strings.HasPrefix(path.Clean(r.URL.Path), "/assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
