// Package service provides the ECS cluster and one Fargate service per service of the manifest
// (infra/services.yaml): its task definition (ARM64, or X86_64 where it runs on Fargate Spot; the shared image with the binary chosen by command, the
// environment variables of docs/configuration.md), a least-privilege task role built with Grant* calls, a separate
// execution role, its log group, deployment safety (circuit breaker with rollback, alarm-based rollback, drain
// timings), autoscaling (requests per target and CPU for web services, backlog per task for workers) and alarms.
package service

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// CAFile is where the image ships the RDS global CA bundle (docs/configuration.md, "Image"): the trust anchors
// of a DB instance's certificate.
const CAFile = "/etc/ssl/certs/rds-global-bundle.pem"

// SystemRoots is the DATABASE_CA_FILE value that verifies the server against the system's root certificates
// (pgx's sslrootcert=system). RDS Proxy presents a certificate from AWS Certificate Manager, which chains to the
// Amazon Trust Services roots, not to the RDS CAs ("Amazon RDS Proxy ... use[s] certificates from the AWS
// Certificate Manager (ACM)", https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html;
// https://docs.aws.amazon.com/prescriptive-guidance/latest/amazon-rds-proxy/best-practices.html), so a service
// that connects through the proxy trusts the system roots, which include Amazon's (preflight's db-trust-anchor).
const SystemRoots = "system"

// maxStopTimeout is the largest stop timeout Fargate allows.
const maxStopTimeout = 120

// Sizing is a service's size and scaling in one environment.
type Sizing struct {
	// CPU (Fargate units) and Memory (MiB) of the task.
	CPU, Memory int
	// MinTasks and MaxTasks bound the task count. The service sets no desired count: Application Auto Scaling
	// owns it (MinTasks at creation), so a deployment never resets a scaled-out service.
	MinTasks, MaxTasks int
	// Spot runs most tasks on Fargate Spot, keeping the first one on Fargate. Fargate Spot runs X86_64 tasks
	// only; infra/config rejects Spot with ARM64.
	Spot bool
	// X86 runs the tasks on X86_64 instead of ARM64 (Graviton).
	X86 bool
	// ScaleFromZero adds a step policy that starts the first task when messages wait (workers with MinTasks 0).
	ScaleFromZero bool
	// ECSExec enables ECS Exec (interactive debugging); off unless set.
	ECSExec bool
	// Scheduled changes the bounds on a schedule.
	Scheduled []Scheduled
}

// Scheduled sets the scaling bounds from Schedule on.
type Scheduled struct {
	// Name identifies the action within the service.
	Name string
	// Schedule is an Application Auto Scaling expression: "cron(0 7 ? * MON-FRI *)".
	Schedule string
	// MinTasks and MaxTasks are the bounds from then on.
	MinTasks, MaxTasks int
}

// Database is how the services reach PostgreSQL.
type Database struct {
	// Host, Port and Name locate the database (tokens of the database construct).
	Host, Port, Name string
	// CAFile is the DATABASE_CA_FILE the services verify the endpoint's certificate with: CAFile for a DB
	// instance, SystemRoots for RDS Proxy. Empty means CAFile.
	CAFile string
	// GrantConnect lets grantee `rds-db:connect` as the database user user only.
	GrantConnect func(grantee awsiam.IGrantable, user string)
	// AllowFrom opens the database's security group to peer on the database port.
	AllowFrom func(peer awsec2.IConnectable)
}

// Thresholds are the alarm thresholds of the environment.
type Thresholds struct {
	// HTTP5xxPerMinute alarms (and rolls a deployment back) on this many target 5xx per minute.
	HTTP5xxPerMinute int
	// TargetP99LatencyMillis alarms when the targets' p99 response time reaches it.
	TargetP99LatencyMillis int
}

// Props configures one service.
type Props struct {
	// Cluster runs the service; Vpc holds its tasks in the private subnets.
	Cluster awsecs.ICluster
	Vpc     awsec2.IVpc
	// Service is the manifest's declaration of the service.
	Service manifest.Service
	// Sizing sizes the service in this environment.
	Sizing Sizing
	// Image is the shared service image (see Image).
	Image awsecs.ContainerImage
	// Database is where the service connects, as its own database user with IAM authentication.
	Database Database
	// Topics and Queues hold every topic and queue of the manifest by name; the service gets the ones it
	// publishes to and consumes. DeadLetterQueues holds each queue's dead-letter queue by the source queue's name.
	Topics           map[string]awssns.ITopic
	Queues           map[string]awssqs.IQueue
	DeadLetterQueues map[string]awssqs.IQueue
	// Router puts a web service behind the load balancer; unused for workers.
	Router *loadbalancer.LoadBalancer
	// LogRetention, LogKey (optional) and LogRemoval configure the service's log group.
	LogRetention awslogs.RetentionDays
	LogKey       awskms.IKey
	LogRemoval   awscdk.RemovalPolicy
	// AlarmTopic receives the service's alarms; Thresholds sets them.
	AlarmTopic awssns.ITopic
	Thresholds Thresholds
	// RequestsPerTarget is the web service's target of ALB requests per task per minute (default 1000);
	// CPUTargetPercent its CPU target (default 60).
	RequestsPerTarget int
	CPUTargetPercent  int
	// Deployment deploys a web service blue/green, canary or linear with the smoke test hook (deployment.go);
	// nil keeps rolling updates. Workers always roll.
	Deployment *Deployment
	// TraceSampleRatio is the share of new traces the service sends to X-Ray (0 turns tracing off; see
	// tracing.go and docs/adr/0015-tracing.md).
	TraceSampleRatio float64
}

// Service is one ECS service and what others need from it.
type Service struct {
	constructs.Construct
	// Service is the Fargate service.
	Service awsecs.FargateService
	// TaskDefinition is the service's task definition; TaskRole its task role.
	TaskDefinition awsecs.FargateTaskDefinition
	TaskRole       awsiam.Role
	// LogGroup receives the container's output.
	LogGroup awslogs.LogGroup
	// TargetGroup routes the load balancer's requests to a web service; nil for workers.
	TargetGroup awselasticloadbalancingv2.ApplicationTargetGroup
	// AlternateTargetGroup is a blue/green web service's alternate (green) target group and TestListenerPort its
	// test listener's port; nil and 0 otherwise.
	AlternateTargetGroup awselasticloadbalancingv2.ApplicationTargetGroup
	TestListenerPort     int
	// Alarms are the service's alarms; DeploymentAlarms the subset that rolls a deployment back.
	Alarms           []awscloudwatch.Alarm
	DeploymentAlarms []awscloudwatch.Alarm
	// Scaling is the service's scalable task count.
	Scaling awsapplicationautoscaling.ScalableTarget
}

// StopTimeoutSeconds is the ECS stop timeout of a service: its drain time plus 10 s for the process to exit,
// at most Fargate's 120 s. ECS sends SIGTERM, waits this long, then SIGKILL.
func StopTimeoutSeconds(s manifest.Service) int { return min(s.DrainSeconds+10, maxStopTimeout) }

// DeregistrationDelaySeconds is how long the load balancer keeps sending in-flight requests to a deregistering
// target: below the drain time, so requests finish before the process stops serving.
func DeregistrationDelaySeconds(s manifest.Service) int { return max(s.DrainSeconds-5, 5) }

// Environment returns the service's plain environment variables: manifest.Environment, the contract the
// services' tests check their settings readers against (docs/configuration.md). Values are non-secret:
// addresses, names and ARNs. The service holds no password: it connects with IAM authentication. Tracing is off
// when traceRatio is 0; otherwise the service sends that share of new traces to X-Ray's OTLP endpoint.
func Environment(s manifest.Service, region string, db Database, traceRatio float64, topicARN, queueURL func(name string) string) map[string]string {
	caFile := CAFile
	if db.CAFile != "" {
		caFile = db.CAFile
	}
	return manifest.Environment(s, manifest.Where{Region: region, DatabaseHost: db.Host, DatabasePort: db.Port,
		DatabaseName: db.Name, DatabaseCAFile: caFile, TopicARN: topicARN, QueueURL: queueURL,
		TracesEndpoint: TraceEndpoint(region), TraceSampleRatio: traceRatio})
}

// New creates the service.
func New(scope constructs.Construct, id string, props Props) *Service {
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := &Service{Construct: c}
	ms := props.Service
	stack := awscdk.Stack_Of(c)

	s.LogGroup = awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		EncryptionKey: props.LogKey,
		RemovalPolicy: props.LogRemoval,
	})

	s.TaskRole = awsiam.NewRole(c, jsii.String("TaskRole"), &awsiam.RoleProps{
		AssumedBy:   TasksPrincipal(c),
		Description: jsii.String("Task role of the " + ms.Name + " service: its own topics, queues and database user only"),
	})
	s.TaskDefinition = awsecs.NewFargateTaskDefinition(c, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(float64(props.Sizing.CPU)),
		MemoryLimitMiB: jsii.Number(float64(props.Sizing.Memory)),
		TaskRole:       s.TaskRole,
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       architecture(props.Sizing.X86),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})

	env := Environment(ms, *stack.Region(), props.Database, props.TraceSampleRatio,
		func(t string) string { return *props.Topics[t].TopicArn() },
		func(q string) string { return *props.Queues[q].QueueUrl() })
	s.TaskDefinition.AddContainer(jsii.String(ms.Name), &awsecs.ContainerDefinitionOptions{
		Image: props.Image,
		// The entry point, not only the command: `/app/ecsr <command>` (manifest.EntryPoint); the image's own
		// ENTRYPOINT is the api, and a command alone would become its arguments.
		EntryPoint:  jsii.Strings(manifest.EntryPoint(ms.Command)...),
		Environment: stringMap(env),
		Essential:   jsii.Bool(true),
		// Read-only, except where ECS Exec is on: its Session Manager agent writes into the container's file system.
		ReadonlyRootFilesystem: jsii.Bool(!props.Sizing.ECSExec),
		StopTimeout:            awscdk.Duration_Seconds(jsii.Number(float64(StopTimeoutSeconds(ms)))),
		HealthCheck:            containerHealthCheck(ms), // healthcheck.go
		PortMappings: &[]*awsecs.PortMapping{{
			ContainerPort: jsii.Number(float64(ms.Port)),
			Protocol:      awsecs.Protocol_TCP,
			Name:          jsii.String("http"),
		}},
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     s.LogGroup,
			StreamPrefix: jsii.String(ms.Name),
			Mode:         awsecs.AwsLogDriverMode_NON_BLOCKING,
		}),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.TaskDefinition, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-ECS2"),
		Reason: jsii.String("The plain environment variables are the non-secret configuration contract of docs/configuration.md " +
			"(addresses, names, topic ARNs, queue URLs); the services hold no password (IAM database authentication) and any secret is injected from Secrets Manager."),
	}}, jsii.Bool(false))

	// Least privilege through grants: its own topics and queues (and their KMS key), its own database user.
	for _, t := range ms.Publishes {
		props.Topics[t].GrantPublish(s.TaskRole)
	}
	for _, q := range ms.Consumes {
		props.Queues[q].GrantConsumeMessages(s.TaskRole)
	}
	if props.Database.GrantConnect != nil {
		props.Database.GrantConnect(s.TaskRole, ms.DatabaseUser)
	}
	if props.TraceSampleRatio > 0 {
		grantTracing(s.TaskRole)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(s.TaskRole, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("kms:GenerateDataKey* comes from the topic and queue grants (GenerateDataKey and GenerateDataKeyWithoutPlaintext, " +
			"both needed to publish to encrypted topics) and is limited to the messaging key's ARN."),
		AppliesTo: &[]interface{}{jsii.String("Action::kms:GenerateDataKey*")},
	}}, jsii.Bool(true))

	sg := awsec2.NewSecurityGroup(c, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Vpc,
		Description:      jsii.String("Tasks of the " + ms.Name + " service"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// Outbound: HTTPS to the AWS APIs (through the NAT gateways or VPC endpoints); the database port is opened
	// to the database's security group only, by Database.AllowFrom.
	sg.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)), jsii.String("HTTPS to AWS APIs"), jsii.Bool(false))
	serviceProps := &awsecs.FargateServiceProps{
		Cluster:                    props.Cluster,
		TaskDefinition:             s.TaskDefinition,
		MinHealthyPercent:          jsii.Number(100),
		MaxHealthyPercent:          jsii.Number(200),
		CircuitBreaker:             &awsecs.DeploymentCircuitBreaker{Enable: jsii.Bool(true), Rollback: jsii.Bool(true)},
		CapacityProviderStrategies: capacity(props.Sizing.Spot),
		EnableExecuteCommand:       jsii.Bool(props.Sizing.ECSExec),
		AssignPublicIp:             jsii.Bool(false),
		VpcSubnets:                 &awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS},
		SecurityGroups:             &[]awsec2.ISecurityGroup{sg},
		PropagateTags:              awsecs.PropagatedTagSource_SERVICE,
		EnableECSManagedTags:       jsii.Bool(true),
		HealthCheckGracePeriod:     gracePeriod(ms),
	}
	if ms.Kind == manifest.KindWeb {
		deploymentProps(serviceProps, props.Deployment) // deployment.go
	}
	s.Service = awsecs.NewFargateService(c, jsii.String("Service"), serviceProps)
	if props.Database.AllowFrom != nil {
		props.Database.AllowFrom(s.Service)
	}
	if props.Sizing.ECSExec {
		cdknag.NagSuppressions_AddResourceSuppressions(s.TaskRole, &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("ECS Exec (enabled for this environment only) needs the ssmmessages channel actions and logs:DescribeLogGroups, which support no resource-level permissions."),
			AppliesTo: &[]interface{}{jsii.String("Resource::*")},
		}, {
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("ECS Exec session logs: the log streams of the cluster's one exec log group, which IAM names log-group:<name>:*."),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:logs:[a-z0-9-]+:<AWS::AccountId>:log-group:<[A-Za-z0-9]+>:\*$/`)}},
		}}, jsii.Bool(true))
	}
	suppressExecutionRole(s.TaskDefinition)

	s.Scaling = awsapplicationautoscaling.NewScalableTarget(c, jsii.String("Scaling"), &awsapplicationautoscaling.ScalableTargetProps{
		ServiceNamespace:  awsapplicationautoscaling.ServiceNamespace_ECS,
		ScalableDimension: jsii.String("ecs:service:DesiredCount"),
		ResourceId:        awscdk.Fn_Join(jsii.String("/"), &[]*string{jsii.String("service"), props.Cluster.ClusterName(), s.Service.ServiceName()}),
		MinCapacity:       jsii.Number(float64(props.Sizing.MinTasks)),
		MaxCapacity:       jsii.Number(float64(props.Sizing.MaxTasks)),
	})
	for _, a := range props.Sizing.Scheduled {
		s.Scaling.ScaleOnSchedule(jsii.String("Schedule-"+a.Name), &awsapplicationautoscaling.ScalingSchedule{
			Schedule:    awsapplicationautoscaling.Schedule_Expression(jsii.String(a.Schedule)),
			MinCapacity: jsii.Number(float64(a.MinTasks)),
			MaxCapacity: jsii.Number(float64(a.MaxTasks)),
		})
	}

	switch ms.Kind {
	case manifest.KindWeb:
		s.web(c, props)
	case manifest.KindWorker:
		s.worker(c, props)
	}
	s.deadLetterAlarms(c, props)
	s.alarmTasksBelowDesired(c, props)

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
	return s
}

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

// gracePeriod gives a web service's tasks time to start before failed load balancer health checks count.
// Services without a load balancer take none (ECS rejects it).
func gracePeriod(s manifest.Service) awscdk.Duration {
	if s.Kind != manifest.KindWeb {
		return nil
	}
	return awscdk.Duration_Seconds(jsii.Number(60))
}

// architecture is the task definition's CPU architecture.
func architecture(x86 bool) awsecs.CpuArchitecture {
	if x86 {
		return awsecs.CpuArchitecture_X86_64()
	}
	return awsecs.CpuArchitecture_ARM64()
}

// capacity runs a service on Fargate, or on Fargate Spot with its first task on Fargate so a Spot reclaim
// never takes every task at once.
func capacity(spot bool) *[]*awsecs.CapacityProviderStrategy {
	if !spot {
		return &[]*awsecs.CapacityProviderStrategy{{CapacityProvider: jsii.String("FARGATE"), Weight: jsii.Number(1)}}
	}
	return &[]*awsecs.CapacityProviderStrategy{
		{CapacityProvider: jsii.String("FARGATE"), Base: jsii.Number(1), Weight: jsii.Number(1)},
		{CapacityProvider: jsii.String("FARGATE_SPOT"), Weight: jsii.Number(3)},
	}
}

// suppressExecutionRole records why the execution role's one wildcard is acceptable.
func suppressExecutionRole(td awsecs.TaskDefinition) {
	cdknag.NagSuppressions_AddResourceSuppressions(td, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("ecr:GetAuthorizationToken, which the execution role needs to pull the image, supports no resource-level permission; image pulls are scoped to the repository."),
		AppliesTo: &[]interface{}{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
}

// stringMap converts a map to the pointer map jsii wants.
func stringMap(m map[string]string) *map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}
