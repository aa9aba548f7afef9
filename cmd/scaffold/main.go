// Command scaffold adds a service (worker or web) or a scheduled job to the repository (`make service NAME=shipping KIND=worker
// SUBSCRIBE=order.fulfilled`): its manifest entry with its queue and filtered subscriptions, its sizing in every
// environment file, its command in the image's binary, and a package with a handler and tests (package
// internal/tools/scaffold). It never overwrites anything.
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/events"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/scaffold"
)

func main() {
	name := flag.String("name", "", "the service's name (NAME)")
	kind := flag.String("kind", "worker", "worker, web or job (KIND)")
	subscribe := flag.String("subscribe", "", "comma-separated event types the worker receives (SUBSCRIBE)")
	db := flag.String("db", "", "yes: the service gets its own schema, role and inbox (DB)")
	fifo := flag.String("fifo", "", "yes: the service's queue is a FIFO queue that other services send to (FIFO)")
	sends := flag.String("sends", "", "comma-separated queues (direct: true) the service sends each event to (SENDS)")
	secrets := flag.String("secrets", "", "comma-separated names of the service's own secrets (SECRETS)")
	sched := flag.String("schedule", "", "a job's schedule, rate(1 hour) or cron(0 3 * * ? *), in UTC (SCHEDULE, KIND=job)")
	root := flag.String("root", ".", "the repository's root")
	flag.Parse()
	var types []events.Type
	for _, t := range list(*subscribe) {
		types = append(types, events.Type(t))
	}
	for option, v := range map[string]string{"DB": *db, "FIFO": *fifo} {
		if v != "" && v != "yes" && v != "no" {
			fmt.Fprintf(os.Stderr, "make service: %s=%q: want yes or no\n", option, v)
			os.Exit(1)
		}
	}
	files, err := scaffold.Run(*root, scaffold.Options{Name: *name, Kind: manifest.Kind(*kind), Subscribe: types, DB: *db == "yes",
		FIFO: *fifo == "yes", Sends: list(*sends), Secrets: list(*secrets), Schedule: *sched})
	if err != nil {
		fmt.Fprintf(os.Stderr, "make service: %v\n", err)
		os.Exit(1)
	}
	fmt.Printf("added service %s:\n  %s\n", *name, strings.Join(files, "\n  "))
	if *kind == string(manifest.KindWeb) {
		fmt.Printf("next: fill in internal/%s (Register: its routes under /api/%s/), then make test and make up\n", *name, *name)
		return
	}
	if *kind == string(manifest.KindJob) {
		fmt.Printf("next: fill in internal/%s (Run), then make test and make up (make job NAME=%s runs it now)\n", *name, *name)
		return
	}
	fmt.Printf("next: fill in internal/%s (Handle), then make test and make up\n", *name)
}

// list splits a comma-separated option, dropping blanks.
func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
