// Command infra is the CDK app of ECS Reworked: it synthesizes the stacks of every environment in
// environments/*.yaml from the services manifest services.yaml, and the delivery pipeline's stack from
// cicd.yaml. It is the only place that reads files, the process environment or the CDK context; everything below
// it receives plain values.
//
// Usage (from infra/): CDK_OUTDIR=cdk.out go run . — or through the CDK CLI (cdk.json), which sets CDK_OUTDIR
// and passes the deploy-time context: -c image_tag=<tag> or -c image_digest=sha256:<digest>.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/stacks"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// defaultImageTag is the image tag synthesized when no image_tag or image_digest context is given. It lets
// `make synth` and the tests run without a build; deployments always pass the tag or digest CI built.
const defaultImageTag = "latest"

// cicdFile holds the settings of the delivery pipeline's stacks (image repository, OIDC providers, deploy roles).
const cicdFile = "cicd.yaml"

// siteSource is the built web UI, deployed to the site bucket when it exists.
const siteSource = "../web/dist"

func main() {
	err := run(os.Getenv, os.Stdout)
	jsii.Close()
	if err != nil {
		fmt.Fprintf(os.Stderr, "infra: %v\n", err)
		os.Exit(1)
	}
}

// run loads the manifest and every environment, builds one app with the stacks of every environment and
// synthesizes it into CDK_OUTDIR (default cdk.out).
func run(getenv func(string) string, stdout io.Writer) error {
	m, err := manifest.Load("services.yaml")
	if err != nil {
		return err
	}
	envs, err := loadEnvironments("environments", m)
	if err != nil {
		return err
	}
	if err := config.CheckAccounts(envs); err != nil {
		return err
	}
	outdir := getenv("CDK_OUTDIR")
	if outdir == "" {
		outdir = "cdk.out"
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir), Context: stacks.AppContext()})
	in := config.Inputs{
		Manifest:    m,
		ImageTag:    contextString(app, "image_tag", defaultImageTag),
		ImageDigest: contextString(app, "image_digest", ""),
	}
	if fi, err := os.Stat(siteSource); err == nil && fi.IsDir() {
		in.SiteSource = siteSource
	}
	for _, env := range envs {
		stacks.AddEnvironment(app, env, in)
	}
	// The pipeline's stacks: one in the images account and one in each environment's account.
	data, err := os.ReadFile(cicdFile)
	if err != nil {
		return fmt.Errorf("read CI/CD settings: %w", err)
	}
	cicd, err := config.DecodeCICD(cicdFile, data, envs)
	if err != nil {
		return err
	}
	stacks.AddCICD(app, stacks.CICDProps{Settings: cicd, Environments: envs})
	asm := app.Synth(nil)
	fmt.Fprintf(stdout, "synthesized %d environment(s) into %s\n", len(envs), *asm.Directory())
	return nil
}

// loadEnvironments reads and decodes every dir/*.yaml, reporting the problems of every file at once.
func loadEnvironments(dir string, m *manifest.Manifest) ([]*config.Environment, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("list environments: %w", err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no environment files in %s", dir)
	}
	sort.Strings(files)
	var envs []*config.Environment
	var errs []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			errs = append(errs, fmt.Errorf("read environment: %w", err))
			continue
		}
		env, err := config.Decode(f, data, m)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		envs = append(envs, env)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return envs, nil
}

// contextString returns a string from the CDK context (cdk.json or -c key=value), or def when it is unset.
func contextString(app awscdk.App, key, def string) string {
	v, ok := app.Node().TryGetContext(jsii.String(key)).(string)
	if !ok || v == "" {
		return def
	}
	return v
}
