package stacks

import (
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestCdkNagAwsSolutions reads the cdk-nag AwsSolutions findings of every stack of every environment: an error or
// warning annotation naming an AwsSolutions rule (or a rule cdk-nag could not evaluate) is a finding nobody
// suppressed with a reason, and fails the test.
func TestCdkNagAwsSolutions(t *testing.T) {
	forEachEnvironment(t, checkNag)
	t.Run("cicd", func(t *testing.T) { checkNag(t, synthCICD(t)) })
}

// checkNag fails on every unsuppressed cdk-nag finding of s's stacks.
func checkNag(t *testing.T, s *synthesized) {
	t.Helper()
	if len(s.templates) == 0 {
		t.Fatal("no stacks synthesized")
	}
	for _, name := range s.stackNames() {
		var findings []string
		for _, m := range s.messages[name] {
			if m.Level != "aws:cdk:error" && m.Level != "aws:cdk:warning" {
				continue
			}
			if !nagFinding.MatchString(m.Text) {
				continue
			}
			findings = append(findings, m.Level+" "+m.Path+": "+firstLine(m.Text))
		}
		sort.Strings(findings)
		if len(findings) > 0 {
			t.Errorf("%s has %d unsuppressed error/warning annotations:\n%s", name, len(findings), strings.Join(findings, "\n"))
		}
	}
}

// nagFinding matches the annotations cdk-nag's AwsSolutions pack writes, including rules it failed to evaluate.
var nagFinding = regexp.MustCompile(`AwsSolutions-[A-Za-z0-9]+|CdkNagValidationFailure`)

// TestNoSynthesisWarnings fails on any other warning or error CDK attaches to a construct: each one says a
// setting did not do what its author meant (an egress rule ignored, a default about to change).
func TestNoSynthesisWarnings(t *testing.T) {
	check := func(t *testing.T, s *synthesized) {
		for _, name := range s.stackNames() {
			for _, m := range s.messages[name] {
				if (m.Level == "aws:cdk:error" || m.Level == "aws:cdk:warning") && !nagFinding.MatchString(m.Text) {
					t.Errorf("%s %s: %s", m.Level, m.Path, firstLine(m.Text))
				}
			}
		}
	}
	forEachEnvironment(t, check)
	t.Run("cicd", func(t *testing.T) { check(t, synthCICD(t)) })
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
