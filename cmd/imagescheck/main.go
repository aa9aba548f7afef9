// Command imagescheck verifies the service image without a container engine (package imagecheck): it
// cross-compiles the image's one binary (cmd/ecsr) for linux/amd64 and linux/arm64, checks it is static and
// starts every command of the manifest,
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
		Root: ".", Dir: dir, Binary: imagecheck.Binary, Commands: imagecheck.Commands(m), CABundle: "certs/rds-global-bundle.pem",
	}, runtime.GOARCH, stdout)
}
