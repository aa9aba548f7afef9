// Command preflight checks one environment's stacks in a synthesized cloud assembly against the AWS rules that
// CloudFormation, ECS and CloudWatch enforce only at deploy or run time (package preflight), offline:
//
//	go run ./cmd/preflight -env dev [-assembly infra/cdk.out] [-baseline DIR] [-deploy] [-env-file FILE]
//
// or `make preflight ENV=dev [BASELINE=DIR] [BASE=<git ref>] [DEPLOY=1]`, which synthesizes first. -baseline is
// the assembly or the directory of <stackName>.template.json files deployed now; it enables the update-safety
// rules. -deploy makes the deploy-only rules (placeholders) fail instead of printing notices; with -env-file the
// example values of the environment's file are reported by file, line and key as well. It prints every
// finding and exits 1 when there is any.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/cloudassembly"
	"github.com/ecs-reworked/ecs-reworked/internal/tools/preflight"
)

// errFindings reports that the run found something; the findings are already printed.
var errFindings = errors.New("findings")

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		if !errors.Is(err, errFindings) {
			fmt.Fprintf(os.Stderr, "preflight: %v\n", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("preflight", flag.ContinueOnError)
	env := fs.String("env", "", "environment whose stacks (ecsr-<env>-*) to check (required)")
	assembly := fs.String("assembly", "infra/cdk.out", "synthesized cloud assembly")
	baseline := fs.String("baseline", "", "what is deployed now: a cloud assembly or a directory of <stackName>.template.json")
	deploy := fs.Bool("deploy", false, "deploy mode: the deploy-only rules fail instead of printing notices")
	spec := fs.String("spec", preflight.SpecPackage, "installed @aws-cdk/aws-service-spec package (with -baseline)")
	services := fs.String("manifest", "infra/services.yaml", "services manifest")
	envFile := fs.String("env-file", "", "the environment's file [infra/environments/<env>.yaml]: whether it is production; its example values are findings in deploy mode, notices otherwise")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *env == "" {
		return errors.New("-env is required")
	}
	asm, err := cloudassembly.Load(*assembly)
	if err != nil {
		return err
	}
	m, err := manifest.Load(*services)
	if err != nil {
		return err
	}
	opts := preflight.ProjectOptions(m)
	opts.Env, opts.Deploy = *env, *deploy
	if *envFile == "" {
		*envFile = filepath.Join("infra", "environments", *env+".yaml")
	}
	if opts.Production, err = production(*envFile); err != nil { // production.go
		return err
	}
	if *baseline != "" {
		if opts.Baseline, err = cloudassembly.Load(*baseline); err != nil {
			return err
		}
		if opts.Spec, err = preflight.LoadSpec(*spec); err != nil {
			return err
		}
	}
	report, err := preflight.Run(asm, opts)
	if err != nil {
		return err
	}
	if *envFile != "" {
		data, err := os.ReadFile(*envFile)
		if err != nil {
			return err
		}
		found, err := preflight.EnvironmentFilePlaceholders(*envFile, data)
		if err != nil {
			return err
		}
		// First: the file and key to edit matter more than the template values they become.
		if *deploy {
			report.Findings = append(found, report.Findings...)
		} else {
			report.Notices = append(found, report.Notices...)
		}
	}
	preflight.Print(stdout, *env, report)
	if len(report.Findings) > 0 {
		return errFindings
	}
	return nil
}
