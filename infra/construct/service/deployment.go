package service

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3assets"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
)

// Deployment is how a web service takes a new revision: a native Amazon ECS deployment (ADR 0014,
// docs/releases.md). ECS starts the new (green) tasks next to the old (blue) ones, routes the test listener to
// them, runs the smoke test hook, shifts production traffic (all at once, canary or linear), then keeps the blue
// tasks for the bake time, rolling back when a deployment alarm fires or the hook fails.
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html
type Deployment struct {
	// Strategy is BLUE_GREEN, CANARY or LINEAR.
	Strategy awsecs.DeploymentStrategy
	// BakeMinutes is the bake time after all traffic moved (ECS bakeTimeInMinutes, 0-1440).
	BakeMinutes int
	// StepPercent and StepBakeMinutes shape canary and linear shifts.
	StepPercent     float64
	StepBakeMinutes int
	// SmokeFulfillTimeout bounds the hook's wait for its order to be fulfilled (SMOKE_FULFILL_TIMEOUT, e.g. "60s").
	SmokeFulfillTimeout string
}

// HookStage is the lifecycle stage of the smoke test hook: after the test listener routes to the new tasks and
// before production traffic moves (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html).
const HookStage = awsecs.DeploymentLifecycleStage_POST_TEST_TRAFFIC_SHIFT

// HookTimeoutSeconds is the hook function's timeout: the smoke test's 60 s wait for fulfillment plus its HTTP
// calls, well below the 15 minutes a synchronous hook may take (same page).
const HookTimeoutSeconds = 120

// deploymentProps sets the deployment strategy on the service's properties (before it is created).
func deploymentProps(p *awsecs.FargateServiceProps, d *Deployment) {
	if d == nil {
		return
	}
	p.DeploymentStrategy = d.Strategy
	p.BakeTime = awscdk.Duration_Minutes(jsii.Number(float64(d.BakeMinutes)))
	step := &awsecs.TrafficShiftConfig{
		StepPercent:  jsii.Number(d.StepPercent),
		StepBakeTime: awscdk.Duration_Minutes(jsii.Number(float64(d.StepBakeMinutes))),
	}
	switch d.Strategy {
	case awsecs.DeploymentStrategy_CANARY:
		p.CanaryConfiguration = step
	case awsecs.DeploymentStrategy_LINEAR:
		p.LinearConfiguration = step
	}
}

// blueGreen routes a web service through the load balancer's blue/green resources, adds the smoke test hook
// and returns the primary and alternate target groups.
func (s *Service) blueGreen(c constructs.Construct, props Props) (blue, green awselasticloadbalancingv2.ApplicationTargetGroup) {
	ms := props.Service
	bg := props.Router.AddBlueGreenService(ms.Name, loadbalancer.Route{
		Port:                ms.Port,
		HealthPath:          ms.HealthPath,
		PathPattern:         ms.PathPattern,
		Priority:            props.RoutePriority,
		DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(float64(DeregistrationDelaySeconds(ms)))),
	})
	// The infrastructure role ECS uses to move traffic between the target groups is the one CDK creates with the
	// AWS managed policy AmazonECSInfrastructureRolePolicyForLoadBalancers
	// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html,
	// policy https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AmazonECSInfrastructureRolePolicyForLoadBalancers.html):
	// AWS maintains it as ECS's needs change (six versions in its first seven months), which a copy would miss.
	target := s.Service.LoadBalancerTarget(&awsecs.LoadBalancerTargetOptions{
		ContainerName: jsii.String(ms.Name),
		ContainerPort: jsii.Number(float64(ms.Port)),
		AlternateTarget: awsecs.NewAlternateTarget(jsii.String("AlternateTarget"), &awsecs.AlternateTargetProps{
			AlternateTargetGroup: bg.Green,
			ProductionListener:   awsecs.ListenerRuleConfiguration_ApplicationListenerRule(bg.ProductionRule),
			TestListener:         awsecs.ListenerRuleConfiguration_ApplicationListenerRule(bg.TestRule),
		}),
	})
	target.AttachToApplicationTargetGroup(bg.Blue)

	hook := s.smokeHook(c, props, bg)
	// The role ECS assumes to invoke the hook: lambda:InvokeFunction on the function's unqualified ARN, the one
	// the hook names, and nothing else (CDK's default would add the function's versions, <arn>:*).
	invoker := awsiam.NewRole(c, jsii.String("SmokeHookInvokeRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("ecs.amazonaws.com"), nil),
		Description: jsii.String("ECS invokes the " + ms.Name + " service's smoke test hook"),
	})
	invoker.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("lambda:InvokeFunction"),
		Resources: &[]*string{hook.FunctionArn()},
	}))
	s.Service.AddLifecycleHook(awsecs.NewDeploymentLifecycleLambdaTarget(hook, jsii.String("SmokeHook"), &awsecs.DeploymentLifecycleLambdaTargetProps{
		LifecycleStages: &[]awsecs.DeploymentLifecycleStage{HookStage},
		Role:            invoker,
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(s.Service, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("The ECS infrastructure role for blue/green traffic shifting uses AmazonECSInfrastructureRolePolicyForLoadBalancers, " +
			"which AWS maintains as the ECS deployment controller's needs change."),
		AppliesTo: &[]interface{}{jsii.String("Policy::arn:<AWS::Partition>:iam::aws:policy/AmazonECSInfrastructureRolePolicyForLoadBalancers")},
	}}, jsii.Bool(true))
	s.TestListenerPort = bg.TestPort
	return bg.Blue, bg.Green
}

// smokeHook is the smoke test function (cmd/smokehook, arm64 on provided.al2023), in the VPC's private subnets,
// allowed to reach the service's test listener only.
func (s *Service) smokeHook(c constructs.Construct, props Props, bg *loadbalancer.BlueGreen) awslambda.Function {
	sg := awsec2.NewSecurityGroup(c, jsii.String("SmokeHookSecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Vpc,
		Description:      jsii.String("Smoke test hook of the " + props.Service.Name + " service: the test listener only"),
		AllowAllOutbound: jsii.Bool(false),
	})
	logs := awslogs.NewLogGroup(c, jsii.String("SmokeHookLogs"), &awslogs.LogGroupProps{
		Retention: props.LogRetention, EncryptionKey: props.LogKey, RemovalPolicy: props.LogRemoval,
	})
	env := map[string]*string{"SMOKE_BASE_URL": props.Router.TestURL(bg), "SMOKE_SUITE": jsii.String(props.Service.Smoke)}
	if len(props.Service.SmokePaths) > 0 {
		env["SMOKE_PATHS"] = jsii.String(strings.Join(props.Service.SmokePaths, ","))
	}
	if d := props.Deployment; d != nil && d.SmokeFulfillTimeout != "" {
		env["SMOKE_FULFILL_TIMEOUT"] = jsii.String(d.SmokeFulfillTimeout)
	}
	fn := awslambda.NewFunction(c, jsii.String("SmokeHook"), &awslambda.FunctionProps{
		Description:    jsii.String("Release smoke test of " + props.Service.Name + " through its test listener (ECS lifecycle hook)"),
		Runtime:        awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:   awslambda.Architecture_ARM_64(),
		Handler:        jsii.String("bootstrap"),
		Code:           SmokeHookCode(),
		MemorySize:     jsii.Number(128),
		Timeout:        awscdk.Duration_Seconds(jsii.Number(HookTimeoutSeconds)),
		Vpc:            props.Vpc,
		VpcSubnets:     &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		SecurityGroups: &[]awsec2.ISecurityGroup{sg},
		Environment:    &env,
		LogGroup:       logs,
		// No reserved concurrency: an account must keep 100 unreserved executions, so reserving any fails in
		// new accounts whose limit is lower (https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html).
	})
	props.Router.AllowTestTraffic(bg, fn)
	cdknag.NagSuppressions_AddResourceSuppressions(fn, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM4"),
		Reason: jsii.String("The function's role has the AWS managed Lambda basic and VPC access policies only (its logs and its network interfaces); " +
			"it calls no AWS API."),
		AppliesTo: &[]interface{}{
			jsii.String("Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"),
			jsii.String("Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"),
		},
	}}, jsii.Bool(true))
	return fn
}

// errorsOfBoth is the target 5xx count of both target groups: production traffic is on either after a
// deployment, so the rollback alarm watches both.
func errorsOfBoth(blue, green awselasticloadbalancingv2.ApplicationTargetGroup) awscloudwatch.IMetric {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	opts := &awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("FILL(blue, 0) + FILL(green, 0)"),
		Label:      jsii.String("Target 5xx (both target groups)"),
		Period:     minute,
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"blue":  blue.Metrics().HttpCodeTarget(awselasticloadbalancingv2.HttpCodeTarget_TARGET_5XX_COUNT, opts),
			"green": green.Metrics().HttpCodeTarget(awselasticloadbalancingv2.HttpCodeTarget_TARGET_5XX_COUNT, opts),
		},
	})
}

// targetGroupsMetric is metric of the service's target group, or, for a blue/green service, of both target
// groups combined with fn (MAX or SUM over the two series): production traffic is on either after a deployment.
// MAX and SUM of an array of time series return a time series of the per-period maximum or sum
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/using-metric-math.html#metric-math-syntax).
func (s *Service) targetGroupsMetric(metric func(awselasticloadbalancingv2.ApplicationTargetGroup) awscloudwatch.IMetric, fn, label string) awscloudwatch.IMetric {
	if s.AlternateTargetGroup == nil {
		return metric(s.TargetGroup)
	}
	return awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(fn + "([FILL(blue, 0), FILL(green, 0)])"),
		Label:        jsii.String(label + " (both target groups)"),
		Period:       awscdk.Duration_Minutes(jsii.Number(1)),
		UsingMetrics: &map[string]awscloudwatch.IMetric{"blue": metric(s.TargetGroup), "green": metric(s.AlternateTargetGroup)},
	})
}

// SmokeHookCode is the smoke test function's code: cmd/smokehook built for linux/arm64 as the bootstrap of a
// provided.al2023 function, at synthesis, by the local Go toolchain. The asset's hash is the binary's, built
// reproducibly (-trimpath, no VCS stamp), so an unchanged hook is not redeployed.
func SmokeHookCode() awslambda.Code {
	root := repoRoot()
	return awslambda.Code_FromAsset(jsii.String(filepath.Join(root, "cmd", "smokehook")), &awss3assets.AssetOptions{
		AssetHashType: awscdk.AssetHashType_OUTPUT,
		Bundling: &awscdk.BundlingOptions{
			// Used only if the local build cannot run (no Go toolchain); the build must then happen in Docker.
			Image: awscdk.DockerImage_FromRegistry(jsii.String("public.ecr.aws/docker/library/golang:1.25")),
			Local: &goBuild{root: root, pkg: "./cmd/smokehook"},
		},
	})
}

// goBuild builds a Go command of the repository into the bundle as "bootstrap".
type goBuild struct{ root, pkg string }

// TryBundle implements awscdk.ILocalBundling.
func (g *goBuild) TryBundle(outputDir *string, _ *awscdk.BundlingOptions) *bool {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return jsii.Bool(false)
	}
	// Synthesis offers no context to cancel with; a build that hangs is stopped with the synthesis itself.
	cmd := exec.CommandContext(context.Background(), goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-tags", "lambda.norpc",
		"-o", filepath.Join(*outputDir, "bootstrap"), g.pkg)
	cmd.Dir = g.root
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		panic("build the smoke test hook: " + err.Error() + "\n" + string(out))
	}
	return jsii.Bool(true)
}

// repoRoot is the repository's root directory (this file is infra/construct/service/deployment.go).
func repoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("service: cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}
