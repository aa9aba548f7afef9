// Command smokehook runs the release smoke test (internal/smoke) in one of two ways.
//
// As a command, `make smoke` runs it against the local system (`make up`): smokehook -base http://127.0.0.1:8080.
// It prints each step, and exits 1 naming the failed step, 2 on bad usage.
//
// As the Amazon ECS blue/green lifecycle hook (an arm64 Lambda function on provided.al2023, see
// infra/construct/service/deployment.go), when AWS_LAMBDA_RUNTIME_API is set: ECS invokes it at the
// POST_TEST_TRAFFIC_SHIFT stage, when the load balancer's test listener routes to the new tasks; it runs the
// smoke test against SMOKE_BASE_URL (the test listener) and answers {"hookStatus": "SUCCEEDED"} or
// {"hookStatus": "FAILED"}, which rolls the deployment back. The contract:
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html (a function that
// returns no valid hookStatus, or fails, also rolls back) and the payload of each stage,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/smoke"
)

func main() {
	os.Exit(run())
}

// run serves the Lambda runtime API when the function runs there, and is the `make smoke` command otherwise; it
// returns the exit code.
func run() int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if api := os.Getenv("AWS_LAMBDA_RUNTIME_API"); api != "" {
		if err := serveLambda(ctx, api, os.Getenv, os.Stdout); err != nil {
			fmt.Fprintf(os.Stderr, "smokehook: %v\n", err)
			return 1
		}
		return 0
	}
	return runCommand(ctx, os.Args[1:], os.Stdout, os.Stderr)
}

// runCommand is the command mode; it returns the exit code.
func runCommand(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("smokehook", flag.ContinueOnError)
	fs.SetOutput(stderr)
	base := fs.String("base", "http://127.0.0.1:8080", "where /api/* answers: the local edge (make up) or a test listener")
	probe := fs.String("probe", "", "where the API's /healthz and /readyz answer (default: -base)")
	wait := fs.Duration("fulfill-timeout", 60*time.Second, "how long to wait for the smoke order to be fulfilled")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "smokehook: unexpected arguments %q\n", fs.Args())
		return 2
	}
	steps, err := smoke.Run(ctx, smoke.Config{
		BaseURL: *base, ProbeURL: *probe, FulfillTimeout: *wait,
		Log: func(s smoke.Step) {
			if s.Err != nil {
				fmt.Fprintf(stdout, "FAIL %-9s %s: %v\n", s.Name, s.Duration.Round(time.Millisecond), s.Err)
				return
			}
			fmt.Fprintf(stdout, "ok   %-9s %s  %s\n", s.Name, s.Duration.Round(time.Millisecond), s.Detail)
		},
	})
	if err != nil {
		fmt.Fprintf(stderr, "smokehook: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "smoke test passed: %d steps against %s\n", len(steps), *base)
	return 0
}
