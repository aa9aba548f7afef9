package service

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// worker scales the service on backlog per task: target tracking on the consumed queues' visible messages
// divided by the running tasks (metric math), against the manifest's BacklogPerTaskTarget; a step policy starts
// the first task when the service may scale to zero (target tracking cannot divide by zero running tasks).
func (s *Service) worker(c constructs.Construct, props Props) {
	ms := props.Service
	queues := make([]awssqs.IQueue, 0, len(ms.Consumes))
	for _, q := range ms.Consumes {
		queues = append(queues, props.Queues[q])
	}

	metrics := []*awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDataQueryProperty{{
		Id:         jsii.String("tasks"),
		ReturnData: jsii.Bool(false),
		MetricStat: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricStatProperty{
			Stat: jsii.String("Average"),
			Metric: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricProperty{
				Namespace:  jsii.String("ECS/ContainerInsights"),
				MetricName: jsii.String("RunningTaskCount"),
				Dimensions: &[]*awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDimensionProperty{
					{Name: jsii.String("ClusterName"), Value: props.Cluster.ClusterName()},
					{Name: jsii.String("ServiceName"), Value: s.Service.ServiceName()},
				},
			},
		},
	}}
	backlog := make([]string, 0, len(queues))
	for i, q := range queues {
		id := fmt.Sprintf("visible%d", i)
		backlog = append(backlog, id)
		metrics = append(metrics, &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDataQueryProperty{
			Id:         jsii.String(id),
			ReturnData: jsii.Bool(false),
			MetricStat: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricStatProperty{
				Stat: jsii.String("Sum"),
				Metric: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricProperty{
					Namespace:  jsii.String("AWS/SQS"),
					MetricName: jsii.String("ApproximateNumberOfMessagesVisible"),
					Dimensions: &[]*awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDimensionProperty{
						{Name: jsii.String("QueueName"), Value: q.QueueName()},
					},
				},
			},
		})
	}
	sum := strings.Join(backlog, " + ")
	metrics = append(metrics, &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingMetricDataQueryProperty{
		Id:         jsii.String("backlogPerTask"),
		Label:      jsii.String("Visible messages per running task"),
		ReturnData: jsii.Bool(true),
		// With no running task the backlog itself is the value: a missing task count would otherwise leave
		// the policy without data.
		Expression: jsii.String(fmt.Sprintf("IF(FILL(tasks, 0) > 0, (%s) / FILL(tasks, 0), %s)", sum, sum)),
	})
	awsapplicationautoscaling.NewCfnScalingPolicy(c, jsii.String("BacklogPerTask"), &awsapplicationautoscaling.CfnScalingPolicyProps{
		PolicyName:      jsii.String(*awscdk.Names_UniqueId(c) + "BacklogPerTask"),
		PolicyType:      jsii.String("TargetTrackingScaling"),
		ScalingTargetId: s.Scaling.ScalableTargetId(),
		TargetTrackingScalingPolicyConfiguration: &awsapplicationautoscaling.CfnScalingPolicy_TargetTrackingScalingPolicyConfigurationProperty{
			TargetValue: jsii.Number(ms.BacklogPerTaskTarget()),
			CustomizedMetricSpecification: &awsapplicationautoscaling.CfnScalingPolicy_CustomizedMetricSpecificationProperty{
				Metrics: &metrics,
			},
			ScaleOutCooldown: jsii.Number(60),
			// A longer scale-in cooldown: a worker finishing its last messages is not stopped by a quick
			// succession of scale-ins; a stopped task still drains (SIGTERM, then the stop timeout).
			ScaleInCooldown: jsii.Number(300),
		},
	})

	if props.Sizing.ScaleFromZero {
		s.startFromZero(c, props, queues)
	}
}

// startFromZero starts the first task of a worker that has scaled in to zero: when messages wait and the service
// wants no task, a step policy sets the desired count to exactly 1 (AdjustmentType ExactCapacity: "Make the
// capacity equal to the exact number given", StepScalingPolicyConfiguration,
// https://docs.aws.amazon.com/autoscaling/application/APIReference/API_StepScalingPolicyConfiguration.html).
// Target tracking on backlog per task takes over from one task. The alarm is in ALARM only while the desired
// count is 0, because CloudWatch re-runs an Application Auto Scaling action every period the alarm stays in
// ALARM ("Except for Auto Scaling actions, the actions happen only on state transitions",
// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarm-actions.html): a ChangeInCapacity +1 on
// "messages visible" added a task every minute up to max_tasks. Setting 1 again while the first task starts is
// harmless, and once it is desired the alarm returns to OK. Missing data counts as 0 messages and 0 tasks (SQS
// stops sending a queue's metrics after six hours without activity and resumes with it).
func (s *Service) startFromZero(c constructs.Construct, props Props, queues []awssqs.IQueue) {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	using := map[string]awscloudwatch.IMetric{"desired": s.TaskCountMetric("DesiredTaskCount")}
	ids := make([]string, 0, len(queues))
	for i, q := range queues {
		id := fmt.Sprintf("visible%d", i)
		using[id] = q.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")})
		ids = append(ids, "FILL("+id+", 0)")
	}
	idle := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression:   jsii.String(fmt.Sprintf("IF(FILL(desired, 0) == 0 AND (%s) > 0, 1, 0)", strings.Join(ids, " + "))),
		Label:        jsii.String("Messages waiting and no task desired"),
		Period:       minute,
		UsingMetrics: &using,
	})
	action := awsapplicationautoscaling.NewStepScalingAction(c, jsii.String("StartFromZero"), &awsapplicationautoscaling.StepScalingActionProps{
		ScalingTarget:         s.Scaling,
		AdjustmentType:        awsapplicationautoscaling.AdjustmentType_EXACT_CAPACITY,
		MetricAggregationType: awsapplicationautoscaling.MetricAggregationType_MAXIMUM,
		Cooldown:              minute,
	})
	action.AddAdjustment(&awsapplicationautoscaling.AdjustmentTier{LowerBound: jsii.Number(0), Adjustment: jsii.Number(1)})
	alarm := idle.CreateAlarm(c, jsii.String("StartFromZeroAlarm"), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String("Messages wait for the " + props.Service.Name + " service while it wants no task: start one."),
		Threshold:          jsii.Number(1),
		EvaluationPeriods:  jsii.Number(1),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	alarm.AddAlarmAction(awscloudwatchactions.NewApplicationScalingAction(action))
}
