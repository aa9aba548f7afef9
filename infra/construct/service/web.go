package service

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
)

// web puts the service behind the load balancer, scales it on requests per target and CPU, and alarms on its
// target group's 5xx (which also rolls deployments back), p99 latency and unhealthy hosts.
func (s *Service) web(c constructs.Construct, props Props) {
	ms := props.Service
	if props.Deployment != nil {
		s.TargetGroup, s.AlternateTargetGroup = s.blueGreen(c, props) // deployment.go
	} else {
		s.TargetGroup = props.Router.AddService(ms.Name, loadbalancer.Route{
			Target:              s.Service,
			Port:                ms.Port,
			HealthPath:          ms.HealthPath,
			PathPattern:         ms.PathPattern,
			Priority:            props.RoutePriority,
			DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(float64(DeregistrationDelaySeconds(ms)))),
		})
	}
	requests := props.RequestsPerTarget
	if requests < 1 {
		requests = 1000
	}
	cpu := props.CPUTargetPercent
	if cpu < 1 {
		cpu = 60
	}
	s.Scaling.ScaleToTrackMetric(jsii.String("Requests"), &awsapplicationautoscaling.BasicTargetTrackingScalingPolicyProps{
		PredefinedMetric: awsapplicationautoscaling.PredefinedMetric_ALB_REQUEST_COUNT_PER_TARGET,
		ResourceLabel:    awscdk.Fn_Join(jsii.String("/"), &[]*string{s.TargetGroup.FirstLoadBalancerFullName(), s.TargetGroup.TargetGroupFullName()}),
		TargetValue:      jsii.Number(float64(requests)),
		ScaleOutCooldown: awscdk.Duration_Seconds(jsii.Number(60)),
		ScaleInCooldown:  awscdk.Duration_Seconds(jsii.Number(300)),
	})
	s.Scaling.ScaleToTrackMetric(jsii.String("Cpu"), &awsapplicationautoscaling.BasicTargetTrackingScalingPolicyProps{
		PredefinedMetric: awsapplicationautoscaling.PredefinedMetric_ECS_SERVICE_AVERAGE_CPU_UTILIZATION,
		TargetValue:      jsii.Number(float64(cpu)),
		ScaleOutCooldown: awscdk.Duration_Seconds(jsii.Number(60)),
		ScaleInCooldown:  awscdk.Duration_Seconds(jsii.Number(300)),
	})

	minute := awscdk.Duration_Minutes(jsii.Number(1))
	threshold := props.Thresholds.HTTP5xxPerMinute
	if threshold < 1 {
		threshold = 10
	}
	var target5xx awscloudwatch.IMetric = s.TargetGroup.Metrics().HttpCodeTarget(awselasticloadbalancingv2.HttpCodeTarget_TARGET_5XX_COUNT,
		&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")})
	if s.AlternateTargetGroup != nil {
		target5xx = errorsOfBoth(s.TargetGroup, s.AlternateTargetGroup)
	}
	errors := awscloudwatch.NewAlarm(c, jsii.String("Target5xxAlarm"), &awscloudwatch.AlarmProps{
		Metric: target5xx,
		// Named, because the service refers to it for alarm-based rollback while the alarm refers to the
		// service's target group: a generated name would be a circular reference.
		AlarmName:          jsii.String(alarmName(c, ms.Name, "target-5xx")),
		AlarmDescription:   jsii.String("The " + ms.Name + " service answers 5xx; rolls a deployment back."),
		Threshold:          jsii.Number(float64(threshold)),
		EvaluationPeriods:  jsii.Number(3),
		DatapointsToAlarm:  jsii.Number(2),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	s.Alarms = append(s.Alarms, errors)
	s.DeploymentAlarms = append(s.DeploymentAlarms, errors)

	p99 := props.Thresholds.TargetP99LatencyMillis
	if p99 < 1 {
		p99 = 1000
	}
	latency := s.targetGroupsMetric(func(tg awselasticloadbalancingv2.ApplicationTargetGroup) awscloudwatch.IMetric {
		return tg.Metrics().TargetResponseTime(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("p99")})
	}, "MAX", "p99 response time") // deployment.go: both target groups of a blue/green service
	s.Alarms = append(s.Alarms, awscloudwatch.NewAlarm(c, jsii.String("LatencyP99Alarm"), &awscloudwatch.AlarmProps{
		Metric:             latency,
		AlarmDescription:   jsii.String(fmt.Sprintf("The %s service's p99 response time reaches %d ms.", ms.Name, p99)),
		Threshold:          jsii.Number(float64(p99) / 1000),
		EvaluationPeriods:  jsii.Number(5),
		DatapointsToAlarm:  jsii.Number(3),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	}))
	unhealthy := s.targetGroupsMetric(func(tg awselasticloadbalancingv2.ApplicationTargetGroup) awscloudwatch.IMetric {
		return tg.Metrics().UnhealthyHostCount(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")})
	}, "SUM", "unhealthy targets")
	s.Alarms = append(s.Alarms, awscloudwatch.NewAlarm(c, jsii.String("UnhealthyHostsAlarm"), &awscloudwatch.AlarmProps{
		Metric:             unhealthy,
		AlarmDescription:   jsii.String("A task of the " + ms.Name + " service fails its load balancer health check."),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(3),
		DatapointsToAlarm:  jsii.Number(2),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	}))
}
