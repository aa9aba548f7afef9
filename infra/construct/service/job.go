package service

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsschedulertargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/observability"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
)

// JobProps configures one scheduled job.
type JobProps struct {
	// Cluster runs the job's tasks; Vpc holds them in the private subnets.
	Cluster awsecs.ICluster
	Vpc     awsec2.IVpc
	// Job is the manifest's declaration of the job.
	Job manifest.Job
	// Image is the shared service image.
	Image awsecs.ContainerImage
	// Database, Topics, Queues and Secrets are as for a service (Props): the job gets what it declares.
	Database Database
	Topics   map[string]awssns.ITopic
	Queues   map[string]awssqs.IQueue
	Secrets  map[string]awssecretsmanager.ISecret
	// LogRetention, LogKey (optional) and LogRemoval configure the job's log group.
	LogRetention awslogs.RetentionDays
	LogKey       awskms.IKey
	LogRemoval   awscdk.RemovalPolicy
	// AlarmTopic receives the job's alarms.
	AlarmTopic awssns.ITopic
	// TraceSampleRatio is the share of runs traced (0: tracing off).
	TraceSampleRatio float64
}

// Job is one scheduled job: its task definition, the schedule that starts it and its alarms.
type Job struct {
	constructs.Construct
	TaskDefinition  awsecs.FargateTaskDefinition
	TaskRole        awsiam.Role
	LogGroup        awslogs.LogGroup
	Schedule        awsscheduler.Schedule
	DeadLetterQueue awssqs.Queue
	Alarms          []awscloudwatch.Alarm
}

// scheduleRetries is how many times EventBridge Scheduler retries a RunTask call that failed (capacity, a
// throttle), within maxEventAgeHours; what still fails goes to the job's dead-letter queue
// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/configuring-schedule-dlq.html).
const (
	scheduleRetries  = 3
	maxEventAgeHours = 1
)

// NewJob creates the job's log group, task role (least privilege, as a service's), task definition (the shared
// image running `/app/ecsr <command>`, no port), security group, and an EventBridge Scheduler schedule that runs
// one Fargate task in the private subnets on the job's schedule, in UTC
// (https://docs.aws.amazon.com/scheduler/latest/UserGuide/schedule-types.html). Its alarms: a run that failed
// (the kit's JobsFailed metric) and a run the scheduler could not start (its dead-letter queue).
func NewJob(scope constructs.Construct, id string, props JobProps) *Job {
	ms := props.Job.Service()
	svcProps := Props{Service: ms, Topics: props.Topics, Queues: props.Queues, Secrets: props.Secrets, Database: props.Database,
		TraceSampleRatio: props.TraceSampleRatio}
	if err := svcProps.validate(); err != nil {
		panic(err)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	stack := awscdk.Stack_Of(c)
	j := &Job{Construct: c}
	j.LogGroup = awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention: props.LogRetention, EncryptionKey: props.LogKey, RemovalPolicy: props.LogRemoval,
	})
	j.TaskRole = awsiam.NewRole(c, jsii.String("TaskRole"), &awsiam.RoleProps{
		AssumedBy:   TasksPrincipal(c),
		Description: jsii.String("Task role of the " + ms.Name + " job: its own topics, queues and database user only"),
	})
	j.TaskDefinition = awsecs.NewFargateTaskDefinition(c, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(float64(props.Job.TaskCPU())),
		MemoryLimitMiB: jsii.Number(float64(props.Job.TaskMemory())),
		TaskRole:       j.TaskRole,
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	env := Environment(ms, *stack.Region(), props.Database, props.TraceSampleRatio,
		func(t string) string { return *props.Topics[t].TopicArn() },
		func(q string) string { return *props.Queues[q].QueueUrl() })
	j.TaskDefinition.AddContainer(jsii.String(ms.Name), &awsecs.ContainerDefinitionOptions{
		Image:                  props.Image,
		EntryPoint:             jsii.Strings(manifest.EntryPoint(ms.Command)...),
		Environment:            stringMap(env),
		Secrets:                containerSecrets(ms, props.Secrets),
		Essential:              jsii.Bool(true),
		ReadonlyRootFilesystem: jsii.Bool(true),
		StopTimeout:            awscdk.Duration_Seconds(jsii.Number(float64(StopTimeoutSeconds(ms)))),
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup: j.LogGroup, StreamPrefix: jsii.String(ms.Name), Mode: awsecs.AwsLogDriverMode_NON_BLOCKING,
		}),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(j.TaskDefinition, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-ECS2"),
		Reason: jsii.String("The plain environment variables are the non-secret configuration contract of docs/configuration.md; secrets come from Secrets Manager."),
	}}, jsii.Bool(false))
	suppressExecutionRole(j.TaskDefinition)
	grantAccess(ms, j.TaskRole, svcProps)

	sg := awsec2.NewSecurityGroup(c, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc: props.Vpc, Description: jsii.String("Tasks of the " + ms.Name + " job"), AllowAllOutbound: jsii.Bool(false),
	})
	sg.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)), jsii.String("HTTPS to AWS APIs"), jsii.Bool(false))
	if props.Database.AllowFrom != nil && ms.DatabaseUser != "" {
		props.Database.AllowFrom(sg)
	}

	j.DeadLetterQueue = awssqs.NewQueue(c, jsii.String("DeadLetterQueue"), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
		RemovalPolicy:   props.LogRemoval,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(j.DeadLetterQueue, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-SQS3"),
		Reason: jsii.String("This queue is the dead-letter queue of the job's schedule (its target's DeadLetterConfig), which cdk-nag does not recognise."),
	}}, jsii.Bool(false))
	j.Schedule = awsscheduler.NewSchedule(c, jsii.String("Schedule"), &awsscheduler.ScheduleProps{
		Schedule:    awsscheduler.ScheduleExpression_Expression(jsii.String(props.Job.Schedule), awscdk.TimeZone_ETC_UTC()),
		Description: jsii.String(fmt.Sprintf("Runs the %s job (%s)", ms.Name, props.Job.Schedule)),
		Target: awsschedulertargets.NewEcsRunFargateTask(props.Cluster, &awsschedulertargets.FargateTaskProps{
			TaskDefinition: j.TaskDefinition,
			VpcSubnets:     &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
			SecurityGroups: &[]awsec2.ISecurityGroup{sg},
			AssignPublicIp: jsii.Bool(false),
			// No tags on the tasks: propagating them would take ecs:TagResource on every task of the cluster
			// (task ARNs exist only once RunTask runs), a wildcard the role does without.
			PropagateTags:        jsii.Bool(false),
			EnableEcsManagedTags: jsii.Bool(false),
			DeadLetterQueue:      j.DeadLetterQueue,
			RetryAttempts:        jsii.Number(scheduleRetries),
			MaxEventAge:          awscdk.Duration_Hours(jsii.Number(maxEventAgeHours)),
		}),
	})

	minute := awscdk.Duration_Minutes(jsii.Number(5))
	j.Alarms = append(j.Alarms, observability.NewAlarm(c, "FailedAlarm", props.AlarmTopic, observability.AlarmProps{
		Metric: awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String(metrics.Namespace), MetricName: jsii.String("JobsFailed"),
			DimensionsMap: &map[string]*string{metrics.ServiceDimension: jsii.String(ms.Name)},
			Statistic:     jsii.String("Sum"), Period: minute,
		}),
		Threshold:   1,
		Comparison:  awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		Description: fmt.Sprintf("A run of the %s job failed: its log group has the \"job failed\" line with the error (docs/runbook.md, Scheduled jobs).", ms.Name),
	}), observability.NewAlarm(c, "NotStartedAlarm", props.AlarmTopic, observability.AlarmProps{
		Metric: j.DeadLetterQueue.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{
			Period: minute, Statistic: jsii.String("Maximum"),
		}),
		Threshold:   1,
		Comparison:  awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		Description: fmt.Sprintf("EventBridge Scheduler could not start the %s job's task (RunTask failed after retries): the reason is in its dead-letter queue's messages (docs/runbook.md, Scheduled jobs).", ms.Name),
	}))
	return j
}
