package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/observability"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/waf"
)

// OrdersPath is the API path of order creation, which the web ACL rate-limits more strictly for POST.
const OrdersPath = "/api/orders"

// APIPath is the path prefix of the JSON API (the web services' path patterns start with it). Bot Control does
// not inspect it: its challenges need the WAF token a browser fetch() cannot acquire (docs/adr/0010).
const APIPath = "/api/"

// EdgeProps configures the edge stack.
type EdgeProps struct {
	// Env is the environment the stack belongs to.
	Env *config.Environment
}

// Edge is the environment's us-east-1 stack: what CloudFront requires there, the CLOUDFRONT-scope web ACL with
// its log group, and an alarm topic of its own (CloudWatch alarms notify topics in their own region only).
//
// The distribution itself lives in the stateless stack next to the load balancer it fronts. It reads the web ACL
// ARN from this stack's output with a weak cross-region reference (Fn::GetStackOutput, see AddEnvironment): no
// custom resource or SSM parameter carries it, synthesis needs no credentials, and this stack deploys first.
type Edge struct {
	awscdk.Stack
	// WebACL is the web ACL, its logging and alarm.
	WebACL *waf.WebACL
	// Observability holds the edge stack's key and alarm topic.
	Observability *observability.Observability
}

// NewEdge creates the edge stack of an environment in us-east-1.
func NewEdge(scope constructs.Construct, id string, props EdgeProps) *Edge {
	env := props.Env
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:                   edgeRegional(props.Env),
		StackName:             jsii.String(id),
		Description:           jsii.String("ECS Reworked " + env.Name + ": CloudFront web ACL (us-east-1)"),
		TerminationProtection: jsii.Bool(env.TerminationProtection),
	})
	obs := observability.New(stack, "Observability", observability.Props{
		Emails:       env.Alarms.Emails,
		LogRetention: logRetention(env),
		LogRemoval:   removalPolicy(env.Removal.Logs),
		KeyRemoval:   removalPolicy(env.Removal.Data),
	})
	acl := waf.New(stack, "WebACL", waf.Props{
		Name:                   "ecsr-" + env.Name,
		Count:                  env.WAF.Mode == config.WAFCount,
		ManagedRuleGroups:      env.WAF.ManagedRuleGroups,
		RateLimitPerIP:         env.WAF.RateLimitPerIP,
		RateLimitOrdersPerIP:   env.WAF.RateLimitOrdersPerIP,
		RateLimitWindowSeconds: env.WAF.RateLimitWindowSeconds,
		OrdersPath:             OrdersPath,
		BotControl:             env.WAF.BotControl,
		APIPath:                APIPath,
		LogRetention:           logRetention(env),
		LogKey:                 obs.Key,
		LogRemoval:             removalPolicy(env.Removal.Logs),
		AlarmTopic:             obs.AlarmTopic,
		BlockedPer5Minutes:     env.Alarms.WAFBlockedPer5Minutes,
	})
	return &Edge{Stack: stack, WebACL: acl, Observability: obs}
}
