package preflight

import (
	"strings"
	"testing"
)

// monitored is a stack with a queue, a topic, a cluster (Container Insights setting insights) and a service in
// it, a load balancer whose listener forwards to one target group (and a second target group it does not
// route to), a DB instance and a web ACL; alarms are appended to it.
func monitored(insights, alarms string) string {
	return `{"Resources":{
	"Queue":{"Type":"AWS::SQS::Queue","Properties":{}},
	"Topic":{"Type":"AWS::SNS::Topic","Properties":{}},
	"Cluster":{"Type":"AWS::ECS::Cluster","Properties":{"ClusterSettings":[{"Name":"containerInsights","Value":"` + insights + `"}]}},
	"Other":{"Type":"AWS::ECS::Cluster","Properties":{}},
	"Service":{"Type":"AWS::ECS::Service","Properties":{"Cluster":{"Ref":"Cluster"}}},
	"LB":{"Type":"AWS::ElasticLoadBalancingV2::LoadBalancer","Properties":{}},
	"Listener":{"Type":"AWS::ElasticLoadBalancingV2::Listener","Properties":{"LoadBalancerArn":{"Ref":"LB"},
		"DefaultActions":[{"Type":"fixed-response"}]}},
	"Rule":{"Type":"AWS::ElasticLoadBalancingV2::ListenerRule","Properties":{"ListenerArn":{"Ref":"Listener"},
		"Actions":[{"Type":"forward","TargetGroupArn":{"Ref":"TG"}}]}},
	"TG":{"Type":"AWS::ElasticLoadBalancingV2::TargetGroup","Properties":{}},
	"Unrouted":{"Type":"AWS::ElasticLoadBalancingV2::TargetGroup","Properties":{}},
	"DB":{"Type":"AWS::RDS::DBInstance","Properties":{}},
	"ACL":{"Type":"AWS::WAFv2::WebACL","Properties":{"Name":"ecsr-dev","VisibilityConfig":{"MetricName":"ecsrdev"},
		"Rules":[{"Name":"RateLimit","VisibilityConfig":{"MetricName":"RateLimitPerIP"}}]}},
	"Named":{"Type":"AWS::CloudWatch::Alarm","Properties":{"AlarmName":"ecsr-dev-named","Namespace":"AWS/SQS",
		"MetricName":"ApproximateAgeOfOldestMessage","Dimensions":[{"Name":"QueueName","Value":{"Fn::GetAtt":["Queue","QueueName"]}}]}}` +
		alarms + `}}`
}

// alarm returns an alarm on one metric.
func alarm(ns, dims string) string {
	return `,"Alarm":{"Type":"AWS::CloudWatch::Alarm","Properties":{"Namespace":"` + ns + `","MetricName":"M","Dimensions":` + dims + `}}`
}

// lbFullName is how CDK spells the load balancer's full name from its listener's ARN.
const lbFullName = `{"Fn::Join":["",[{"Fn::Select":[1,{"Fn::Split":["/",{"Ref":"Listener"}]}]},"/",
	{"Fn::Select":[2,{"Fn::Split":["/",{"Ref":"Listener"}]}]},"/",{"Fn::Select":[3,{"Fn::Split":["/",{"Ref":"Listener"}]}]}]]}`

func TestAlarmDimensions(t *testing.T) {
	one := func(insights, alarms string) []testStack {
		return []testStack{{name: "ecsr-dev-app", template: monitored(insights, alarms)}}
	}
	ecsDims := `[{"Name":"ClusterName","Value":{"Ref":"Cluster"}},{"Name":"ServiceName","Value":{"Fn::GetAtt":["Service","Name"]}}]`
	emf := Options{MetricsNamespace: "ECSReworked", MetricsDimension: "Service", MetricsServices: []string{"api", "worker"}}
	runCases(t, alarmDimensionsRule, []ruleCase{
		{name: "SQS queue name", stacks: one("enabled", "")},
		{name: "SQS queue URL instead of its name", stacks: one("enabled", alarm("AWS/SQS", `[{"Name":"QueueName","Value":{"Ref":"Queue"}}]`)),
			want: []string{"ecsr-dev-app/Alarm"}},
		{name: "SQS dimension SQS does not emit", stacks: one("enabled", alarm("AWS/SQS",
			`[{"Name":"QueueName","Value":{"Fn::GetAtt":["Queue","QueueName"]}},{"Name":"Queue","Value":"x"}]`)), want: []string{"ecsr-dev-app/Alarm"}},
		{name: "SQS queue name through an import", stacks: []testStack{
			{name: "ecsr-dev-msg", template: `{"Resources":{"Q":{"Type":"AWS::SQS::Queue","Properties":{}}},
				"Outputs":{"O":{"Value":{"Fn::GetAtt":["Q","QueueName"]},"Export":{"Name":"qn"}}}}`},
			{name: "ecsr-dev-app", template: monitored("enabled", alarm("AWS/SQS", `[{"Name":"QueueName","Value":{"Fn::ImportValue":"qn"}}]`))}}},
		{name: "SNS topic name", stacks: one("enabled", alarm("AWS/SNS", `[{"Name":"TopicName","Value":{"Fn::GetAtt":["Topic","TopicName"]}}]`))},
		{name: "Container Insights enabled", stacks: one("enabled", alarm("ECS/ContainerInsights", ecsDims))},
		{name: "Container Insights enhanced", stacks: one("enhanced", alarm("ECS/ContainerInsights", ecsDims))},
		{name: "Container Insights disabled", stacks: one("disabled", alarm("ECS/ContainerInsights", ecsDims)), want: []string{"ecsr-dev-app/Alarm"}},
		{name: "Container Insights metric inside metric math", stacks: one("disabled", `,"Alarm":{"Type":"AWS::CloudWatch::Alarm","Properties":{
			"Metrics":[{"Id":"e","Expression":"m*2"},{"Id":"m","MetricStat":{"Metric":{"Namespace":"ECS/ContainerInsights",
			"MetricName":"RunningTaskCount","Dimensions":`+ecsDims+`}}}]}}`), want: []string{"ecsr-dev-app/Alarm"}},
		{name: "service of another cluster", stacks: one("enabled", alarm("AWS/ECS",
			`[{"Name":"ClusterName","Value":{"Ref":"Other"}},{"Name":"ServiceName","Value":{"Fn::GetAtt":["Service","Name"]}}]`)),
			want: []string{"ecsr-dev-app/Alarm"}},
		{name: "load balancer and a target group it routes to", stacks: one("enabled", alarm("AWS/ApplicationELB",
			`[{"Name":"LoadBalancer","Value":`+lbFullName+`},{"Name":"TargetGroup","Value":{"Fn::GetAtt":["TG","TargetGroupFullName"]}}]`))},
		{name: "target group the load balancer does not route to", stacks: one("enabled", alarm("AWS/ApplicationELB",
			`[{"Name":"LoadBalancer","Value":{"Fn::GetAtt":["LB","LoadBalancerFullName"]}},{"Name":"TargetGroup","Value":{"Fn::GetAtt":["Unrouted","TargetGroupFullName"]}}]`)),
			want: []string{"ecsr-dev-app/Alarm"}},
		{name: "load balancer ARN instead of its full name", stacks: one("enabled", alarm("AWS/ApplicationELB",
			`[{"Name":"LoadBalancer","Value":{"Ref":"LB"}}]`)), want: []string{"ecsr-dev-app/Alarm"}},
		{name: "RDS instance", stacks: one("enabled", alarm("AWS/RDS", `[{"Name":"DBInstanceIdentifier","Value":{"Ref":"DB"}}]`))},
		{name: "RDS instance that is not in the assembly", stacks: one("enabled", alarm("AWS/RDS", `[{"Name":"DBInstanceIdentifier","Value":"ecsr-dev"}]`)),
			want: []string{"ecsr-dev-app/Alarm"}},
		{name: "WAF metric name and rule", stacks: one("enabled", alarm("AWS/WAFV2", `[{"Name":"WebACL","Value":"ecsrdev"},{"Name":"Rule","Value":"RateLimitPerIP"}]`))},
		{name: "WAF web ACL name instead of its metric name", stacks: one("enabled", alarm("AWS/WAFV2", `[{"Name":"WebACL","Value":"ecsr-dev"},{"Name":"Rule","Value":"ALL"}]`)),
			want: []string{"ecsr-dev-app/Alarm"}},
		{name: "WAF unknown rule", stacks: one("enabled", alarm("AWS/WAFV2", `[{"Name":"WebACL","Value":"ecsrdev"},{"Name":"Rule","Value":"Nope"}]`)),
			want: []string{"ecsr-dev-app/Alarm"}},
		{name: "embedded metric of a service", opts: emf, stacks: one("enabled", alarm("ECSReworked", `[{"Name":"Service","Value":"api"}]`))},
		{name: "embedded metric with another dimension", opts: emf, stacks: one("enabled", alarm("ECSReworked", `[{"Name":"ServiceName","Value":"api"}]`)),
			want: []string{"ecsr-dev-app/Alarm"}},
		{name: "embedded metric of an unknown service", opts: emf, stacks: one("enabled", alarm("ECSReworked", `[{"Name":"Service","Value":"billing"}]`)),
			want: []string{"ecsr-dev-app/Alarm"}},
		{name: "scaling policy metric math on a queue URL", stacks: one("enabled", `,"Policy":{"Type":"AWS::ApplicationAutoScaling::ScalingPolicy",
			"Properties":{"TargetTrackingScalingPolicyConfiguration":{"CustomizedMetricSpecification":{"Metrics":[{"Id":"v","MetricStat":{"Metric":{
			"Namespace":"AWS/SQS","MetricName":"ApproximateNumberOfMessagesVisible","Dimensions":[{"Name":"QueueName","Value":{"Ref":"Queue"}}]}}}]}}}}`),
			want: []string{"ecsr-dev-app/Policy"}},
		{name: "request count per target of a routed target group", stacks: one("enabled", requestCount("TG"))},
		{name: "request count per target of an unrouted target group", stacks: one("enabled", requestCount("Unrouted")),
			want: []string{"ecsr-dev-app/Policy"}},
		{name: "deployment alarms by reference and by name", stacks: one("enabled", deploymentAlarms(`{"Ref":"Named"}`, `"ecsr-dev-named"`))},
		{name: "deployment alarm nothing carries", stacks: one("enabled", deploymentAlarms(`"ecsr-dev-missing"`)),
			want: []string{"ecsr-dev-app/Deployed"}},
	})
}

func requestCount(tg string) string {
	return `,"Policy":{"Type":"AWS::ApplicationAutoScaling::ScalingPolicy","Properties":{"TargetTrackingScalingPolicyConfiguration":{
		"PredefinedMetricSpecification":{"PredefinedMetricType":"ALBRequestCountPerTarget","ResourceLabel":{"Fn::Join":["/",[` +
		lbFullName + `,{"Fn::GetAtt":["` + tg + `","TargetGroupFullName"]}]]}}}}}`
}

func deploymentAlarms(names ...string) string {
	return `,"Deployed":{"Type":"AWS::ECS::Service","Properties":{"DeploymentConfiguration":{"Alarms":{"AlarmNames":[` +
		strings.Join(names, ",") + `],"Enable":true,"Rollback":true}}}}`
}
