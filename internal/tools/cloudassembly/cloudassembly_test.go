package cloudassembly

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadCloudAssembly(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "manifest.json", `{"artifacts":{
		"ecsr-staging-stateful":{"type":"aws:cloudformation:stack","environment":"aws://unknown-account/eu-west-1",
			"properties":{"templateFile":"stateful.json"}},
		"ecsr-staging-stateless":{"type":"aws:cloudformation:stack","environment":"aws://unknown-account/eu-west-1",
			"properties":{"templateFile":"stateless.json"},"dependencies":["ecsr-staging-stateful","ecsr-staging-stateless.assets"]},
		"ecsr-staging-stateless.assets":{"type":"cdk:asset-manifest"}}}`)
	write(t, dir, "stateful.json", `{"Resources":{}}`)
	write(t, dir, "stateless.json", `{"Resources":{}}`)
	asm, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"ecsr-staging-stateful", "ecsr-staging-stateless"}, asm.Environment("staging")); diff != "" {
		t.Errorf("Environment(staging) (-want +got):\n%s", diff)
	}
	s := asm.Stacks["ecsr-staging-stateless"]
	if s.Region != "eu-west-1" || s.Account != "unknown-account" {
		t.Errorf("stateless environment = %s/%s; want unknown-account/eu-west-1", s.Account, s.Region)
	}
	if !asm.DependsOn("ecsr-staging-stateless", "ecsr-staging-stateful") || asm.DependsOn("ecsr-staging-stateful", "ecsr-staging-stateless") {
		t.Error("DependsOn does not follow the manifest's dependencies")
	}
	if got := len(asm.Environment("prod")); got != 0 {
		t.Errorf("Environment(prod) has %d stacks; want none", got)
	}
}

// TestLoadTemplatesAndPaths reads a directory of templates (what the pipeline fills from get-template), and a
// cloud assembly whose construct paths come from the manifest's metadata file or the template's metadata.
func TestLoadTemplatesAndPaths(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ecsr-dev-app.template.json", `{"Resources":{"Q":{"Type":"AWS::SQS::Queue"}}}`)
	asm, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s := asm.Stacks["ecsr-dev-app"]; s == nil || s.Template.Resources["Q"].Type != "AWS::SQS::Queue" {
		t.Fatalf("stacks = %v; want ecsr-dev-app with queue Q", asm.StackNames())
	}

	dir = t.TempDir()
	write(t, dir, "manifest.json", `{"artifacts":{
		"ecsr-dev-app":{"type":"aws:cloudformation:stack","environment":"aws://210987654321/eu-west-1",
			"properties":{"templateFile":"app.json","stackName":"ecsr-dev-app"},"additionalMetadataFile":"app.metadata.json",
			"dependencies":["ecsr-dev-app.assets"]},
		"ecsr-dev-app.assets":{"type":"cdk:asset-manifest"}}}`)
	write(t, dir, "app.json", `{"Resources":{"Q":{"Type":"AWS::SQS::Queue"},
		"T":{"Type":"AWS::SNS::Topic","Metadata":{"aws:cdk:path":"ecsr-dev-app/Topic/Resource"}}}}`)
	write(t, dir, "app.metadata.json", `{"/ecsr-dev-app/Queue/Resource":[{"type":"aws:cdk:logicalId","data":"Q"}]}`)
	asm, err = Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := asm.Stacks["ecsr-dev-app"]
	if got := s.Path("Q"); got != "/ecsr-dev-app/Queue/Resource" {
		t.Errorf("Path(Q) = %q; want the manifest metadata's path", got)
	}
	if got := s.Path("T"); got != "ecsr-dev-app/Topic/Resource" {
		t.Errorf("Path(T) = %q; want the template's aws:cdk:path", got)
	}
	if len(s.DependsOn) != 0 {
		t.Errorf("DependsOn = %v; asset manifests are not stacks", s.DependsOn)
	}
}

func TestLoadErrors(t *testing.T) {
	if _, err := Load(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no manifest.json") {
		t.Errorf("Load(empty dir) = %v; want an error saying what it looked for", err)
	}
	dir := t.TempDir()
	write(t, dir, "ecsr-dev-app.template.json", `{"Resources":`)
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "ecsr-dev-app.template.json") {
		t.Errorf("Load(bad template) = %v; want an error naming the file", err)
	}
	asm := &Assembly{Stacks: map[string]*Stack{"ecsr-dev-app": {Name: "ecsr-dev-app"}}}
	if _, err := Merge(asm, asm); err == nil {
		t.Error("Merge of two assemblies with the same stack: no error")
	}
}

func write(t *testing.T, dir, name, content string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
