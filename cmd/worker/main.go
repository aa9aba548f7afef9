// Command worker runs the fulfillment worker (package workercmd) on its own, as `make up` and the tests run it; the image runs the
// same code as `/app/ecsr worker` (cmd/ecsr).
package main

import (
	"os"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/workercmd"
)

func main() { os.Exit(workercmd.Main(os.Args[1:])) }
