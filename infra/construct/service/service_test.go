package service_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

// fixture is a test stack with the services of the shipped manifest.
type fixture struct {
	stack    awscdk.Stack
	template constructtest.Template
	services map[string]*service.Service
	manifest map[string]manifest.Service
	// traceRatio is the services' tracing.sample_ratio.
	traceRatio float64
}

func newFixture(t *testing.T, sizing map[string]service.Sizing) *fixture {
	t.Helper()
	return newTracedFixture(t, sizing, 0)
}

// newTracedFixture is newFixture with the services sending traceRatio of their traces to X-Ray.
func newTracedFixture(t *testing.T, sizing map[string]service.Sizing, traceRatio float64) *fixture {
	t.Helper()
	m, err := manifest.Load("../../services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	stack := constructtest.NewStack(t, "test-stateless", "eu-west-1")
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1)})
	constructtest.Suppress(vpc, "AwsSolutions-VPC7", "test fixture VPC without flow logs")
	key := awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
	topics := map[string]awssns.ITopic{}
	for _, tp := range m.Topics {
		topics[tp.Name] = awssns.NewTopic(stack, jsii.String("Topic-"+tp.Name), &awssns.TopicProps{MasterKey: key, EnforceSSL: jsii.Bool(true)})
	}
	queues, dlqs := map[string]awssqs.IQueue{}, map[string]awssqs.IQueue{}
	for _, q := range m.Queues {
		dlq := awssqs.NewQueue(stack, jsii.String("DLQ-"+q.Name), &awssqs.QueueProps{EncryptionMasterKey: key, EnforceSSL: jsii.Bool(true)})
		constructtest.Suppress(dlq, "AwsSolutions-SQS3", "test fixture dead-letter queue")
		dlqs[q.Name] = dlq
		queues[q.Name] = awssqs.NewQueue(stack, jsii.String("Queue-"+q.Name), &awssqs.QueueProps{
			EncryptionMasterKey: key, EnforceSSL: jsii.Bool(true),
			DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(5)},
		})
	}
	logs := awss3.NewBucket(stack, jsii.String("Logs"), &awss3.BucketProps{Encryption: awss3.BucketEncryption_S3_MANAGED, EnforceSSL: jsii.Bool(true), BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL()})
	constructtest.Suppress(logs, "AwsSolutions-S1", "test fixture log bucket")
	alarms := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{MasterKey: key, EnforceSSL: jsii.Bool(true)})
	dbSG := awsec2.NewSecurityGroup(stack, jsii.String("DatabaseSG"), &awsec2.SecurityGroupProps{Vpc: vpc})
	lb := loadbalancer.New(stack, "LoadBalancer", loadbalancer.Props{
		Vpc: vpc, PrefixListID: "pl-4fa04526", AccessLogBucket: logs, AlarmTopic: alarms, HTTP5xxPerMinute: 5,
	})
	cluster := service.NewCluster(stack, "Cluster", service.ClusterProps{
		Vpc: vpc, ExecLogGroup: awslogs.NewLogGroup(stack, jsii.String("ExecLogs"), &awslogs.LogGroupProps{Retention: awslogs.RetentionDays_ONE_MONTH}),
	})
	image := service.Image(stack, "Repository", "ecsr", "sha256:0123")
	f := &fixture{stack: stack, services: map[string]*service.Service{}, manifest: map[string]manifest.Service{}, traceRatio: traceRatio}
	for _, s := range m.Services {
		sz, ok := sizing[s.Name]
		if !ok {
			// The construct's tests use the shipped services as fixtures (api, a web service; worker, a worker);
			// a service added to the manifest is covered by infra/stacks, whose tests derive from the manifest.
			continue
		}
		f.manifest[s.Name] = s
		f.services[s.Name] = service.New(stack, "Service-"+s.Name, service.Props{
			Cluster: cluster, Vpc: vpc, Service: s, Sizing: sz, Image: image,
			Database: service.Database{
				Host: "db.example.internal", Port: "5432", Name: "orders",
				GrantConnect: func(g awsiam.IGrantable, user string) {
					g.GrantPrincipal().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
						Actions:   jsii.Strings("rds-db:connect"),
						Resources: jsii.Strings("arn:aws:rds-db:eu-west-1:111111111111:dbuser:db-ABC/" + user),
					}))
				},
				AllowFrom: func(p awsec2.IConnectable) {
					dbSG.AddIngressRule((*p.Connections().SecurityGroups())[0], awsec2.Port_Tcp(jsii.Number(5432)), jsii.String("from "+s.Name), jsii.Bool(false))
				},
			},
			Topics: topics, Queues: queues, DeadLetterQueues: dlqs, Router: lb,
			LogRetention: awslogs.RetentionDays_ONE_MONTH, LogKey: key, LogRemoval: awscdk.RemovalPolicy_DESTROY,
			AlarmTopic: alarms, Thresholds: service.Thresholds{HTTP5xxPerMinute: 5, TargetP99LatencyMillis: 800},
			TraceSampleRatio: traceRatio,
		})
	}
	f.template = constructtest.TemplateOf(stack)
	return f
}

var devSizing = map[string]service.Sizing{
	"api":    {CPU: 256, Memory: 512, MinTasks: 1, MaxTasks: 2, ECSExec: true},
	"worker": {CPU: 256, Memory: 512, MinTasks: 0, MaxTasks: 2, Spot: true, X86: true, ScaleFromZero: true},
}

var prodSizing = map[string]service.Sizing{
	"api": {CPU: 1024, Memory: 2048, MinTasks: 2, MaxTasks: 10,
		Scheduled: []service.Scheduled{{Name: "business-hours", Schedule: "cron(0 7 ? * MON-FRI *)", MinTasks: 4, MaxTasks: 10}}},
	"worker": {CPU: 512, Memory: 1024, MinTasks: 2, MaxTasks: 8, Spot: true, X86: true},
}

func TestServicesPassNag(t *testing.T) {
	for name, sizing := range map[string]map[string]service.Sizing{"dev": devSizing, "prod": prodSizing} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, sizing)
			if got := constructtest.NagFindings(t, f.stack); len(got) > 0 {
				t.Errorf("unsuppressed cdk-nag findings:\n%s", strings.Join(got, "\n"))
			}
		})
	}
}

func TestTaskDefinitions(t *testing.T) {
	f := newTracedFixture(t, devSizing, 0.05)
	for _, tc := range []struct {
		service, command, user, shutdown string
		stop                             float64
		env                              []string
	}{
		{"api", `"/app/ecsr","api"`, "orders_api", "20s", 30, []string{"ORDER_EVENTS_TOPIC_ARN", "ORDER_UPDATES_QUEUE_URL"}},
		{"worker", `"/app/ecsr","worker"`, "fulfillment_worker", "60s", 70, []string{"ORDER_EVENTS_TOPIC_ARN", "NOTIFICATIONS_TOPIC_ARN", "FULFILLMENT_QUEUE_URL"}},
	} {
		t.Run(tc.service, func(t *testing.T) {
			td := f.template.Of(t, f.stack, f.services[tc.service].TaskDefinition)
			wantArch := "ARM64"
			if devSizing[tc.service].X86 {
				wantArch = "X86_64"
			}
			if got := td["RuntimePlatform"].(map[string]any)["CpuArchitecture"]; got != wantArch {
				t.Errorf("CpuArchitecture = %v; want %s", got, wantArch)
			}
			c := td["ContainerDefinitions"].([]any)[0].(map[string]any)
			if got := constructtest.JSON(c["EntryPoint"]); got != `[`+tc.command+`]` || c["Command"] != nil {
				t.Errorf("EntryPoint = %s, Command = %v; want only the entry point [%s]", got, c["Command"], tc.command)
			}
			if got, want := c["ReadonlyRootFilesystem"], !devSizing[tc.service].ECSExec; got != want {
				t.Errorf("ReadonlyRootFilesystem = %v; want %v (writable only for ECS Exec)", got, want)
			}
			if got := c["StopTimeout"]; got != tc.stop {
				t.Errorf("StopTimeout = %v; want %v", got, tc.stop)
			}
			env := map[string]any{}
			for _, e := range c["Environment"].([]any) {
				env[e.(map[string]any)["Name"].(string)] = e.(map[string]any)["Value"]
			}
			// Exactly the variables the service's own tests check its settings reader against (manifest.Environment).
			contract := manifest.Environment(f.manifest[tc.service], manifest.Where{TopicARN: strings.ToLower, QueueURL: strings.ToLower,
				TraceSampleRatio: f.traceRatio})
			for k := range env {
				if _, ok := contract[k]; !ok {
					t.Errorf("env %s is set but not in manifest.Environment, which the service's tests check its reader against", k)
				}
			}
			for k := range contract {
				if _, ok := env[k]; !ok {
					t.Errorf("env %s of manifest.Environment is not set", k)
				}
			}
			want := map[string]any{
				"LOG_FORMAT": "json", "DATABASE_IAM_AUTH": "true", "DATABASE_USER": tc.user, "SHUTDOWN_TIMEOUT": tc.shutdown,
				"DATABASE_CA_FILE": service.CAFile, "DATABASE_SSLMODE": "verify-full", "AWS_REGION": "eu-west-1",
				"DATABASE_HOST": "db.example.internal", "DATABASE_PORT": "5432", "DATABASE_NAME": "orders",
			}
			for k, v := range want {
				if env[k] != v {
					t.Errorf("env %s = %v; want %v", k, env[k], v)
				}
			}
			for _, k := range tc.env {
				if env[k] == nil {
					t.Errorf("env %s missing; have %v", k, env)
				}
			}
			for k := range env {
				if strings.Contains(k, "PASSWORD") || strings.Contains(k, "SECRET") {
					t.Errorf("env %s is a plain variable; secrets must come from Secrets Manager", k)
				}
			}
			if _, ok := c["Secrets"]; ok {
				t.Errorf("service %s has secrets %v; it connects with IAM authentication", tc.service, c["Secrets"])
			}
			if constructtest.JSON(td["TaskRoleArn"]) == constructtest.JSON(td["ExecutionRoleArn"]) {
				t.Errorf("task role and execution role are the same")
			}
		})
	}
}

func TestServiceDeploymentSafety(t *testing.T) {
	for name, sizing := range map[string]map[string]service.Sizing{"dev": devSizing, "prod": prodSizing} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, sizing)
			for svcName, s := range f.services {
				p := f.template.Of(t, f.stack, s.Service)
				dc := p["DeploymentConfiguration"].(map[string]any)
				if got := dc["DeploymentCircuitBreaker"]; constructtest.JSON(got) != constructtest.JSON(map[string]any{"Enable": true, "Rollback": true}) {
					t.Errorf("%s circuit breaker = %v; want enabled with rollback", svcName, got)
				}
				alarms := dc["Alarms"].(map[string]any)
				if alarms["Rollback"] != true || alarms["Enable"] != true || len(alarms["AlarmNames"].([]any)) == 0 {
					t.Errorf("%s deployment alarms = %v; want rollback on at least one alarm", svcName, alarms)
				}
				if _, ok := p["DesiredCount"]; ok {
					t.Errorf("%s sets DesiredCount %v; autoscaling owns it", svcName, p["DesiredCount"])
				}
				if got, want := p["EnableExecuteCommand"], sizing[svcName].ECSExec; got != want {
					t.Errorf("%s EnableExecuteCommand = %v; want %v", svcName, got, want)
				}
				_, grace := p["HealthCheckGracePeriodSeconds"]
				if want := svcName == "api"; grace != want {
					t.Errorf("%s has health check grace period: %v; want %v", svcName, grace, want)
				}
				// Every consumer, web services included, rolls back when its queues' messages reach their
				// dead-letter queues.
				names := constructtest.JSON(alarms["AlarmNames"])
				for _, q := range f.manifest[svcName].Consumes {
					if !strings.Contains(names, "Service"+svcName+"DeadLetters"+strings.ReplaceAll(q, "-", "")) {
						t.Errorf("%s consumes %s but its deployment alarms %s lack the dead-letter alarm", svcName, q, names)
					}
				}
				// A single minute with an arrival alarms: sparse failures give isolated RATE points.
				for id, r := range f.template.Resources("AWS::CloudWatch::Alarm") {
					if !strings.Contains(id, "DeadLetters") {
						continue
					}
					ap := constructtest.Props(r)
					if ap["EvaluationPeriods"] != 1.0 || ap["DatapointsToAlarm"] != 1.0 {
						t.Errorf("dead-letter alarm %s evaluates %v of %v periods; want 1 of 1", id, ap["DatapointsToAlarm"], ap["EvaluationPeriods"])
					}
				}
				strategy := p["CapacityProviderStrategy"].([]any)
				spot := false
				for _, cp := range strategy {
					spot = spot || cp.(map[string]any)["CapacityProvider"] == "FARGATE_SPOT"
				}
				if spot != sizing[svcName].Spot {
					t.Errorf("%s capacity providers %v; want spot=%v", svcName, strategy, sizing[svcName].Spot)
				}
				// Fargate Spot runs X86_64 tasks only.
				arch := f.template.Of(t, f.stack, s.TaskDefinition)["RuntimePlatform"].(map[string]any)["CpuArchitecture"]
				if spot && arch != "X86_64" {
					t.Errorf("%s runs on Fargate Spot with %v tasks; Fargate Spot runs X86_64 only", svcName, arch)
				}
			}
		})
	}
}

func TestTaskRolesAreLeastPrivilege(t *testing.T) {
	f := newFixture(t, prodSizing)
	policies := f.template.Resources("AWS::IAM::Policy")
	for svcName, s := range f.services {
		roleID := *f.stack.GetLogicalId(s.TaskRole.Node().DefaultChild().(awscdk.CfnElement))
		var actions []string
		var connect []any
		for _, pol := range policies {
			p := constructtest.Props(pol)
			if constructtest.JSON(p["Roles"]) != constructtest.JSON([]any{map[string]any{"Ref": roleID}}) {
				continue
			}
			for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := st.(map[string]any)
				for _, a := range constructtest.List(st["Action"]) {
					actions = append(actions, a.(string))
					if a == "rds-db:connect" {
						connect = append(connect, st["Resource"])
					}
					if st["Resource"] == "*" {
						t.Errorf("%s: %s on *; want a specific resource", svcName, a)
					}
				}
			}
		}
		user := map[string]string{"api": "orders_api", "worker": "fulfillment_worker"}[svcName]
		if len(connect) != 1 || !strings.HasSuffix(connect[0].(string), "/"+user) {
			t.Errorf("%s rds-db:connect on %v; want only its user %s", svcName, connect, user)
		}
		joined := strings.Join(actions, ",")
		for _, want := range []string{"sns:Publish", "sqs:ReceiveMessage", "sqs:DeleteMessage", "kms:Decrypt"} {
			if !strings.Contains(joined, want) {
				t.Errorf("%s task role lacks %s: %v", svcName, want, actions)
			}
		}
		if strings.Contains(joined, "sqs:SendMessage") {
			t.Errorf("%s may send to queues: %v", svcName, actions)
		}
	}
}

func TestScaling(t *testing.T) {
	f := newFixture(t, devSizing)
	policies := f.template.Resources("AWS::ApplicationAutoScaling::ScalingPolicy")
	var predefined []string
	var backlogTarget float64
	var backlogExpr string
	steps := 0
	for _, pol := range policies {
		p := constructtest.Props(pol)
		switch p["PolicyType"] {
		case "TargetTrackingScaling":
			c := p["TargetTrackingScalingPolicyConfiguration"].(map[string]any)
			if pm, ok := c["PredefinedMetricSpecification"]; ok {
				predefined = append(predefined, pm.(map[string]any)["PredefinedMetricType"].(string))
				continue
			}
			backlogTarget = c["TargetValue"].(float64)
			for _, m := range c["CustomizedMetricSpecification"].(map[string]any)["Metrics"].([]any) {
				if e, ok := m.(map[string]any)["Expression"]; ok {
					backlogExpr = e.(string)
				}
			}
		case "StepScaling":
			steps++
			// Scale from zero sets exactly one task; a relative +1 re-run every minute ran to max_tasks.
			c := p["StepScalingPolicyConfiguration"].(map[string]any)
			if c["AdjustmentType"] != "ExactCapacity" || constructtest.JSON(c["StepAdjustments"]) != `[{"MetricIntervalLowerBound":0,"ScalingAdjustment":1}]` {
				t.Errorf("scale-from-zero policy = %s; want ExactCapacity 1 from the threshold up", constructtest.JSON(c))
			}
		}
	}
	startAlarms := 0
	for _, a := range f.template.Resources("AWS::CloudWatch::Alarm") {
		p := constructtest.Props(a)
		if !strings.Contains(constructtest.JSON(p["AlarmActions"]), "StartFromZero") {
			continue
		}
		startAlarms++
		expr := ""
		for _, m := range p["Metrics"].([]any) {
			if e, ok := m.(map[string]any)["Expression"]; ok {
				expr = e.(string)
			}
		}
		// Only while no task is desired: otherwise the action would run every minute of a backlog.
		if !strings.Contains(expr, "FILL(desired, 0) == 0 AND") || !strings.Contains(constructtest.JSON(p["Metrics"]), "DesiredTaskCount") {
			t.Errorf("scale-from-zero alarm expression %q; want it true only while the desired count is 0 and messages wait", expr)
		}
	}
	if startAlarms != 1 {
		t.Errorf("scale-from-zero alarms = %d; want 1", startAlarms)
	}
	sort.Strings(predefined)
	if want := []string{"ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"}; constructtest.JSON(predefined) != constructtest.JSON(want) {
		t.Errorf("predefined target tracking = %v; want %v", predefined, want)
	}
	if backlogTarget != 2500 {
		t.Errorf("backlog per task target = %v; want 2500 (30 s / 0.012 s)", backlogTarget)
	}
	if !strings.Contains(backlogExpr, "/ FILL(tasks, 0)") {
		t.Errorf("backlog expression = %q; want visible messages divided by running tasks", backlogExpr)
	}
	if steps != 1 {
		t.Errorf("step policies = %d; want 1 (scale from zero)", steps)
	}
	targets := f.template.Resources("AWS::ApplicationAutoScaling::ScalableTarget")
	mins := map[float64]bool{}
	for _, tg := range targets {
		mins[constructtest.Props(tg)["MinCapacity"].(float64)] = true
	}
	if !mins[0] || !mins[1] {
		t.Errorf("scalable target minimums = %v; want 1 (api) and 0 (worker)", mins)
	}

	prod := newFixture(t, prodSizing)
	actions := 0
	for _, tg := range prod.template.Resources("AWS::ApplicationAutoScaling::ScalableTarget") {
		if sa, ok := constructtest.Props(tg)["ScheduledActions"]; ok {
			for _, a := range sa.([]any) {
				a := a.(map[string]any)
				actions++
				if a["Schedule"] != "cron(0 7 ? * MON-FRI *)" || a["ScalableTargetAction"].(map[string]any)["MinCapacity"] != 4.0 {
					t.Errorf("scheduled action = %v", a)
				}
			}
		}
	}
	if actions != 1 {
		t.Errorf("scheduled actions = %d; want 1", actions)
	}
	for _, pol := range prod.template.Resources("AWS::ApplicationAutoScaling::ScalingPolicy") {
		if constructtest.Props(pol)["PolicyType"] == "StepScaling" {
			t.Errorf("prod has a step policy %v; the worker does not scale from zero there", constructtest.Props(pol)["PolicyName"])
		}
	}
}

func TestAlarms(t *testing.T) {
	f := newFixture(t, devSizing)
	alarms := f.template.Resources("AWS::CloudWatch::Alarm")
	var metrics []string
	for _, a := range alarms {
		p := constructtest.Props(a)
		if name, ok := p["MetricName"]; ok {
			metrics = append(metrics, name.(string))
		} else {
			for _, m := range p["Metrics"].([]any) {
				if ms, ok := m.(map[string]any)["MetricStat"]; ok {
					metrics = append(metrics, ms.(map[string]any)["Metric"].(map[string]any)["MetricName"].(string))
				}
			}
		}
		if len(p["AlarmActions"].([]any)) != 1 {
			t.Errorf("alarm %v has actions %v; want the alarm topic", p["AlarmDescription"], p["AlarmActions"])
		}
	}
	joined := strings.Join(metrics, ",")
	for _, want := range []string{"HTTPCode_Target_5XX_Count", "HTTPCode_ELB_5XX_Count", "TargetResponseTime", "UnHealthyHostCount", "RunningTaskCount", "DesiredTaskCount", "ApproximateNumberOfMessagesVisible"} {
		if !strings.Contains(joined, want) {
			t.Errorf("no alarm on %s; alarms on %v", want, metrics)
		}
	}
}

func TestDrainOrder(t *testing.T) {
	for _, drain := range []int{1, 5, 20, 60, 110} {
		s := manifest.Service{Name: "svc", DrainSeconds: drain}
		dereg, stop := service.DeregistrationDelaySeconds(s), service.StopTimeoutSeconds(s)
		if stop <= drain || stop > 120 {
			t.Errorf("drain %d s: stop timeout %d s; want above the drain time and at most 120", drain, stop)
		}
		if dereg >= stop || (drain > 5 && dereg >= drain) {
			t.Errorf("drain %d s: deregistration delay %d s; want below the drain time and the stop timeout", drain, dereg)
		}
	}
	f := newFixture(t, devSizing)
	attrs := constructtest.JSON(f.template.Of(t, f.stack, f.services["api"].TargetGroup)["TargetGroupAttributes"])
	if !strings.Contains(attrs, `"Key":"deregistration_delay.timeout_seconds","Value":"15"`) {
		t.Errorf("api target group attributes = %s; want a 15 s deregistration delay (20 s drain)", attrs)
	}
}
