package main

import (
	"bytes"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/preflight"
)

func testdata(name string) string {
	return filepath.Join("..", "..", "internal", "tools", "preflight", "testdata", "d4", name)
}

// TestRunFailsOnFindings runs the command on the RDS Proxy toggle: with the deployed assembly as the baseline
// it must fail and print the finding's rule, stack, logical ID, message and source.
func TestRunFailsOnFindings(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-env", "staging", "-assembly", testdata("proxy-on"), "-baseline", testdata("proxy-off"),
		"-spec", filepath.Join("..", "..", preflight.SpecPackage), "-manifest", filepath.Join("..", "..", "infra", "services.yaml"),
		"-env-file", filepath.Join("..", "..", "infra", "environments", "staging.yaml")}, &out)
	if !errors.Is(err, errFindings) {
		t.Fatalf("run = %v; want the findings error\n%s", err, out.String())
	}
	for _, want := range []string{
		"FAIL [imported-export] ecsr-staging-stateful ExportsOutputFnGetAttDatabaseInstanceAA8A5FDEDbiResourceId3CEFC695",
		"imported by deployed stack ecsr-staging-stateless",
		"source: https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestRunPassesWithoutFindings checks the trimmed assembly on its own: no rule applies to what is left of it.
func TestRunPassesWithoutFindings(t *testing.T) {
	var out bytes.Buffer
	err := run([]string{"-env", "staging", "-assembly", testdata("proxy-off"),
		"-manifest", filepath.Join("..", "..", "infra", "services.yaml"),
		"-env-file", filepath.Join("..", "..", "infra", "environments", "staging.yaml")}, &out)
	if err != nil {
		t.Fatalf("run = %v; want no findings\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "preflight staging: 0 finding(s)") {
		t.Errorf("output lacks the summary:\n%s", out.String())
	}
}

// TestRunNamesPlaceholderKeys runs deploy mode with the shipped prod file: its example values fail the run by
// file, line and key (the account included) before any stack is deployed; without -deploy they are notices.
func TestRunNamesPlaceholderKeys(t *testing.T) {
	prod := filepath.Join("..", "..", "infra", "environments", "prod.yaml")
	args := []string{"-env", "staging", "-assembly", testdata("proxy-off"),
		"-manifest", filepath.Join("..", "..", "infra", "services.yaml"), "-env-file", prod}
	var out bytes.Buffer
	if err := run(append(args, "-deploy"), &out); !errors.Is(err, errFindings) {
		t.Fatalf("run -deploy = %v; want the findings error\n%s", err, out.String())
	}
	for _, want := range []string{
		"FAIL [placeholders] " + prod + "  (" + prod + ":",
		" account)\n  account: example account ID 333333333333",
		" domain.hosted_zone_id)\n  domain.hosted_zone_id: example hosted zone ID Z0123456789EXAMPLE",
		" image.account)\n  image.account: example account ID 444444444444",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	if err := run(args, &out); err != nil || !strings.Contains(out.String(), "NOTE [placeholders] "+prod) {
		t.Errorf("run without -deploy = %v; want the placeholders as notices:\n%s", err, out.String())
	}
}

func TestRunErrors(t *testing.T) {
	for _, args := range [][]string{
		{}, // no -env
		{"-env", "dev", "-assembly", t.TempDir()}, // no assembly there
		{"-env", "nowhere", "-assembly", testdata("proxy-off"), "-manifest", filepath.Join("..", "..", "infra", "services.yaml")},
	} {
		if err := run(args, &bytes.Buffer{}); err == nil || errors.Is(err, errFindings) {
			t.Errorf("run(%q) = %v; want a usage or input error", args, err)
		}
	}
}
