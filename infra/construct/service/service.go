// Package service provides the ECS cluster and one Fargate service per service of the manifest
// (infra/services.yaml): its task definition (ARM64, or X86_64 where it runs on Fargate Spot; the shared image with the binary chosen by command, the
// environment variables of docs/configuration.md), a least-privilege task role built with Grant* calls, a separate
// execution role, its log group, deployment safety (circuit breaker with rollback, alarm-based rollback, drain
// timings), autoscaling (requests per target and CPU for web services, backlog per task for workers) and alarms.
package service

import (
	"errors"
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapplicationautoscaling"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

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
	// Secrets holds the service's own secrets by name (the manifest's secrets); ECS sets each as the variable
	// manifest.SecretEnv(name) when a task starts, reading it with the execution role.
	Secrets map[string]awssecretsmanager.ISecret
	// Router puts a web service behind the load balancer, with RoutePriority its listener rule's priority
	// (loadbalancer.RoutePriorities; 0: call order); unused for workers.
	Router        *loadbalancer.LoadBalancer
	RoutePriority int
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

// validate reports every topic, queue or secret the service declares that props does not hold.
func (p Props) validate() error {
	var errs []error
	ms := p.Service
	for _, t := range ms.Publishes {
		if p.Topics[t] == nil {
			errs = append(errs, fmt.Errorf("topic %q (publishes) is not in Topics", t))
		}
	}
	for _, q := range slices.Concat(ms.Consumes, ms.Sends) {
		if p.Queues[q] == nil {
			errs = append(errs, fmt.Errorf("queue %q (consumes, sends) is not in Queues", q))
		}
	}
	for _, sec := range ms.Secrets {
		if p.Secrets[sec] == nil {
			errs = append(errs, fmt.Errorf("secret %q (secrets) is not in Secrets", sec))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("service %s: %w", ms.Name, err)
	}
	return nil
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

// New creates the service: its task definition and roles (task.go, iam.go), the ECS service, its scaling
// (scaling.go, and web.go or worker.go by kind) and its alarms (alarms.go).
func New(scope constructs.Construct, id string, props Props) *Service {
	if err := props.validate(); err != nil {
		panic(err)
	}
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := &Service{Construct: c}
	s.addTask(c, props)
	s.grant(props)
	s.addService(c, props)
	s.suppressExecFindings(props)
	suppressExecutionRole(s.TaskDefinition)
	s.addScaling(c, props)
	switch props.Service.Kind {
	case manifest.KindWeb:
		s.web(c, props)
	case manifest.KindWorker:
		s.worker(c, props)
	}
	s.deadLetterAlarms(c, props)
	s.alarmTasksBelowDesired(c, props)
	s.wireAlarms(props)
	return s
}

// addService creates the ECS service in the private subnets with its security group, and opens the database to
// it.
func (s *Service) addService(c constructs.Construct, props Props) {
	ms := props.Service
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
	if props.Database.AllowFrom != nil && ms.DatabaseUser != "" { // a service without database_user has no database
		props.Database.AllowFrom(s.Service)
	}
}

// gracePeriod gives a web service's tasks time to start before failed load balancer health checks count.
// Services without a load balancer take none (ECS rejects it).
func gracePeriod(s manifest.Service) awscdk.Duration {
	if s.Kind != manifest.KindWeb {
		return nil
	}
	return awscdk.Duration_Seconds(jsii.Number(60))
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

// stringMap converts a map to the pointer map jsii wants.
func stringMap(m map[string]string) *map[string]*string {
	out := make(map[string]*string, len(m))
	for k, v := range m {
		out[k] = jsii.String(v)
	}
	return &out
}
