package workflowcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
)

// stepLine is a step of scripts/deploy.sh: `step <name> "<what>"` at the start of a line.
var stepLine = regexp.MustCompile(`(?m)^step ([a-z-]+) "`)

// DeploySteps returns the names of the steps scripts/deploy.sh runs, in order.
func DeploySteps(script string) []string {
	var out []string
	for _, m := range stepLine.FindAllStringSubmatch(script, -1) {
		out = append(out, m[1])
	}
	return out
}

// runbookStep is an item of the runbook's numbered step list: `1. **<name>**: ...`.
var runbookStep = regexp.MustCompile(`(?m)^\d+\. \*\*([a-z-]+)\*\*`)

// RunbookSteps returns the step names of the runbook section whose heading is heading (up to the next heading of
// the same or a higher level), in order, or an error when the section is missing.
func RunbookSteps(markdown, heading string) ([]string, error) {
	start := strings.Index(markdown, "\n"+heading+"\n")
	if start < 0 {
		return nil, fmt.Errorf("no section %q", heading)
	}
	level := heading[:strings.Index(heading, " ")+1] // "### "
	body := markdown[start+len(heading)+2:]
	for _, h := range []string{"\n# ", "\n## ", "\n### "} {
		if len(h)-1 > len(level) {
			continue
		}
		if end := strings.Index(body, h); end >= 0 {
			body = body[:end]
		}
	}
	var out []string
	for _, m := range runbookStep.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1])
	}
	return out, nil
}

// cdkDeploy matches a CDK deploy command (the CLI binary or cdk itself followed by deploy).
var cdkDeploy = regexp.MustCompile(`\bcdk\s+deploy\b`)

// DeployOutsideScript lists the workflow files under dir that run `cdk deploy` themselves: every deploy goes
// through scripts/deploy.sh, so the order (stateful, migration, services) cannot drift between the pipeline and
// the runbook.
func DeployOutsideScript(dir string) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.y*ml"))
	if err != nil {
		return nil, fmt.Errorf("list workflows: %w", err)
	}
	var out []string
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read workflow: %w", err)
		}
		if cdkDeploy.Match(b) {
			out = append(out, filepath.Base(f))
		}
	}
	return out, nil
}
