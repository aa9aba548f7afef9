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

// TestRunbookDisasterRecovery keeps the recovery procedure working with IAM database authentication: it copies
// data back into the managed instance and never renames a restored instance into its place (a new DbiResourceId,
// which every rds-db:connect permission names), and the stack outputs it names exist.
func TestRunbookDisasterRecovery(t *testing.T) {
	b, err := os.ReadFile("runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	runbook := string(b)
	start := strings.Index(runbook, "\n## Disaster recovery from snapshots\n")
	if start < 0 {
		t.Fatal("docs/runbook.md has no section Disaster recovery from snapshots")
	}
	section := runbook[start+1:]
	if end := strings.Index(section[3:], "\n## "); end >= 0 {
		section = section[:end+3]
	}
	if strings.Contains(section, "--new-db-instance-identifier") {
		t.Error("the recovery renames an instance: a restored instance has a new DbiResourceId, which the services' rds-db:connect permissions do not name")
	}
	for _, want := range []string{"DbiResourceId", "pg_restore", "--vpc-security-group-ids", "--db-subnet-group-name"} {
		if !strings.Contains(section, want) {
			t.Errorf("the recovery section does not mention %s", want)
		}
	}
	migration, err := os.ReadFile("../infra/construct/migration/migration.go")
	if err != nil {
		t.Fatal(err)
	}
	names := regexp.MustCompile("`(Migration[A-Z][A-Za-z]+)`").FindAllStringSubmatch(runbook, -1)
	if len(names) < 3 {
		t.Fatalf("docs/runbook.md names %d migration outputs; want the ones the recovery and deploy steps use", len(names))
	}
	for _, m := range names {
		if !strings.Contains(string(migration), `out("`+m[1]+`"`) {
			t.Errorf("docs/runbook.md names the output %s; infra/construct/migration declares no such output", m[1])
		}
	}
	if !strings.Contains(runbook, "`ecsr-$ENV-restored`") {
		t.Error("the recovery section does not name the side instance")
	}
}

// TestBootstrapKeepsServiceLinkedRole: the runbook's bootstrap commands pass no --trust (which makes the CDK CLI
// demand explicit execution policies instead of its AdministratorAccess default), and the runbook says what any
// narrower execution policy must keep: iam:CreateServiceLinkedRole for CloudFront's VPC origin role, which the
// first VPC origin of an account creates.
func TestBootstrapKeepsServiceLinkedRole(t *testing.T) {
	b, err := os.ReadFile("runbook.md")
	if err != nil {
		t.Fatal(err)
	}
	runbook := string(b)
	bootstraps := regexp.MustCompile(`(?m)^.*\bcdk bootstrap\b.*$`).FindAllString(runbook, -1)
	if len(bootstraps) < 2 {
		t.Fatalf("docs/runbook.md has %d bootstrap commands; want the environment and images accounts'", len(bootstraps))
	}
	for _, want := range []string{"iam:CreateServiceLinkedRole", "vpcorigin.cloudfront.amazonaws.com", "AWSServiceRoleForCloudFrontVPCOrigin"} {
		if !strings.Contains(runbook, want) {
			t.Errorf("docs/runbook.md does not say the execution role needs %s", want)
		}
	}
	for _, line := range bootstraps {
		if strings.Contains(line, "--trust") {
			t.Errorf("%q: with --trust the CDK CLI requires explicit execution policies; see the runbook's note", line)
		}
	}
}
