package logging_test

import (
	"log/slog"
	"net/http"
	"os"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging"
)

// Every line logged with the request's context carries its request id.
func ExampleMiddleware() {
	log := logging.New(os.Stdout, logging.Config{Format: "text", Level: slog.LevelInfo})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/orders", func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "listing orders") // ... request_id=<id>
	})
	_ = logging.Middleware(mux)
}
