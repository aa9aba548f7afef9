package main

import (
	"fmt"
	"os"

	"go.yaml.in/yaml/v3"
)

// production reads whether an environment is a production one: the `production` key of its file (validated by
// infra/config). The production release rule applies then.
func production(file string) (bool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return false, fmt.Errorf("read the environment file: %w", err)
	}
	var e struct {
		Production bool `yaml:"production"`
	}
	if err := yaml.Unmarshal(data, &e); err != nil {
		return false, fmt.Errorf("%s: %w", file, err)
	}
	return e.Production, nil
}
