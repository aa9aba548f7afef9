package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
	"github.com/ecs-reworked/ecs-reworked/internal/schedule"
)

// every is a schedule that fires every d.
type every time.Duration

func (e every) Next(t time.Time) time.Time { return t.Add(time.Duration(e)) }

// waitForOutput waits until the output matches, or fails the test.
func waitForOutput(t *testing.T, out *logtest.Buffer, want string, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); strings.Count(out.String(), want) < n; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("output lacks %d × %q:\n%s", n, want, out.String())
		}
	}
}

// make up runs a job on its schedule, as its own process with its environment and its output prefixed with its
// name, and on demand through the edge; a run while one still runs is refused, an unknown job is a 404.
func TestJobsRunOnScheduleAndOnDemand(t *testing.T) {
	var buf logtest.Buffer
	out := &syncWriter{w: &buf}
	jobs := []manifest.Job{{Name: "nightly", Command: "nightly", Schedule: "rate(1 minute)", DrainSeconds: 1},
		{Name: "slow", Command: "slow", Schedule: "cron(0 9 ? * 2#1 *)", DrainSeconds: 1}}
	// The job "binary" is a shell running a script in place of `ecsr <command>`.
	r, err := newJobRunner(out, "/bin/sh", nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, j := range jobs {
		r.jobs[j.Name] = jobSpec{job: j, env: []string{"REPORT_DAY=monday"}}
	}
	r.argsFor = func(j manifest.Job) []string {
		if j.Name == "nightly" {
			return []string{"-c", "echo ran-with-$REPORT_DAY"}
		}
		return []string{"-c", "exec sleep 5"}
	}
	r.parse = func(expr string) (schedule.Schedule, error) {
		if expr == "rate(1 minute)" {
			return every(50 * time.Millisecond), nil
		}
		return schedule.Parse(expr) // the cron of "slow" uses #, which make up does not follow: on demand only
	}
	r.start()
	t.Cleanup(r.stop)
	waitForOutput(t, &buf, "nightly  | ran-with-monday", 2) // on its schedule, twice, with its environment
	waitForOutput(t, &buf, "job slow: ", 1)                 // says it runs on demand only

	edge := httptest.NewServer(r.handler(http.NotFoundHandler()))
	defer edge.Close()
	post := func(path string) int {
		t.Helper()
		resp, err := http.Post(edge.URL+path, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(jobsPath + "slow"); got != http.StatusAccepted {
		t.Errorf("POST %sslow = %d; want 202", jobsPath, got)
	}
	if got := post(jobsPath + "slow"); got != http.StatusConflict {
		t.Errorf("POST %sslow while it runs = %d; want 409", jobsPath, got)
	}
	if got := post(jobsPath + "nope"); got != http.StatusNotFound {
		t.Errorf("POST %snope = %d; want 404", jobsPath, got)
	}
	r.stop() // stops the running slow job with SIGTERM
	waitForOutput(t, &buf, "job slow finished", 1)
}

// docs/configuration.md names make up's secrets directory and override variables as the code makes them.
func TestSecretsDocsNameTheCode(t *testing.T) {
	b, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := parseConfig(nil, func(string) string { return "" }, io.Discard)
	for _, want := range []string{"`" + cfg.secrets + "/<service>/<secret>`", "`" + secretOverride("shipping", "carrier-api-key") + "`",
		"SECRET_<SERVICE>_<SECRET>", "make job NAME=<job>"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("docs/configuration.md does not say %s", want)
		}
	}
}
