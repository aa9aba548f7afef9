// Package workflowcheck lints the GitHub Actions workflows of the repository with actionlint, used as a
// library so `make test` needs no separate binary. shellcheck and pyflakes run only where they are installed;
// actionlint's own checks (expressions, contexts, permissions, job dependencies, action inputs) always run.
package workflowcheck

import (
	"fmt"
	"io"
	"os/exec"
	"path/filepath"

	"github.com/rhysd/actionlint"
)

// Lint lints every workflow file under dir (.github/workflows) and returns the errors actionlint reports.
func Lint(dir string, w io.Writer) ([]*actionlint.Error, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yml"))
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	more, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	files = append(files, more...)
	if len(files) == 0 {
		return nil, fmt.Errorf("no workflows in %s", dir)
	}
	opts := &actionlint.LinterOptions{}
	if p, err := exec.LookPath("shellcheck"); err == nil {
		opts.Shellcheck = p
	}
	l, err := actionlint.NewLinter(w, opts)
	if err != nil {
		return nil, fmt.Errorf("create linter: %w", err)
	}
	errs, err := l.LintFiles(files, nil)
	if err != nil {
		return nil, fmt.Errorf("lint workflows: %w", err)
	}
	return errs, nil
}
