package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/shield"
)

// EdgeProtectionProps configures the edge protection stack.
type EdgeProtectionProps struct {
	// Env is the environment the stack belongs to.
	Env *config.Environment
	// Stateless holds the distribution and the load balancer (whose own protection it creates).
	Stateless *Stateless
}

// EdgeProtection is the environment's second us-east-1 stack, present only with shield_advanced: the Shield
// Advanced protection of the CloudFront distribution and the protection group over the distribution and the load
// balancer. CloudFront is a global resource, which AWS manages from us-east-1 (the Shield API itself is served
// only there), so its protection is created there rather than in the regional stack that holds the distribution.
//
// It cannot be part of the edge stack: the stateless stack reads the web ACL from the edge stack, so the edge
// stack deploys first, while this one needs the distribution and deploys after the stateless stack. It reads the
// distribution id and the load balancer ARN with weak cross-region references (Fn::GetStackOutput), as the
// stateless stack reads the web ACL ARN.
type EdgeProtection struct {
	awscdk.Stack
	// Shield holds the distribution's protection and the group.
	Shield *shield.Shield
}

// NewEdgeProtection creates the edge protection stack of an environment in us-east-1.
func NewEdgeProtection(scope constructs.Construct, id string, props EdgeProtectionProps) *EdgeProtection {
	env, st := props.Env, props.Stateless
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         edgeRegional(props.Env),
		StackName:   jsii.String(id),
		Description: jsii.String("ECS Reworked " + env.Name + ": Shield Advanced protection of the CloudFront distribution (us-east-1)"),
	})
	// The distribution's ARN is built here from its id (a plain reference CDK can carry across regions); the
	// distribution is in this account, which the stack's own AWS::AccountId names.
	distributionID := awscdk.Stack_ConsumeReference(st.Edge.Distribution.DistributionId(), awscdk.ReferenceStrength_WEAK)
	distribution := awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("arn:"), stack.Partition(), jsii.String(":cloudfront::"), stack.Account(), jsii.String(":distribution/"), distributionID,
	})
	loadBalancer := awscdk.Stack_ConsumeReference(st.LoadBalancer.ALB.LoadBalancerArn(), awscdk.ReferenceStrength_WEAK)
	protections := shield.New(stack, "Shield", shield.Props{
		Name:      "ecsr-" + env.Name,
		Resources: map[string]*string{"distribution": distribution},
		Group:     "ecsr-" + env.Name,
		// Protected by the stateless stack, which deploys before this one.
		Members: []*string{loadBalancer},
	})
	// Explicit, though the references imply it: the load balancer's protection must exist before the group.
	stack.AddDependency(st.Stack, jsii.String("the group's load balancer member is protected by the stateless stack"))
	return &EdgeProtection{Stack: stack, Shield: protections}
}
