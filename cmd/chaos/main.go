// Command chaos runs the chaos suite (package internal/testing/chaos) against the whole local system: it starts
// `make up`'s devenv from the binaries in -bin, places -orders orders from -clients concurrent clients that
// retry with their Idempotency-Key, kills, stops, stalls and fails its processes on a schedule, lets it settle
// and counts every order lost or applied twice. It prints the figures and exits 1 on any defect, keeping the
// logs of the run. `make chaos` builds the binaries and runs it with 10,000 orders.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/testing/chaos"
)

func main() {
	exe, _ := os.Executable()
	var o chaos.Options
	flag.StringVar(&o.Bin, "bin", filepath.Dir(exe), "directory of the devenv, api, worker, migrate and localaws binaries")
	flag.StringVar(&o.Root, "root", ".", "repository root (devenv runs there)")
	flag.IntVar(&o.Orders, "orders", 10000, "orders to place")
	flag.IntVar(&o.Clients, "clients", chaos.DefaultClients, "concurrent clients")
	flag.DurationVar(&o.Duration, "duration", 0, "spread the orders over about this long (default: 20 orders a second)")
	flag.DurationVar(&o.FaultEvery, "fault-every", chaos.DefaultFaultEvery, "pause between two faults")
	flag.DurationVar(&o.SettleTimeout, "settle", 5*time.Minute, "how long to wait for the system to settle after the load")
	flag.StringVar(&o.LogDir, "logs", "chaos-logs", "directory for the logs of a failed run")
	flag.Uint64Var(&o.Seed, "seed", 0, "seed of the orders and the schedule (0: random)")
	flag.Parse()
	if o.Orders < 1 || o.Clients < 1 {
		fmt.Fprintln(os.Stderr, "chaos: -orders and -clients must be at least 1")
		os.Exit(2)
	}
	if o.Duration == 0 {
		o.Duration = time.Duration(o.Orders) * time.Second / 20
	}
	o.Out = os.Stdout
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	rep, err := chaos.Run(ctx, o)
	stop()
	rep.Print(os.Stdout)
	if err != nil {
		fmt.Fprintf(os.Stderr, "chaos: %v\n", err)
		os.Exit(1)
	}
	if rep.Defects() > 0 {
		fmt.Fprintf(os.Stderr, "chaos: %d defects\n", rep.Defects())
		os.Exit(1)
	}
}
