package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// loadManifest reads the shipped services manifest.
func loadManifest(t *testing.T) *manifest.Manifest {
	t.Helper()
	m, err := manifest.Load("../services.yaml")
	if err != nil {
		t.Fatalf("manifest.Load() = %v", err)
	}
	return m
}

// readEnv reads a shipped environment file.
func readEnv(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "environments", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestShippedEnvironmentsDecode(t *testing.T) {
	m := loadManifest(t)
	for _, name := range []string{"dev", "staging", "prod"} {
		t.Run(name, func(t *testing.T) {
			env, err := Decode(name+".yaml", []byte(readEnv(t, name)), m)
			if err != nil {
				t.Fatalf("Decode(%s) = %v", name, err)
			}
			if got := env.StackName("stateful"); got != "ecsr-"+name+"-stateful" {
				t.Errorf("StackName(stateful) = %q; want ecsr-%s-stateful", got, name)
			}
			for _, s := range m.Services {
				if env.Sizing(s.Name).MaxTasks < 1 {
					t.Errorf("Sizing(%s).MaxTasks = %d; want at least 1", s.Name, env.Sizing(s.Name).MaxTasks)
				}
			}
		})
	}
}

func TestProductionFlag(t *testing.T) {
	m := loadManifest(t)
	tests := []struct {
		name string
		want bool
	}{{"dev", false}, {"staging", false}, {"prod", true}}
	for _, tt := range tests {
		env, err := Decode(tt.name+".yaml", []byte(readEnv(t, tt.name)), m)
		if err != nil {
			t.Fatal(err)
		}
		if env.Production != tt.want {
			t.Errorf("%s: Production = %v; want %v", tt.name, env.Production, tt.want)
		}
	}
}

// edit replaces old by new in src once, failing the test when old is not there.
func edit(t *testing.T, src, old, new string) string {
	t.Helper()
	if !strings.Contains(src, old) {
		t.Fatalf("test edit: %q not found", old)
	}
	return strings.Replace(src, old, new, 1)
}
