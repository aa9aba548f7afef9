package preflight

import (
	"fmt"
	"slices"
	"strings"
)

// Sources of the dimensions each namespace's metrics carry.
const (
	sqsMetricsSource = "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-available-cloudwatch-metrics.html"
	snsMetricsSource = "https://docs.aws.amazon.com/sns/latest/dg/sns-monitoring-using-cloudwatch.html"
	albMetricsSource = "https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html"
	ecsMetricsSource = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/available-metrics.html"
	ciMetricsSource  = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/Container-Insights-metrics-ECS.html"
	ciSettingSource  = "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ClusterSetting.html"
	rdsMetricsSource = "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html"
	wafMetricsSource = "https://docs.aws.amazon.com/waf/latest/APIReference/API_VisibilityConfig.html"
	deployAlarmsSrc  = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html"
)

// metric is one metric an alarm or a scaling policy reads.
type metric struct {
	namespace, name string
	dims            []dimension
	where           string // "" for the top-level metric, else the metric-math query ID
}

type dimension struct {
	name  string
	value any
}

// alarmDimensionsRule: "CloudWatch treats each unique combination of dimensions as a separate metric. If a
// specific combination of dimensions was not published, you can't retrieve statistics for it. You must specify
// the same dimensions that were used when the metrics were created." (CloudWatch API, GetMetricStatistics,
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html). An alarm on a
// combination nothing emits stays in INSUFFICIENT_DATA (or, with missing data treated as not breaching, silently
// OK), and a scaling policy on it never acts. For the namespaces our templates
// use, the dimensions must name resources of the assembly that emit the metric, by the attribute the service
// uses as the dimension value:
//   - AWS/SQS: QueueName, a queue's name (sqsMetricsSource);
//   - AWS/SNS: TopicName, a topic's name (snsMetricsSource);
//   - AWS/ApplicationELB: LoadBalancer, the load balancer's full name, and TargetGroup, the full name of a
//     target group that load balancer routes to (albMetricsSource);
//   - AWS/ECS and ECS/ContainerInsights: ClusterName, a cluster's name, and ServiceName, the name of a service in
//     that cluster (ecsMetricsSource, ciMetricsSource); Container Insights metrics exist only for a cluster whose
//     containerInsights setting is enabled or enhanced (ciSettingSource);
//   - AWS/RDS: DBInstanceIdentifier, DBClusterIdentifier or ProxyName of an instance, cluster or proxy
//     (rdsMetricsSource);
//   - AWS/WAFV2: WebACL, the web ACL's VisibilityConfig.MetricName ("A name of the Amazon CloudWatch metric
//     dimension"), and Rule, ALL or one of its rules' metric names (wafMetricsSource);
//   - the services' embedded-metric namespace: exactly the one dimension they emit, valued with a service name.
//
// Metrics inside metric math count as well. And an ECS service's deployment alarms (DeploymentConfiguration
// Alarms) must name alarms of the assembly: ECS watches the named alarms to roll a deployment back
// (deployAlarmsSrc); a name nothing carries never fires.
var alarmDimensionsRule = Rule{
	ID:      "alarm-dimensions",
	Summary: "Alarm and scaling-policy metrics name resources that exist and emit them; deployment alarms exist.",
	Source:  "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_GetMetricStatistics.html",
	check: func(c *check) {
		c.resources("AWS::CloudWatch::Alarm", func(stack, id string, r Resource) {
			for _, m := range alarmMetrics(r.Properties) {
				c.checkMetric(stack, id, m)
			}
		})
		c.resources("AWS::ApplicationAutoScaling::ScalingPolicy", func(stack, id string, r Resource) {
			tt := object(r.Properties["TargetTrackingScalingPolicyConfiguration"])
			for _, m := range alarmMetrics(object(tt["CustomizedMetricSpecification"])) {
				c.checkMetric(stack, id, m)
			}
			pre := object(tt["PredefinedMetricSpecification"])
			if pre["PredefinedMetricType"] == "ALBRequestCountPerTarget" {
				c.checkResourceLabel(stack, id, pre["ResourceLabel"])
			}
		})
		c.resources("AWS::ECS::Service", func(stack, id string, r Resource) {
			alarms := object(object(r.Properties["DeploymentConfiguration"])["Alarms"])
			for _, a := range list(alarms["AlarmNames"]) {
				c.checkAlarmName(stack, id, a)
			}
		})
	},
}

// alarmMetrics returns the metrics of an alarm or a customized metric specification: the top-level one and
// those of its metric-math queries.
func alarmMetrics(p map[string]any) []metric {
	var out []metric
	if ns, ok := p["Namespace"].(string); ok {
		out = append(out, metric{namespace: ns, name: fmt.Sprint(p["MetricName"]), dims: dimensions(p["Dimensions"])})
	}
	for _, q := range list(p["Metrics"]) {
		m := object(object(object(q)["MetricStat"])["Metric"])
		if ns, ok := m["Namespace"].(string); ok {
			out = append(out, metric{namespace: ns, name: fmt.Sprint(m["MetricName"]), dims: dimensions(m["Dimensions"]),
				where: fmt.Sprint(object(q)["Id"])})
		}
	}
	return out
}

func dimensions(v any) []dimension {
	var out []dimension
	for _, d := range list(v) {
		out = append(out, dimension{name: fmt.Sprint(object(d)["Name"]), value: object(d)["Value"]})
	}
	return out
}

// checkMetric checks one metric's dimensions against its namespace's rules.
func (c *check) checkMetric(stack, id string, m metric) {
	label := fmt.Sprintf("%s %s", m.namespace, m.name)
	if m.where != "" {
		label += fmt.Sprintf(" (metric-math query %s)", m.where)
	}
	fail := func(source, format string, args ...any) {
		c.failSource(source, stack, id, "%s: %s", label, fmt.Sprintf(format, args...))
	}
	dims := map[string]any{}
	for _, d := range m.dims {
		dims[d.name] = d.value
	}
	// expect checks that dimension name resolves to a resource of one of types, read through attr ("" for
	// Ref), and returns it.
	expect := func(source, name string, attrs map[string]string) (ref, bool) {
		v, ok := dims[name]
		if !ok {
			return ref{}, false
		}
		t, ok := c.w.target(stack, v)
		if ok {
			res, _ := c.w.resource(t)
			if want, ok := attrs[res.Type]; ok && want == t.Attr {
				return t, true
			}
		}
		if s, ok := c.w.literal(stack, v); ok {
			if t, ok := c.namedResource(stack, attrs, s); ok {
				return t, true
			}
		}
		fail(source, "dimension %s = %s does not name a resource of the assembly that emits it (want %s).",
			name, describe(v), wantAttrs(attrs))
		return ref{}, false
	}
	allowed := func(source string, names ...string) {
		for _, d := range m.dims {
			if !slices.Contains(names, d.name) {
				fail(source, "dimension %s is not one %s metrics carry (%s).", d.name, m.namespace, strings.Join(names, ", "))
			}
		}
	}
	switch m.namespace {
	case "AWS/SQS":
		allowed(sqsMetricsSource, "QueueName")
		expect(sqsMetricsSource, "QueueName", map[string]string{"AWS::SQS::Queue": "QueueName"})
	case "AWS/SNS":
		allowed(snsMetricsSource, "TopicName")
		expect(snsMetricsSource, "TopicName", map[string]string{"AWS::SNS::Topic": "TopicName"})
	case "AWS/ApplicationELB":
		allowed(albMetricsSource, "LoadBalancer", "TargetGroup", "AvailabilityZone")
		lb, okLB := expect(albMetricsSource, "LoadBalancer", map[string]string{"AWS::ElasticLoadBalancingV2::LoadBalancer": "LoadBalancerFullName"})
		tg, okTG := expect(albMetricsSource, "TargetGroup", map[string]string{"AWS::ElasticLoadBalancingV2::TargetGroup": "TargetGroupFullName"})
		if okLB && okTG && !c.routesTo(lb, tg) {
			fail(albMetricsSource, "target group %s is not a target of load balancer %s, so no metric carries this pair.", tg.ID, lb.ID)
		}
	case "AWS/ECS", "ECS/ContainerInsights":
		src := ecsMetricsSource
		names := []string{"ClusterName", "ServiceName"}
		if m.namespace == "ECS/ContainerInsights" {
			src = ciMetricsSource
			names = append(names, "TaskDefinitionFamily", "ContainerName", "TaskId")
		}
		allowed(src, names...)
		cluster, okC := expect(src, "ClusterName", map[string]string{"AWS::ECS::Cluster": ""})
		svc, okS := expect(src, "ServiceName", map[string]string{"AWS::ECS::Service": "Name"})
		if okC && okS {
			svcRes, _ := c.w.resource(svc)
			if in, ok := c.w.target(svc.Stack, svcRes.Properties["Cluster"]); !ok || in.Stack != cluster.Stack || in.ID != cluster.ID {
				fail(src, "service %s does not run in cluster %s, so no metric carries this pair.", svc.ID, cluster.ID)
			}
		}
		if okC && m.namespace == "ECS/ContainerInsights" && !c.containerInsights(cluster) {
			c.failSource(ciSettingSource, stack, id, "%s: cluster %s does not have the containerInsights setting enabled or "+
				"enhanced, so it emits no Container Insights metrics.", label, cluster.ID)
		}
	case "AWS/RDS":
		allowed(rdsMetricsSource, "DBInstanceIdentifier", "DBClusterIdentifier", "ProxyName", "EngineName", "DatabaseClass", "Role", "Target", "TargetGroup", "TargetRole", "ProxyTargetGroup")
		expect(rdsMetricsSource, "DBInstanceIdentifier", map[string]string{"AWS::RDS::DBInstance": ""})
		expect(rdsMetricsSource, "DBClusterIdentifier", map[string]string{"AWS::RDS::DBCluster": ""})
		expect(rdsMetricsSource, "ProxyName", map[string]string{"AWS::RDS::DBProxy": ""})
	case "AWS/WAFV2":
		allowed(wafMetricsSource, "WebACL", "Rule", "Region", "RuleGroup", "ManagedRuleGroup", "ManagedRuleGroupRule", "LabelNamespace", "Label")
		c.checkWAFDimensions(stack, id, label, dims)
	default:
		if m.namespace == c.o.MetricsNamespace && c.o.MetricsNamespace != "" {
			c.checkEmbeddedMetric(stack, id, label, m)
		}
	}
}

// namedResource finds the resource of one of types (in the environment, in stack's account and region) whose
// explicit name is name.
func (c *check) namedResource(stack string, attrs map[string]string, name string) (ref, bool) {
	from := c.asm.Stacks[stack]
	for _, sn := range c.env {
		s := c.asm.Stacks[sn]
		if s.Region != from.Region || s.Account != from.Account {
			continue
		}
		for _, id := range sortedKeys(s.Template.Resources) {
			r := s.Template.Resources[id]
			attr, ok := attrs[r.Type]
			if !ok {
				continue
			}
			nt, ok := namedTypes[r.Type]
			prop := nt.Property
			if !ok {
				prop = map[string]string{"AWS::SNS::Topic": "TopicName", "AWS::ECS::Cluster": "ClusterName",
					"AWS::ECS::Service": "ServiceName", "AWS::RDS::DBCluster": "DBClusterIdentifier"}[r.Type]
			}
			if n, ok := c.w.literal(sn, r.Properties[prop]); ok && n == name && prop != "" {
				return ref{Stack: sn, ID: id, Attr: attr}, true
			}
		}
	}
	return ref{}, false
}

func wantAttrs(attrs map[string]string) string {
	var out []string
	for _, t := range sortedKeys(attrs) {
		if attrs[t] == "" {
			out = append(out, "the Ref of an "+t)
		} else {
			out = append(out, t+"."+attrs[t])
		}
	}
	return strings.Join(out, " or ")
}

// routesTo reports whether load balancer lb routes to target group tg: a listener of lb, or a rule of such a
// listener, forwards to it.
func (c *check) routesTo(lb, tg ref) bool {
	listeners := map[ref]bool{}
	for _, sn := range c.asm.StackNames() {
		s := c.asm.Stacks[sn]
		for _, id := range sortedKeys(s.Template.Resources) {
			r := s.Template.Resources[id]
			if r.Type != "AWS::ElasticLoadBalancingV2::Listener" {
				continue
			}
			if t, ok := c.w.target(sn, r.Properties["LoadBalancerArn"]); ok && t.Stack == lb.Stack && t.ID == lb.ID {
				listeners[ref{Stack: sn, ID: id}] = true
				if c.forwardsTo(sn, r.Properties["DefaultActions"], tg) {
					return true
				}
			}
		}
	}
	for _, sn := range c.asm.StackNames() {
		s := c.asm.Stacks[sn]
		for _, id := range sortedKeys(s.Template.Resources) {
			r := s.Template.Resources[id]
			if r.Type != "AWS::ElasticLoadBalancingV2::ListenerRule" {
				continue
			}
			if l, ok := c.w.target(sn, r.Properties["ListenerArn"]); ok && listeners[ref{Stack: l.Stack, ID: l.ID}] &&
				c.forwardsTo(sn, r.Properties["Actions"], tg) {
				return true
			}
		}
	}
	return false
}

// forwardsTo reports whether listener actions forward to tg.
func (c *check) forwardsTo(stack string, actions any, tg ref) bool {
	var found bool
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if arn, ok := x["TargetGroupArn"]; ok {
				if t, ok := c.w.target(stack, arn); ok && t.Stack == tg.Stack && t.ID == tg.ID {
					found = true
				}
			}
			for _, e := range x {
				walk(e)
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(actions)
	return found
}

// containerInsights reports whether a cluster's containerInsights setting is enabled or enhanced.
func (c *check) containerInsights(cluster ref) bool {
	res, _ := c.w.resource(cluster)
	for _, s := range list(res.Properties["ClusterSettings"]) {
		if object(s)["Name"] == "containerInsights" {
			v, _ := object(s)["Value"].(string)
			return v == "enabled" || v == "enhanced"
		}
	}
	return false
}

// checkResourceLabel checks an ALBRequestCountPerTarget resource label: the load balancer's full name and
// the full name of a target group it routes to, joined with "/".
func (c *check) checkResourceLabel(stack, id string, label any) {
	j := list(object(label)["Fn::Join"])
	parts := list(func() any {
		if len(j) == 2 && j[0] == "/" {
			return j[1]
		}
		return nil
	}())
	var lb, tg ref
	okLB, okTG := false, false
	if len(parts) == 2 {
		lb, okLB = c.w.target(stack, parts[0])
		tg, okTG = c.w.target(stack, parts[1])
	}
	const src = "https://docs.aws.amazon.com/autoscaling/application/APIReference/API_PredefinedMetricSpecification.html"
	if !okLB || lb.Attr != "LoadBalancerFullName" || !okTG || tg.Attr != "TargetGroupFullName" {
		c.failSource(src, stack, id, "ALBRequestCountPerTarget resource label %s is not <load balancer full name>/<target group "+
			"full name> of resources in the assembly.", describe(label))
		return
	}
	if !c.routesTo(lb, tg) {
		c.failSource(src, stack, id, "ALBRequestCountPerTarget: target group %s is not a target of load balancer %s.", tg.ID, lb.ID)
	}
}

// checkAlarmName checks one of a service's deployment alarm names.
func (c *check) checkAlarmName(stack, id string, a any) {
	if t, ok := c.w.target(stack, a); ok {
		if res, _ := c.w.resource(t); res.Type == "AWS::CloudWatch::Alarm" && t.Attr == "" {
			return
		}
	}
	if name, ok := c.w.literal(stack, a); ok {
		if _, ok := c.namedResource(stack, map[string]string{"AWS::CloudWatch::Alarm": ""}, name); ok {
			return
		}
	}
	c.failSource(deployAlarmsSrc, stack, id, "deployment alarm %s is not an alarm of the environment in this region: the "+
		"deployment never rolls back on it.", describe(a))
}

// checkWAFDimensions checks that WebACL names a web ACL's metric name and Rule ALL or one of its rules'.
func (c *check) checkWAFDimensions(stack, id, label string, dims map[string]any) {
	v, ok := dims["WebACL"]
	if !ok {
		return
	}
	name, _ := c.w.literal(stack, v)
	from := c.asm.Stacks[stack]
	var names []string
	for _, sn := range c.env {
		s := c.asm.Stacks[sn]
		if s.Region != from.Region {
			continue
		}
		for _, rid := range sortedKeys(s.Template.Resources) {
			r := s.Template.Resources[rid]
			if r.Type != "AWS::WAFv2::WebACL" {
				continue
			}
			mn, _ := c.w.literal(sn, object(r.Properties["VisibilityConfig"])["MetricName"])
			names = append(names, mn)
			if mn != name {
				continue
			}
			rule, ok := dims["Rule"]
			if !ok {
				return
			}
			rn, _ := c.w.literal(stack, rule)
			rules := []string{"ALL"}
			for _, ru := range list(r.Properties["Rules"]) {
				n, _ := c.w.literal(sn, object(object(ru)["VisibilityConfig"])["MetricName"])
				rules = append(rules, n)
			}
			if !slices.Contains(rules, rn) {
				c.failSource(wafMetricsSource, stack, id, "%s: dimension Rule = %q is neither ALL nor the metric name of a rule of "+
					"web ACL %s (%s).", label, rn, rid, strings.Join(rules, ", "))
			}
			return
		}
	}
	c.failSource(wafMetricsSource, stack, id, "%s: dimension WebACL = %s is not the metric name (VisibilityConfig.MetricName) "+
		"of a web ACL in this region (%s): WAF emits its metrics under the metric name, not the web ACL's Name.",
		label, describe(v), strings.Join(names, ", "))
}

// checkEmbeddedMetric checks a metric in the services' embedded-metric namespace: one dimension, the one the
// services emit, valued with a service name.
func (c *check) checkEmbeddedMetric(stack, id, label string, m metric) {
	if len(m.dims) != 1 || m.dims[0].name != c.o.MetricsDimension {
		var names []string
		for _, d := range m.dims {
			names = append(names, d.name)
		}
		c.fail(stack, id, "%s: the services emit this namespace with exactly the dimension %s; the metric asks for [%s].",
			label, c.o.MetricsDimension, strings.Join(names, ", "))
		return
	}
	if v, ok := c.w.literal(stack, m.dims[0].value); !ok || !slices.Contains(c.o.MetricsServices, v) {
		c.fail(stack, id, "%s: dimension %s = %s is not a service that emits metrics (%s).", label, c.o.MetricsDimension,
			describe(m.dims[0].value), strings.Join(c.o.MetricsServices, ", "))
	}
}
