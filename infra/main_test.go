package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// TestRunSynthesizesEveryEnvironment runs the app as `make synth` does and checks the cloud assembly holds the
// stacks of every environment file.
func TestRunSynthesizesEveryEnvironment(t *testing.T) {
	out := t.TempDir()
	var stdout bytes.Buffer
	getenv := func(k string) string {
		if k == "CDK_OUTDIR" {
			return out
		}
		return ""
	}
	if err := run(getenv, &stdout); err != nil {
		t.Fatalf("run() = %v", err)
	}
	if !strings.Contains(stdout.String(), "synthesized 3 environment(s)") {
		t.Errorf("run() printed %q; want the number of environments", stdout.String())
	}
	b, err := os.ReadFile(filepath.Join(out, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var asm struct {
		Artifacts map[string]struct {
			Type string `json:"type"`
		} `json:"artifacts"`
	}
	if err := json.Unmarshal(b, &asm); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("environments/*.yaml")
	for _, f := range files {
		env := strings.TrimSuffix(filepath.Base(f), ".yaml")
		for _, part := range []string{"stateful", "cluster", "stateless", "edge"} {
			id := "ecsr-" + env + "-" + part
			if asm.Artifacts[id].Type != "aws:cloudformation:stack" {
				t.Errorf("cloud assembly has no stack %s", id)
			}
		}
		if id := "ecsr-cicd-" + env; asm.Artifacts[id].Type != "aws:cloudformation:stack" {
			t.Errorf("cloud assembly has no stack %s (the environment account's pipeline stack, from cicd.yaml)", id)
		}
	}
	if asm.Artifacts["ecsr-cicd-images"].Type != "aws:cloudformation:stack" {
		t.Error("cloud assembly has no stack ecsr-cicd-images (the images account's, from cicd.yaml)")
	}
}

// TestLoadEnvironmentsReportsEveryFile shows that the problems of every environment file come back at once,
// each naming its file.
func TestLoadEnvironmentsReportsEveryFile(t *testing.T) {
	m, err := manifest.Load("services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	dev, err := os.ReadFile("environments/dev.yaml")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("dev.yaml", strings.Replace(string(dev), "az_count: 2", "az_count: 7", 1))
	write("qa.yaml", strings.Replace(string(dev), "name: dev", "name: qa\ncolour: blue", 1))
	_, err = loadEnvironments(dir, m)
	if err == nil {
		t.Fatal("loadEnvironments() = nil error; want the problems of both files")
	}
	for _, want := range []string{"dev.yaml: network.az_count", "qa.yaml: colour: unknown key"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("loadEnvironments() error = %q; want it to mention %q", err, want)
		}
	}
	if _, err := loadEnvironments(t.TempDir(), m); err == nil {
		t.Error("loadEnvironments(empty dir) = nil error; want one")
	}
}
