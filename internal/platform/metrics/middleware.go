package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
)

// Middleware records, per route pattern and status class (2xx, 4xx, ...), the count of requests
// ("Requests") and their latency ("Latency", milliseconds). The route is the http.ServeMux pattern that
// matched ("GET /api/orders/{id}"), never the raw path, so ids do not create a metric each; unmatched requests
// count under "unmatched". The ServeMux sets the pattern on the request it routes, so the middleware must wrap
// the ServeMux directly (other middleware, which may copy the request, goes outside it).
func Middleware(r *Recorder, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		start := time.Now()
		sw := &httpserver.StatusRecorder{ResponseWriter: w}
		defer func() {
			route := req.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.Status
			if status == 0 {
				status = http.StatusOK
			}
			if v := recover(); v != nil {
				status = http.StatusInternalServerError
				defer panic(v)
			}
			class := strconv.Itoa(status/100) + "xx"
			r.Add("Requests", Count, 1, "Route", route, "StatusClass", class)
			r.Observe("Latency", Milliseconds, float64(time.Since(start).Microseconds())/1000, "Route", route)
		}()
		next.ServeHTTP(sw, req)
	})
}
