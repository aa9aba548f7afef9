package workflowcheck

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

const workflows = "../../../.github/workflows"

func TestWorkflowsPassActionlint(t *testing.T) {
	var out bytes.Buffer
	errs, err := Lint(workflows, &out)
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) > 0 {
		t.Errorf("actionlint found %d problem(s):\n%s", len(errs), out.String())
	}
}

// TestLintCatchesMistakes proves the linter runs: a workflow with an undefined context and a missing job
// dependency must fail.
func TestLintCatchesMistakes(t *testing.T) {
	dir := t.TempDir()
	bad := "on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    needs: [missing]\n    steps:\n      - run: echo ${{ nope.value }}\n"
	if err := os.WriteFile(filepath.Join(dir, "bad.yml"), []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	errs, err := Lint(dir, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if len(errs) < 2 {
		t.Errorf("Lint(bad workflow) = %d errors; want at least 2 (undefined context, unknown job)", len(errs))
	}
}

var usesLine = regexp.MustCompile(`uses:\s*([^\s#]+)`)

// TestActionsPinnedBySHA requires every third-party action to be pinned by a full commit SHA (a tag can be
// moved to other code); local reusable workflows (./...) are exempt.
func TestActionsPinnedBySHA(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflows, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	pinned := regexp.MustCompile(`^[\w.-]+/[\w./-]+@[0-9a-f]{40}$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range usesLine.FindAllStringSubmatch(string(b), -1) {
			if strings.HasPrefix(m[1], "./") {
				continue
			}
			if !pinned.MatchString(m[1]) {
				t.Errorf("%s: %s is not pinned by a full commit SHA", filepath.Base(f), m[1])
			}
		}
	}
}

// TestIDTokenOnlyWhereNeeded keeps OIDC tokens out of workflows and jobs that never call AWS: the workflow-level
// permissions are read-only, and only jobs that assume a role ask for id-token: write.
func TestIDTokenOnlyWhereNeeded(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflows, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		top, _, _ := strings.Cut(string(b), "\njobs:")
		if strings.Contains(top, "id-token: write") {
			t.Errorf("%s grants id-token: write to every job", filepath.Base(f))
		}
		if !strings.Contains(top, "permissions:\n  contents: read") {
			t.Errorf("%s does not default to read-only contents permissions", filepath.Base(f))
		}
	}
}

// TestDeployOrderMatchesRunbook keeps three things in one order: the steps scripts/deploy.sh runs, the runbook's
// "Deploy steps" list, and the workflows, which deploy only by running that script.
func TestDeployOrderMatchesRunbook(t *testing.T) {
	script, err := os.ReadFile("../../../scripts/deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	runbook, err := os.ReadFile("../../../docs/runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	steps := DeploySteps(string(script))
	// The order D1 requires: preflight before anything is deployed, the migration between the stack that holds it
	// and the services; then the release is followed to its end (bake time included) before it counts as deployed.
	if want := "preflight stateful migrate services release keep"; strings.Join(steps, " ") != want {
		t.Errorf("scripts/deploy.sh steps = %v; want %s", steps, want)
	}
	doc, err := RunbookSteps(string(runbook), "### Deploy steps")
	if err != nil {
		t.Fatalf("docs/runbook.md: %v", err)
	}
	if strings.Join(doc, " ") != strings.Join(steps, " ") {
		t.Errorf("docs/runbook.md deploy steps = %v; scripts/deploy.sh runs %v", doc, steps)
	}
	bad, err := DeployOutsideScript(workflows)
	if err != nil {
		t.Fatal(err)
	}
	if len(bad) > 0 {
		t.Errorf("%v run cdk deploy themselves; deploy through scripts/deploy.sh", bad)
	}
	deploy, err := os.ReadFile(filepath.Join(workflows, "deploy.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(deploy), "run: bash scripts/deploy.sh") {
		t.Error("deploy.yml does not run scripts/deploy.sh")
	}
	// The migration's default deadline, as the runbook states it.
	m := regexp.MustCompile(`MIGRATION_TIMEOUT:-([0-9]+)`).FindStringSubmatch(string(script))
	if m == nil || !strings.Contains(string(runbook), "`MIGRATION_TIMEOUT` seconds (default "+m[1]+";") {
		t.Errorf("docs/runbook.md does not state the migration deadline's default of scripts/deploy.sh (%v)", m)
	}
}

// TestDeployOrderChecksCatchDrift feeds the parsers a runbook and a workflow that disagree with the script.
func TestDeployOrderChecksCatchDrift(t *testing.T) {
	if got := DeploySteps("x\nstep a \"one\"\n  step b \"indented: not a step\"\nstep c \"three\"\n"); strings.Join(got, " ") != "a c" {
		t.Errorf("DeploySteps = %v; want [a c]", got)
	}
	md := "# R\n## First\n### Deploy steps\n1. **stateful**: x\n2. **services**: y\n3. **migrate**: z\n### Next\n1. **other**: w\n"
	got, err := RunbookSteps(md, "### Deploy steps")
	if err != nil || strings.Join(got, " ") != "stateful services migrate" {
		t.Errorf("RunbookSteps = %v, %v; want [stateful services migrate]", got, err)
	}
	if _, err := RunbookSteps(md, "### Missing"); err == nil {
		t.Error("RunbookSteps of a missing section gave no error")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "old.yml"), []byte("run: cd infra && _cli/node_modules/.bin/cdk deploy 'ecsr-dev-*'\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if bad, err := DeployOutsideScript(dir); err != nil || len(bad) != 1 {
		t.Errorf("DeployOutsideScript = %v, %v; want the old workflow", bad, err)
	}
}

// TestImageJobReusesPushedTag: a re-run of the image job for a commit whose tag is already in the (immutable-tag)
// repository takes that image's digest instead of pushing the tag again, which ECR refuses.
func TestImageJobReusesPushedTag(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(workflows, "deliver.yml"))
	if err != nil {
		t.Fatal(err)
	}
	s := string(b)
	lookup := strings.Index(s, "aws ecr describe-images")
	build := strings.Index(s, "uses: docker/build-push-action")
	if lookup < 0 || build < 0 || lookup > build {
		t.Fatalf("deliver.yml does not look the commit's tag up before it builds (lookup at %d, build at %d)", lookup, build)
	}
	for _, want := range []string{
		`--image-ids "imageTag=${GITHUB_SHA}"`,
		"*ImageNotFoundException*",
		"- id: build\n        if: steps.existing.outputs.digest == ''",
		"digest: ${{ steps.existing.outputs.digest || steps.build.outputs.digest }}",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("deliver.yml lacks %q", want)
		}
	}
}

// TestMigrationRunsTheStacksRevision: the migration runs the task definition revision CloudFormation created in
// the cluster stack (already pointing at the release's image); nothing registers revisions outside
// CloudFormation, which would stay ACTIVE in the stack's family forever (CloudFormation deregisters only the
// revisions it created).
func TestMigrationRunsTheStacksRevision(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(workflows, "*.yml"))
	if err != nil {
		t.Fatal(err)
	}
	scripts, err := filepath.Glob("../../../scripts/*.sh")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(files, scripts...) {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "register-task-definition") {
			t.Errorf("%s registers a task definition revision outside CloudFormation", filepath.Base(f))
		}
	}
	script, err := os.ReadFile("../../../scripts/deploy.sh")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(script), `taskdef=$(out MigrationTaskDefinitionArn)`) ||
		!strings.Contains(string(script), `--task-definition "$taskdef"`) {
		t.Error("scripts/deploy.sh does not run the cluster stack's MigrationTaskDefinitionArn")
	}
}
