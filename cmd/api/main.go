// Command api runs the orders API (package apicmd) on its own, as `make up` and the tests run it; the image runs the
// same code as `/app/ecsr api` (cmd/ecsr).
package main

import (
	"os"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/apicmd"
)

func main() { os.Exit(apicmd.Main(os.Args[1:])) }
