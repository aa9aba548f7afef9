package main

import (
	"bytes"
	"errors"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/testing/devenvtest"
)

func TestUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "no command"},
		{"unknown command", []string{"no-such-command"}, `unknown command "no-such-command"`},
		{"flag instead of command", []string{"-healthcheck"}, `unknown command "-healthcheck"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(tc.args, &stderr); code != usageExit {
				t.Errorf("run(%q) = %d; want %d", tc.args, code, usageExit)
			}
			if !strings.Contains(stderr.String(), tc.want) || !strings.Contains(stderr.String(), strings.Join(slices.Sorted(maps.Keys(commands)), ", ")) {
				t.Errorf("run(%q) wrote %q; want it to contain %q and list the commands", tc.args, stderr.String(), tc.want)
			}
		})
	}
}

// TestRunsEveryManifestCommand keeps the binary able to run every command the manifest's services and jobs name
// (the task definitions run `/app/ecsr <command>`) and migrate (the migration task).
func TestRunsEveryManifestCommand(t *testing.T) {
	m, err := manifest.Load("../../infra/services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"migrate"}
	for _, s := range m.Services {
		want = append(want, s.Command)
	}
	for _, j := range m.Jobs { // the schedules run `/app/ecsr <command>` too
		want = append(want, j.Command)
	}
	for _, c := range want {
		if commands[c] == nil {
			t.Errorf("ecsr has no command %q (infra/services.yaml)", c)
		}
	}
}

// TestHealthcheckMode runs the built binary as the container health check does, `ecsr <command> -healthcheck`:
// it exits 0 when a server answers /healthz on HTTP_ADDR's port and 1 when nothing serves there.
func TestHealthcheckMode(t *testing.T) {
	bin := filepath.Join(devenvtest.Build(t, "./cmd/ecsr"), "ecsr")
	log, _ := logtest.New()
	mux := http.NewServeMux()
	health.New(log, 0).Register(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	closed := devenvtest.FreeAddr(t)

	for _, command := range []string{"api", "worker"} {
		for _, tc := range []struct {
			name, addr string
			want       int
		}{
			{"serving", ":" + port, 0},
			{"not serving", closed, 1},
		} {
			t.Run(command+" "+tc.name, func(t *testing.T) {
				cmd := exec.CommandContext(t.Context(), bin, command, health.HealthcheckFlag)
				cmd.Env = append(os.Environ(), "HTTP_ADDR="+tc.addr)
				out, err := cmd.CombinedOutput()
				code := 0
				var exit *exec.ExitError
				if errors.As(err, &exit) {
					code = exit.ExitCode()
				} else if err != nil {
					t.Fatal(err)
				}
				if code != tc.want {
					t.Errorf("ecsr %s -healthcheck with HTTP_ADDR=%s exited %d, want %d; output:\n%s", command, tc.addr, code, tc.want, out)
				}
			})
		}
	}
}

// TestDocsNameTheOneBinary keeps the docs true: the image's binary and how task definitions run it are named
// where the image and the task definitions are described, and no document, nor the Dockerfile, names a
// binary per command (/app/<command>) that the image no longer holds.
func TestDocsNameTheOneBinary(t *testing.T) {
	for file, want := range map[string][]string{
		"docs/configuration.md":  {"`" + manifest.ImageBinary + "`", "`" + manifest.ImageBinary + " <command>`", "`" + manifest.ImageBinary + " <command> -healthcheck`"},
		"docs/infrastructure.md": {"`" + manifest.ImageBinary + " <command>`", "`" + manifest.ImageBinary + " " + manifest.MigrateCommand + "`"},
		"docs/architecture.md":   {"`" + manifest.ImageBinary + "`", "`cmd/ecsr`"},
		"Dockerfile":             {"./cmd/ecsr", manifest.ImageBinary},
	} {
		b, err := os.ReadFile(filepath.Join("..", "..", file))
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not name %s", file, w)
			}
		}
	}
	files, err := filepath.Glob("../../docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	adrs, _ := filepath.Glob("../../docs/adr/*.md")
	files = append(append(files, adrs...), "../../README.md", "../../Dockerfile")
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for c := range commands {
			if old := "/app/" + c; strings.Contains(string(b), old) {
				t.Errorf("%s names %s; the image holds only %s (%s %s)", f, old, manifest.ImageBinary, manifest.ImageBinary, c)
			}
		}
	}
}
