// Package network provides the environment's VPC: public subnets for the load balancer and NAT gateways,
// private subnets with egress for the services, isolated subnets for the database, the VPC endpoints the
// environment asks for, and flow logs to an encrypted log group.
package network

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/observability"
)

// Subnet sizes: each AZ gets a /24 public, a /20 private (room for many tasks, one IP each) and a /24 isolated
// subnet. A /16 to /18 VPC fits three AZs of them.
const (
	publicMask   = 24
	privateMask  = 20
	isolatedMask = 24
)

// Endpoint is a VPC endpoint the network can create. EndpointS3 is a gateway endpoint, the others are interface
// endpoints (EndpointECR is two: api and dkr).
type Endpoint string

// The VPC endpoints.
const (
	EndpointS3             Endpoint = "s3"
	EndpointECR            Endpoint = "ecr"
	EndpointLogs           Endpoint = "logs"
	EndpointSQS            Endpoint = "sqs"
	EndpointSNS            Endpoint = "sns"
	EndpointSecretsManager Endpoint = "secretsmanager"
	EndpointKMS            Endpoint = "kms"
)

// Endpoints are every Endpoint, in the order they are created.
var Endpoints = []Endpoint{EndpointS3, EndpointECR, EndpointLogs, EndpointSQS, EndpointSNS, EndpointSecretsManager, EndpointKMS}

// Props configures the network.
type Props struct {
	// CIDR is the VPC's IPv4 range, a /16 to /18.
	CIDR string
	// Zones are the availability zones, two or three.
	Zones []string
	// NATGateways is the number of NAT gateways, from 1 to len(Zones): one per zone survives a zone's outage.
	NATGateways int
	// Endpoints are the VPC endpoints to create; they keep traffic to AWS off the NAT gateways.
	Endpoints []Endpoint
	// LogKey encrypts the flow log group; LogRetention and LogRemoval apply to it.
	LogKey       awskms.IKey
	LogRetention awslogs.RetentionDays
	LogRemoval   awscdk.RemovalPolicy
}

// Validate reports every problem of p at once.
func (p Props) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	// The subnet layout needs a /16 to /18; AWS itself accepts a VPC from /16 to /28
	// (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html).
	if prefix, err := netip.ParsePrefix(p.CIDR); err != nil || !prefix.Addr().Is4() || prefix.Bits() < 16 || prefix.Bits() > 18 {
		bad("CIDR %q must be an IPv4 /16 to /18: each zone gets a /%d public, a /%d private and a /%d isolated subnet",
			p.CIDR, publicMask, privateMask, isolatedMask)
	}
	// An Application Load Balancer and a DB subnet group each need subnets in at least two Availability Zones
	// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html,
	// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_VPC.WorkingWithRDSInstanceinaVPC.html).
	if len(p.Zones) < 2 || len(p.Zones) > 3 {
		bad("Zones %q: want two or three availability zones", p.Zones)
	}
	if p.NATGateways < 1 || p.NATGateways > len(p.Zones) {
		bad("NATGateways %d must be between 1 and the number of zones (%d)", p.NATGateways, len(p.Zones))
	}
	for i, e := range p.Endpoints {
		if !slices.Contains(Endpoints, e) {
			bad("Endpoints: unknown endpoint %q; known: %q", e, Endpoints)
		} else if slices.Contains(p.Endpoints[:i], e) {
			bad("Endpoints: %q is listed twice", e)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("network: %w", err)
	}
	return nil
}

// Network is the environment's VPC.
type Network struct {
	constructs.Construct
	// Vpc is the VPC.
	Vpc awsec2.Vpc
	// FlowLogGroup receives the VPC's flow logs (all traffic).
	FlowLogGroup awslogs.LogGroup
	// EndpointSecurityGroup guards the interface endpoints; it admits HTTPS from the VPC. Nil without interface
	// endpoints.
	EndpointSecurityGroup awsec2.SecurityGroup
}

// New creates the VPC, its endpoints and flow logs. It panics when props are not valid (Props.Validate).
func New(scope constructs.Construct, id string, props Props) *Network {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	vpc := awsec2.NewVpc(c, jsii.String("Vpc"), &awsec2.VpcProps{
		IpAddresses:       awsec2.IpAddresses_Cidr(jsii.String(props.CIDR)),
		AvailabilityZones: jsii.Strings(props.Zones...),
		NatGateways:       jsii.Number(float64(props.NATGateways)),
		SubnetConfiguration: &[]*awsec2.SubnetConfiguration{
			{Name: jsii.String("public"), SubnetType: awsec2.SubnetType_PUBLIC, CidrMask: jsii.Number(publicMask)},
			{Name: jsii.String("private"), SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS, CidrMask: jsii.Number(privateMask)},
			{Name: jsii.String("isolated"), SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED, CidrMask: jsii.Number(isolatedMask)},
		},
		EnableDnsHostnames: jsii.Bool(true),
		EnableDnsSupport:   jsii.Bool(true),
		// Restricting the default security group takes a custom resource (a Lambda function); nothing is ever
		// placed in it, every resource here gets its own group.
		RestrictDefaultSecurityGroup: jsii.Bool(false),
	})

	logs := observability.NewLogGroup(c, "FlowLogs", props.LogKey, props.LogRetention, props.LogRemoval)
	flowLog := vpc.AddFlowLog(jsii.String("FlowLog"), &awsec2.FlowLogOptions{
		Destination: awsec2.FlowLogDestination_ToCloudWatchLogs(logs, nil),
		TrafficType: awsec2.FlowLogTrafficType_ALL,
	})
	// The role CDK creates for the flow log trusts vpc-flow-logs.amazonaws.com with no condition. "We recommend
	// that you use the aws:SourceAccount and aws:SourceArn condition keys to protect yourself against the confused
	// deputy problem", the source ARN being the flow log's, arn:aws:ec2:region:account_id:vpc-flow-log/flow-log-id
	// (https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-iam-role.html). The flow log's ID exists only
	// once it is created, with this role, so the ARN ends in a wildcard as the page allows. An override of CDK's
	// role rather than a role of ours keeps the role's logical ID.
	stack := awscdk.Stack_Of(c)
	flowLog.IamRole().Node().DefaultChild().(awscdk.CfnResource).AddPropertyOverride(
		jsii.String("AssumeRolePolicyDocument.Statement.0.Condition"), map[string]any{
			"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
			"ArnLike": map[string]any{"aws:SourceArn": awscdk.Fn_Join(jsii.String(""), &[]*string{
				jsii.String("arn:"), stack.Partition(), jsii.String(":ec2:"), stack.Region(), jsii.String(":"), stack.Account(), jsii.String(":vpc-flow-log/*"),
			})},
		})

	net := &Network{Construct: c, Vpc: vpc, FlowLogGroup: logs}
	if slices.Contains(props.Endpoints, EndpointS3) {
		vpc.AddGatewayEndpoint(jsii.String("S3"), &awsec2.GatewayVpcEndpointOptions{
			Service: awsec2.GatewayVpcEndpointAwsService_S3(),
			Subnets: &[]*awsec2.SubnetSelection{{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}},
		})
	}
	interfaces := []struct {
		endpoint Endpoint
		id       string
		service  awsec2.InterfaceVpcEndpointAwsService
	}{
		{EndpointECR, "EcrApi", awsec2.InterfaceVpcEndpointAwsService_ECR()},
		{EndpointECR, "EcrDocker", awsec2.InterfaceVpcEndpointAwsService_ECR_DOCKER()},
		{EndpointLogs, "Logs", awsec2.InterfaceVpcEndpointAwsService_CLOUDWATCH_LOGS()},
		{EndpointSQS, "Sqs", awsec2.InterfaceVpcEndpointAwsService_SQS()},
		{EndpointSNS, "Sns", awsec2.InterfaceVpcEndpointAwsService_SNS()},
		{EndpointSecretsManager, "SecretsManager", awsec2.InterfaceVpcEndpointAwsService_SECRETS_MANAGER()},
		{EndpointKMS, "Kms", awsec2.InterfaceVpcEndpointAwsService_KMS()},
	}
	for _, e := range interfaces {
		if !slices.Contains(props.Endpoints, e.endpoint) {
			continue
		}
		if net.EndpointSecurityGroup == nil {
			net.EndpointSecurityGroup = awsec2.NewSecurityGroup(c, jsii.String("EndpointSecurityGroup"), &awsec2.SecurityGroupProps{
				Vpc:              vpc,
				Description:      jsii.String("Interface VPC endpoints: HTTPS from inside the VPC"),
				AllowAllOutbound: jsii.Bool(false),
			})
			net.EndpointSecurityGroup.AddIngressRule(awsec2.Peer_Ipv4(jsii.String(props.CIDR)), awsec2.Port_Tcp(jsii.Number(443)),
				jsii.String("HTTPS from the VPC"), nil)
		}
		vpc.AddInterfaceEndpoint(jsii.String(e.id), &awsec2.InterfaceVpcEndpointOptions{
			Service:           e.service,
			PrivateDnsEnabled: jsii.Bool(true),
			Subnets:           &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
			SecurityGroups:    &[]awsec2.ISecurityGroup{net.EndpointSecurityGroup},
			Open:              jsii.Bool(false),
		})
	}
	return net
}

// PrivateSubnets selects the subnets of the services and the internal load balancer (private, with egress
// through NAT).
func PrivateSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS}
}

// IsolatedSubnets selects the subnets of the database (no route to the internet).
func IsolatedSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_ISOLATED}
}

// PublicSubnets selects the public subnets: the NAT gateways' (and the internet gateway CloudFront VPC origins
// require the VPC to have). Nothing of the application runs there.
func PublicSubnets() *awsec2.SubnetSelection {
	return &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PUBLIC}
}
