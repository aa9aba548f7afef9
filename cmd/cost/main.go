// Command cost prints the monthly cost estimate of one environment from its synthesized templates (package
// cost): `go run ./cmd/cost -env dev [-assembly infra/cdk.out] [-prices docs/pricing/eu-west-1-2026-11.yaml]`,
// or `make cost ENV=dev` after `make synth`.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/cost"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "cost: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("cost", flag.ContinueOnError)
	env := fs.String("env", "dev", "environment name")
	assembly := fs.String("assembly", "infra/cdk.out", "synthesized cloud assembly directory")
	prices := fs.String("prices", "docs/pricing/eu-west-1-2026-11.yaml", "dated price table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	data, err := os.ReadFile(*prices)
	if err != nil {
		return fmt.Errorf("read price table: %w", err)
	}
	p, err := cost.DecodePrices(data)
	if err != nil {
		return err
	}
	templates, err := load(*assembly, *env)
	if err != nil {
		return err
	}
	lines, assumptions := cost.Estimate(templates, p, cost.DefaultAssumptions)
	cost.Print(stdout, *env, lines, assumptions)
	return nil
}

// load reads the templates of the environment's stacks (ecsr-<env>-*.template.json) from the assembly.
func load(dir, env string) (map[string]cost.Template, error) {
	files, err := filepath.Glob(filepath.Join(dir, "ecsr-"+env+"-*.template.json"))
	if err != nil {
		return nil, fmt.Errorf("list templates: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no templates for environment %q in %s (run make synth)", env, dir)
	}
	out := map[string]cost.Template{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read template: %w", err)
		}
		var t cost.Template
		if err := json.Unmarshal(b, &t); err != nil {
			return nil, fmt.Errorf("decode %s: %w", f, err)
		}
		out[strings.TrimSuffix(filepath.Base(f), ".template.json")] = t
	}
	return out, nil
}
