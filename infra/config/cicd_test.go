package config

import (
	"os"
	"strings"
	"testing"
)

// shippedEnvironments decodes the shipped environment files.
func shippedEnvironments(t *testing.T) []*Environment {
	t.Helper()
	m := loadManifest(t)
	var envs []*Environment
	for _, name := range []string{"dev", "staging", "prod"} {
		env, err := Decode(name+".yaml", []byte(readEnv(t, name)), m)
		if err != nil {
			t.Fatal(err)
		}
		envs = append(envs, env)
	}
	return envs
}

func TestShippedCICDDecodes(t *testing.T) {
	data, err := os.ReadFile("../cicd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := DecodeCICD("cicd.yaml", data, shippedEnvironments(t))
	if err != nil {
		t.Fatalf("DecodeCICD(cicd.yaml) = %v", err)
	}
	if got, want := strings.Join(s.Environments, ","), "dev,staging,prod"; got != want {
		t.Errorf("Environments = %s; want %s", got, want)
	}
	if got, want := s.GitHub.Subject("prod"), "repo:ecs-reworked/ecs-reworked:environment:prod"; got != want {
		t.Errorf("Subject(prod) = %s; want %s", got, want)
	}
}

func TestDecodeCICDRejects(t *testing.T) {
	const good = `region: eu-west-1
github: {owner: acme, repository: shop}
images: {account: "444444444444"}
repository: {name: ecs-reworked, keep_images: 10}
environments: [dev, prod]
image_environment: images
`
	tests := []struct {
		name, src string
		want      string // "" means it decodes
	}{
		{"good", good, ""},
		{"import provider", good + "oidc_provider_arns: {\"111111111111\": arn:aws:iam::111111111111:oidc-provider/token.actions.githubusercontent.com}\n", ""},
		{"unknown key", good + "colour: blue\n", "cicd.yaml: colour: unknown key (line 7)"},
		{"missing key", strings.Replace(good, "image_environment: images\n", "", 1), "cicd.yaml: image_environment: required, but missing"},
		{"wrong type", strings.Replace(good, "keep_images: 10", "keep_images: many", 1), `repository.keep_images: wrong type: "many" is not a number`},
		{"bad region", strings.Replace(good, "eu-west-1", "europe", 1), `region: "europe" is not an AWS region name`},
		{"bad owner", strings.Replace(good, "owner: acme", "owner: -acme", 1), `github.owner: "-acme" is not a GitHub user`},
		{"bad provider", good + "oidc_provider_arns: {\"111111111111\": arn:aws:iam::111111111111:oidc-provider/example.com}\n", "oidc_provider_arns.111111111111:"},
		{"provider of another account", good + "oidc_provider_arns: {\"111111111111\": arn:aws:iam::222222222222:oidc-provider/token.actions.githubusercontent.com}\n",
			"oidc_provider_arns.111111111111:"},
		{"bad images account", strings.Replace(good, `"444444444444"`, "44444", 1), `images.account: "44444" is not a 12-digit`},
		{"other images account", strings.Replace(good, `"444444444444"`, `"555555555555"`, 1),
			"environments[0]: environment dev takes its image from account 444444444444, not the images account 555555555555"},
		{"images account is an environment's", strings.Replace(good, `"444444444444"`, `"333333333333"`, 1),
			"environments[1]: environment prod runs in the images account 333333333333"},
		{"no images kept", strings.Replace(good, "keep_images: 10", "keep_images: 0", 1), "repository.keep_images: 0 is outside"},
		{"unknown environment", strings.Replace(good, "[dev, prod]", "[dev, qa]", 1), `environments[1]: no environment "qa"`},
		{"twice", strings.Replace(good, "[dev, prod]", "[dev, dev]", 1), `environments[1]: "dev" is listed twice`},
		{"no environments", strings.Replace(good, "[dev, prod]", "[]", 1), "environments: list at least one"},
		{"other region", strings.Replace(good, "region: eu-west-1", "region: us-west-2", 1), "environments[0]: environment dev runs in eu-west-1, but the image repository is in us-west-2"},
		{"other repository", strings.Replace(good, "name: ecs-reworked", "name: other", 1), `environment dev takes its image from "ecs-reworked"`},
		{"image environment is a deploy environment", strings.Replace(good, "image_environment: images", "image_environment: dev", 1),
			`image_environment: "dev" is a deploy or diff environment`},
		{"image environment is a diff environment", strings.Replace(good, "image_environment: images", "image_environment: prod-diff", 1),
			`image_environment: "prod-diff" is a deploy or diff environment`},
		{"not a mapping", "- a\n", "(file): want a mapping"},
	}
	envs := shippedEnvironments(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := DecodeCICD("cicd.yaml", []byte(tc.src), envs)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("DecodeCICD() = %v; want no error", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("DecodeCICD() = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}

func TestCheckAccounts(t *testing.T) {
	if err := CheckAccounts(shippedEnvironments(t)); err != nil {
		t.Errorf("shipped environments: %v", err)
	}
	tests := []struct {
		name   string
		change func(envs []*Environment)
		want   string
	}{
		{"prod shares dev's account", func(e []*Environment) { e[2].Account = e[0].Account },
			"environments/prod.yaml: account: 111111111111 is also the account of environment dev (environments/dev.yaml)"},
		{"staging shares dev's account", func(e []*Environment) { e[1].Account = e[0].Account },
			"environments/staging.yaml: account: 111111111111 is also the account of environment dev"},
		{"images in prod's account", func(e []*Environment) { e[0].Image.Account = e[2].Account },
			"environments/dev.yaml: image.account: 333333333333 is the account of environment prod"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			envs := shippedEnvironments(t)
			tc.change(envs)
			if err := CheckAccounts(envs); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("CheckAccounts() = %v; want an error containing %q", err, tc.want)
			}
		})
	}
}
