// Package config holds an environment's settings, the tfvars of this project: one YAML file per environment
// (infra/environments/<name>.yaml), decoded strictly and checked against the services manifest and the
// production guardrails before any construct sees it. It reads no files itself: infra/main.go reads them and
// hands the bytes to Decode, so tests can feed any content.
package config

import (
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// Environment is one deployable environment. Every key is required unless its yaml tag says omitempty: a missing
// key is an error, so a setting is never silently defaulted.
type Environment struct {
	// Name is the environment's name; it must match the file name and prefixes its stacks (ecsr-<name>-...).
	Name string `yaml:"name"`
	// Production turns on the guardrails: settings unsafe for production fail synthesis.
	Production bool `yaml:"production"`
	// Region is the AWS region of the stateful and stateless stacks. The edge stack is always in us-east-1.
	Region string `yaml:"region"`
	// Account is the 12-digit ID of the AWS account that holds this environment, and nothing else: every
	// environment has its own account (docs/adr/0011-one-account-per-environment.md), so a credential of one
	// environment can do nothing to another. Quote it in YAML ("012345678901").
	Account string `yaml:"account"`
	// TerminationProtection protects the stateful stack from `cdk destroy`.
	TerminationProtection bool `yaml:"termination_protection"`
	// LogRetentionDays applies to every log group (flow logs, services, WAF, database exports).
	LogRetentionDays int `yaml:"log_retention_days"`
	// Removal says what happens to data when its resource leaves the stack.
	Removal Removal `yaml:"removal"`
	// Network sizes the VPC.
	Network Network `yaml:"network"`
	// Domain, when set, serves the system under a custom domain with HTTPS end to end.
	Domain *Domain `yaml:"domain,omitempty"`
	// Image names the ECR repository the service images come from (created by the delivery pipeline's stack).
	Image Image `yaml:"image"`
	// Database sizes and protects the RDS PostgreSQL instance.
	Database Database `yaml:"database"`
	// Messaging holds the queue alarm thresholds.
	Messaging Messaging `yaml:"messaging"`
	// Tracing configures the services' OpenTelemetry traces, sent to AWS X-Ray (docs/adr/0015).
	Tracing Tracing `yaml:"tracing"`
	// WAF configures the CloudFront web ACL.
	WAF WAF `yaml:"waf"`
	// ShieldAdvanced adds Shield Advanced protections to the distribution and the load balancer. It needs an
	// active Shield Advanced subscription on the account (a paid, yearly commitment).
	ShieldAdvanced bool `yaml:"shield_advanced"`
	// Alarms lists who is notified and the thresholds of the alarms.
	Alarms Alarms `yaml:"alarms"`
	// Services sizes every service of the manifest, by service name; the names must match the manifest exactly.
	Services map[string]ServiceSizing `yaml:"services"`
	// Tags are added to every resource of the environment, for cost allocation.
	Tags map[string]string `yaml:"tags,omitempty"`
	// Release is how web services deploy (release.go); DefaultRelease when absent.
	Release *Release `yaml:"release,omitempty"`
}

// Removal policies by kind of resource.
type Removal struct {
	// Database is snapshot (a final snapshot is kept), retain or destroy.
	Database RemovalPolicy `yaml:"database"`
	// Data covers queues, topics, KMS keys and buckets: retain or destroy.
	Data RemovalPolicy `yaml:"data"`
	// Logs covers log groups: retain or destroy.
	Logs RemovalPolicy `yaml:"logs"`
}

// RemovalPolicy is what happens to a resource removed from its stack.
type RemovalPolicy string

// The removal policies.
const (
	RemovalRetain   RemovalPolicy = "retain"
	RemovalSnapshot RemovalPolicy = "snapshot"
	RemovalDestroy  RemovalPolicy = "destroy"
)

// Network sizes the VPC.
type Network struct {
	// CIDR is the VPC's IPv4 range, a /16 to /18 (three zones of the network's subnets fit in a /18).
	CIDR string `yaml:"cidr"`
	// AZCount is the number of availability zones, 2 or 3.
	AZCount int `yaml:"az_count"`
	// AvailabilityZones optionally names the zones; by default they are the region's a, b and c zones. Naming
	// them keeps synthesis free of account lookups, which a region-only stack could not resolve.
	AvailabilityZones []string `yaml:"availability_zones,omitempty"`
	// NATGateways is the number of NAT gateways, from 1 to AZCount (one per AZ survives an AZ outage).
	NATGateways int `yaml:"nat_gateways"`
	// Endpoints are the VPC endpoints to create, from: s3, ecr, logs, sqs, sns, secretsmanager, kms. They keep
	// traffic to AWS off the NAT gateways.
	Endpoints []Endpoint `yaml:"vpc_endpoints"`
}

// Endpoint names a VPC endpoint.
type Endpoint string

// The VPC endpoints an environment may ask for. Endpoint S3 is a gateway endpoint, the others are interface
// endpoints (ECR is two: api and dkr).
const (
	EndpointS3             Endpoint = "s3"
	EndpointECR            Endpoint = "ecr"
	EndpointLogs           Endpoint = "logs"
	EndpointSQS            Endpoint = "sqs"
	EndpointSNS            Endpoint = "sns"
	EndpointSecretsManager Endpoint = "secretsmanager"
	EndpointKMS            Endpoint = "kms"
)

// Endpoints lists every endpoint an environment may ask for, in a stable order.
var Endpoints = []Endpoint{EndpointS3, EndpointECR, EndpointLogs, EndpointSQS, EndpointSNS, EndpointSecretsManager, EndpointKMS}

// Zones returns the availability zones of the VPC: AvailabilityZones, or the first AZCount of the region's a,
// b and c zones.
func (n Network) Zones(region string) []string {
	if len(n.AvailabilityZones) > 0 {
		return n.AvailabilityZones
	}
	zones := make([]string, 0, n.AZCount)
	for i := range n.AZCount {
		zones = append(zones, region+string(rune('a'+i)))
	}
	return zones
}

// HasEndpoint reports whether the environment asks for the endpoint.
func (n Network) HasEndpoint(e Endpoint) bool {
	for _, x := range n.Endpoints {
		if x == e {
			return true
		}
	}
	return false
}

// Domain serves the system under a custom domain.
type Domain struct {
	// Name is the domain users visit, e.g. shop.example.com. CloudFront serves it.
	Name string `yaml:"name"`
	// HostedZoneID and HostedZoneName identify the Route 53 public hosted zone that holds Name.
	HostedZoneID   string `yaml:"hosted_zone_id"`
	HostedZoneName string `yaml:"hosted_zone_name"`
	// OriginName is the name CloudFront uses to reach the load balancer over HTTPS, e.g. origin.shop.example.com.
	OriginName string `yaml:"origin_name"`
	// ALBCertificateARN is an ACM certificate in the environment's region covering OriginName.
	ALBCertificateARN string `yaml:"alb_certificate_arn"`
	// CloudFrontCertificateARN is an ACM certificate in us-east-1 covering Name.
	CloudFrontCertificateARN string `yaml:"cloudfront_certificate_arn"`
}

// Image names where the service images come from.
type Image struct {
	// Repository is the name of the ECR repository the images come from (infra/cicd.yaml repository.name).
	Repository string `yaml:"repository"`
	// Account is the images account that holds the repository, in the environment's region (infra/cicd.yaml
	// images.account); the repository's policy lets this environment's roles pull.
	Account string `yaml:"account"`
}

// Database sizes and protects RDS PostgreSQL.
type Database struct {
	// EngineVersion is the PostgreSQL major version; minor versions are upgraded automatically.
	EngineVersion string `yaml:"engine_version"`
	// InstanceClass is the instance class without the db. prefix, e.g. t4g.micro or r7g.large.
	InstanceClass string `yaml:"instance_class"`
	// Name is the database created in the instance (DATABASE_NAME of the services).
	Name string `yaml:"name"`
	// MultiAZ keeps a synchronous standby in another AZ.
	MultiAZ bool `yaml:"multi_az"`
	// DeletionProtection makes RDS refuse to delete the instance.
	DeletionProtection bool `yaml:"deletion_protection"`
	// BackupRetentionDays is how long automated backups are kept, 1 to 35.
	BackupRetentionDays int `yaml:"backup_retention_days"`
	// PerformanceInsights turns on Performance Insights (7 days, free tier) encrypted with the database key.
	PerformanceInsights bool `yaml:"performance_insights"`
	// AllocatedStorageGiB is the initial storage; MaxAllocatedStorageGiB the storage autoscaling ceiling.
	AllocatedStorageGiB    int `yaml:"allocated_storage_gib"`
	MaxAllocatedStorageGiB int `yaml:"max_allocated_storage_gib"`
	// RDSProxy puts an RDS Proxy (TLS required, IAM authentication end to end) in front of the instance.
	RDSProxy bool `yaml:"rds_proxy"`
}

// Messaging holds the thresholds of the queue alarms.
type Messaging struct {
	// DLQDepthThreshold alarms when a dead-letter queue holds at least this many messages.
	DLQDepthThreshold int `yaml:"dlq_depth_threshold"`
	// OldestMessageAgeSeconds alarms when a queue's oldest message is at least this old.
	OldestMessageAgeSeconds int `yaml:"oldest_message_age_seconds"`
}

// Tracing configures the services' traces (docs/adr/0015-tracing.md).
type Tracing struct {
	// SampleRatio is the share of new traces recorded and sent to X-Ray, from 0 (tracing off: nothing is sent
	// and no permission is granted) to 1. A trace begun by a caller keeps the caller's decision, so an order's
	// spans are all kept or none.
	SampleRatio float64 `yaml:"sample_ratio"`
}

// Enabled reports whether any trace is sent.
func (t Tracing) Enabled() bool { return t.SampleRatio > 0 }

// OldestMessageAge is OldestMessageAgeSeconds as a duration.
func (m Messaging) OldestMessageAge() time.Duration {
	return time.Duration(m.OldestMessageAgeSeconds) * time.Second
}

// WAFMode says whether the web ACL's rules block or only count.
type WAFMode string

// The WAF modes.
const (
	// WAFBlock enforces the rules.
	WAFBlock WAFMode = "block"
	// WAFCount only counts matches, for rolling out new rules against real traffic.
	WAFCount WAFMode = "count"
)

// WAF configures the CloudFront web ACL.
type WAF struct {
	// Mode is block or count.
	Mode WAFMode `yaml:"mode"`
	// RateLimitPerIP is the most requests one IP may make in RateLimitWindowSeconds.
	RateLimitPerIP int `yaml:"rate_limit_per_ip"`
	// RateLimitOrdersPerIP is the stricter limit for POST /api/orders per IP in the same window.
	RateLimitOrdersPerIP int `yaml:"rate_limit_orders_per_ip"`
	// RateLimitWindowSeconds is the rate-based rules' evaluation window: 60, 120, 300 or 600.
	RateLimitWindowSeconds int `yaml:"rate_limit_window_seconds"`
	// BotControl adds the AWS Bot Control rule group at the targeted inspection level (billed per request).
	BotControl bool `yaml:"bot_control"`
	// ManagedRuleGroups are AWS managed rule groups, from the fixed set ManagedRuleGroups.
	ManagedRuleGroups []string `yaml:"managed_rule_groups"`
}

// ManagedRuleGroups is the fixed set of AWS managed rule groups an environment may enable. Production enables
// all of them.
var ManagedRuleGroups = []string{
	"AWSManagedRulesCommonRuleSet",
	"AWSManagedRulesKnownBadInputsRuleSet",
	"AWSManagedRulesSQLiRuleSet",
	"AWSManagedRulesAmazonIpReputationList",
	"AWSManagedRulesAnonymousIpList",
}

// Alarms lists who is notified and the alarm thresholds.
type Alarms struct {
	// Emails receive every alarm of the environment through the alarm topic.
	Emails []string `yaml:"emails"`
	// DatabaseCPUPercent alarms when the database's CPU stays at or above it.
	DatabaseCPUPercent int `yaml:"database_cpu_percent"`
	// DatabaseFreeStorageGiB alarms when free storage falls below it.
	DatabaseFreeStorageGiB int `yaml:"database_free_storage_gib"`
	// DatabaseConnections alarms when connections reach it.
	DatabaseConnections int `yaml:"database_connections"`
	// HTTP5xxPerMinute alarms when the load balancer's targets answer at least this many 5xx a minute.
	HTTP5xxPerMinute int `yaml:"http_5xx_per_minute"`
	// TargetP99LatencyMillis alarms when the targets' p99 response time reaches it.
	TargetP99LatencyMillis int `yaml:"target_p99_latency_ms"`
	// WAFBlockedPer5Minutes alarms when the web ACL blocks at least this many requests in five minutes.
	WAFBlockedPer5Minutes int `yaml:"waf_blocked_per_5_minutes"`
}

// ServiceSizing sizes one service of the manifest in this environment.
type ServiceSizing struct {
	// CPU is the task's Fargate CPU units (256 = 0.25 vCPU); Memory its MiB, a valid pair for Fargate.
	CPU    int `yaml:"cpu"`
	Memory int `yaml:"memory"`
	// MinTasks and MaxTasks bound autoscaling. There is no desired count: Application Auto Scaling owns it,
	// starting at MinTasks, so a deployment never resets a scaled-out service.
	MinTasks int `yaml:"min_tasks"`
	MaxTasks int `yaml:"max_tasks"`
	// Architecture is the tasks' CPU architecture, arm64 (the default) or x86_64. The image is built for both.
	Architecture string `yaml:"architecture,omitempty"`
	// Spot runs the service on Fargate Spot (workers; web services only outside production). Fargate Spot runs
	// X86_64 tasks only, so Spot needs architecture x86_64.
	Spot bool `yaml:"spot"`
	// ScaleFromZero lets a worker scale in to zero tasks and out again from its backlog (MinTasks may be 0).
	ScaleFromZero bool `yaml:"scale_from_zero"`
	// ECSExec turns on ECS Exec for debugging; off unless set, never in production.
	ECSExec bool `yaml:"ecs_exec,omitempty"`
	// ScheduledScaling changes the scaling bounds on a schedule.
	ScheduledScaling []ScheduledScaling `yaml:"scheduled_scaling,omitempty"`
}

// The CPU architectures a service may run on (ServiceSizing.Architecture).
const (
	ArchARM64  = "arm64"
	ArchX86_64 = "x86_64"
)

// CPUArchitecture is the sizing's architecture, ArchARM64 when the file leaves it out.
func (s ServiceSizing) CPUArchitecture() string {
	if s.Architecture == "" {
		return ArchARM64
	}
	return s.Architecture
}

// ScheduledScaling sets a service's scaling bounds on a schedule.
type ScheduledScaling struct {
	// Name identifies the action within the service.
	Name string `yaml:"name"`
	// Schedule is an Application Auto Scaling cron expression in UTC: "cron(0 7 ? * MON-FRI *)".
	Schedule string `yaml:"schedule"`
	// MinTasks and MaxTasks are the bounds from then on.
	MinTasks int `yaml:"min_tasks"`
	MaxTasks int `yaml:"max_tasks"`
}

// StackName is the name of one of the environment's stacks: ecsr-<env>-<part>.
func (e *Environment) StackName(part string) string { return "ecsr-" + e.Name + "-" + part }

// Sizing returns the sizing of a manifest service; Decode guarantees every service has one.
func (e *Environment) Sizing(service string) ServiceSizing { return e.Services[service] }

// EdgeRegion is where CloudFront's web ACL and certificate must live.
const EdgeRegion = "us-east-1"

// Inputs is what the app needs besides the environments: the services manifest and the deploy-time values
// infra/main.go reads from the CDK context.
type Inputs struct {
	// Manifest is the decoded infra/services.yaml.
	Manifest *manifest.Manifest
	// ImageTag is the image tag to deploy (context image_tag); ignored when ImageDigest is set.
	ImageTag string
	// ImageDigest is the image digest to deploy (context image_digest, "sha256:..."), preferred over a tag.
	ImageDigest string
	// SiteSource is the directory of the built web UI deployed to the site bucket (web/dist when it exists);
	// empty deploys nothing.
	SiteSource string
}
