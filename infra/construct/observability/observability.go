// Package observability provides the environment's alarm plumbing: a customer-managed key for logs and alarm
// notifications, the encrypted alarm topic with its email subscriptions, a helper that wires alarms to it, and
// the environment's CloudWatch dashboard to which every construct adds its widgets.
package observability

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/encryption"
)

// Props configures the observability construct.
type Props struct {
	// Emails receive every alarm through the alarm topic (each confirms its subscription once).
	Emails []string
	// LogRetention applies to the log groups created with NewLogGroup.
	LogRetention awslogs.RetentionDays
	// LogRemoval applies to log groups; KeyRemoval to the key.
	LogRemoval awscdk.RemovalPolicy
	KeyRemoval awscdk.RemovalPolicy
}

// Observability holds the key, the alarm topic and the log settings shared by the environment's constructs.
type Observability struct {
	constructs.Construct
	// Key encrypts log groups and the alarm topic. Its policy lets CloudWatch Logs (for this account's log groups
	// in this region) and CloudWatch alarms use it.
	Key awskms.Key
	// AlarmTopic receives every alarm and OK transition of the environment.
	AlarmTopic awssns.Topic

	props Props
}

// New creates the key, the alarm topic and its email subscriptions.
func New(scope constructs.Construct, id string, props Props) *Observability {
	c := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(c)
	key := encryption.NewKey(c, "Key", "Encrypts the log groups and the alarm topic of "+*stack.StackName(), props.KeyRemoval)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchLogs"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("logs."+*stack.Region()+".amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:DescribeKey"),
		// In a key policy "*" means this key.
		Resources: jsii.Strings("*"),
		Conditions: &map[string]any{"ArnLike": map[string]any{
			"kms:EncryptionContext:aws:logs:arn": "arn:" + *stack.Partition() + ":logs:" + *stack.Region() + ":" + *stack.Account() + ":log-group:*",
		}},
	}), nil)
	encryption.AllowService(key, "AllowCloudWatchAlarms", "cloudwatch.amazonaws.com", "kms:Decrypt", "kms:GenerateDataKey")

	topic := awssns.NewTopic(c, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("ECS Reworked alarms (" + *stack.StackName() + ")"),
		MasterKey:   key,
		EnforceSSL:  jsii.Bool(true),
	})
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("AllowCloudWatchAlarms"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": *stack.Account()}},
	}))
	for _, e := range props.Emails {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(e), nil))
	}
	return &Observability{Construct: c, Key: key, AlarmTopic: topic, props: props}
}

// NewLogGroup creates a log group encrypted with the key, with the environment's retention and removal policy.
func (o *Observability) NewLogGroup(scope constructs.Construct, id string) awslogs.LogGroup {
	return NewLogGroup(scope, id, o.Key, o.props.LogRetention, o.props.LogRemoval)
}

// NewLogGroup creates a log group encrypted with key, for constructs that hold the key but not the
// Observability (the key is enough: its policy admits every log group of the account and region).
func NewLogGroup(scope constructs.Construct, id string, key awskms.IKey, retention awslogs.RetentionDays, removal awscdk.RemovalPolicy) awslogs.LogGroup {
	return awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{
		EncryptionKey: key,
		Retention:     retention,
		RemovalPolicy: removal,
	})
}

// AlarmProps describes one alarm.
type AlarmProps struct {
	// Metric is what the alarm watches, with its statistic and period.
	Metric awscloudwatch.IMetric
	// Threshold and Comparison say when the metric is in alarm.
	Threshold  float64
	Comparison awscloudwatch.ComparisonOperator
	// EvaluationPeriods and DatapointsToAlarm (default both 1) smooth out single spikes.
	EvaluationPeriods int
	DatapointsToAlarm int
	// Description tells the person paged what is wrong and where to look (the runbook section).
	Description string
	// TreatMissingData defaults to not breaching: no data means no traffic, not a failure.
	TreatMissingData awscloudwatch.TreatMissingData
}

// Alarm creates an alarm that notifies the alarm topic when it fires and when it recovers.
func (o *Observability) Alarm(scope constructs.Construct, id string, p AlarmProps) awscloudwatch.Alarm {
	return NewAlarm(scope, id, o.AlarmTopic, p)
}

// NewAlarm creates an alarm that notifies topic when it fires and when it recovers.
func NewAlarm(scope constructs.Construct, id string, topic awssns.ITopic, p AlarmProps) awscloudwatch.Alarm {
	periods := max(p.EvaluationPeriods, 1)
	datapoints := p.DatapointsToAlarm
	if datapoints < 1 || datapoints > periods {
		datapoints = periods
	}
	missing := p.TreatMissingData
	if missing == "" {
		missing = awscloudwatch.TreatMissingData_NOT_BREACHING
	}
	alarm := awscloudwatch.NewAlarm(scope, jsii.String(id), &awscloudwatch.AlarmProps{
		Metric:             p.Metric,
		Threshold:          jsii.Number(p.Threshold),
		ComparisonOperator: p.Comparison,
		EvaluationPeriods:  jsii.Number(float64(periods)),
		DatapointsToAlarm:  jsii.Number(float64(datapoints)),
		AlarmDescription:   jsii.String(p.Description),
		TreatMissingData:   missing,
	})
	action := awscloudwatchactions.NewSnsAction(topic)
	alarm.AddAlarmAction(action)
	alarm.AddOkAction(action)
	return alarm
}
