package scaffold

var webCmdTemplate = parse("webcmd", `// Package {{.Name}}cmd is the {{.Name}} web service, run as `+"`/app/ecsr {{.Name}}`"+` in the image (cmd/ecsr) and by
// `+"`make up`"+`: internal/{{.Name}}'s routes under /api/{{.Name}}/ (its path_pattern in infra/services.yaml), behind the
// load balancer on AWS and the local edge in make up. The service kit (boot.Web) does the rest: configuration,
// logs, metrics, traces, /healthz and /readyz on HTTP_ADDR, {{if .DB}}the database as its own role, {{end}}and the drain
// within SHUTDOWN_TIMEOUT.
package {{.Name}}cmd

import (
	"context"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
{{- if .Secrets}}
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
{{- end}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/tracing"
	"github.com/ecs-reworked/ecs-reworked/internal/{{.Name}}"
)

{{template "serviceMain" .}}

// Values from infra/services.yaml (a test keeps them equal): the defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT.
const (
	defaultAddr            = ":{{.Port}}"
	defaultShutdownTimeout = {{.Drain}} * time.Second
)

// settings are the service's settings: the kit's web service and what its routes need from the environment.
type settings struct {
	boot.Web
	deps {{.Name}}.Deps // Log{{if .DB}} and Pool{{end}} are set once the service has started
}

// readSettings reads the environment; every problem is reported in one error.
func readSettings(getenv func(string) string) (settings, error) {
	r := config.NewReader(getenv)
	s := settings{Web: boot.Web{
		Name:     "{{.Name}}",
		Settings: boot.ReadSettings{{if not .DB}}WithoutDatabase{{end}}(r, defaultAddr, defaultShutdownTimeout),
		Env:      r,
		Tracing:  tracing.ReadConfig(r),
	}}
{{- template "readSecrets" .}}
	return s, r.Err()
}

// Run runs the service with its settings from getenv and its logs on stdout until ctx ends, then drains.
func Run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	s, err := readSettings(getenv)
	if err != nil {
		return err // config.Reader's error names every variable and says it is the configuration
	}
	// The routes are registered once, when the service has started.
	s.Setup = func(base *boot.Base, mux *http.ServeMux) (boot.WebService, error) {
		d := s.deps
		d.Log = base.Log
{{- if .DB}}
		d.Pool = base.Pool
{{- end}}
		{{.Name}}.Register(mux, d)
		return boot.WebService{}, nil
	}
	return s.Web.Run(ctx, stdout)
}
`)

var webCmdTestTemplate = parse("webcmdtest", `package {{.Name}}cmd

import (
	"strconv"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/boot"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
)

{{template "envContractTest" .}}

// The defaults of HTTP_ADDR and SHUTDOWN_TIMEOUT are the manifest's.
func TestDefaultsFollowManifest(t *testing.T) {
	m, err := manifest.Load("../../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.Service("{{.Name}}")
	if got, want := defaultAddr, ":"+strconv.Itoa(s.Port); got != want {
		t.Errorf("defaultAddr = %s; infra/services.yaml says %s", got, want)
	}
	if got, want := defaultShutdownTimeout, time.Duration(s.DrainSeconds)*time.Second; got != want {
		t.Errorf("defaultShutdownTimeout = %s; infra/services.yaml says %s", got, want)
	}
}
`)

var webTemplate = parse("web", `// Package {{.Name}} is the {{.Name}} web service's API, under /api/{{.Name}}/ (its path_pattern in
// infra/services.yaml). Register adds GET /api/{{.Name}}/hello; add the service's routes beside it.
package {{.Name}}

import (
	"encoding/json"
	"log/slog"
	"net/http"
{{- if .DB}}

	"github.com/jackc/pgx/v5/pgxpool"
{{- end}}
{{- if or .Secrets .DB}}

{{- end}}
{{- if .Secrets}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/config"
{{- end}}
{{- if .DB}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/httpserver"
{{- end}}
)

// Deps is what the service's routes use.
type Deps struct {
	Log *slog.Logger
{{- if .DB}}
	// Pool connects as the service's own role, to its own schema, {{.Name}}.
	Pool *pgxpool.Pool
{{- end}}
{{- template "secretFields" .}}
}

// Register registers the service's routes on mux.
func Register(mux *http.ServeMux, d Deps) {
	mux.HandleFunc("GET /api/{{.Name}}/hello", func(w http.ResponseWriter, r *http.Request) {
		answer := map[string]string{"service": "{{.Name}}"}
{{- if .DB}}
		var user string
		if err := d.Pool.QueryRow(r.Context(), "SELECT current_user").Scan(&user); err != nil {
			d.Log.ErrorContext(r.Context(), "database query failed", "err", err)
			httpserver.WriteProblem(w, http.StatusServiceUnavailable, "the database is not available; try again")
			return
		}
		answer["database_user"] = user
{{- end}}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(answer)
	})
}
`)

var webTestTemplate = parse("webtest", `package {{.Name}}_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

{{- if .DB}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/database/dbtest"
{{- end}}
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/{{.Name}}"
)
{{if .DB}}
func TestMain(m *testing.M) { dbtest.Main(m) }
{{end}}
// GET /api/{{.Name}}/hello answers JSON naming the service{{if .DB}} and the database role it connects as{{end}}.
func TestHello(t *testing.T) {
	var out logtest.Buffer
	d := {{.Name}}.Deps{Log: slog.New(slog.NewJSONHandler(&out, nil))}
{{- if .DB}}
	db := dbtest.NewDatabase(t)
	d.Pool = dbtest.Connect(t, db.DSNFor("{{.Name}}"))
{{- end}}
	mux := http.NewServeMux()
	{{.Name}}.Register(mux, d)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/{{.Name}}/hello", nil))
	var got map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("GET /api/{{.Name}}/hello = %d %s, %v", rec.Code, rec.Body, err)
	}
	if got["service"] != "{{.Name}}" {
		t.Errorf("answer %v; want service {{.Name}}", got)
	}
{{- if .DB}}
	if got["database_user"] != "{{.Name}}" {
		t.Errorf("answer %v; want database_user {{.Name}}", got)
	}
{{- end}}
}
`)
