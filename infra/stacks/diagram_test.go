package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/diagram"
)

// TestArchitectureDiagramIsCurrent draws the diagram from a fresh synthesis of the dev environment and compares
// it with the committed docs/architecture.dot.
func TestArchitectureDiagramIsCurrent(t *testing.T) {
	s := synth(t, "dev")
	var stacks []diagram.Stack
	for _, name := range s.stackNames() {
		b, err := json.Marshal(s.templates[name].raw)
		if err != nil {
			t.Fatal(err)
		}
		st := diagram.Stack{Name: name}
		if err := json.Unmarshal(b, &st.Template); err != nil {
			t.Fatal(err)
		}
		env := s.artifacts[name].Environment
		st.Region = env[strings.LastIndex(env, "/")+1:]
		stacks = append(stacks, st)
	}
	got := diagram.DOT(stacks)
	want, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.dot"))
	if err != nil {
		t.Fatalf("%v: run `make diagram`", err)
	}
	if got != string(want) {
		t.Errorf("docs/architecture.dot is stale: run `make diagram` and commit docs/architecture.dot and .svg\n%s", lineDiff(string(want), got))
	}
}

// lineDiff lists the lines only in want (-) and only in got (+).
func lineDiff(want, got string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	w, g := in(want), in(got)
	var b strings.Builder
	for _, l := range strings.Split(want, "\n") {
		if !g[l] {
			b.WriteString("- " + l + "\n")
		}
	}
	for _, l := range strings.Split(got, "\n") {
		if !w[l] {
			b.WriteString("+ " + l + "\n")
		}
	}
	return b.String()
}
