package service_test

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	jsii.Close()
	os.Exit(code)
}

// fixture is a test stack with the services of the shipped manifest.
type fixture struct {
	stack    awscdk.Stack
	template assertions.Template
	services map[string]*service.Service
}

func newFixture(t *testing.T, sizing map[string]service.Sizing) *fixture {
	t.Helper()
	m, err := manifest.Load("../../services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	stack := awscdk.NewStack(app, jsii.String("test-stateless"), &awscdk.StackProps{Env: &awscdk.Environment{Region: jsii.String("eu-west-1")}})
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1)})
	cdknag.NagSuppressions_AddResourceSuppressions(vpc, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-VPC7"), Reason: jsii.String("test fixture VPC without flow logs")}}, jsii.Bool(true))
	key := awskms.NewKey(stack, jsii.String("Key"), &awskms.KeyProps{EnableKeyRotation: jsii.Bool(true)})
	topics := map[string]awssns.ITopic{}
	for _, tp := range m.Topics {
		topics[tp.Name] = awssns.NewTopic(stack, jsii.String("Topic-"+tp.Name), &awssns.TopicProps{MasterKey: key, EnforceSSL: jsii.Bool(true)})
	}
	queues, dlqs := map[string]awssqs.IQueue{}, map[string]awssqs.IQueue{}
	for _, q := range m.Queues {
		dlq := awssqs.NewQueue(stack, jsii.String("DLQ-"+q.Name), &awssqs.QueueProps{EncryptionMasterKey: key, EnforceSSL: jsii.Bool(true)})
		cdknag.NagSuppressions_AddResourceSuppressions(dlq, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-SQS3"), Reason: jsii.String("test fixture dead-letter queue")}}, jsii.Bool(false))
		dlqs[q.Name] = dlq
		queues[q.Name] = awssqs.NewQueue(stack, jsii.String("Queue-"+q.Name), &awssqs.QueueProps{
			EncryptionMasterKey: key, EnforceSSL: jsii.Bool(true),
			DeadLetterQueue: &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(5)},
		})
	}
	logs := awss3.NewBucket(stack, jsii.String("Logs"), &awss3.BucketProps{Encryption: awss3.BucketEncryption_S3_MANAGED, EnforceSSL: jsii.Bool(true), BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL()})
	cdknag.NagSuppressions_AddResourceSuppressions(logs, &[]*cdknag.NagPackSuppression{{Id: jsii.String("AwsSolutions-S1"), Reason: jsii.String("test fixture log bucket")}}, jsii.Bool(false))
	alarms := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{MasterKey: key, EnforceSSL: jsii.Bool(true)})
	dbSG := awsec2.NewSecurityGroup(stack, jsii.String("DatabaseSG"), &awsec2.SecurityGroupProps{Vpc: vpc})
	lb := loadbalancer.New(stack, "LoadBalancer", loadbalancer.Props{
		Vpc: vpc, PrefixListID: "pl-4fa04526", AccessLogBucket: logs, AlarmTopic: alarms, HTTP5xxPerMinute: 5,
	})
	cluster := service.NewCluster(stack, "Cluster", vpc)
	image := service.Image(stack, "Repository", "ecsr", "sha256:0123")
	f := &fixture{stack: stack, services: map[string]*service.Service{}}
	for _, s := range m.Services {
		f.services[s.Name] = service.New(stack, "Service-"+s.Name, service.Props{
			Cluster: cluster, Vpc: vpc, Service: s, Sizing: sizing[s.Name], Image: image,
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
		})
	}
	f.template = assertions.Template_FromStack(stack, nil)
	return f
}

var devSizing = map[string]service.Sizing{
	"api":    {CPU: 256, Memory: 512, MinTasks: 1, MaxTasks: 2, ECSExec: true},
	"worker": {CPU: 256, Memory: 512, MinTasks: 0, MaxTasks: 2, Spot: true, ScaleFromZero: true},
}

var prodSizing = map[string]service.Sizing{
	"api": {CPU: 1024, Memory: 2048, MinTasks: 2, MaxTasks: 10,
		Scheduled: []service.Scheduled{{Name: "business-hours", Schedule: "cron(0 7 ? * MON-FRI *)", MinTasks: 4, MaxTasks: 10}}},
	"worker": {CPU: 512, Memory: 1024, MinTasks: 2, MaxTasks: 8, Spot: true},
}

// nagFindings returns the unsuppressed cdk-nag errors and warnings of the stack.
func nagFindings(t *testing.T, stack awscdk.Stack) []string {
	t.Helper()
	ann := assertions.Annotations_FromStack(stack)
	var out []string
	match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
	for _, msgs := range []*[]*cxapi.SynthesisMessage{ann.FindError(jsii.String("*"), match), ann.FindWarning(jsii.String("*"), match)} {
		for _, m := range *msgs {
			out = append(out, fmt.Sprintf("%s: %v", *m.Id, m.Entry.Data))
		}
	}
	return out
}

func TestServicesPassNag(t *testing.T) {
	for name, sizing := range map[string]map[string]service.Sizing{"dev": devSizing, "prod": prodSizing} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, sizing)
			if got := nagFindings(t, f.stack); len(got) > 0 {
				t.Errorf("unsuppressed cdk-nag findings:\n%s", joinLines(got))
			}
		})
	}
}

// resources returns the template's resources of type typ by logical ID.
func resources(t *testing.T, tpl assertions.Template, typ string) map[string]map[string]any {
	t.Helper()
	out := map[string]map[string]any{}
	for id, r := range *tpl.FindResources(jsii.String(typ), nil) {
		out[id] = *r
	}
	return out
}

func props(r map[string]any) map[string]any { return r["Properties"].(map[string]any) }

func TestTaskDefinitions(t *testing.T) {
	f := newFixture(t, devSizing)
	for _, tc := range []struct {
		service, command, user, shutdown string
		stop                             float64
		env                              []string
	}{
		{"api", "/app/api", "orders_api", "20s", 30, []string{"ORDER_EVENTS_TOPIC_ARN", "ORDER_UPDATES_QUEUE_URL"}},
		{"worker", "/app/worker", "fulfillment_worker", "60s", 70, []string{"ORDER_EVENTS_TOPIC_ARN", "NOTIFICATIONS_TOPIC_ARN", "FULFILLMENT_QUEUE_URL"}},
	} {
		t.Run(tc.service, func(t *testing.T) {
			td := props((*f.template.ToJSON())["Resources"].(map[string]any)[*f.stack.GetLogicalId(f.services[tc.service].TaskDefinition.Node().DefaultChild().(awscdk.CfnElement))].(map[string]any))
			if got := td["RuntimePlatform"].(map[string]any)["CpuArchitecture"]; got != "ARM64" {
				t.Errorf("CpuArchitecture = %v; want ARM64", got)
			}
			c := td["ContainerDefinitions"].([]any)[0].(map[string]any)
			if got := c["Command"].([]any)[0]; got != tc.command {
				t.Errorf("Command = %v; want %s", got, tc.command)
			}
			if got := c["StopTimeout"]; got != tc.stop {
				t.Errorf("StopTimeout = %v; want %v", got, tc.stop)
			}
			env := map[string]any{}
			for _, e := range c["Environment"].([]any) {
				env[e.(map[string]any)["Name"].(string)] = e.(map[string]any)["Value"]
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
			if cmpJSON(td["TaskRoleArn"], td["ExecutionRoleArn"]) {
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
				id := *f.stack.GetLogicalId(s.Service.Node().DefaultChild().(awscdk.CfnElement))
				p := props(resources(t, f.template, "AWS::ECS::Service")[id])
				dc := p["DeploymentConfiguration"].(map[string]any)
				if got := dc["DeploymentCircuitBreaker"]; !cmpJSON(got, map[string]any{"Enable": true, "Rollback": true}) {
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
				strategy := p["CapacityProviderStrategy"].([]any)
				spot := false
				for _, cp := range strategy {
					spot = spot || cp.(map[string]any)["CapacityProvider"] == "FARGATE_SPOT"
				}
				if spot != sizing[svcName].Spot {
					t.Errorf("%s capacity providers %v; want spot=%v", svcName, strategy, sizing[svcName].Spot)
				}
			}
		})
	}
}

func TestTaskRolesAreLeastPrivilege(t *testing.T) {
	f := newFixture(t, prodSizing)
	policies := resources(t, f.template, "AWS::IAM::Policy")
	for svcName, s := range f.services {
		roleID := *f.stack.GetLogicalId(s.TaskRole.Node().DefaultChild().(awscdk.CfnElement))
		var actions []string
		var connect []any
		for _, pol := range policies {
			p := props(pol)
			if !cmpJSON(p["Roles"], []any{map[string]any{"Ref": roleID}}) {
				continue
			}
			for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				st := st.(map[string]any)
				for _, a := range asList(st["Action"]) {
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
	policies := resources(t, f.template, "AWS::ApplicationAutoScaling::ScalingPolicy")
	var predefined []string
	var backlogTarget float64
	var backlogExpr string
	steps := 0
	for _, pol := range policies {
		p := props(pol)
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
		}
	}
	sort.Strings(predefined)
	if want := []string{"ALBRequestCountPerTarget", "ECSServiceAverageCPUUtilization"}; !cmpJSON(predefined, want) {
		t.Errorf("predefined target tracking = %v; want %v", predefined, want)
	}
	if backlogTarget != 150 {
		t.Errorf("backlog per task target = %v; want 150 (30 s / 0.2 s)", backlogTarget)
	}
	if !strings.Contains(backlogExpr, "/ FILL(tasks, 0)") {
		t.Errorf("backlog expression = %q; want visible messages divided by running tasks", backlogExpr)
	}
	if steps != 1 {
		t.Errorf("step policies = %d; want 1 (scale from zero)", steps)
	}
	targets := resources(t, f.template, "AWS::ApplicationAutoScaling::ScalableTarget")
	mins := map[float64]bool{}
	for _, tg := range targets {
		mins[props(tg)["MinCapacity"].(float64)] = true
	}
	if !mins[0] || !mins[1] {
		t.Errorf("scalable target minimums = %v; want 1 (api) and 0 (worker)", mins)
	}

	prod := newFixture(t, prodSizing)
	actions := 0
	for _, tg := range resources(t, prod.template, "AWS::ApplicationAutoScaling::ScalableTarget") {
		if sa, ok := props(tg)["ScheduledActions"]; ok {
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
	for _, pol := range resources(t, prod.template, "AWS::ApplicationAutoScaling::ScalingPolicy") {
		if props(pol)["PolicyType"] == "StepScaling" {
			t.Errorf("prod has a step policy %v; the worker does not scale from zero there", props(pol)["PolicyName"])
		}
	}
}

func TestAlarms(t *testing.T) {
	f := newFixture(t, devSizing)
	alarms := resources(t, f.template, "AWS::CloudWatch::Alarm")
	var metrics []string
	for _, a := range alarms {
		p := props(a)
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

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

func cmpJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func joinLines(s []string) string {
	out := ""
	for _, l := range s {
		out += l + "\n"
	}
	return out
}
