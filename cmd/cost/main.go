// Command cost prints the monthly cost estimate of one environment from its synthesized templates (package
// cost): `go run ./cmd/cost -env dev [-assembly infra/cdk.out] [-prices docs/pricing/eu-west-1-2026-11.yaml]`,
// or `make cost ENV=dev` after `make synth`.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/cloudassembly"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/cost"
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

// load reads the templates of the environment's stacks (ecsr-<env>-*) from the assembly.
func load(dir, env string) (map[string]cost.Template, error) {
	asm, err := cloudassembly.Load(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]cost.Template{}
	for _, name := range asm.Environment(env) {
		out[name] = asm.Stacks[name].Template
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no templates for environment %q in %s (run make synth)", env, dir)
	}
	return out, nil
}
