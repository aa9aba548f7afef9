// Package scripts_test tests the shell scripts of scripts/ with fake commands on PATH.
package scripts_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeAWS writes an `aws` command that answers list-service-deployments with arn and every
// describe-service-deployments with the next line of states (tab-separated, as --output text prints).
func fakeAWS(t *testing.T, arn string, states ...string) string {
	t.Helper()
	dir := t.TempDir()
	statesFile := filepath.Join(dir, "states")
	if err := os.WriteFile(statesFile, []byte(strings.Join(states, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	script := `#!/usr/bin/env bash
case "$2" in
list-service-deployments) echo "` + arn + `" ;;
describe-service-deployments)
	line=$(head -n 1 "` + statesFile + `"); tail -n +2 "` + statesFile + `" > "` + statesFile + `.next"; mv "` + statesFile + `.next" "` + statesFile + `"
	[ -n "$line" ] || line=$(printf 'IN_PROGRESS\tBAKE_TIME\t-\t-\t-\t0')
	printf '%s\n' "$line" ;;
*) echo "unexpected: $*" >&2; exit 9 ;;
esac
`
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

func runWait(t *testing.T, path string, env []string, args ...string) (int, string, string) {
	t.Helper()
	summary := filepath.Join(t.TempDir(), "summary.md")
	cmd := exec.CommandContext(t.Context(), "bash", append([]string{"release-wait.sh"}, args...)...)
	cmd.Env = append(os.Environ(), append(env, "PATH="+path+":"+os.Getenv("PATH"), "GITHUB_STEP_SUMMARY="+summary, "RELEASE_WAIT_POLL=0")...)
	out, err := cmd.CombinedOutput()
	code := 0
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		code = exit.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	s, _ := os.ReadFile(summary)
	return code, string(out), string(s)
}

func TestReleaseWait(t *testing.T) {
	const arn = "arn:aws:ecs:eu-west-1:210987654321:service-deployment/c/api/abc"
	tab := func(f ...string) string { return strings.Join(f, "\t") }
	for _, tc := range []struct {
		name           string
		arn            string
		states         []string
		env            []string
		args           []string
		code           int
		output, report string
	}{
		{"deployed after the bake", arn, []string{
			tab("IN_PROGRESS", "POST_TEST_TRAFFIC_SHIFT", "-", "-", "-", "0"),
			tab("IN_PROGRESS", "BAKE_TIME", "-", "-", "-", "0"),
			tab("SUCCESSFUL", "CLEAN_UP", "-", "-", "-", "0"),
		}, nil, []string{"c", "api"}, 0, "stage BAKE_TIME", "### api: deployed"},
		{"smoke test hook failed", arn, []string{
			tab("ROLLBACK_SUCCESSFUL", "POST_TEST_TRAFFIC_SHIFT", "Lifecycle hook failed", "Service deployment rolled back because of a lifecycle hook failure", "-", "0"),
		}, nil, []string{"c", "api"}, 1, "Lifecycle hook failed", "| reason | Lifecycle hook failed |"},
		{"alarm during the bake", arn, []string{
			tab("ROLLBACK_SUCCESSFUL", "BAKE_TIME", "Alarm triggered", "rolled back", "ecsr-prod-stateless-api-target-5xx", "0"),
		}, nil, []string{"c", "api", "1700000000"}, 1, "alarms triggered: ecsr-prod-stateless-api-target-5xx", "| alarms triggered | ecsr-prod-stateless-api-target-5xx |"},
		{"no deployment", "None", nil, nil, []string{"c", "api"}, 2, "no deployment of api", "no deployment found"},
		{"timeout", arn, nil, []string{"RELEASE_WAIT_TIMEOUT=0"}, []string{"c", "api"}, 3, "still IN_PROGRESS", "still IN_PROGRESS at stage BAKE_TIME"},
		{"bad usage", arn, nil, nil, []string{"c"}, 2, "usage:", ""},
		{"bad start time", arn, nil, nil, []string{"c", "api", "yesterday"}, 2, "epoch seconds", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, report := runWait(t, fakeAWS(t, tc.arn, tc.states...), tc.env, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.output) || !strings.Contains(report, tc.report) {
				t.Errorf("exit %d, output:\n%s\nsummary:\n%s\nwant exit %d, output with %q, summary with %q", code, out, report, tc.code, tc.output, tc.report)
			}
		})
	}
}
