package config

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// CICD holds the settings of the delivery pipeline's AWS side (infra/cicd.yaml). The pipeline spans one account
// per environment and an images account (docs/adr/0011-one-account-per-environment.md): the images account holds
// the ECR repository and the role that pushes to it (stack ecsr-cicd-images); each environment's account holds
// its own GitHub OIDC provider and the roles that deploy and diff that environment only (stack
// ecsr-cicd-<environment>). Every key is required unless its yaml tag says omitempty.
type CICD struct {
	// Region is the region of the image repository; every environment it serves runs there.
	Region string `yaml:"region"`
	// GitHub names the repository whose workflows may assume the roles.
	GitHub GitHub `yaml:"github"`
	// Images is the images account.
	Images ImagesAccount `yaml:"images"`
	// OIDCProviderARNs import an account's existing GitHub OIDC provider instead of creating one (an account
	// holds at most one provider per URL), by account ID.
	OIDCProviderARNs map[string]string `yaml:"oidc_provider_arns,omitempty"`
	// Repository configures the ECR repository of the service image.
	Repository ImageRepository `yaml:"repository"`
	// Environments are the environments the pipeline deploys: each gets a deploy role and a diff role in its
	// own account.
	Environments []string `yaml:"environments"`
	// ImageEnvironment is the GitHub environment whose jobs may push the image (the pipeline builds once and
	// promotes the same digest); it is none of the deploy or diff environments.
	ImageEnvironment string `yaml:"image_environment"`
}

// ImagesAccount is the account that holds the image repository.
type ImagesAccount struct {
	// Account is its 12-digit ID; every environment's image.account names it.
	Account string `yaml:"account"`
}

// GitHub identifies a GitHub repository.
type GitHub struct {
	// Owner is the user or organisation owning the repository.
	Owner string `yaml:"owner"`
	// Repository is the repository's name.
	Repository string `yaml:"repository"`
}

// ImageRepository configures the ECR repository.
type ImageRepository struct {
	// Name is the repository name; every environment's image.repository must equal it.
	Name string `yaml:"name"`
	// KeepImages is how many releases (tagged image indexes) the lifecycle policy keeps, the newest; older
	// indexes expire (their per-architecture images stay). Keep more than any environment lags behind main, and
	// enough to roll back to any release still in the rollback window.
	KeepImages int `yaml:"keep_images"`
}

// Subject is the OIDC subject GitHub issues to a job running in the GitHub environment env of this repository.
func (g GitHub) Subject(env string) string {
	return "repo:" + g.Owner + "/" + g.Repository + ":environment:" + env
}

// DiffEnvironment is the GitHub environment in which the pipeline shows `cdk diff` for env before approval.
func DiffEnvironment(env string) string { return env + "-diff" }

var (
	githubOwnerPattern = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$`)
	githubRepoPattern  = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
	oidcProviderARN    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(\d{12}):oidc-provider/token\.actions\.githubusercontent\.com$`)
	githubEnvPattern   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,255}$`)
)

// DecodeCICD decodes the CI/CD settings file named file (used in messages only) strictly, like environment files,
// and checks them against the decoded environments: each listed environment exists, runs in the CI/CD region,
// takes its image from the CI/CD repository in the images account, and has an account of its own. Every problem is reported in one *Error.
func DecodeCICD(file string, data []byte, envs []*Environment) (*CICD, error) {
	errs := &Error{File: file}
	var s CICD
	if !decodeStrict(data, &s, errs) {
		return nil, errs
	}
	c := &checker{}
	s.validate(c, envs)
	errs.addUncovered(c.problems)
	if len(errs.Problems) > 0 {
		return nil, errs
	}
	return &s, nil
}

func (s *CICD) validate(c *checker, envs []*Environment) {
	c.check(regionPattern.MatchString(s.Region), "region", "%q is not an AWS region name such as eu-west-1", s.Region)
	c.check(githubOwnerPattern.MatchString(s.GitHub.Owner), "github.owner", "%q is not a GitHub user or organisation name", s.GitHub.Owner)
	c.check(githubRepoPattern.MatchString(s.GitHub.Repository) && s.GitHub.Repository != "." && s.GitHub.Repository != "..",
		"github.repository", "%q is not a GitHub repository name", s.GitHub.Repository)
	c.check(accountPattern.MatchString(s.Images.Account), "images.account", "%q is not a 12-digit AWS account ID (quote it in YAML)", s.Images.Account)
	for _, acct := range slices.Sorted(maps.Keys(s.OIDCProviderARNs)) {
		m := oidcProviderARN.FindStringSubmatch(s.OIDCProviderARNs[acct])
		c.check(m != nil && m[1] == acct, "oidc_provider_arns."+acct,
			"%q is not the ARN of a token.actions.githubusercontent.com OIDC provider in account %s", s.OIDCProviderARNs[acct], acct)
	}
	c.check(len(s.Repository.Name) >= 2 && len(s.Repository.Name) <= 256 && repositoryPattern.MatchString(s.Repository.Name),
		"repository.name", "%q is not an ECR repository name", s.Repository.Name)
	c.check(s.Repository.KeepImages >= 1 && s.Repository.KeepImages <= 10000, "repository.keep_images",
		"%d is outside 1..10000", s.Repository.KeepImages)

	c.check(len(s.Environments) > 0, "environments", "list at least one environment to deploy")
	byName := map[string]*Environment{}
	for _, e := range envs {
		byName[e.Name] = e
	}
	seen := map[string]bool{}
	for i, name := range s.Environments {
		key := fmt.Sprintf("environments[%d]", i)
		if seen[name] {
			c.bad(key, "%q is listed twice", name)
			continue
		}
		seen[name] = true
		e, ok := byName[name]
		if !ok {
			c.bad(key, "no environment %q in environments/", name)
			continue
		}
		c.check(e.Region == s.Region, key, "environment %s runs in %s, but the image repository is in %s; give that region its own CI/CD settings",
			name, e.Region, s.Region)
		c.check(e.Image.Repository == s.Repository.Name, key, "environment %s takes its image from %q, not this repository %q",
			name, e.Image.Repository, s.Repository.Name)
		c.check(e.Account != s.Images.Account, key, "environment %s runs in the images account %s; give it an account of its own",
			name, e.Account)
		c.check(e.Image.Account == s.Images.Account, key, "environment %s takes its image from account %s, not the images account %s",
			name, e.Image.Account, s.Images.Account)
	}
	switch {
	case !githubEnvPattern.MatchString(s.ImageEnvironment):
		c.bad("image_environment", "%q is not a GitHub environment name", s.ImageEnvironment)
	case slices.Contains(s.Environments, s.ImageEnvironment) || slices.Contains(s.Environments, strings.TrimSuffix(s.ImageEnvironment, "-diff")):
		c.bad("image_environment", "%q is a deploy or diff environment; pushing images is a GitHub environment of its own, "+
			"so no environment's deploy job holds a credential of the images account", s.ImageEnvironment)
	}
}
