package stacks

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/secrets"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsroute53targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/database"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/deployrole"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/edge"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/logbucket"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/observability"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/shield"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// StatelessProps configures the stateless stack.
type StatelessProps struct {
	// Env is the environment the stack belongs to.
	Env *config.Environment
	// Inputs holds the manifest, the image to deploy and the web UI's build directory.
	Inputs config.Inputs
	// Stateful provides the network, database, messaging and alarm topic.
	Stateful *Stateful
	// Cluster provides the ECS cluster and the image; its migration task runs before this stack deploys.
	Cluster *Cluster
	// WebACLArn is the edge stack's web ACL (a cross-region reference).
	WebACLArn *string
}

// Stateless is the stack that can be replaced without losing data: the services (in the cluster stack's
// cluster), the load balancer, the CloudFront distribution with the static site, and the load balancer's Shield
// Advanced protection.
type Stateless struct {
	awscdk.Stack
	// LoadBalancer is the API origin.
	LoadBalancer *loadbalancer.LoadBalancer
	// Services holds the ECS services by manifest name.
	Services map[string]*service.Service
	// Jobs are the scheduled jobs by name.
	Jobs map[string]*service.Job
	// Edge is the distribution and the site bucket.
	Edge *edge.Edge
}

// NewStateless creates the stateless stack of an environment. It panics (failing synthesis with the message)
// when the environment's region has no known CloudFront origin-facing prefix list, which config.Decode rejects
// first.
func NewStateless(scope constructs.Construct, id string, props StatelessProps) *Stateless {
	env, st, m := props.Env, props.Stateful, props.Inputs.Manifest
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         regional(env),
		StackName:   jsii.String(id),
		Description: jsii.String("ECS Reworked " + env.Name + ": services, load balancer and CloudFront"),
	})
	// References to the stateful stack stay strong: CloudFormation then refuses to delete or replace a stateful
	// resource a service still uses.
	awscdk.CrossStackReferences_Of(stack).Consume(awscdk.ReferenceStrength_STRONG)
	s := &Stateless{Stack: stack, Services: map[string]*service.Service{}, Jobs: map[string]*service.Job{}}
	vpc := st.Network.Vpc
	obs := st.Observability
	logRemoval := removalPolicy(env.Removal.Logs)

	prefixList, err := loadbalancer.CloudFrontPrefixList(env.Region)
	if err != nil {
		panic(fmt.Sprintf("%s: %v", id, err))
	}
	logs := logbucket.New(stack, "AccessLogs", logbucket.Props{ExpirationDays: 90, RemovalPolicy: bucketRemoval})
	lbProps := loadbalancer.Props{
		Vpc: vpc, PrefixListID: prefixList, AccessLogBucket: logs,
		AlarmTopic: obs.AlarmTopic, HTTP5xxPerMinute: env.Alarms.HTTP5xxPerMinute,
		// Production's load balancer cannot be deleted by accident (a stack deletion or a replacement fails
		// until the attribute is turned off).
		DeletionProtection: env.Production,
	}
	if env.Domain != nil {
		lbProps.CertificateARN = env.Domain.ALBCertificateARN
	}
	s.LoadBalancer = loadbalancer.New(stack, "LoadBalancer", lbProps)

	cluster, image := props.Cluster.Cluster, props.Cluster.Image
	topics := map[string]awssns.ITopic{}
	for name, t := range st.Messaging.Topics {
		topics[name] = t
	}
	queues, dlqs := map[string]awssqs.IQueue{}, map[string]awssqs.IQueue{}
	for name, q := range st.Messaging.Queues {
		queues[name] = q
	}
	for name, q := range st.Messaging.DeadLetterQueues {
		dlqs[name] = q
	}
	db := st.Database
	var apiPaths []string
	for _, ms := range m.Services {
		if ms.Kind == manifest.KindWeb {
			apiPaths = append(apiPaths, ms.PathPattern)
		}
	}
	priorities, err := loadbalancer.RoutePriorities(apiPaths)
	if err != nil {
		panic(fmt.Errorf("infra/services.yaml: %w", err))
	}
	for _, ms := range m.Services {
		sz := env.Sizing(ms.Name)
		scheduled := make([]service.Scheduled, 0, len(sz.ScheduledScaling))
		for _, a := range sz.ScheduledScaling {
			scheduled = append(scheduled, service.Scheduled{Name: a.Name, Schedule: a.Schedule, MinTasks: a.MinTasks, MaxTasks: a.MaxTasks})
		}
		priority := 0
		if i := slices.Index(apiPaths, ms.PathPattern); ms.Kind == manifest.KindWeb && i >= 0 {
			priority = priorities[i]
		}
		s.Services[ms.Name] = service.New(stack, "Service-"+ms.Name, service.Props{
			Cluster: cluster, Vpc: vpc, Service: ms, Image: image,
			Sizing: service.Sizing{
				CPU: sz.CPU, Memory: sz.Memory, MinTasks: sz.MinTasks, MaxTasks: sz.MaxTasks,
				Spot: sz.Spot, X86: sz.CPUArchitecture() == config.ArchX86_64, ScaleFromZero: sz.ScaleFromZero, ECSExec: sz.ECSExec, Scheduled: scheduled,
			},
			Database: service.Database{
				Host: *db.Endpoint(), Port: strconv.Itoa(database.Port), Name: db.Name(), CAFile: caFile(db),
				GrantConnect: func(g awsiam.IGrantable, user string) { db.GrantConnect(g, user) },
				AllowFrom:    func(p awsec2.IConnectable) { db.AllowFrom(p, "service "+ms.Name) },
			},
			Topics: topics, Queues: queues, DeadLetterQueues: dlqs, Secrets: serviceSecrets(st.Secrets, ms.Name),
			Router: s.LoadBalancer, RoutePriority: priority,
			LogRetention: logRetention(env), LogKey: obs.Key, LogRemoval: logRemoval,
			AlarmTopic: obs.AlarmTopic, Deployment: deployment(env), // release.go
			Thresholds:       service.Thresholds{HTTP5xxPerMinute: env.Alarms.HTTP5xxPerMinute, TargetP99LatencyMillis: env.Alarms.TargetP99LatencyMillis},
			TraceSampleRatio: env.Tracing.SampleRatio,
		})
		if sz.ECSExec {
			suppressImportedExecLogs(s.Services[ms.Name].TaskRole)
		}
	}
	for _, mj := range m.Jobs {
		s.Jobs[mj.Name] = service.NewJob(stack, "Job-"+mj.Name, service.JobProps{
			Cluster: cluster, Vpc: vpc, Job: mj, Image: image,
			Database: service.Database{
				Host: *db.Endpoint(), Port: strconv.Itoa(database.Port), Name: db.Name(), CAFile: caFile(db),
				GrantConnect: func(g awsiam.IGrantable, user string) { db.GrantConnect(g, user) },
				AllowFrom:    func(p awsec2.IConnectable) { db.AllowFrom(p, "job "+mj.Name) },
			},
			Topics: topics, Queues: queues, Secrets: serviceSecrets(st.Secrets, mj.Name),
			LogRetention: logRetention(env), LogKey: obs.Key, LogRemoval: logRemoval,
			AlarmTopic: obs.AlarmTopic, TraceSampleRatio: env.Tracing.SampleRatio,
		})
	}

	edgeProps := edge.Props{
		LoadBalancer: s.LoadBalancer, APIPathPatterns: apiPaths, WebACLArn: *props.WebACLArn,
		LogBucket: logs, SiteSource: props.Inputs.SiteSource, SiteRemoval: bucketRemoval,
	}
	if d := env.Domain; d != nil {
		edgeProps.OriginName, edgeProps.DomainName, edgeProps.CertificateARN = d.OriginName, d.Name, d.CloudFrontCertificateARN
	}
	s.Edge = edge.New(stack, "Edge", edgeProps)
	// The site deployment's role reads the CDK assets bucket of this account (the stack's account is explicit,
	// so its name carries the account ID where the construct's own suppression expects a token).
	cdknag.NagSuppressions_AddStackSuppressions(stack, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("BucketDeployment reads the objects of this account's CDK assets bucket, which S3 names only by ARN pattern."),
		AppliesTo: &[]interface{}{jsii.String("Resource::arn:<AWS::Partition>:s3:::cdk-" + deployrole.BootstrapQualifier +
			"-assets-" + env.Account + "-" + env.Region + "/*")},
	}}, jsii.Bool(true))
	if d := env.Domain; d != nil {
		s.addRecords(d)
	}

	if env.ShieldAdvanced {
		// The load balancer's protection, in its region; the distribution's and the group over both are in the
		// us-east-1 edge protection stack (see EdgeProtection).
		shield.New(stack, "Shield", shield.Props{Name: "ecsr-" + env.Name, Resources: map[string]*string{
			"load-balancer": s.LoadBalancer.ALB.LoadBalancerArn(),
		}})
	}

	awscdk.NewCfnOutput(stack, jsii.String("DistributionDomainName"), &awscdk.CfnOutputProps{
		Value: s.Edge.Distribution.DistributionDomainName(), Description: jsii.String("CloudFront domain name of the environment"),
	})
	awscdk.NewCfnOutput(stack, jsii.String("SiteBucketName"), &awscdk.CfnOutputProps{
		Value: s.Edge.SiteBucket.BucketName(), Description: jsii.String("Bucket of the static web UI"),
	})
	return s
}

// addRecords points the domain at the distribution and the origin name at the load balancer (alias records in
// the environment's hosted zone). The load balancer is internal, so the origin name resolves to private
// addresses only; CloudFront reaches it through the VPC origin and uses the name for TLS (SNI and the
// certificate check).
func (s *Stateless) addRecords(d *config.Domain) {
	zone := awsroute53.HostedZone_FromHostedZoneAttributes(s.Stack, jsii.String("Zone"), &awsroute53.HostedZoneAttributes{
		HostedZoneId: jsii.String(d.HostedZoneID), ZoneName: jsii.String(d.HostedZoneName),
	})
	cdn := awsroute53.RecordTarget_FromAlias(awsroute53targets.NewCloudFrontTarget(s.Edge.Distribution))
	awsroute53.NewARecord(s.Stack, jsii.String("DomainA"), &awsroute53.ARecordProps{Zone: zone, RecordName: jsii.String(d.Name), Target: cdn})
	awsroute53.NewAaaaRecord(s.Stack, jsii.String("DomainAAAA"), &awsroute53.AaaaRecordProps{Zone: zone, RecordName: jsii.String(d.Name), Target: cdn})
	awsroute53.NewARecord(s.Stack, jsii.String("OriginA"), &awsroute53.ARecordProps{
		Zone: zone, RecordName: jsii.String(d.OriginName),
		Target: awsroute53.RecordTarget_FromAlias(awsroute53targets.NewLoadBalancerTarget(s.LoadBalancer.ALB, nil)),
	})
}

// Section is the stateless part of the dashboard: requests and errors at the load balancer, per service its
// resource use and running against desired tasks (what the tasks-below-desired alarm watches), the web services'
// p99 response time, and the web ACL's blocked requests (a us-east-1 metric).
func (s *Stateless) Section(blocked awscloudwatch.IMetric) observability.Section {
	minute := awscdk.Duration_Minutes(jsii.Number(1))
	graph := func(title string, metrics ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &metrics, Width: jsii.Number(8)})
	}
	alb := s.LoadBalancer.ALB.Metrics()
	sum := &awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("Sum")}
	widgets := []awscloudwatch.IWidget{
		graph("Load balancer requests", alb.RequestCount(sum)),
		graph("Load balancer 5xx", alb.HttpCodeElb(awselasticloadbalancingv2.HttpCodeElb_ELB_5XX_COUNT, sum), alb.HttpCodeTarget(awselasticloadbalancingv2.HttpCodeTarget_TARGET_5XX_COUNT, sum)),
		graph("Web ACL blocked requests", blocked),
	}
	for _, name := range sortedKeys(s.Services) {
		svc := s.Services[name]
		widgets = append(widgets,
			graph(name+" CPU and memory (%)", svc.Service.MetricCpuUtilization(nil), svc.Service.MetricMemoryUtilization(nil)),
			graph(name+" tasks (running, desired)", svc.TaskCountMetric("RunningTaskCount"), svc.TaskCountMetric("DesiredTaskCount")))
		if svc.TargetGroup != nil {
			widgets = append(widgets, graph(name+" p99 response time (s)",
				svc.TargetGroup.Metrics().TargetResponseTime(&awscloudwatch.MetricOptions{Period: minute, Statistic: jsii.String("p99")})))
		}
	}
	return observability.Section{Title: "Services and edge", Widgets: widgets}
}

// caFile is the trust anchor of the endpoint the services connect to: the system roots for RDS Proxy, whose
// certificate comes from ACM (Amazon Trust Services roots), the RDS bundle for the instance.
func caFile(db *database.Database) string {
	if db.Proxy != nil {
		return service.SystemRoots
	}
	return service.CAFile
}

// suppressImportedExecLogs records why a service's ECS Exec grant on the exec log group's streams is specific:
// the log group lives in the cluster stack, so the name in the grant is that stack's export.
func suppressImportedExecLogs(role awsiam.IRole) {
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("ECS Exec session logs: the log streams of the cluster's one exec log group (exported by the cluster stack), which IAM names log-group:<name>:*."),
		AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(
			`/^Resource::arn:<AWS::Partition>:logs:[a-z0-9-]+:(<AWS::AccountId>|[0-9]{12}):log-group:(<ExecLogs[A-Za-z0-9]+>|ecsr-[a-z0-9]+-cluster:ExportsOutputRefExecLogs[A-Za-z0-9]+):\*$/`)}},
	}}, jsii.Bool(true))
}

// imageRef is the tag or digest to deploy: the digest when given (it pins the exact image), else the tag.
func imageRef(in config.Inputs) string {
	if in.ImageDigest != "" {
		return in.ImageDigest
	}
	return in.ImageTag
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// bucketRemoval is the removal policy of the stack's S3 buckets (access logs, site) in every environment, dev
// included: RETAIN. CloudFormation deletes only an empty bucket ("You can only delete empty buckets. Deletion
// fails for buckets that have contents.",
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-s3-bucket.html), and both
// buckets always hold objects, so with DESTROY deleting the stack would end in DELETE_FAILED. Emptying them
// first (CDK's autoDeleteObjects) takes a custom-resource Lambda allowed to delete every object. A retained
// bucket has a generated name, so a recreated stack never collides with it; the access logs in it expire after
// 90 days, and docs/infrastructure.md ("Removal") says how to delete the buckets by hand.
const bucketRemoval = awscdk.RemovalPolicy_RETAIN

// serviceSecrets are the secrets of the named service, by name.
func serviceSecrets(all *secrets.Secrets, service string) map[string]awssecretsmanager.ISecret {
	out := map[string]awssecretsmanager.ISecret{}
	for name, sec := range all.ByService[service] {
		out[name] = sec
	}
	return out
}
