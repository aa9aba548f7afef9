// Package loadbalancer provides the internal Application Load Balancer that CloudFront reaches through a VPC
// origin (docs/adr/0009-cloudfront-vpc-origin.md). The load balancer has no public address: it sits in the
// private subnets, and CloudFront connects to it through the network interfaces of its VPC origin, over the AWS
// network ("User requests go from CloudFront to the VPC origins over a private, secure connection",
// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html). Its
// security group admits only CloudFront's origin-facing managed prefix list on the listener port, which is the
// inbound rule the VPC origins guide has the origin's security group carry. No shared secret header is needed or
// used. Requests outside the routed paths get a 403 from the default action.
package loadbalancer

import (
	"fmt"
	"sort"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// cloudFrontPrefixLists maps a region to the id of its com.amazonaws.global.cloudfront.origin-facing managed
// prefix list. The id differs per region and AWS publishes no synthesis-time lookup that works without an account
// (ec2.PrefixList.fromLookup needs one; a custom resource needs a Lambda), so the known ids are listed here; to run
// an environment in another region, add its id (`aws ec2 describe-managed-prefix-lists --filters
// Name=prefix-list-name,Values=com.amazonaws.global.cloudfront.origin-facing` in that region).
var cloudFrontPrefixLists = map[string]string{
	"us-east-1":      "pl-3b927c52",
	"us-east-2":      "pl-b6a144df",
	"us-west-1":      "pl-4ea04527",
	"us-west-2":      "pl-82a045eb",
	"eu-west-1":      "pl-4fa04526",
	"eu-west-2":      "pl-93a247fa",
	"eu-central-1":   "pl-a3a144ca",
	"ap-southeast-1": "pl-31a34658",
	"ap-southeast-2": "pl-b8a742d1",
	"ap-northeast-1": "pl-58a04531",
}

// CloudFrontPrefixList returns the id of the CloudFront origin-facing managed prefix list in region.
func CloudFrontPrefixList(region string) (string, error) {
	id, ok := cloudFrontPrefixLists[region]
	if !ok {
		return "", fmt.Errorf("no CloudFront origin-facing prefix list id known for region %s (known: %v)", region, CloudFrontPrefixListRegions())
	}
	return id, nil
}

// CloudFrontPrefixListRegions returns the regions whose CloudFront origin-facing prefix list id is known, sorted:
// the regions an environment can run in (infra/config rejects the others).
func CloudFrontPrefixListRegions() []string {
	regions := make([]string, 0, len(cloudFrontPrefixLists))
	for r := range cloudFrontPrefixLists {
		regions = append(regions, r)
	}
	sort.Strings(regions)
	return regions
}

// Props configures the load balancer.
type Props struct {
	// Vpc holds the load balancer in its private subnets. A VPC origin also needs the VPC to have an internet
	// gateway attached (the network construct's public subnets give it one), although no origin traffic uses it.
	Vpc awsec2.IVpc
	// PrefixListID is the CloudFront origin-facing managed prefix list of the region (see CloudFrontPrefixList).
	PrefixListID string
	// CertificateARN is an ACM certificate in the stack's region for the origin name. Set: HTTPS on 443 only.
	// Empty: HTTP on 80 only, through the VPC origin (CloudFront still talks HTTPS to viewers).
	CertificateARN string
	// DeletionProtection keeps the load balancer from being deleted (production).
	DeletionProtection bool
	// AccessLogBucket receives the access logs under the prefix "alb".
	AccessLogBucket awss3.IBucket
	// AlarmTopic receives the load balancer's alarms.
	AlarmTopic awssns.ITopic
	// HTTP5xxPerMinute is the threshold of the 5xx alarm (load balancer and targets together).
	HTTP5xxPerMinute int
}

// LoadBalancer is the internal Application Load Balancer and its one listener.
type LoadBalancer struct {
	constructs.Construct
	// ALB is the load balancer.
	ALB awselasticloadbalancingv2.ApplicationLoadBalancer
	// Listener is the listener CloudFront connects to (443 with a certificate, 80 without).
	Listener awselasticloadbalancingv2.ApplicationListener
	// SecurityGroup admits only CloudFront's origin-facing addresses on the listener port.
	SecurityGroup awsec2.SecurityGroup
	// HTTPS reports whether CloudFront must reach the load balancer over HTTPS.
	HTTPS bool
	// Alarms are the load balancer's own alarms (5xx).
	Alarms []awscloudwatch.Alarm

	rules int
}

// New creates the load balancer with its security group, listener, access logs and alarms.
func New(scope constructs.Construct, id string, props Props) *LoadBalancer {
	c := constructs.NewConstruct(scope, jsii.String(id))
	lb := &LoadBalancer{Construct: c, HTTPS: props.CertificateARN != ""}

	port := 80
	if lb.HTTPS {
		port = 443
	}
	lb.SecurityGroup = awsec2.NewSecurityGroup(c, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Vpc,
		Description:      jsii.String("Load balancer: only CloudFront origin-facing addresses"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// CloudFront reaches a VPC origin from its origin-facing addresses: the origin's security group allows the
	// com.amazonaws.global.cloudfront.origin-facing managed prefix list
	// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html,
	// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/LocationsOfEdgeServers.html#managed-prefix-list).
	// The load balancer being internal, nothing outside the VPC can use that rule. One rule only: the managed
	// prefix list counts as its maximum entries (about 55) against the 60 rules per security group, so a second
	// rule referencing it (say, port 80 next to 443) would exceed the quota.
	lb.SecurityGroup.AddIngressRule(awsec2.Peer_PrefixList(jsii.String(props.PrefixListID)),
		awsec2.Port_Tcp(jsii.Number(float64(port))), jsii.String("CloudFront origin-facing"), jsii.Bool(false))

	lb.ALB = awselasticloadbalancingv2.NewApplicationLoadBalancer(c, jsii.String("ALB"), &awselasticloadbalancingv2.ApplicationLoadBalancerProps{
		Vpc:                     props.Vpc,
		InternetFacing:          jsii.Bool(false),
		VpcSubnets:              &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		DeletionProtection:      jsii.Bool(props.DeletionProtection),
		SecurityGroup:           lb.SecurityGroup,
		DropInvalidHeaderFields: jsii.Bool(true),
		IdleTimeout:             awscdk.Duration_Seconds(jsii.Number(60)),
		DesyncMitigationMode:    awselasticloadbalancingv2.DesyncMitigationMode_DEFENSIVE,
	})
	lb.ALB.LogAccessLogs(props.AccessLogBucket, jsii.String("alb"))

	forbidden := awselasticloadbalancingv2.ListenerAction_FixedResponse(jsii.Number(403), &awselasticloadbalancingv2.FixedResponseOptions{
		ContentType: jsii.String("text/plain"),
		MessageBody: jsii.String("Forbidden"),
	})
	if lb.HTTPS {
		lb.Listener = lb.ALB.AddListener(jsii.String("HTTPS"), &awselasticloadbalancingv2.BaseApplicationListenerProps{
			Port:          jsii.Number(443),
			Protocol:      awselasticloadbalancingv2.ApplicationProtocol_HTTPS,
			Open:          jsii.Bool(false),
			SslPolicy:     awselasticloadbalancingv2.SslPolicy_RECOMMENDED_TLS,
			Certificates:  &[]awselasticloadbalancingv2.IListenerCertificate{awselasticloadbalancingv2.ListenerCertificate_FromCertificateManager(awscertificatemanager.Certificate_FromCertificateArn(c, jsii.String("Certificate"), jsii.String(props.CertificateARN)))},
			DefaultAction: forbidden,
		})
		// No listener on 80: CloudFront is the only client and reaches the origin over HTTPS only, so a redirect
		// listener would serve nobody.
	} else {
		lb.Listener = lb.ALB.AddListener(jsii.String("HTTP"), &awselasticloadbalancingv2.BaseApplicationListenerProps{
			Port:          jsii.Number(80),
			Protocol:      awselasticloadbalancingv2.ApplicationProtocol_HTTP,
			Open:          jsii.Bool(false),
			DefaultAction: forbidden,
		})
	}

	threshold := props.HTTP5xxPerMinute
	if threshold < 1 {
		threshold = 10
	}
	elb5xx := lb.ALB.Metrics().HttpCodeElb(awselasticloadbalancingv2.HttpCodeElb_ELB_5XX_COUNT, &awscloudwatch.MetricOptions{
		Period: awscdk.Duration_Minutes(jsii.Number(1)), Statistic: jsii.String("Sum"),
	})
	alarm := elb5xx.CreateAlarm(c, jsii.String("Elb5xxAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String("The load balancer itself answers 5xx (no healthy target, target connection errors)."),
		Threshold:          jsii.Number(float64(threshold)),
		EvaluationPeriods:  jsii.Number(3),
		DatapointsToAlarm:  jsii.Number(2),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	if props.AlarmTopic != nil {
		alarm.AddAlarmAction(awscloudwatchactions.NewSnsAction(props.AlarmTopic))
		alarm.AddOkAction(awscloudwatchactions.NewSnsAction(props.AlarmTopic))
	}
	lb.Alarms = append(lb.Alarms, alarm)
	return lb
}

// Route is how a web service is reached through the load balancer.
type Route struct {
	// Target is the ECS service (its default container and port are registered).
	Target awselasticloadbalancingv2.IApplicationLoadBalancerTarget
	// Port is the container port.
	Port int
	// HealthPath is checked by the target group.
	HealthPath string
	// PathPattern selects the requests routed to the service, e.g. /api/*.
	PathPattern string
	// Priority is the listener rule's priority (RoutePriorities); 0 numbers rules in call order (10, 20, ...).
	Priority int
	// DeregistrationDelay is how long the load balancer drains a target's in-flight requests; it must stay
	// below the service's drain time and stop timeout.
	DeregistrationDelay awscdk.Duration
}

// AddService routes requests matching the route's path pattern to the target, in a target group that
// health-checks it, and returns the target group. Rule priorities follow the call order.
func (lb *LoadBalancer) AddService(id string, r Route) awselasticloadbalancingv2.ApplicationTargetGroup {
	lb.rules++
	return lb.Listener.AddTargets(jsii.String(id), &awselasticloadbalancingv2.AddApplicationTargetsProps{
		Priority: jsii.Number(float64(lb.priority(r))),
		Conditions: &[]awselasticloadbalancingv2.ListenerCondition{
			awselasticloadbalancingv2.ListenerCondition_PathPatterns(jsii.Strings(r.PathPattern)),
		},
		Port:                jsii.Number(float64(r.Port)),
		Protocol:            awselasticloadbalancingv2.ApplicationProtocol_HTTP,
		Targets:             &[]awselasticloadbalancingv2.IApplicationLoadBalancerTarget{r.Target},
		DeregistrationDelay: r.DeregistrationDelay,
		HealthCheck: &awselasticloadbalancingv2.HealthCheck{
			Path:                    jsii.String(r.HealthPath),
			Interval:                awscdk.Duration_Seconds(jsii.Number(10)),
			Timeout:                 awscdk.Duration_Seconds(jsii.Number(5)),
			HealthyThresholdCount:   jsii.Number(2),
			UnhealthyThresholdCount: jsii.Number(3),
			HealthyHttpCodes:        jsii.String("200"),
		},
	})
}

// priority is the route's rule priority: its own, or the call order's.
func (lb *LoadBalancer) priority(r Route) int {
	if r.Priority > 0 {
		return r.Priority
	}
	return lb.rules * 10
}

// RoutePriorities returns the listener rule priority of each path pattern, in order: a more specific pattern (more
// path segments before its wildcard) gets a lower number, because "rules are evaluated in priority order, from the
// lowest value to the highest value" and the first match wins
// (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-rules.html), so /api/catalog/*
// is matched before /api/*. Each specificity has a band of 1,000 (one segment: 9010, 9020, ...; two: 8010, ...),
// numbered in the patterns' order, so appending a service never renumbers an existing rule: a stack update that
// moved a rule onto a number another rule still holds would fail (a listener can't have two rules with the same
// priority).
func RoutePriorities(patterns []string) ([]int, error) {
	const band, step, perBand = 1000, 10, 99
	out := make([]int, len(patterns))
	seen := map[int]int{} // segments -> patterns numbered so far
	for i, p := range patterns {
		segments := strings.Count(strings.TrimSuffix(strings.TrimSuffix(p, "*"), "/"), "/")
		if segments < 1 || segments > 9 {
			return nil, fmt.Errorf("path pattern %q: want 1 to 9 path segments before its wildcard, such as /api/*", p)
		}
		seen[segments]++
		if seen[segments] > perBand {
			return nil, fmt.Errorf("path pattern %q: more than %d services with %d path segments", p, perBand, segments)
		}
		out[i] = (10-segments)*band + seen[segments]*step
	}
	return out, nil
}
