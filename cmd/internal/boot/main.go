package boot

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// Main runs a command as a process does and returns its exit code: run until SIGTERM or SIGINT, its error
// printed to stderr under the command's name. It is the body of every command's Main (apicmd, workercmd,
// migratecmd), so that they stop and fail the same way.
func Main(name string, run func(ctx context.Context) error) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}
