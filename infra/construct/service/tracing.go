package service

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// Tracing (docs/adr/0015-tracing.md): the services export their spans themselves, over OTLP/HTTP signed with
// SigV4 by the task role, to the CloudWatch OTLP traces endpoint https://xray.<region>.amazonaws.com/v1/traces
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-OTLPEndpoint.html). No collector
// sidecar runs. The variables are those internal/platform/tracing reads (docs/configuration.md), set by
// Environment.
const (
	TraceEndpointEnv    = manifest.TracesEndpointEnv
	TraceSampleRatioEnv = manifest.TraceSampleRatioEnv
)

// TraceEndpoint is the X-Ray OTLP traces endpoint of region.
func TraceEndpoint(region string) string {
	return "https://xray." + region + ".amazonaws.com/v1/traces"
}

// TracingActions are the X-Ray actions the task role needs to send spans to the OTLP endpoint: PutSpans for the
// spans, PutSpansForIndexing for the share Transaction Search indexes, and PutTraceSegments, which the
// X-Ray write-only managed policy the CloudWatch guide attaches for collector-less export holds
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-OTLP-UsingADOT.html,
// https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSXrayWriteOnlyAccess.html).
var TracingActions = []string{"xray:PutSpans", "xray:PutSpansForIndexing", "xray:PutTraceSegments"}

// grantTracing lets role send spans. X-Ray's write actions take no resource narrower than "*"
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/list_awsxray.html).
func grantTracing(role awsiam.Role) {
	role.AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:       jsii.String("SendTraces"),
		Actions:   jsii.Strings(TracingActions...),
		Resources: jsii.Strings("*"),
	}))
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("Sending spans to X-Ray (xray:PutSpans, PutSpansForIndexing, PutTraceSegments): X-Ray defines no " +
			"resource types, so these actions take no resource narrower than *."),
		AppliesTo: &[]interface{}{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
}
