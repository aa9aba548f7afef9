package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/deployrole"
)

// ImagesStackName is the name of the images account's CI/CD stack.
const ImagesStackName = "ecsr-cicd-images"

// PipelineStackName is the name of the CI/CD stack in an environment's account.
func PipelineStackName(env string) string { return "ecsr-cicd-" + env }

// clusterID is the construct ID of the cluster in the cluster stack.
const clusterID = "Cluster"

// CICDProps configures the CI/CD stacks.
type CICDProps struct {
	// Settings are the decoded infra/cicd.yaml.
	Settings *config.CICD
	// Environments are the decoded environments; the stacks serve those Settings.Environments lists.
	Environments []*config.Environment
}

// CICD is the delivery pipeline's AWS side, one stack per account (docs/adr/0011-one-account-per-environment.md).
type CICD struct {
	// Images is the images account's stack: the repository, the GitHub OIDC provider and the push role.
	Images *Images
	// Pipelines are the environments' stacks by environment name: each environment account's GitHub OIDC
	// provider and the roles that deploy and diff that environment.
	Pipelines map[string]*Pipeline
}

// Images is the stack of the images account.
type Images struct {
	awscdk.Stack
	// Repository holds the service image, tagged by commit SHA.
	Repository awsecr.Repository
	// Push is the role the image job assumes to push.
	Push *deployrole.Role
}

// Pipeline is the CI/CD stack in one environment's account.
type Pipeline struct {
	awscdk.Stack
	// Deploy and Diff are the roles of the GitHub environments <env> and <env>-diff.
	Deploy, Diff *deployrole.Role
}

// AddCICD adds the CI/CD stacks to scope (the app), tagged and checked by the cdk-nag AwsSolutions pack like the
// environments' stacks.
func AddCICD(scope constructs.Construct, props CICDProps) *CICD {
	s := props.Settings
	byName := map[string]*config.Environment{}
	for _, env := range props.Environments {
		byName[env.Name] = env
	}
	var served []*config.Environment
	for _, name := range s.Environments {
		served = append(served, byName[name]) // config.DecodeCICD checked that it exists
	}
	c := &CICD{Images: newImages(scope, s, served), Pipelines: map[string]*Pipeline{}}
	stacks := []awscdk.Stack{c.Images.Stack}
	for _, env := range served {
		c.Pipelines[env.Name] = newPipeline(scope, s, env)
		stacks = append(stacks, c.Pipelines[env.Name].Stack)
	}
	for _, st := range stacks {
		awscdk.Tags_Of(st).Add(jsii.String("project"), jsii.String("ecs-reworked"), nil)
		awscdk.Aspects_Of(st).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	return c
}

// newCICDStack creates a CI/CD stack in account and region.
func newCICDStack(scope constructs.Construct, name, account, region, what string) awscdk.Stack {
	return awscdk.NewStack(scope, jsii.String(name), &awscdk.StackProps{
		Env:                   &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)},
		StackName:             jsii.String(name),
		Description:           jsii.String("ECS Reworked: " + what),
		TerminationProtection: jsii.Bool(true),
	})
}

// provider creates the account's GitHub OIDC provider, or imports it when cicd.yaml names one.
func provider(stack awscdk.Stack, s *config.CICD, account string) awsiam.IOidcProvider {
	if arn := s.OIDCProviderARNs[account]; arn != "" {
		return awsiam.OidcProviderNative_FromOidcProviderArn(stack, jsii.String("GitHubOIDC"), jsii.String(arn))
	}
	return awsiam.NewOidcProviderNative(stack, jsii.String("GitHubOIDC"), &awsiam.OidcProviderNativeProps{
		Url:       jsii.String("https://" + deployrole.GitHubOIDCHost),
		ClientIds: jsii.Strings(deployrole.Audience),
	})
}

func output(stack awscdk.Stack, name string, value *string, what string) {
	awscdk.NewCfnOutput(stack, jsii.String(name), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(what)})
}

// newImages creates the images account's stack: the repository, whose policy lets the served environments'
// roles pull across accounts, and the role the image job pushes with.
func newImages(scope constructs.Construct, s *config.CICD, envs []*config.Environment) *Images {
	stack := newCICDStack(scope, ImagesStackName, s.Images.Account, s.Region, "image repository and the role that pushes to it")
	im := &Images{Stack: stack}
	key := awskms.NewKey(stack, jsii.String("RepositoryKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the service images in ECR"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	im.Repository = awsecr.NewRepository(stack, jsii.String("Repository"), &awsecr.RepositoryProps{
		RepositoryName:     jsii.String(s.Repository.Name),
		ImageTagMutability: awsecr.TagMutability_IMMUTABLE,
		ImageScanOnPush:    jsii.Bool(true),
		Encryption:         awsecr.RepositoryEncryption_KMS(),
		EncryptionKey:      key,
		// Every release ever deployed may be rolled back to: images outlive the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		// Only tagged images expire: a release is one tagged image index (tag = commit SHA) and one untagged image
		// per architecture it references. A rule over untagged images (or "any", which selects all images,
		// https://docs.aws.amazon.com/AmazonECR/latest/userguide/lifecycle_policy_parameters.html) would count
		// or age the per-architecture images apart from their index, and no AWS document says a rule spares an
		// image an index still references: expiring one would leave a kept release unpullable. So releases are
		// counted by their tagged index, and the per-architecture images of expired releases stay (a storage cost,
		// docs/runbook.md "Roll back"). Expired images go within 24 hours
		// (https://docs.aws.amazon.com/AmazonECR/latest/userguide/lp_creation.html).
		LifecycleRules: &[]*awsecr.LifecycleRule{{
			Description:    jsii.String("Keep the newest releases (tagged image indexes); per-architecture images are never expired by count"),
			TagStatus:      awsecr.TagStatus_TAGGED,
			TagPatternList: jsii.Strings("*"),
			MaxImageCount:  jsii.Number(float64(s.Repository.KeepImages)),
		}},
	})
	// Cross-account pulls: the repository policy names each environment account as principal, narrowed by
	// aws:PrincipalArn to the roles under that environment's role path (its task execution roles among them);
	// the roles' own policies allow the pull on their side. Sources: Amazon ECR, "Private repository policy
	// examples" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html) and
	// "Repository policies" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html):
	// ecr:GetAuthorizationToken stays an identity-policy permission of the caller; the image layers are
	// decrypted by ECR through its own grant on the repository's key, so pullers need no KMS permission
	// ("Encryption at rest", https://docs.aws.amazon.com/AmazonECR/latest/userguide/encryption-at-rest.html).
	for _, env := range envs {
		im.Repository.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("Pull" + title(env.Name)),
			Principals: &[]awsiam.IPrincipal{awsiam.NewAccountPrincipal(jsii.String(env.Account))},
			Actions:    jsii.Strings("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
			Conditions: &map[string]any{"ArnLike": map[string]any{
				"aws:PrincipalArn": "arn:" + *stack.Partition() + ":iam::" + env.Account + ":role" + RolePath(env.Name) + "*",
			}},
		}))
	}
	im.Push = deployrole.New(stack, "Push", deployrole.Props{
		Provider:    provider(stack, s, s.Images.Account),
		Subject:     s.GitHub.Subject(s.ImageEnvironment),
		Description: "Pushes the service image from GitHub environment " + s.ImageEnvironment,
		PushTo:      im.Repository,
	})
	output(stack, "PushRoleArn", im.Push.Role.RoleArn(), "AWS_PUSH_ROLE_ARN of the GitHub environment "+s.ImageEnvironment)
	output(stack, "RepositoryName", im.Repository.RepositoryName(), "ECR_REPOSITORY of the GitHub environment "+s.ImageEnvironment)
	output(stack, "RepositoryUri", im.Repository.RepositoryUri(), "Where the pipeline pushes the image")
	return im
}

// newPipeline creates the CI/CD stack of one environment's account: the GitHub OIDC provider, a deploy role only
// the GitHub environment <env> may assume, and a read-only diff role for <env>-diff. Both reach only this
// account's bootstrap roles: no other environment's.
func newPipeline(scope constructs.Construct, s *config.CICD, env *config.Environment) *Pipeline {
	stack := newCICDStack(scope, PipelineStackName(env.Name), env.Account, env.Region, "GitHub OIDC provider and the deploy roles of "+env.Name)
	p := &Pipeline{Stack: stack}
	oidc := provider(stack, s, env.Account)
	regions := []string{env.Region}
	if env.Region != config.EdgeRegion {
		regions = append(regions, config.EdgeRegion)
	}
	p.Deploy = deployrole.New(stack, "Deploy", deployrole.Props{
		Provider:    oidc,
		Subject:     s.GitHub.Subject(env.Name),
		Description: "Deploys " + env.Name + " from GitHub environment " + env.Name,
		Regions:     regions,
		BootstrapRoles: []string{deployrole.BootstrapDeploy, deployrole.BootstrapFilePublishing,
			deployrole.BootstrapLookup},
		Migration: &deployrole.Migration{
			Region: env.Region, Stack: env.StackName("cluster"),
			Family: MigrationFamily(env.Name), Cluster: ClusterName(env.Name), RolePath: MigrationRolePath(env.Name),
		},
		ReadStacks: []deployrole.StackRef{
			{Region: env.Region, Name: env.StackName("stateful")}, {Region: env.Region, Name: env.StackName("cluster")},
			{Region: env.Region, Name: env.StackName("stateless")}, {Region: config.EdgeRegion, Name: env.StackName("edge")},
			{Region: config.EdgeRegion, Name: env.StackName("edge-protection")},
		},
		MaxSession: awscdk.Duration_Hours(jsii.Number(2)),
	})
	p.Diff = deployrole.New(stack, "Diff", deployrole.Props{
		Provider:       oidc,
		Subject:        s.GitHub.Subject(config.DiffEnvironment(env.Name)),
		Description:    "Shows cdk diff of " + env.Name + " from GitHub environment " + config.DiffEnvironment(env.Name),
		Regions:        regions,
		BootstrapRoles: []string{deployrole.BootstrapLookup},
	})
	output(stack, "DeployRoleArn", p.Deploy.Role.RoleArn(), "AWS_DEPLOY_ROLE_ARN of the GitHub environment "+env.Name)
	output(stack, "DiffRoleArn", p.Diff.Role.RoleArn(), "AWS_DIFF_ROLE_ARN of the GitHub environment "+config.DiffEnvironment(env.Name))
	return p
}

// title upper-cases the first letter of an environment name (lowercase letters and digits), for construct IDs
// and output names.
func title(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}
