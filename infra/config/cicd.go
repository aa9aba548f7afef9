package config

import (
	"fmt"
	"regexp"
	"slices"
)

// CICD holds the settings of the delivery pipeline's AWS side (infra/cicd.yaml): one per account and region,
// because the GitHub OIDC provider exists once per account and the image repository once per region, shared by
// every environment deployed from there. Every key is required unless its yaml tag says omitempty.
type CICD struct {
	// Region is the region of the CI/CD stack and its image repository; every environment it deploys runs there
	// (services pull the image from the repository of their own region).
	Region string `yaml:"region"`
	// GitHub names the repository whose workflows may assume the roles.
	GitHub GitHub `yaml:"github"`
	// OIDCProviderARN, when set, imports the account's existing GitHub OIDC provider instead of creating one
	// (an account holds at most one provider per URL).
	OIDCProviderARN string `yaml:"oidc_provider_arn,omitempty"`
	// Repository configures the ECR repository of the service image.
	Repository ImageRepository `yaml:"repository"`
	// Environments are the environments the pipeline deploys: each gets a deploy role and a diff role.
	Environments []string `yaml:"environments"`
	// ImageEnvironment is the GitHub environment whose deploy role also pushes the image (the pipeline builds
	// once, in the first environment, and promotes the same digest).
	ImageEnvironment string `yaml:"image_environment"`
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
	// KeepImages is how many images the lifecycle policy keeps (the newest); older ones expire. Keep enough to
	// roll back to any release still in the rollback window.
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
	oidcProviderARN    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::\d{12}:oidc-provider/token\.actions\.githubusercontent\.com$`)
)

// DecodeCICD decodes the CI/CD settings file named file (used in messages only) strictly, like environment files,
// and checks them against the decoded environments: each listed environment exists, runs in the CI/CD region and
// takes its image from the CI/CD repository. Every problem is reported in one *Error.
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
	c.check(s.OIDCProviderARN == "" || oidcProviderARN.MatchString(s.OIDCProviderARN), "oidc_provider_arn",
		"%q is not the ARN of a token.actions.githubusercontent.com OIDC provider", s.OIDCProviderARN)
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
	}
	c.check(slices.Contains(s.Environments, s.ImageEnvironment), "image_environment",
		"%q is not one of the environments %v", s.ImageEnvironment, s.Environments)
}
