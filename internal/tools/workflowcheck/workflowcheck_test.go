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
