package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
)

// cicdSettings decodes the shipped infra/cicd.yaml against the shipped environments.
func cicdSettings(t *testing.T) (*config.CICD, []*config.Environment) {
	t.Helper()
	var envs []*config.Environment
	for _, name := range environments {
		envs = append(envs, synth(t, name).env)
	}
	data, err := os.ReadFile(filepath.Join("..", "cicd.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := config.DecodeCICD("cicd.yaml", data, envs)
	if err != nil {
		t.Fatal(err)
	}
	return s, envs
}

// synthCICD returns the synthesized CI/CD stack of the shipped settings (cached like the environments).
func synthCICD(t *testing.T) *synthesized {
	t.Helper()
	s, envs := cicdSettings(t)
	return synthCICDWith(t, "cicd", s, envs)
}

func synthCICDWith(t *testing.T, key string, s *config.CICD, envs []*config.Environment) *synthesized {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if c, ok := cache[key]; ok {
		return c
	}
	out, err := os.MkdirTemp(outRoot, key+"-")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out), Context: AppContext()})
	AddCICD(app, CICDProps{Settings: s, Environments: envs})
	app.Synth(nil)
	c := readAssembly(t, out)
	cache[key] = c
	return c
}

func TestCICDRepository(t *testing.T) {
	s, envs := cicdSettings(t)
	c := synthCICD(t)
	tmpl := c.templates[ImagesStackName]
	tmpl.countOf(t, "AWS::ECR::Repository", 1)
	tmpl.hasResource(t, "AWS::ECR::Repository", map[string]any{
		"RepositoryName":             s.Repository.Name,
		"ImageTagMutability":         "IMMUTABLE",
		"ImageScanningConfiguration": map[string]any{"ScanOnPush": true},
		"EncryptionConfiguration":    map[string]any{"EncryptionType": "KMS"},
	})
	for id, r := range tmpl.ofType("AWS::ECR::Repository") {
		if r.DeletionPolicy != "Retain" {
			t.Errorf("repository %s DeletionPolicy = %q; want Retain (images outlive the stack)", id, r.DeletionPolicy)
		}
		// The policy counts releases by their tagged index and never selects untagged images (the per-architecture
		// images a kept index references) nor "any".
		text, _ := r.Properties["LifecyclePolicy"].(map[string]any)["LifecyclePolicyText"].(string)
		var lp struct {
			Rules []struct {
				Selection struct {
					TagStatus      string   `json:"tagStatus"`
					TagPatternList []string `json:"tagPatternList"`
					CountType      string   `json:"countType"`
					CountNumber    int      `json:"countNumber"`
				} `json:"selection"`
			} `json:"rules"`
		}
		if err := json.Unmarshal([]byte(text), &lp); err != nil || len(lp.Rules) != 1 {
			t.Fatalf("lifecycle policy = %q (%v); want one rule", text, err)
		}
		if sel := lp.Rules[0].Selection; sel.TagStatus != "tagged" || !slices.Equal(sel.TagPatternList, []string{"*"}) ||
			sel.CountType != "imageCountMoreThan" || sel.CountNumber != s.Repository.KeepImages {
			t.Errorf("lifecycle rule selection = %+v; want the newest %d tagged images kept, untagged ones never selected", sel, s.Repository.KeepImages)
		}
		if !strings.Contains(mustJSON(r.Properties["EncryptionConfiguration"]), "KmsKey") {
			t.Errorf("repository %s is not encrypted with the stack's key", id)
		}
		// Each environment account may pull, and only its roles under the environment's path.
		pull := mustJSON(r.Properties["RepositoryPolicyText"])
		for _, env := range envs {
			for _, want := range []string{
				`"Sid":"Pull` + title(env.Name) + `"`, `":iam::` + env.Account + `:root"`,
				`{"ArnLike":{"aws:PrincipalArn":`, `":iam::` + env.Account + `:role/ecsr/` + env.Name + `/*"`,
			} {
				if !strings.Contains(pull, want) {
					t.Errorf("repository policy lacks %s for %s:\n%s", want, env.Name, pull)
				}
			}
		}
		if strings.Contains(pull, "ecr:PutImage") || strings.Contains(pull, `"ecr:*"`) {
			t.Errorf("repository policy lets other accounts push: %s", pull)
		}
	}
	tmpl.hasResource(t, "AWS::KMS::Key", map[string]any{"EnableKeyRotation": true})
	for _, name := range append([]string{ImagesStackName}, pipelineStacks(s)...) {
		c.templates[name].hasResource(t, "AWS::IAM::OIDCProvider", map[string]any{
			"Url": "https://token.actions.githubusercontent.com", "ClientIdList": []any{"sts.amazonaws.com"},
		})
		if !c.artifacts[name].Properties.TerminationProtection {
			t.Errorf("the CI/CD stack %s has no termination protection", name)
		}
	}
	// Each stack deploys into its own account: the images account, and each environment's.
	if want := "aws://" + s.Images.Account + "/" + s.Region; c.artifacts[ImagesStackName].Environment != want {
		t.Errorf("%s deploys to %s; want %s", ImagesStackName, c.artifacts[ImagesStackName].Environment, want)
	}
	for _, env := range envs {
		if want := "aws://" + env.Account + "/" + env.Region; c.artifacts[PipelineStackName(env.Name)].Environment != want {
			t.Errorf("%s deploys to %s; want %s", PipelineStackName(env.Name), c.artifacts[PipelineStackName(env.Name)].Environment, want)
		}
	}
}

// pipelineStacks names the environments' CI/CD stacks.
func pipelineStacks(s *config.CICD) []string {
	var out []string
	for _, env := range s.Environments {
		out = append(out, PipelineStackName(env))
	}
	return out
}

// roleOf returns the role and its policy statements (of its default policy) for a construct ID such as DeployDev.
func roleOf(t *testing.T, tmpl template, id string) (resource, []map[string]any) {
	t.Helper()
	var role resource
	var sts []map[string]any
	found := false
	for lid, r := range tmpl.Resources {
		switch {
		case r.Type == "AWS::IAM::Role" && strings.HasPrefix(lid, id+"Role") && !strings.HasPrefix(lid, id+"RoleDefaultPolicy"):
			role, found = r, true
		case r.Type == "AWS::IAM::Policy" && strings.HasPrefix(lid, id+"RoleDefaultPolicy"):
			sts = append(sts, statements(r)...)
		}
	}
	if !found {
		t.Fatalf("no role %s", id)
	}
	return role, sts
}

// actionsOf returns every action the statements allow, sorted.
func actionsOf(sts []map[string]any) []string {
	var out []string
	for _, st := range sts {
		out = append(out, asStrings(st["Action"])...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func TestCICDRoles(t *testing.T) {
	s, _ := cicdSettings(t)
	c := synthCICD(t)
	deployActions := []string{
		"cloudformation:DescribeStackResources", "cloudformation:DescribeStacks", "ecs:DescribeServiceDeployments",
		"ecs:DescribeTasks", "ecs:ListServiceDeployments", "ecs:RunTask", "ecs:StopTask", "iam:PassRole", "sts:AssumeRole",
	}
	pushActions := []string{
		"ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:DescribeImages",
		"ecr:GetAuthorizationToken", "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage",
		"ecr:UploadLayerPart",
	}
	checkTrust := func(t *testing.T, id string, role resource, githubEnv string) {
		trust := mustJSON(role.Properties["AssumeRolePolicyDocument"])
		for _, want := range []string{
			`"Action":"sts:AssumeRoleWithWebIdentity"`,
			`"token.actions.githubusercontent.com:aud":"sts.amazonaws.com"`,
			`"token.actions.githubusercontent.com:sub":"repo:` + s.GitHub.Owner + "/" + s.GitHub.Repository + ":environment:" + githubEnv + `"`,
			`"Federated":{"Ref":"GitHubOIDC`,
		} {
			if !strings.Contains(trust, want) {
				t.Errorf("%s trust policy = %s; want %s", id, trust, want)
			}
		}
		if strings.Contains(trust, "StringLike") {
			t.Errorf("%s trust policy matches subjects by pattern: %s", id, trust)
		}
	}
	t.Run("push", func(t *testing.T) {
		tmpl := c.templates[ImagesStackName]
		role, sts := roleOf(t, tmpl, "Push")
		checkTrust(t, "Push", role, s.ImageEnvironment)
		if got := actionsOf(sts); !slices.Equal(got, pushActions) {
			t.Errorf("Push actions = %v; want %v", got, pushActions)
		}
		for _, out := range []string{"PushRoleArn", "RepositoryName", "RepositoryUri"} {
			if _, ok := tmpl.Outputs[out]; !ok {
				t.Errorf("no output %s", out)
			}
		}
	})
	for _, env := range s.Environments {
		t.Run(env, func(t *testing.T) {
			tmpl := c.templates[PipelineStackName(env)]
			tmpl.countOf(t, "AWS::ECR::Repository", 0)
			for _, tc := range []struct {
				id, githubEnv string
				actions       []string
				bootstrap     []string
			}{
				{"Deploy", env, deployActions, []string{"deploy-role", "file-publishing-role", "lookup-role"}},
				{"Diff", env + "-diff", []string{"sts:AssumeRole"}, []string{"lookup-role"}},
			} {
				role, sts := roleOf(t, tmpl, tc.id)
				checkTrust(t, tc.id, role, tc.githubEnv)
				if got := actionsOf(sts); !slices.Equal(got, tc.actions) {
					t.Errorf("%s actions = %v; want %v", tc.id, got, tc.actions)
				}
				// The bootstrap roles, by exact name, of this account only, in the environment's region and
				// us-east-1 (edge stack).
				var assumable []string
				for _, st := range sts {
					if slices.Contains(asStrings(st["Action"]), "sts:AssumeRole") {
						assumable = append(assumable, mustJSON(st["Resource"]))
					}
				}
				all := strings.Join(assumable, " ")
				acct := synth(t, env).env.Account
				for _, kind := range []string{"deploy-role", "file-publishing-role", "lookup-role"} {
					for _, region := range []string{"eu-west-1", "us-east-1"} {
						has := strings.Contains(all, `:role/cdk-hnb659fds-`+kind+`-`+acct+`-`+region+`"`)
						if wantIt := slices.Contains(tc.bootstrap, kind); has != wantIt {
							t.Errorf("%s may assume %s in %s: %v; want %v (%s)", tc.id, kind, region, has, wantIt, all)
						}
					}
				}
				for _, other := range environments {
					if o := synth(t, other).env.Account; other != env && strings.Contains(all, o) {
						t.Errorf("%s of %s may assume roles in %s's account %s", tc.id, env, other, o)
					}
				}
			}
			// scripts/deploy.sh reads the status of every stack it deploys, each in its own region, with the
			// deploy role's credentials.
			_, deploySts := roleOf(t, tmpl, "Deploy")
			deployPolicy := mustJSON(deploySts)
			for stack, region := range map[string]string{"stateful": "eu-west-1", "cluster": "eu-west-1",
				"stateless": "eu-west-1", "edge": "us-east-1", "edge-protection": "us-east-1"} {
				if want := `:cloudformation:` + region + `:` + synth(t, env).env.Account + `:stack/ecsr-` + env + `-` + stack + `/*"`; !strings.Contains(deployPolicy, want) {
					t.Errorf("Deploy of %s may not read ecsr-%s-%s in %s (no %s)", env, env, stack, region, want)
				}
			}
			for _, out := range []string{"DeployRoleArn", "DiffRoleArn"} {
				if _, ok := tmpl.Outputs[out]; !ok {
					t.Errorf("no output %s", out)
				}
			}
		})
	}
}

// TestCICDNamesMatchClusterStack checks the names the deploy roles grant the migration on (family, cluster, role
// path) against what the cluster stack synthesizes, so renaming something there cannot silently lock the
// pipeline out; and that every role of the environment's stacks carries the environment's path.
func TestCICDNamesMatchClusterStack(t *testing.T) {
	c := synthCICD(t)
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		cluster := s.stack(t, "cluster")
		_, sts := roleOf(t, c.templates[PipelineStackName(s.env.Name)], "Deploy")
		policy := mustJSON(sts)
		taskDef := cluster.Resources[cluster.logicalID(t, s.stacks.Cluster.Migration.TaskDefinition.Node().DefaultChild())]
		if family := taskDef.Properties["Family"]; family != MigrationFamily(s.env.Name) ||
			!strings.Contains(policy, `:task-definition/`+MigrationFamily(s.env.Name)+`:*"`) {
			t.Errorf("migration family %v is not the one the deploy role may run", family)
		}
		for _, ref := range []any{taskDef.Properties["TaskRoleArn"], taskDef.Properties["ExecutionRoleArn"]} {
			id := regexp.MustCompile(`"Fn::GetAtt":\["([A-Za-z0-9]+)"`).FindStringSubmatch(mustJSON(ref))
			if id == nil {
				t.Fatalf("role reference %s", mustJSON(ref))
			}
			path := cluster.Resources[id[1]].Properties["Path"]
			if path != MigrationRolePath(s.env.Name) || !strings.Contains(policy, `:role`+MigrationRolePath(s.env.Name)+`*"`) {
				t.Errorf("migration role %s has path %v; the deploy role may pass only %s*", id[1], path, MigrationRolePath(s.env.Name))
			}
		}
		clusters := cluster.ofType("AWS::ECS::Cluster")
		if len(clusters) != 1 {
			t.Fatalf("%d clusters in the cluster stack; want 1", len(clusters))
		}
		for id, c := range clusters {
			if c.Properties["ClusterName"] != ClusterName(s.env.Name) || !strings.Contains(policy, `:task/`+ClusterName(s.env.Name)+`/*"`) {
				t.Errorf("cluster %s is named %v; the deploy role reads tasks of %s", id, c.Properties["ClusterName"], ClusterName(s.env.Name))
			}
		}
		for _, stack := range s.templates {
			for id, r := range stack.ofType("AWS::IAM::Role") {
				if p, _ := r.Properties["Path"].(string); !strings.HasPrefix(p, RolePath(s.env.Name)) {
					t.Errorf("role %s has path %q; want one under %s", id, p, RolePath(s.env.Name))
				}
			}
		}
	})
}

func TestCICDImportsProvider(t *testing.T) {
	s, envs := cicdSettings(t)
	imported := *s
	dev := synth(t, "dev").env.Account
	arn := "arn:aws:iam::" + dev + ":oidc-provider/token.actions.githubusercontent.com"
	imported.OIDCProviderARNs = map[string]string{dev: arn}
	c := synthCICDWith(t, "cicd-imported", &imported, envs)
	tmpl := c.templates[PipelineStackName("dev")]
	tmpl.countOf(t, "AWS::IAM::OIDCProvider", 0)
	role, _ := roleOf(t, tmpl, "Deploy")
	if trust := mustJSON(role.Properties["AssumeRolePolicyDocument"]); !strings.Contains(trust, `"Federated":"`+arn+`"`) {
		t.Errorf("trust policy = %s; want the imported provider", trust)
	}
	// The other accounts still create their own.
	c.templates[PipelineStackName("prod")].countOf(t, "AWS::IAM::OIDCProvider", 1)
}
