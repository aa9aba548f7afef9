// Command migrate runs the database migrations (package migratecmd) on its own, as `make up` and the tests run it; the image runs the
// same code as `/app/ecsr migrate` (cmd/ecsr).
package main

import (
	"os"

	"github.com/ecs-reworked/ecs-reworked/cmd/internal/migratecmd"
)

func main() { os.Exit(migratecmd.Main(os.Args[1:])) }
