package loadbalancer

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/jsii-runtime-go"
)

// TestPortBase is the port of the first web service's test listener; the n-th web service gets TestPortBase+n.
// The test listeners carry the test traffic of Amazon ECS blue/green deployments: during a deployment they route
// to the new (green) tasks before any production traffic does, so the smoke test hook can call them.
const TestPortBase = 9000

// BlueGreen is what a web service needs for a native ECS blue/green, canary or linear deployment
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html): a primary and
// an alternate target group, both of target type IP in the tasks' VPC, a production listener rule and a test
// listener rule, whose forward actions ECS rewrites as it shifts traffic.
type BlueGreen struct {
	// Blue is the primary target group (the one the service registers with); Green the alternate one.
	Blue, Green awselasticloadbalancingv2.ApplicationTargetGroup
	// ProductionRule is the rule of the production listener (path pattern and origin header, as AddService).
	ProductionRule awselasticloadbalancingv2.ApplicationListenerRule
	// TestListener is the service's own test listener (HTTP on TestPort), admitting nobody until
	// AllowTestTraffic; TestRule its one rule, every path.
	TestListener awselasticloadbalancingv2.ApplicationListener
	TestRule     awselasticloadbalancingv2.ApplicationListenerRule
	TestPort     int
}

// AddBlueGreenService creates the target groups and rules of a blue/green web service. Register the service
// with Blue (the ECS service's LoadBalancerTarget with an AlternateTarget naming Green and both rules).
func (lb *LoadBalancer) AddBlueGreenService(id string, r Route) *BlueGreen {
	lb.rules++
	bg := &BlueGreen{TestPort: TestPortBase + lb.rules - 1}
	tg := func(name string) awselasticloadbalancingv2.ApplicationTargetGroup {
		return awselasticloadbalancingv2.NewApplicationTargetGroup(lb.Construct, jsii.String(id+name), &awselasticloadbalancingv2.ApplicationTargetGroupProps{
			Vpc:                 lb.ALB.Vpc(),
			TargetType:          awselasticloadbalancingv2.TargetType_IP,
			Port:                jsii.Number(float64(r.Port)),
			Protocol:            awselasticloadbalancingv2.ApplicationProtocol_HTTP,
			DeregistrationDelay: r.DeregistrationDelay,
			HealthCheck:         targetHealthCheck(r.HealthPath),
		})
	}
	bg.Blue, bg.Green = tg("Blue"), tg("Green")
	// Both rules forward over both target groups, all weight on the primary one: ECS rewrites the weights as it
	// shifts traffic, and the alternate group is attached to the load balancer from the start, so its targets
	// are health-checked and its metrics exist. Mixed forward and non-forward actions in one rule are not
	// supported for blue/green (same page).
	forward := func() awselasticloadbalancingv2.ListenerAction {
		return awselasticloadbalancingv2.ListenerAction_WeightedForward(&[]*awselasticloadbalancingv2.WeightedTargetGroup{
			{TargetGroup: bg.Blue, Weight: jsii.Number(100)}, {TargetGroup: bg.Green, Weight: jsii.Number(0)},
		}, nil)
	}
	bg.ProductionRule = awselasticloadbalancingv2.NewApplicationListenerRule(lb.Construct, jsii.String(id+"ProductionRule"), &awselasticloadbalancingv2.ApplicationListenerRuleProps{
		Listener: lb.Listener,
		Priority: jsii.Number(float64(lb.priority(r))),
		Conditions: &[]awselasticloadbalancingv2.ListenerCondition{
			awselasticloadbalancingv2.ListenerCondition_PathPatterns(jsii.Strings(r.PathPattern)),
		},
		Action: forward(),
	})
	bg.TestListener = lb.ALB.AddListener(jsii.String(id+"Test"), &awselasticloadbalancingv2.BaseApplicationListenerProps{
		Port:     jsii.Number(float64(bg.TestPort)),
		Protocol: awselasticloadbalancingv2.ApplicationProtocol_HTTP,
		// Closed: the only ingress is AllowTestTraffic's, from the smoke test hook (preflight checks it).
		Open: jsii.Bool(false),
		DefaultAction: awselasticloadbalancingv2.ListenerAction_FixedResponse(jsii.Number(404), &awselasticloadbalancingv2.FixedResponseOptions{
			ContentType: jsii.String("text/plain"), MessageBody: jsii.String("Not Found"),
		}),
	})
	bg.TestRule = awselasticloadbalancingv2.NewApplicationListenerRule(lb.Construct, jsii.String(id+"TestRule"), &awselasticloadbalancingv2.ApplicationListenerRuleProps{
		Listener:   bg.TestListener,
		Priority:   jsii.Number(10),
		Conditions: &[]awselasticloadbalancingv2.ListenerCondition{awselasticloadbalancingv2.ListenerCondition_PathPatterns(jsii.Strings("/*"))},
		Action:     forward(),
	})
	return bg
}

// AllowTestTraffic admits peer, and nothing else, to a blue/green service's test listener.
func (lb *LoadBalancer) AllowTestTraffic(bg *BlueGreen, peer awsec2.IConnectable) {
	port := awsec2.Port_Tcp(jsii.Number(float64(bg.TestPort)))
	lb.SecurityGroup.Connections().AllowFrom(peer, port, jsii.String(fmt.Sprintf("smoke test hook to the test listener %d", bg.TestPort)))
}

// TestURL is the base URL of a blue/green service's test listener.
func (lb *LoadBalancer) TestURL(bg *BlueGreen) *string {
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("http://"), lb.ALB.LoadBalancerDnsName(), jsii.String(fmt.Sprintf(":%d", bg.TestPort))})
}

// targetHealthCheck is the target groups' health check (the same as AddService's).
func targetHealthCheck(path string) *awselasticloadbalancingv2.HealthCheck {
	return &awselasticloadbalancingv2.HealthCheck{
		Path:                    jsii.String(path),
		Interval:                awscdk.Duration_Seconds(jsii.Number(10)),
		Timeout:                 awscdk.Duration_Seconds(jsii.Number(5)),
		HealthyThresholdCount:   jsii.Number(2),
		UnhealthyThresholdCount: jsii.Number(3),
		HealthyHttpCodes:        jsii.String("200"),
	}
}
