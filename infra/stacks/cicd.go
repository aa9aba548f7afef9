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

// CICDStackName is the name of the delivery pipeline's stack: one per account and region.
const CICDStackName = "ecsr-cicd"

// clusterID is the construct ID of the cluster in the cluster stack.
const clusterID = "Cluster"

// CICDProps configures the CI/CD stack.
type CICDProps struct {
	// Settings are the decoded infra/cicd.yaml.
	Settings *config.CICD
	// Environments are the decoded environments; the stack serves those Settings.Environments lists.
	Environments []*config.Environment
}

// CICD is the delivery pipeline's AWS side: the image repository, the GitHub OIDC provider (created or
// imported) and, per environment, a deploy role and a read-only diff role that only that GitHub environment's
// jobs may assume.
type CICD struct {
	awscdk.Stack
	// Repository holds the service image, tagged by commit SHA.
	Repository awsecr.Repository
	// Provider is the account's GitHub OIDC provider.
	Provider awsiam.IOidcProvider
	// DeployRoles and DiffRoles are the roles by environment name.
	DeployRoles, DiffRoles map[string]*deployrole.Role
}

// NewCICD creates the CI/CD stack. Its outputs are the values the GitHub environments need (docs/runbook.md).
func NewCICD(scope constructs.Construct, id string, props CICDProps) *CICD {
	s := props.Settings
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:                   &awscdk.Environment{Region: jsii.String(s.Region)},
		StackName:             jsii.String(id),
		Description:           jsii.String("ECS Reworked: image repository, GitHub OIDC provider and deploy roles"),
		TerminationProtection: jsii.Bool(true),
	})
	c := &CICD{Stack: stack, DeployRoles: map[string]*deployrole.Role{}, DiffRoles: map[string]*deployrole.Role{}}

	key := awskms.NewKey(stack, jsii.String("RepositoryKey"), &awskms.KeyProps{
		Description:       jsii.String("Encrypts the service images in ECR"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
	})
	c.Repository = awsecr.NewRepository(stack, jsii.String("Repository"), &awsecr.RepositoryProps{
		RepositoryName:     jsii.String(s.Repository.Name),
		ImageTagMutability: awsecr.TagMutability_IMMUTABLE,
		ImageScanOnPush:    jsii.Bool(true),
		Encryption:         awsecr.RepositoryEncryption_KMS(),
		EncryptionKey:      key,
		// Every release ever deployed may be rolled back to: images outlive the stack.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awsecr.LifecycleRule{{
			Description:   jsii.String("Keep the newest images (an index and one image per architecture per release)"),
			TagStatus:     awsecr.TagStatus_ANY,
			MaxImageCount: jsii.Number(float64(s.Repository.KeepImages)),
		}},
	})

	if s.OIDCProviderARN != "" {
		c.Provider = awsiam.OidcProviderNative_FromOidcProviderArn(stack, jsii.String("GitHubOIDC"), jsii.String(s.OIDCProviderARN))
	} else {
		c.Provider = awsiam.NewOidcProviderNative(stack, jsii.String("GitHubOIDC"), &awsiam.OidcProviderNativeProps{
			Url:       jsii.String("https://" + deployrole.GitHubOIDCHost),
			ClientIds: jsii.Strings(deployrole.Audience),
		})
	}

	out := func(name string, value *string, what string) {
		awscdk.NewCfnOutput(stack, jsii.String(name), &awscdk.CfnOutputProps{Value: value, Description: jsii.String(what)})
	}
	byName := map[string]*config.Environment{}
	for _, env := range props.Environments {
		byName[env.Name] = env
	}
	for _, name := range s.Environments {
		env := byName[name] // config.DecodeCICD checked that it exists
		regions := []string{env.Region}
		if env.Region != config.EdgeRegion {
			regions = append(regions, config.EdgeRegion)
		}
		deploy := deployrole.Props{
			Provider:    c.Provider,
			Subject:     s.GitHub.Subject(env.Name),
			Description: "Deploys " + env.Name + " from GitHub environment " + env.Name,
			Regions:     regions,
			BootstrapRoles: []string{deployrole.BootstrapDeploy, deployrole.BootstrapFilePublishing,
				deployrole.BootstrapLookup},
			Migration: &deployrole.Migration{
				Region: env.Region, Stack: env.StackName("cluster"),
				Family: MigrationFamily(env.Name), Cluster: ClusterName(env.Name), RolePath: MigrationRolePath(env.Name),
			},
			MaxSession: awscdk.Duration_Hours(jsii.Number(2)),
		}
		if env.Name == s.ImageEnvironment {
			deploy.PushTo = c.Repository
		}
		c.DeployRoles[env.Name] = deployrole.New(stack, "Deploy"+title(env.Name), deploy)
		c.DiffRoles[env.Name] = deployrole.New(stack, "Diff"+title(env.Name), deployrole.Props{
			Provider:       c.Provider,
			Subject:        s.GitHub.Subject(config.DiffEnvironment(env.Name)),
			Description:    "Shows cdk diff of " + env.Name + " from GitHub environment " + config.DiffEnvironment(env.Name),
			Regions:        regions,
			BootstrapRoles: []string{deployrole.BootstrapLookup},
		})
		out("DeployRoleArn"+title(env.Name), c.DeployRoles[env.Name].Role.RoleArn(),
			"AWS_DEPLOY_ROLE_ARN of the GitHub environment "+env.Name)
		out("DiffRoleArn"+title(env.Name), c.DiffRoles[env.Name].Role.RoleArn(),
			"AWS_DIFF_ROLE_ARN of the GitHub environment "+config.DiffEnvironment(env.Name))
	}
	out("RepositoryName", c.Repository.RepositoryName(), "ECR_REPOSITORY of every GitHub environment")
	out("RepositoryUri", c.Repository.RepositoryUri(), "Where the pipeline pushes the image")
	return c
}

// AddCICD adds the CI/CD stack (CICDStackName) to scope (the app), tagged and checked by the cdk-nag AwsSolutions
// pack like the environments' stacks.
func AddCICD(scope constructs.Construct, props CICDProps) *CICD {
	c := NewCICD(scope, CICDStackName, props)
	awscdk.Tags_Of(c.Stack).Add(jsii.String("project"), jsii.String("ecs-reworked"), nil)
	awscdk.Aspects_Of(c.Stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	return c
}

// title upper-cases the first letter of an environment name (lowercase letters and digits), for construct IDs
// and output names.
func title(name string) string {
	if name == "" {
		return name
	}
	return strings.ToUpper(name[:1]) + name[1:]
}
