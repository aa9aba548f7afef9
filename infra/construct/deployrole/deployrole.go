// Package deployrole provides the IAM role a GitHub Actions job assumes by OIDC to act on one environment: no
// long-lived keys, a trust policy that admits only the given repository and GitHub environment (the `sub` claim)
// and tokens minted for AWS STS (the `aud` claim), and permissions limited to what the pipeline does there.
//
// The role deploys through the CDK bootstrap roles of the environment's account and regions (`cdk deploy`
// assumes them; CloudFormation acts with the bootstrap execution role), so it holds no resource permissions of
// its own beyond pushing the image and running the migration task, which happen outside CloudFormation.
package deployrole

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// GitHubOIDCHost is the issuer host of GitHub Actions' OIDC tokens; the claims' condition keys start with it.
const GitHubOIDCHost = "token.actions.githubusercontent.com"

// Audience is the `aud` claim configure-aws-credentials requests: tokens for any other audience are refused.
const Audience = "sts.amazonaws.com"

// BootstrapQualifier is the CDK bootstrap qualifier (the default of `cdk bootstrap`); the bootstrap roles are
// named cdk-<qualifier>-<kind>-<account>-<region>.
const BootstrapQualifier = "hnb659fds"

// The CDK bootstrap roles a pipeline job may assume.
const (
	// BootstrapDeploy is the role `cdk deploy` (and `cdk diff` with change sets) assumes to drive CloudFormation.
	BootstrapDeploy = "deploy-role"
	// BootstrapFilePublishing uploads file assets (the web UI, Lambda code) to the bootstrap bucket.
	BootstrapFilePublishing = "file-publishing-role"
	// BootstrapLookup reads deployed templates and context lookups; it is read-only.
	BootstrapLookup = "lookup-role"
)

// Props configures a role.
type Props struct {
	// Provider is the account's GitHub OIDC provider.
	Provider awsiam.IOidcProvider
	// Subject is the only `sub` claim admitted, repo:<owner>/<repo>:environment:<github environment>.
	Subject string
	// Description says what the role is for.
	Description string
	// Regions are the regions of the environment's stacks; BootstrapRoles (BootstrapDeploy, ...) are the
	// bootstrap roles the job may assume in each of them, in this account.
	Regions        []string
	BootstrapRoles []string
	// PushTo, when set, is the one repository the role may push images to (and pull from).
	PushTo awsecr.IRepository
	// Migration, when set, lets the role run the environment's migration task.
	Migration *Migration
	// ReadStacks are the stacks whose status the role may read (cloudformation:DescribeStacks): scripts/deploy.sh
	// reads the status of every stack it deploys before it deploys any, with the role's own credentials.
	ReadStacks []StackRef
	// MaxSession bounds the role's sessions (a first deploy of a production environment takes longer than an
	// hour); zero means one hour.
	MaxSession awscdk.Duration
}

// Migration names the migration task the pipeline runs before it deploys the services. Every name is explicit
// in the stack that creates the task (the family, the cluster's name, the roles' IAM path), never one that
// CloudFormation generates: CloudFormation shortens long stack names inside generated names, so a prefix
// derived from the stack name would not match them for every environment name.
type Migration struct {
	// Region is the environment's region.
	Region string
	// Stack is the name of the stack whose outputs locate the task (aws cloudformation describe-stacks).
	Stack string
	// Family is the task definition's family and Cluster the name of the cluster it runs in.
	Family, Cluster string
	// RolePath is the IAM path of the task's task and execution roles ("/ecsr/dev/migration/"); the role may
	// pass the roles under it to ECS tasks.
	RolePath string
}

// StackRef names a stack in a region of the role's account.
type StackRef struct{ Region, Name string }

// Role is a role for one GitHub environment.
type Role struct {
	constructs.Construct
	// Role is the IAM role; its ARN goes into the GitHub environment's variables.
	Role awsiam.Role
}

// New creates the role.
func New(scope constructs.Construct, id string, props Props) *Role {
	c := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(c)
	principal := awsiam.NewWebIdentityPrincipal(props.Provider.OidcProviderArn(), &map[string]any{
		"StringEquals": map[string]any{
			GitHubOIDCHost + ":aud": Audience,
			GitHubOIDCHost + ":sub": props.Subject,
		},
	})
	role := awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		AssumedBy:          principal,
		Description:        jsii.String(props.Description),
		MaxSessionDuration: props.MaxSession,
	})
	r := &Role{Construct: c, Role: role}

	var bootstrap []*string
	for _, region := range props.Regions {
		for _, kind := range props.BootstrapRoles {
			bootstrap = append(bootstrap, arn(stack, "iam", "", "role",
				"cdk-"+BootstrapQualifier+"-"+kind+"-"+*stack.Account()+"-"+region))
		}
	}
	if len(bootstrap) > 0 {
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("sts:AssumeRole"), Resources: &bootstrap,
		}))
	}
	var suppress []string
	if props.PushTo != nil {
		props.PushTo.GrantPullPush(role)
		// The image job looks its commit's tag up before it builds (.github/workflows/deliver.yml).
		props.PushTo.Grant(role, jsii.String("ecr:DescribeImages"))
		suppress = append(suppress, "Resource::*")
	}
	if m := props.Migration; m != nil {
		suppress = append(suppress, r.allowMigration(stack, m)...)
	}
	if len(props.ReadStacks) > 0 {
		// A stack's ARN ends in its generated id: stack/<name>/<id>
		// (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html).
		var arns []*string
		for _, ref := range props.ReadStacks {
			arns = append(arns, arn(stack, "cloudformation", ref.Region, "stack", ref.Name+"/*"))
			suppress = append(suppress, nagResource(stack, "cloudformation", ref.Region, "stack/"+ref.Name+"/*"))
		}
		role.AddToPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			// DescribeStackResources: the release step finds the services among the stateless stack's resources.
			Actions: jsii.Strings("cloudformation:DescribeStacks", "cloudformation:DescribeStackResources"), Resources: &arns,
		}))
	}
	if len(suppress) > 0 {
		applies := make([]any, len(suppress))
		for i, s := range suppress {
			applies[i] = jsii.String(s)
		}
		cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
			Id: jsii.String("AwsSolutions-IAM5"),
			Reason: jsii.String("ecr:GetAuthorizationToken supports no resource-level permission; the migration task's revisions, its cluster's tasks, the roles under the environment's " +
				"migration role path and the stack's generated id are named by their one fixed prefix."),
			AppliesTo: &applies,
		}}, jsii.Bool(true))
	}
	return r
}

// allowMigration lets the role run the migration task (deployed with the release's image by its stack) in the
// environment's cluster, wait for it or stop it, and read the stack outputs that locate it. It returns the wildcards it
// grants, as cdk-nag names them.
func (r *Role) allowMigration(stack awscdk.Stack, m *Migration) []string {
	ecsArn := func(resource, name string) *string { return arn(stack, "ecs", m.Region, resource, name) }
	add := func(actions []string, resources []*string, conditions map[string]any) {
		st := &awsiam.PolicyStatementProps{Actions: jsii.Strings(actions...), Resources: &resources}
		if conditions != nil {
			st.Conditions = &conditions
		}
		r.Role.AddToPolicy(awsiam.NewPolicyStatement(st))
	}
	add([]string{"ecs:RunTask"}, []*string{ecsArn("task-definition", m.Family+":*")}, map[string]any{
		"ArnEquals": map[string]any{"ecs:cluster": ecsArn("cluster", m.Cluster)},
	})
	add([]string{"ecs:DescribeTasks", "ecs:StopTask"}, []*string{ecsArn("task", m.Cluster+"/*")}, nil)
	// The release step follows each service's deployment to its end (scripts/release-wait.sh): it finds the
	// services among the stateless stack's resources, then reads their service deployments, authorized on the
	// service and on the service deployment
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-deployment-permissions.html).
	add([]string{"ecs:ListServiceDeployments"}, []*string{ecsArn("service", m.Cluster+"/*")}, nil)
	add([]string{"ecs:DescribeServiceDeployments"}, []*string{ecsArn("service-deployment", m.Cluster+"/*")}, nil)
	// A role's ARN includes its path (arn:aws:iam::<account>:role/<path><name>), so a PassRole resource of
	// role/<path>* names exactly the roles created under that path, whatever their generated names. Sources:
	// IAM identifiers, "Friendly names and paths" and "IAM ARNs"
	// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html); PassRole is checked on the
	// role's ARN (https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_use_passrole.html).
	add([]string{"iam:PassRole"}, []*string{arn(stack, "iam", "", "role", strings.TrimPrefix(m.RolePath, "/")+"*")}, map[string]any{
		"StringEquals": map[string]any{"iam:PassedToService": "ecs-tasks.amazonaws.com"}, //nolint:gosec // G101: an IAM condition key, not a credential
	})
	add([]string{"cloudformation:DescribeStacks"}, []*string{arn(stack, "cloudformation", m.Region, "stack", m.Stack+"/*")}, nil)
	nag := func(service, region, resource string) string { return nagResource(stack, service, region, resource) }
	return []string{
		nag("ecs", m.Region, "task-definition/"+m.Family+":*"),
		nag("ecs", m.Region, "task/"+m.Cluster+"/*"),
		nag("ecs", m.Region, "service/"+m.Cluster+"/*"),
		nag("ecs", m.Region, "service-deployment/"+m.Cluster+"/*"),
		nag("iam", "", "role/"+strings.TrimPrefix(m.RolePath, "/")+"*"),
		nag("cloudformation", m.Region, "stack/"+m.Stack+"/*"),
	}
}

// nagResource is a resource of this account as cdk-nag names it in a suppression's AppliesTo.
func nagResource(stack awscdk.Stack, service, region, resource string) string {
	account := "<AWS::AccountId>"
	if !*awscdk.Token_IsUnresolved(stack.Account()) {
		account = *stack.Account() // a stack with an explicit account
	}
	return "Resource::arn:<AWS::Partition>:" + service + ":" + region + ":" + account + ":" + resource
}

// arn formats the ARN of a resource of this account (in region, or global when region is empty).
func arn(stack awscdk.Stack, service, region, resource, name string) *string {
	return stack.FormatArn(&awscdk.ArnComponents{Service: jsii.String(service), Region: jsii.String(region),
		Resource: jsii.String(resource), ResourceName: jsii.String(name),
		ArnFormat: awscdk.ArnFormat_SLASH_RESOURCE_NAME})
}
