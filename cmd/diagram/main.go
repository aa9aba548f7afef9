// Command diagram writes the architecture diagram of an environment (package diagram) from its synthesized
// templates: <out>.dot, and <out>.svg rendered by Graphviz's dot. Run it from the repository root after
// `make synth`: `go run ./cmd/diagram -env dev -assembly infra/cdk.out -out docs/architecture` (`make diagram`).
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"syscall"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/diagram"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "diagram: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("diagram", flag.ContinueOnError)
	env := fs.String("env", "dev", "environment whose stacks to draw")
	assembly := fs.String("assembly", "infra/cdk.out", "cloud assembly directory (make synth)")
	out := fs.String("out", "docs/architecture", "output path without extension: writes .dot and .svg")
	if err := fs.Parse(args); err != nil {
		return err
	}
	stacks, err := diagram.LoadAssembly(*assembly, *env)
	if err != nil {
		return err
	}
	dot := diagram.DOT(stacks)
	if err := os.WriteFile(*out+".dot", []byte(dot), 0o644); err != nil {
		return fmt.Errorf("write diagram: %w", err)
	}
	cmd := exec.CommandContext(ctx, "dot", "-Tsvg", "-o", *out+".svg")
	cmd.Stdin = bytes.NewReader([]byte(dot))
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("render with graphviz dot (apt-get install graphviz): %w\n%s", err, b)
	}
	fmt.Fprintf(stdout, "wrote %s.dot and %s.svg\n", *out, *out)
	return nil
}
