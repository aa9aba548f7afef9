// Package docs_test keeps the prose of docs/ true to the code: every path, make target and lint rule a page
// names must exist.
package docs_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestArchitectureNamesExist: each repository path, `make` target and depguard rule that docs/architecture.md
// names in backquotes exists, so a move or a rename that forgets the page fails here.
func TestArchitectureNamesExist(t *testing.T) {
	page, err := os.ReadFile("architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	makefile, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	lint, err := os.ReadFile("../.golangci.yml")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(string(page), -1) {
		name := m[1]
		switch {
		case strings.HasPrefix(name, "make "):
			target := strings.Fields(name)[1]
			if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(target) + `:`).Match(makefile) {
				t.Errorf("docs/architecture.md names `%s`; the Makefile has no target %s", name, target)
			}
		case strings.HasSuffix(name, "-free"):
			if !strings.Contains(string(lint), "\n        "+name+":") {
				t.Errorf("docs/architecture.md names the depguard rule %s; .golangci.yml has none", name)
			}
		case regexp.MustCompile(`^(cmd|internal|infra|docs|test|migrations|web)/[\w./<>-]*$|^\.golangci\.yml$`).MatchString(name):
			path := strings.Split(name, "<")[0] // infra/environments/<name>.yaml: its folder
			if _, err := os.Stat(filepath.Join("..", path)); err != nil {
				t.Errorf("docs/architecture.md names %s, which does not exist", name)
			}
		case regexp.MustCompile(`^[a-z]+$`).MatchString(name) && strings.Contains(string(page), "`"+name+"`,"):
			// A package named in a list of internal/ or internal/platform packages.
			if !exists("../internal/"+name) && !exists("../internal/platform/"+name) && !exists("../infra/construct/"+name) &&
				!exists("../internal/tools/"+name) && !exists("../internal/testing/"+name) {
				t.Errorf("docs/architecture.md names package %s, found in none of internal/, internal/platform/, infra/construct/", name)
			}
		default:
			continue
		}
		checked++
	}
	if checked < 30 {
		t.Errorf("checked %d names; the page names more: is the pattern still matching?", checked)
	}
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// singleQuotedVar is a shell variable of the docs' commands inside single quotes, where the shell never expands
// it: `cdk deploy 'ecsr-$ENV-stateless'` names a stack called literally ecsr-$ENV-stateless.
var singleQuotedVar = regexp.MustCompile(`'[^'\n]*\$\{?(ENV|REGION|AWS_REGION|AWS_PROFILE)\b[^'\n]*'`)

// TestCommandsExpandVariables: no page quotes $ENV (or the other variables the commands use) in single quotes,
// and the runbook, written for any environment, hard-codes none of dev's stack names.
func TestCommandsExpandVariables(t *testing.T) {
	if !singleQuotedVar.MatchString(`cdk deploy -c image_digest=sha256:x 'ecsr-$ENV-stateless'`) {
		t.Fatal("the pattern misses a single-quoted 'ecsr-$ENV-...'")
	}
	if singleQuotedVar.MatchString(`cdk deploy "ecsr-$ENV-stateless" --query 'Stacks[0].Outputs'`) {
		t.Fatal("the pattern flags a double-quoted variable")
	}
	pages, err := filepath.Glob("*.md")
	if err != nil {
		t.Fatal(err)
	}
	adrs, err := filepath.Glob("adr/*.md")
	if err != nil {
		t.Fatal(err)
	}
	pages = append(pages, adrs...)
	pages = append(pages, "../README.md")
	for _, p := range pages {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			if m := singleQuotedVar.FindString(line); m != "" {
				t.Errorf("%s:%d: %s: the shell does not expand variables in single quotes; use double quotes", p, i+1, m)
			}
		}
	}
	runbook, err := os.ReadFile("runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`ecsr-dev-[a-z*]+`).Find(runbook); m != nil {
		t.Errorf("docs/runbook.md names %s; its commands use ecsr-$ENV-...", m)
	}
}
