// Package messaging creates the system's SNS topics and SQS queues from the services manifest: every topic and
// queue encrypted with one customer-managed key whose policy lets SNS deliver to the encrypted queues, a
// dead-letter queue per queue that keeps messages longer than its source, the subscriptions exactly as declared
// (raw delivery, filter policy and scope) with a queue for what SNS could not deliver, policies that refuse requests without TLS, and alarms on dead-letter
// depth and on the age of the oldest message.
package messaging

import (
	"errors"
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/encryption"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/ids"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/observability"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// receiveWait makes consumers long-poll by default: fewer empty receives, lower cost and latency.
const receiveWait = 20

// Thresholds are the queue alarms' thresholds.
type Thresholds struct {
	// DeadLetterDepth alarms when a dead-letter queue holds at least this many messages.
	DeadLetterDepth int
	// OldestMessageAgeSeconds alarms when a queue's oldest message is at least this old.
	OldestMessageAgeSeconds int
}

// Validate reports every problem of p at once.
func (p Props) Validate() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.Manifest == nil {
		bad("Manifest is required: it declares the topics and queues")
	}
	if p.AlarmTopic == nil {
		bad("AlarmTopic is required: the queue alarms notify it")
	}
	if p.NamePrefix == "" {
		bad("NamePrefix is required: it names the FIFO queues")
	}
	if p.Manifest != nil {
		for _, q := range p.Manifest.Queues {
			// "A queue name can have up to 80 characters", and a FIFO queue's ends in .fifo
			// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html).
			if n := fifoQueueName(p.NamePrefix, q.DeadLetterQueueName()); q.FIFO && len(n) > maxQueueName {
				bad("FIFO queue %q: its dead-letter queue's name %s is %d characters; SQS allows %d", q.Name, n, len(n), maxQueueName)
			}
		}
	}
	if p.Thresholds.DeadLetterDepth < 1 {
		bad("Thresholds.DeadLetterDepth %d must be at least 1", p.Thresholds.DeadLetterDepth)
	}
	// A message lives at most 14 days, the longest retention SQS allows
	// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html), so an
	// older threshold never fires.
	if p.Thresholds.OldestMessageAgeSeconds < 1 || p.Thresholds.OldestMessageAgeSeconds > 14*24*3600 {
		bad("Thresholds.OldestMessageAgeSeconds %d must be between 1 and 1209600 (14 days)", p.Thresholds.OldestMessageAgeSeconds)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("messaging: %w", err)
	}
	return nil
}

// Props configures the messaging construct.
type Props struct {
	// NamePrefix starts the explicit names of FIFO queues ("ecsr-dev"): CloudFormation's generated names can
	// exceed the 80 characters SQS allows once it appends .fifo
	// (https://github.com/aws-cloudformation/cloudformation-coverage-roadmap/issues/280), so FIFO queues are
	// named <NamePrefix>-<name>.fifo; standard queues keep generated names.
	NamePrefix string
	// Manifest declares the topics, queues and subscriptions.
	Manifest *manifest.Manifest
	// Thresholds of the queue alarms.
	Thresholds Thresholds
	// AlarmTopic receives the queue alarms.
	AlarmTopic awssns.ITopic
	// Removal applies to the key, topics and queues.
	Removal awscdk.RemovalPolicy
}

// Messaging holds the topics and queues by their manifest names.
type Messaging struct {
	constructs.Construct
	// Key encrypts every topic and queue. Publishers need kms:GenerateDataKey and consumers kms:Decrypt on it,
	// which the topics' and queues' Grant methods add.
	Key awskms.Key
	// Topics, Queues and DeadLetterQueues are keyed by manifest name (DeadLetterQueues by their source queue).
	Topics           map[string]awssns.Topic
	Queues           map[string]awssqs.Queue
	DeadLetterQueues map[string]awssqs.Queue
	// UndeliveredQueues keep, per queue, what its subscriptions could not deliver to it.
	UndeliveredQueues map[string]awssqs.Queue
	// Alarms are the queue alarms, keyed by queue name and kind ("fulfillment/dlq-depth").
	Alarms map[string]awscloudwatch.Alarm

	manifest *manifest.Manifest
}

// New creates the key, topics, queues, subscriptions and alarms of the manifest.
func New(scope constructs.Construct, id string, props Props) *Messaging {
	if err := props.Validate(); err != nil {
		panic(err)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(c)
	key := encryption.NewKey(c, "Key", "Encrypts the topics and queues of "+*stack.StackName(), props.Removal)
	// SNS encrypts what it delivers to the queues with the queues' key, so it must be allowed to use it. Scoped
	// to this account; the topic ARNs cannot be named here without a cycle (the topics use this key too).
	encryption.AllowService(key, "AllowSnsToEncryptForQueues", "sns.amazonaws.com", "kms:Decrypt", "kms:GenerateDataKey")

	m := &Messaging{
		Construct:         c,
		Key:               key,
		Topics:            map[string]awssns.Topic{},
		Queues:            map[string]awssqs.Queue{},
		DeadLetterQueues:  map[string]awssqs.Queue{},
		UndeliveredQueues: map[string]awssqs.Queue{},
		Alarms:            map[string]awscloudwatch.Alarm{},
		manifest:          props.Manifest,
	}
	for _, t := range props.Manifest.Topics {
		m.Topics[t.Name] = awssns.NewTopic(c, jsii.String(ids.Pascal(t.Name)+"Topic"), &awssns.TopicProps{
			DisplayName: jsii.String(t.Description),
			MasterKey:   key,
			EnforceSSL:  jsii.Bool(true),
		})
		m.Topics[t.Name].ApplyRemovalPolicy(props.Removal)
	}
	for _, q := range props.Manifest.Queues {
		m.addQueue(c, q, props)
	}
	return m
}

func (m *Messaging) addQueue(c constructs.Construct, q manifest.Queue, props Props) {
	base := ids.Pascal(q.Name)
	var dlqName, queueName *string
	var fifo, contentDedup *bool
	if q.FIFO {
		dlqName = jsii.String(fifoQueueName(props.NamePrefix, q.DeadLetterQueueName()))
		queueName = jsii.String(fifoQueueName(props.NamePrefix, q.PhysicalName()))
		fifo, contentDedup = jsii.Bool(true), jsii.Bool(q.ContentBasedDeduplication)
	}
	dlq := awssqs.NewQueue(c, jsii.String(base+"DeadLetterQueue"), &awssqs.QueueProps{
		QueueName:           dlqName,
		Fifo:                fifo,
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: m.Key,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     awscdk.Duration_Seconds(jsii.Number(float64(q.DeadLetterRetentionSeconds()))),
		RemovalPolicy:       props.Removal,
	})
	queue := awssqs.NewQueue(c, jsii.String(base+"Queue"), &awssqs.QueueProps{
		QueueName:                 queueName,
		Fifo:                      fifo,
		ContentBasedDeduplication: contentDedup,
		Encryption:                awssqs.QueueEncryption_KMS,
		EncryptionMasterKey:       m.Key,
		EnforceSSL:                jsii.Bool(true),
		VisibilityTimeout:         awscdk.Duration_Seconds(jsii.Number(float64(q.VisibilityTimeoutSeconds))),
		RetentionPeriod:           awscdk.Duration_Seconds(jsii.Number(float64(q.RetentionSeconds))),
		ReceiveMessageWaitTime:    awscdk.Duration_Seconds(jsii.Number(receiveWait)),
		DeadLetterQueue:           &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(float64(q.MaxReceiveCount))},
		RemovalPolicy:             props.Removal,
	})
	m.Queues[q.Name] = queue
	m.DeadLetterQueues[q.Name] = dlq
	var undelivered awssqs.Queue
	if len(q.Subscriptions) > 0 { // a direct queue (direct: true, no topic) has no undelivered queue and no SNS grant
		undelivered = m.addSubscriptions(c, q, queue, props)
	}

	minute := awscdk.Duration_Minutes(jsii.Number(1))
	m.Alarms[q.Name+"/dlq-depth"] = observability.NewAlarm(c, base+"DeadLetterDepthAlarm", props.AlarmTopic, observability.AlarmProps{
		Metric:      dlq.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
		Threshold:   float64(props.Thresholds.DeadLetterDepth),
		Comparison:  awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		Description: fmt.Sprintf("Messages from %s failed %d times and wait in its dead-letter queue: inspect them and redrive (docs/runbook.md).", q.Name, q.MaxReceiveCount),
	})
	if undelivered != nil {
		m.Alarms[q.Name+"/undelivered"] = observability.NewAlarm(c, base+"UndeliveredAlarm", props.AlarmTopic, observability.AlarmProps{
			Metric:      undelivered.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
			Threshold:   1,
			Comparison:  awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
			Description: fmt.Sprintf("SNS could not deliver events to %s (its key or queue policy refused them?): they wait in its undelivered queue; fix the cause and redrive (docs/runbook.md).", q.Name),
		})
	}
	m.Alarms[q.Name+"/oldest-age"] = observability.NewAlarm(c, base+"OldestMessageAlarm", props.AlarmTopic, observability.AlarmProps{
		Metric:            queue.MetricApproximateAgeOfOldestMessage(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}),
		Threshold:         float64(props.Thresholds.OldestMessageAgeSeconds),
		Comparison:        awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		EvaluationPeriods: 3,
		Description:       fmt.Sprintf("The oldest message in %s is older than %d s: its consumer is down, stuck or too slow.", q.Name, props.Thresholds.OldestMessageAgeSeconds),
	})
}

// maxQueueName is the longest queue name SQS accepts.
const maxQueueName = 80

// fifoQueueName is the explicit name of a FIFO queue (or dead-letter queue) named physical in the manifest.
func fifoQueueName(prefix, physical string) string { return prefix + "-" + physical }

// addSubscriptions subscribes queue, of q, to q's topics with a new undelivered queue as the subscriptions'
// dead-letter queue, lets those topics send to both, and returns the undelivered queue.
func (m *Messaging) addSubscriptions(c constructs.Construct, q manifest.Queue, queue awssqs.Queue, props Props) awssqs.Queue {
	base := ids.Pascal(q.Name)
	undelivered := awssqs.NewQueue(c, jsii.String(base+"UndeliveredQueue"), &awssqs.QueueProps{
		Encryption:          awssqs.QueueEncryption_KMS,
		EncryptionMasterKey: m.Key,
		EnforceSSL:          jsii.Bool(true),
		RetentionPeriod:     awscdk.Duration_Seconds(jsii.Number(float64(q.DeadLetterRetentionSeconds()))),
		RemovalPolicy:       props.Removal,
	})
	m.UndeliveredQueues[q.Name] = undelivered
	cdknag.NagSuppressions_AddResourceSuppressions(undelivered, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is a dead-letter queue: of SNS subscriptions (their RedrivePolicy), which cdk-nag does not recognise."),
	}}, jsii.Bool(true))

	var sources []*string
	for _, s := range q.Subscriptions {
		topic := m.Topics[s.Topic]
		sub := awssns.NewCfnSubscription(c, jsii.String(base+"From"+ids.Pascal(s.Topic)), &awssns.CfnSubscriptionProps{
			Protocol:           jsii.String("sqs"),
			TopicArn:           topic.TopicArn(),
			Endpoint:           queue.QueueArn(),
			RawMessageDelivery: jsii.Bool(s.RawMessageDelivery),
			RedrivePolicy:      map[string]any{"deadLetterTargetArn": undelivered.QueueArn()},
		})
		if len(s.FilterPolicy) > 0 {
			sub.SetFilterPolicy(s.FilterPolicy)
			scope := s.FilterPolicyScope
			if scope == "" {
				scope = "MessageAttributes"
			}
			sub.SetFilterPolicyScope(jsii.String(scope))
		}
		sources = append(sources, topic.TopicArn())
	}
	// Only the declared topics may send to the queue and to its undelivered-messages queue.
	for _, target := range []awssqs.Queue{queue, undelivered} {
		target.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("AllowSubscribedTopics"),
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("sns.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sqs:SendMessage"),
			Resources:  &[]*string{target.QueueArn()},
			Conditions: &map[string]any{"ArnEquals": map[string]any{"aws:SourceArn": sources}},
		}))
	}
	return undelivered
}

// Section is the messaging part of the dashboard: backlog, oldest message age and dead-letter depth per queue,
// and published and failed deliveries per topic.
func (m *Messaging) Section() observability.Section {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	opts := &awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Maximum")}
	var backlog, age, dead, published, failed []awscloudwatch.IMetric
	for _, q := range m.manifest.Queues {
		backlog = append(backlog, m.Queues[q.Name].MetricApproximateNumberOfMessagesVisible(opts))
		age = append(age, m.Queues[q.Name].MetricApproximateAgeOfOldestMessage(opts))
		dead = append(dead, m.DeadLetterQueues[q.Name].MetricApproximateNumberOfMessagesVisible(opts))
		if u, ok := m.UndeliveredQueues[q.Name]; ok {
			dead = append(dead, u.MetricApproximateNumberOfMessagesVisible(opts))
		}
	}
	sum := &awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}
	for _, t := range m.manifest.Topics {
		published = append(published, m.Topics[t.Name].MetricNumberOfMessagesPublished(sum))
		failed = append(failed, m.Topics[t.Name].MetricNumberOfNotificationsFailed(sum))
	}
	graph := func(title string, metrics []awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{
			Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8), Height: jsii.Number(6),
		})
	}
	return observability.Section{Title: "Messaging", Widgets: []awscloudwatch.IWidget{
		graph("Visible messages", backlog),
		graph("Oldest message age (s)", age),
		graph("Dead-letter messages", dead),
		graph("Messages published", published),
		graph("Deliveries failed", failed),
	}}
}
