// Command configdoc rewrites the per-service section of docs/configuration.md from infra/services.yaml (`make
// configdoc`), so that the page lists every variable each service's task definition sets.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/configdoc"
)

func main() {
	manifestPath := flag.String("manifest", "infra/services.yaml", "the services manifest")
	page := flag.String("page", "docs/configuration.md", "the page whose generated section is rewritten")
	flag.Parse()
	m, err := manifest.Load(*manifestPath)
	if err == nil {
		var changed bool
		changed, err = configdoc.Update(*page, m)
		if err == nil && changed {
			fmt.Printf("configdoc: %s updated from %s\n", *page, *manifestPath)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "configdoc: %v\n", err)
		os.Exit(1)
	}
}
