// Package stacks composes the constructs into the deployable stacks of one environment: stateful (network,
// database, messaging, alarm topic), cluster (the ECS cluster and the migration task), stateless (services,
// load balancer, CloudFront), edge (the web ACL;
// us-east-1) and, with Shield Advanced, edge protection (the distribution's protection; us-east-1). Stacks
// only compose constructs and grant access between them; they read nothing but their props.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/observability"
)

// Environment holds the stacks of one environment.
type Environment struct {
	// Stateful holds the resources whose replacement loses data: network, database, queues, keys.
	Stateful *Stateful
	// Edge holds the CloudFront web ACL in us-east-1.
	Edge *Edge
	// Cluster holds the ECS cluster and the migration task, deployed and run before the services.
	Cluster *Cluster
	// Stateless holds the cluster, services, load balancer and distribution.
	Stateless *Stateless
	// EdgeProtection holds the distribution's Shield Advanced protection in us-east-1; nil unless the
	// environment turns shield_advanced on.
	EdgeProtection *EdgeProtection
	// Dashboard is the environment's CloudWatch dashboard; each part adds its section.
	Dashboard *observability.Dashboard
}

// AddEnvironment adds the stacks of env to scope (the app), each checked by the cdk-nag AwsSolutions pack and
// tagged with the environment's tags.
func AddEnvironment(scope constructs.Construct, env *config.Environment, in config.Inputs) *Environment {
	stateful := NewStateful(scope, env.StackName("stateful"), StatefulProps{Env: env, Manifest: in.Manifest})

	edge := NewEdge(scope, env.StackName("edge"), EdgeProps{Env: env})
	// The cluster stack holds the migration task: the deploy runs it after this stack and before the stateless
	// stack (scripts/deploy.sh), so the services' first tasks find their database roles.
	cluster := NewCluster(scope, env.StackName("cluster"), ClusterProps{Env: env, Inputs: in, Stateful: stateful})
	stateless := NewStateless(scope, env.StackName("stateless"), StatelessProps{
		Env: env, Inputs: in, Stateful: stateful, Cluster: cluster,
		// A weak reference (Fn::GetStackOutput across regions): no custom resource carries the ARN over.
		WebACLArn: awscdk.Stack_ConsumeReference(edge.WebACL.ACL.AttrArn(), awscdk.ReferenceStrength_WEAK),
	})

	// The dashboard lives in the last regional stack: it may reference every regional resource, and nothing
	// references it (the stateful stack cannot reference stateless resources without a dependency cycle).
	dashboard := observability.NewDashboard(stateless.Stack, "Dashboard", observability.DashboardProps{Name: "ecsr-" + env.Name})
	dashboard.AddSection(stateful.Database.Section())
	dashboard.AddSection(stateful.Messaging.Section())
	dashboard.AddSection(stateless.Section(edge.WebACL.Blocked))

	all := []awscdk.Stack{stateful.Stack, edge.Stack, cluster.Stack, stateless.Stack}
	var protection *EdgeProtection
	if env.ShieldAdvanced {
		protection = NewEdgeProtection(scope, env.StackName("edge-protection"), EdgeProtectionProps{Env: env, Stateless: stateless})
		all = append(all, protection.Stack)
	}
	for _, s := range all {
		applyPolicies(s, env)
	}
	return &Environment{Stateful: stateful, Edge: edge, Cluster: cluster, Stateless: stateless, EdgeProtection: protection, Dashboard: dashboard}
}

// applyPolicies tags every resource of the stack and applies the cdk-nag AwsSolutions checks to it. The checks
// report findings as error and warning annotations, which the tests read.
func applyPolicies(stack awscdk.Stack, env *config.Environment) {
	tags := awscdk.Tags_Of(stack)
	// RDS Proxy target groups accept no tags.
	opts := &awscdk.TagProps{ExcludeResourceTypes: jsii.Strings("AWS::RDS::DBProxyTargetGroup")}
	tags.Add(jsii.String("project"), jsii.String("ecs-reworked"), opts)
	tags.Add(jsii.String("ecsr:environment"), jsii.String(env.Name), opts)
	for k, v := range env.Tags {
		tags.Add(jsii.String(k), jsii.String(v), opts)
	}
	awscdk.Aspects_Of(stack).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	awscdk.Aspects_Of(stack).Add(&rolePath{path: RolePath(env.Name)}, nil)
}

// rolePath puts every IAM role of a stack that has no path of its own under path, so that policies outside the
// stack (the images repository's pull grant, the deploy role's PassRole) can name the environment's roles.
type rolePath struct{ path string }

// Visit implements awscdk.IAspect.
func (a *rolePath) Visit(node constructs.IConstruct) {
	if role, ok := node.(awsiam.CfnRole); ok && role.Path() == nil {
		role.SetPath(jsii.String(a.path))
	}
}

// AppContext is the context every app holding these stacks is created with (infra/main.go and the tests): the
// feature flags the stacks are written for.
func AppContext() *map[string]any {
	return &map[string]any{
		// Cross-stack references between the stateful, stateless and edge stacks stay CloudFormation exports,
		// which protect the producer from deleting what a consumer still uses.
		"@aws-cdk/core:defaultCrossStackReferences": "strong",
	}
}

// regional returns the stack environment of env's account and region. The account is explicit: a credential
// of another account cannot deploy the stack (the CLI refuses a stack whose account is not the one its
// bootstrap roles are in), and synthesis still needs no credentials.
func regional(env *config.Environment) *awscdk.Environment {
	return &awscdk.Environment{Account: jsii.String(env.Account), Region: jsii.String(env.Region)}
}

// edgeRegional is the stack environment of env's us-east-1 stacks, in env's account.
func edgeRegional(env *config.Environment) *awscdk.Environment {
	return &awscdk.Environment{Account: jsii.String(env.Account), Region: jsii.String(config.EdgeRegion)}
}
