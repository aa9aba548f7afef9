package main

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path"
	"strings"
)

// newEdge returns the local stand-in for CloudFront: requests for /api/* go to the API, like the distribution's
// /api/* behaviour to the load balancer, and everything else is served from the static web files, like the
// default behaviour to the S3 bucket. The browser sees one origin, so no CORS is needed, as on AWS.
func newEdge(api *url.URL, webDir string) http.Handler {
	proxy := httputil.NewSingleHostReverseProxy(api)
	proxy.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = w.Write([]byte(`{"title":"Bad Gateway","status":502,"detail":"the orders API is not reachable"}`))
	}
	static := staticFiles(webDir)
	mux := http.NewServeMux()
	mux.Handle("/api/", proxy)
	// The API's probes too, as the load balancer's test listener exposes them to the release smoke test
	// (internal/smoke, `make smoke`); CloudFront does not route them.
	mux.Handle("GET /healthz", proxy)
	mux.Handle("GET /readyz", proxy)
	mux.Handle("/", static)
	return mux
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
		if strings.HasPrefix(path.Clean(r.URL.Path), "/assets/") {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
