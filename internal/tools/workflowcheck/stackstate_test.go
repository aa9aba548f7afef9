package workflowcheck

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// fakeAWS puts an `aws` on PATH that answers describe-stacks with stdout and exit code, or with err on stderr.
func fakeAWS(t *testing.T, stdout, stderr string, code int) []string {
	t.Helper()
	dir := t.TempDir()
	script := "#!/bin/sh\nprintf '%s' \"$FAKE_OUT\"\nprintf '%s' \"$FAKE_ERR\" >&2\nexit $FAKE_CODE\n"
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return append(os.Environ(), "PATH="+dir+":"+os.Getenv("PATH"), "FAKE_OUT="+stdout, "FAKE_ERR="+stderr,
		"FAKE_CODE="+strconv.Itoa(code))
}

// TestStackReady runs scripts/stackstate.sh's stack_ready against CloudFormation's answers: only "does not
// exist" means a new stack; stable states deploy; ROLLBACK_COMPLETE, UPDATE_ROLLBACK_FAILED, operations in
// progress and every other error stop the deploy with what to do.
func TestStackReady(t *testing.T) {
	lib, err := filepath.Abs("../../../scripts/stackstate.sh")
	if err != nil {
		t.Fatal(err)
	}
	const stack = "ecsr-prod-stateful"
	for _, tc := range []struct {
		name, out, stderr string
		code              int
		ok                bool
		want              string // in stdout when ok, in stderr otherwise
	}{
		{"new", "", "\nAn error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id " + stack + " does not exist\n", 254, true, "new"},
		{"complete", "UPDATE_COMPLETE\n", "", 0, true, "UPDATE_COMPLETE"},
		{"rolled back update", "UPDATE_ROLLBACK_COMPLETE\n", "", 0, true, "UPDATE_ROLLBACK_COMPLETE"},
		{"never executed", "REVIEW_IN_PROGRESS\n", "", 0, true, "REVIEW_IN_PROGRESS"},
		{"other stack missing", "", "An error occurred (ValidationError) when calling the DescribeStacks operation: Stack with id ecsr-prod-stateless does not exist", 254, false, "cannot read the status"},
		{"throttled", "", "An error occurred (Throttling) when calling the DescribeStacks operation (reached max retries: 2): Rate exceeded", 254, false, "Rate exceeded"},
		{"access denied", "", "An error occurred (AccessDenied) when calling the DescribeStacks operation: not authorized", 254, false, "AccessDenied"},
		{"expired", "", "An error occurred (ExpiredToken) when calling the DescribeStacks operation: The security token included in the request is expired", 254, false, "ExpiredToken"},
		{"failed create", "ROLLBACK_COMPLETE\n", "", 0, false, "aws cloudformation delete-stack --region eu-west-1 --stack-name " + stack},
		{"rollback failed", "UPDATE_ROLLBACK_FAILED\n", "", 0, false, "aws cloudformation continue-update-rollback --region eu-west-1 --stack-name " + stack},
		{"update running", "UPDATE_IN_PROGRESS\n", "", 0, false, "another operation is running"},
		{"rollback running", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS\n", "", 0, false, "another operation is running"},
		{"delete failed", "DELETE_FAILED\n", "", 0, false, "which a deploy cannot update"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmd := exec.Command("bash", "-c", `. "$1"; stack_ready "$2" eu-west-1`, "test", lib, stack)
			cmd.Env = fakeAWS(t, tc.out, tc.stderr, tc.code)
			var stdout, stderr strings.Builder
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if (err == nil) != tc.ok {
				t.Fatalf("stack_ready: err = %v; want ok %v (stdout %q, stderr %q)", err, tc.ok, stdout.String(), stderr.String())
			}
			got := stderr.String()
			if tc.ok {
				got = stdout.String()
			}
			if !strings.Contains(got, tc.want) {
				t.Errorf("stack_ready output = %q; want %q", got, tc.want)
			}
		})
	}
}

// TestStackRegion reads a stack's region from an assembly manifest, and nothing for a stack it lacks.
func TestStackRegion(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("jq is not installed; scripts/deploy.sh needs it")
	}
	lib, err := filepath.Abs("../../../scripts/stackstate.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	manifest := `{"artifacts":{"ecsr-dev-edge":{"type":"aws:cloudformation:stack","environment":"aws://111111111111/us-east-1"},` +
		`"ecsr-dev-stateful":{"type":"aws:cloudformation:stack","environment":"aws://111111111111/eu-west-1"}}}`
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	for stack, want := range map[string]string{"ecsr-dev-edge": "us-east-1", "ecsr-dev-stateful": "eu-west-1", "ecsr-dev-stateless": ""} {
		out, err := exec.Command("bash", "-c", `. "$1"; stack_region "$2" "$3"`, "test", lib, dir, stack).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != want {
			t.Errorf("stack_region %s = %q; want %q", stack, got, want)
		}
	}
}

// TestStackStateNamesRunbookSection: the runbook sections scripts/stackstate.sh sends the operator to exist.
func TestStackStateNamesRunbookSection(t *testing.T) {
	lib, err := os.ReadFile("../../../scripts/stackstate.sh")
	if err != nil {
		t.Fatal(err)
	}
	runbook, err := os.ReadFile("../../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile(`docs/runbook\.md, \\?"([^"\\]+)\\?"`).FindAllStringSubmatch(string(lib), -1)
	if len(names) < 3 {
		t.Fatalf("scripts/stackstate.sh names %d runbook sections; want at least 3", len(names))
	}
	for _, m := range names {
		if !regexp.MustCompile(`(?m)^#+ ` + regexp.QuoteMeta(m[1]) + `$`).Match(runbook) {
			t.Errorf("scripts/stackstate.sh sends the operator to docs/runbook.md %q, which has no such section", m[1])
		}
	}
}

// TestDeployChecksStacksFirst: scripts/deploy.sh reads every stack's status (all five, the services' included)
// before it deploys the first one, and again before each deploy.
func TestDeployChecksStacksFirst(t *testing.T) {
	b, err := os.ReadFile("../../../scripts/deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	all := strings.Index(s, `check_stacks "ecsr-$env-stateful" "ecsr-$env-edge" "ecsr-$env-cluster" "${services[@]}"`)
	first := strings.Index(s, `deploy_stacks "ecsr-$env-stateful"`)
	if all < 0 || first < 0 || all > first {
		t.Errorf("scripts/deploy.sh does not check every stack before the first deploy (check at %d, deploy at %d)", all, first)
	}
	if !regexp.MustCompile(`(?s)deploy_stacks\(\) \{\n  check_stacks "\$@"\n`).MatchString(s) {
		t.Error("deploy_stacks does not check its stacks before cdk deploy")
	}
	if !strings.Contains(s, ". scripts/stackstate.sh") {
		t.Error("scripts/deploy.sh does not source scripts/stackstate.sh")
	}
}

// TestDeployStopsBeforeAnyStack runs scripts/deploy.sh in a copy of the repository's layout, with make, the CDK
// CLI and the AWS CLI replaced by doubles: when CloudFormation answers an error or a status a deploy cannot update
// for any stack of the release (the services' stack included), the script fails naming it and never runs
// `cdk deploy`.
func TestDeployStopsBeforeAnyStack(t *testing.T) {
	if _, err := exec.LookPath("jq"); err != nil {
		t.Fatal("jq is not installed; scripts/deploy.sh needs it")
	}
	for _, tc := range []struct {
		name, stateless, err, want string
	}{
		{"failed first creation of the services", "ROLLBACK_COMPLETE", "", "aws cloudformation delete-stack --region eu-west-1 --stack-name ecsr-qa-stateless"},
		{"access denied", "", "An error occurred (AccessDenied) when calling the DescribeStacks operation: denied", "cannot read the status of ecsr-qa-stateful"},
		{"update running", "UPDATE_IN_PROGRESS", "", "ecsr-qa-stateless is UPDATE_IN_PROGRESS"},
		// The control: every stack updatable, so the stateful stacks deploy (the double's migration then never
		// stops, and MIGRATION_TIMEOUT=0 ends the run before the services).
		{"all updatable", "UPDATE_ROLLBACK_COMPLETE", "", "ran longer than 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			bin := filepath.Join(root, "bin")
			cdkLog := filepath.Join(root, "cdk.log")
			files := map[string]string{
				"infra/environments/qa.yaml": "name: qa\n",
				"infra/cdk.out/manifest.json": `{"artifacts":{` +
					`"ecsr-qa-stateful":{"environment":"aws://210987654321/eu-west-1"},` +
					`"ecsr-qa-edge":{"environment":"aws://210987654321/us-east-1"},` +
					`"ecsr-qa-cluster":{"environment":"aws://210987654321/eu-west-1"},` +
					`"ecsr-qa-stateless":{"environment":"aws://210987654321/eu-west-1"}}}`,
				"infra/_cli/node_modules/.bin/cdk": "#!/bin/sh\necho \"$@\" >> " + cdkLog + "\n",
				"bin/make":                         "#!/bin/sh\nexit 0\n",
				// describe-stacks: the stack's status by name, or the error for every stack.
				"bin/aws": "#!/bin/bash\nname=''\nwhile [ $# -gt 0 ]; do [ \"$1\" = --stack-name ] && name=$2; shift; done\n" +
					"if [ -n \"$FAKE_ERR\" ]; then echo \"$FAKE_ERR\" >&2; exit 254; fi\n" +
					"if [ \"$name\" = ecsr-qa-stateless ]; then echo \"$FAKE_STATELESS\"; else echo UPDATE_COMPLETE; fi\n",
			}
			for _, script := range []string{"deploy.sh", "stackstate.sh"} {
				b, err := os.ReadFile("../../../scripts/" + script)
				if err != nil {
					t.Fatal(err)
				}
				files["scripts/"+script] = string(b)
			}
			for name, content := range files {
				p := filepath.Join(root, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
					t.Fatal(err)
				}
			}
			cmd := exec.Command("bash", filepath.Join(root, "scripts/deploy.sh"))
			cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "ENV=qa",
				"IMAGE_DIGEST=sha256:"+strings.Repeat("a", 64), "FAKE_STATELESS="+tc.stateless, "FAKE_ERR="+tc.err, "MIGRATION_TIMEOUT=0")
			out, err := cmd.CombinedOutput()
			if err == nil {
				t.Fatalf("deploy.sh succeeded; want it to stop:\n%s", out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Errorf("deploy.sh output lacks %q:\n%s", tc.want, out)
			}
			ran, _ := os.ReadFile(cdkLog)
			if tc.name == "all updatable" {
				if got := strings.TrimSpace(string(ran)); !strings.HasSuffix(got, "ecsr-qa-stateful ecsr-qa-edge ecsr-qa-cluster") ||
					strings.Count(got, "\n") != 0 {
					t.Errorf("cdk ran %q; want one deploy of the stateful, edge and cluster stacks", got)
				}
			} else if len(ran) > 0 {
				t.Errorf("deploy.sh ran cdk %s after a stack check failed", ran)
			}
		})
	}
}
