package service

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// deadLetterAlarms rolls a deployment of a consumer back when messages of a queue it consumes start reaching
// that queue's dead-letter queue: a release that fails to process messages (or poisons them) is undone, for every
// consumer, web services included (the API consumes order updates).
func (s *Service) deadLetterAlarms(c constructs.Construct, props Props) {
	ms := props.Service
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	for _, q := range ms.Consumes {
		dlq, ok := props.DeadLetterQueues[q]
		if !ok {
			continue
		}
		arriving := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
			Expression: jsii.String("RATE(dlq)"),
			Label:      jsii.String("Messages arriving in " + q + "'s dead-letter queue per second"),
			Period:     minute,
			UsingMetrics: &map[string]awscloudwatch.IMetric{
				"dlq": dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
			},
		})
		alarm := arriving.CreateAlarm(c, jsii.String("DeadLetters-"+q), &awscloudwatch.CreateAlarmOptions{
			AlarmName:        jsii.String(alarmName(c, ms.Name, q+"-dead-letters")),
			AlarmDescription: jsii.String("Messages of " + q + " reach its dead-letter queue while " + ms.Name + " runs; rolls a deployment back."),
			Threshold:        jsii.Number(0),
			// One minute with an arrival is enough: RATE is positive only in the minute the count rises, so a
			// release whose messages reach the dead-letter queue one at a time (each after maxReceiveCount
			// receives) gives isolated points, and "M out of N" with M > 1 would never alarm on them
			// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html#alarm-evaluation).
			EvaluationPeriods:  jsii.Number(1),
			DatapointsToAlarm:  jsii.Number(1),
			ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		s.Alarms = append(s.Alarms, alarm)
		s.DeploymentAlarms = append(s.DeploymentAlarms, alarm)
	}
}

// alarmTasksBelowDesired alarms when fewer tasks run than the service wants for five minutes (tasks crash,
// cannot be placed, or Spot capacity is gone).
func (s *Service) alarmTasksBelowDesired(c constructs.Construct, props Props) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	missing := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String("FILL(desired, 0) - FILL(running, 0)"),
		Label:        jsii.String("Desired tasks not running"),
		Period:       minute,
		UsingMetrics: &map[string]awscloudwatch.IMetric{"desired": s.TaskCountMetric("DesiredTaskCount"), "running": s.TaskCountMetric("RunningTaskCount")},
	})
	s.Alarms = append(s.Alarms, missing.CreateAlarm(c, jsii.String("TasksBelowDesiredAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String("Fewer " + props.Service.Name + " tasks run than desired."),
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(5),
		DatapointsToAlarm:  jsii.Number(5),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	}))
}

// TaskCountMetric is one of the service's Container Insights task counts, RunningTaskCount or DesiredTaskCount,
// averaged per minute.
func (s *Service) TaskCountMetric(name string) awscloudwatch.Metric {
	return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
		Namespace:  jsii.String("ECS/ContainerInsights"),
		MetricName: jsii.String(name),
		DimensionsMap: &map[string]*string{
			"ClusterName": s.Service.Cluster().ClusterName(), "ServiceName": s.Service.ServiceName(),
		},
		Period:    awscdk.Duration_Minutes(jsii.Number(1)),
		Statistic: jsii.String("Average"),
	})
}

// alarmName is a deterministic alarm name for alarms a service refers to: <stack name>-<service>-<what>.
func alarmName(c constructs.Construct, service, what string) string {
	return *awscdk.Stack_Of(c).StackName() + "-" + service + "-" + what
}

// wireAlarms makes the deployment alarms roll a deployment back and sends every alarm's state changes to the
// alarm topic.
func (s *Service) wireAlarms(props Props) {
	if len(s.DeploymentAlarms) > 0 {
		names := make([]*string, 0, len(s.DeploymentAlarms))
		for _, a := range s.DeploymentAlarms {
			names = append(names, a.AlarmName())
		}
		s.Service.EnableDeploymentAlarms(&names, &awsecs.DeploymentAlarmOptions{Behavior: awsecs.AlarmBehavior_ROLLBACK_ON_ALARM})
	}
	for _, a := range s.Alarms {
		if props.AlarmTopic != nil {
			a.AddAlarmAction(awscloudwatchactions.NewSnsAction(props.AlarmTopic))
			a.AddOkAction(awscloudwatchactions.NewSnsAction(props.AlarmTopic))
		}
	}
}
