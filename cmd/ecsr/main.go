// Command ecsr is the image's one binary: every service and the migration task run from it, named by the first
// argument, so the image's size does not grow with the number of services.
//
// Usage:
//
//	ecsr api [-healthcheck]                       the orders API (cmd/internal/apicmd)
//	ecsr worker [-healthcheck]                    the fulfillment worker (cmd/internal/workercmd)
//	ecsr migrate [up | status | down-to VERSION]  the database migrations (cmd/internal/migratecmd)
//
// ECS task definitions run `/app/ecsr <command>`, the command of the service in infra/services.yaml, and their
// container health check `/app/ecsr <command> -healthcheck`.
package main

import (
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/apicmd"
	"github.com/ecs-reworked/ecs-reworked/cmd/internal/migratecmd"
	"github.com/ecs-reworked/ecs-reworked/cmd/internal/workercmd"
)

// commands are the commands ecsr runs, by name; each takes the arguments after its name and returns the exit
// code.
var commands = map[string]func(args []string) int{
	"api":     apicmd.Main,
	"worker":  workercmd.Main,
	"migrate": migratecmd.Main,
}

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

// usageExit is the exit code of a command line ecsr cannot run (as the flag package's).
const usageExit = 2

func run(args []string, stderr io.Writer) int {
	names := slices.Sorted(maps.Keys(commands))
	if len(args) == 0 {
		fmt.Fprintf(stderr, "ecsr: no command; usage: ecsr <command> [arguments], command one of %s\n", strings.Join(names, ", "))
		return usageExit
	}
	main, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "ecsr: unknown command %q; usage: ecsr <command> [arguments], command one of %s\n", args[0], strings.Join(names, ", "))
		return usageExit
	}
	return main(args[1:])
}
