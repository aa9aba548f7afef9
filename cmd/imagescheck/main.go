// Command imagescheck verifies the service image without a container engine (package imagecheck): it
// cross-compiles every command for linux/amd64 and linux/arm64, checks the binaries are static and start,
// measures the image raw and compressed (the 25 MB budget applies to the compressed, pushed size) and lints the
// Dockerfile. Run it from the repository root:
// `go run ./cmd/imagescheck` (`make images-check`).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/imagecheck"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "imagescheck: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, stdout io.Writer) error {
	m, err := manifest.Load("infra/services.yaml")
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "imagescheck-")
	if err != nil {
		return fmt.Errorf("create build directory: %w", err)
	}
	defer os.RemoveAll(dir)
	return imagecheck.Check(ctx, imagecheck.Options{
		Root: ".", Dir: dir, Commands: imagecheck.Commands(m), CABundle: "certs/rds-global-bundle.pem",
	}, runtime.GOARCH, stdout)
}
