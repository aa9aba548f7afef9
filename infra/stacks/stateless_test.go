package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestStatelessServices(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateless")
		tmpl.countOf(t, "AWS::ECS::Service", len(s.manifest.Services))
		tmpl.countOf(t, "AWS::ECS::Cluster", 0)
		for _, ms := range s.manifest.Services {
			sz := s.env.Sizing(ms.Name)
			var td map[string]any
			for _, r := range tmpl.ofType("AWS::ECS::TaskDefinition") {
				c := r.Properties["ContainerDefinitions"].([]any)[0].(map[string]any)
				if c["Name"] == ms.Name {
					td = r.Properties
				}
			}
			if td == nil {
				t.Fatalf("no task definition for %s", ms.Name)
			}
			if td["Cpu"] != jsonNumber(sz.CPU) || td["Memory"] != jsonNumber(sz.Memory) {
				t.Errorf("%s task size = %v/%v; want %d/%d", ms.Name, td["Cpu"], td["Memory"], sz.CPU, sz.Memory)
			}
			c := td["ContainerDefinitions"].([]any)[0].(map[string]any)
			env := map[string]any{}
			for _, e := range c["Environment"].([]any) {
				env[e.(map[string]any)["Name"].(string)] = e.(map[string]any)["Value"]
			}
			// Topic ARNs and queue URLs come from the stateful stack's exports.
			for _, topic := range ms.Publishes {
				if v := toJSON(env[manifest.TopicEnv(topic)]); !strings.Contains(v, "Fn::ImportValue") {
					t.Errorf("%s %s = %s; want the stateful stack's topic", ms.Name, manifest.TopicEnv(topic), v)
				}
			}
			for _, q := range ms.Consumes {
				if v := toJSON(env[manifest.QueueEnv(q)]); !strings.Contains(v, "Fn::ImportValue") {
					t.Errorf("%s %s = %s; want the stateful stack's queue", ms.Name, manifest.QueueEnv(q), v)
				}
			}
			switch {
			case ms.DatabaseUser == "": // no database: no DATABASE_* variable
				for k := range env {
					if strings.HasPrefix(k, "DATABASE_") {
						t.Errorf("%s declares no database_user but its task sets %s", ms.Name, k)
					}
				}
			case env["DATABASE_USER"] != ms.DatabaseUser || env["DATABASE_IAM_AUTH"] != "true" || env["DATABASE_NAME"] != s.env.Database.Name:
				t.Errorf("%s database env = %v", ms.Name, env)
			}
			if !strings.Contains(toJSON(c["Image"]), "/"+s.env.Image.Repository+":test") {
				t.Errorf("%s image = %s; want %s:test", ms.Name, toJSON(c["Image"]), s.env.Image.Repository)
			}
		}

		// Every service with a database reaches it, by rules that live in this stack (no dependency cycle).
		ingress := 0
		for _, r := range tmpl.ofType("AWS::EC2::SecurityGroupIngress") {
			if r.Properties["FromPort"] == 5432.0 {
				ingress++
				if !strings.Contains(toJSON(r.Properties["GroupId"]), "Fn::ImportValue") {
					t.Errorf("database ingress %v targets no stateful security group", r.Properties)
				}
			}
		}
		want := 0
		for _, ms := range s.manifest.Services {
			if ms.DatabaseUser != "" {
				want++
			}
		}
		if ingress != want {
			t.Errorf("database ingress rules = %d; want %d (each service with a database)", ingress, want)
		}
		if _, ok := tmpl.Outputs["DistributionDomainName"]; !ok {
			t.Error("output DistributionDomainName missing")
		}
		tmpl.countOf(t, "AWS::CloudWatch::Dashboard", 1)
		checkDrainOrder(t, s, tmpl)
		checkDeploymentSafety(t, tmpl)
	})
}

// TestClusterStack checks the stack deployed before the services: the cluster with its capacity providers, the
// migration task with the outputs the deploy script reads and its own database ingress rule, no service, and
// the stateless stack depending on it (so no deploy order can create a service before the migration exists).
func TestClusterStack(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "cluster")
		tmpl.countOf(t, "AWS::ECS::Service", 0)
		tmpl.countOf(t, "AWS::ECS::Cluster", 1)
		tmpl.hasResource(t, "AWS::ECS::Cluster", map[string]any{
			"ClusterSettings": []any{map[string]any{"Name": "containerInsights", "Value": "enhanced"}},
		})
		tmpl.hasResource(t, "AWS::ECS::ClusterCapacityProviderAssociations", map[string]any{"CapacityProviders": []any{"FARGATE", "FARGATE_SPOT"}})
		for _, name := range []string{"MigrationTaskDefinitionArn", "MigrationClusterName", "MigrationSubnets", "MigrationSecurityGroup", "MigrationLogGroup"} {
			if _, ok := tmpl.Outputs[name]; !ok {
				t.Errorf("output %s missing", name)
			}
		}
		ingress := 0
		for _, r := range tmpl.ofType("AWS::EC2::SecurityGroupIngress") {
			if r.Properties["FromPort"] == 5432.0 {
				ingress++
			}
		}
		if ingress != 1 {
			t.Errorf("database ingress rules in the cluster stack = %d; want 1 (the migration task)", ingress)
		}
		deps := s.artifacts[s.env.StackName("stateless")].Dependencies
		if !slices.Contains(deps, s.env.StackName("cluster")) {
			t.Errorf("stateless stack depends on %v; want %s among them", deps, s.env.StackName("cluster"))
		}
	})
}

// checkDeploymentSafety checks every service and task definition as synthesized: ARM64, the circuit breaker and
// alarm-based rollback, a health check grace period exactly for services behind the load balancer, and no
// secret-looking plain environment variable (secrets come from Secrets Manager).
func checkDeploymentSafety(t *testing.T, tmpl template) {
	t.Helper()
	for id, r := range tmpl.ofType("AWS::ECS::TaskDefinition") {
		if got := toJSON(r.Properties["RuntimePlatform"]); !strings.Contains(got, `"CpuArchitecture":"ARM64"`) && !strings.Contains(got, `"CpuArchitecture":"X86_64"`) {
			t.Errorf("task definition %s runs on %s; want ARM64 or X86_64 on Linux", id, got)
		}
		for _, c := range r.Properties["ContainerDefinitions"].([]any) {
			env, _ := c.(map[string]any)["Environment"].([]any)
			for _, e := range env {
				if name := e.(map[string]any)["Name"].(string); strings.Contains(name, "PASSWORD") || strings.Contains(name, "SECRET") {
					t.Errorf("task definition %s has the plain variable %s; secrets come from Secrets Manager", id, name)
				}
			}
		}
	}
	for id, r := range tmpl.ofType("AWS::ECS::Service") {
		dc := r.Properties["DeploymentConfiguration"].(map[string]any)
		if got := toJSON(dc["DeploymentCircuitBreaker"]); got != `{"Enable":true,"Rollback":true}` {
			t.Errorf("service %s circuit breaker = %s; want enabled with rollback", id, got)
		}
		alarms, _ := dc["Alarms"].(map[string]any)
		if alarms["Enable"] != true || alarms["Rollback"] != true || len(alarms["AlarmNames"].([]any)) == 0 {
			t.Errorf("service %s deployment alarms = %v; want rollback on alarm", id, alarms)
		}
		_, behindLB := r.Properties["LoadBalancers"]
		if _, grace := r.Properties["HealthCheckGracePeriodSeconds"]; grace != behindLB {
			t.Errorf("service %s: health check grace period %v; want it exactly for services behind the load balancer", id, r.Properties["HealthCheckGracePeriodSeconds"])
		}
	}
}

// checkDrainOrder checks, for every web service as synthesized, that the load balancer stops sending a task new
// requests and finishes in-flight ones (deregistration delay) before the service's own drain budget
// (SHUTDOWN_TIMEOUT) runs out, and that the drain ends before ECS kills the container (stop timeout).
func checkDrainOrder(t *testing.T, s *synthesized, tmpl template) {
	t.Helper()
	containers := map[string]map[string]any{}
	for _, r := range tmpl.ofType("AWS::ECS::TaskDefinition") {
		c := r.Properties["ContainerDefinitions"].([]any)[0].(map[string]any)
		containers[c["Name"].(string)] = c
	}
	webServices := 0
	for _, r := range tmpl.ofType("AWS::ECS::Service") {
		lbs, _ := r.Properties["LoadBalancers"].([]any)
		for _, lb := range lbs {
			lb := lb.(map[string]any)
			name := lb["ContainerName"].(string)
			tg := tmpl.Resources[lb["TargetGroupArn"].(map[string]any)["Ref"].(string)]
			dereg := -1
			for _, a := range tg.Properties["TargetGroupAttributes"].([]any) {
				if a := a.(map[string]any); a["Key"] == "deregistration_delay.timeout_seconds" {
					dereg, _ = strconv.Atoi(a["Value"].(string))
				}
			}
			c := containers[name]
			stop := int(c["StopTimeout"].(float64))
			drain := -1
			for _, e := range c["Environment"].([]any) {
				if e := e.(map[string]any); e["Name"] == "SHUTDOWN_TIMEOUT" {
					d, err := time.ParseDuration(e["Value"].(string))
					if err != nil {
						t.Fatal(err)
					}
					drain = int(d.Seconds())
				}
			}
			if dereg <= 0 || dereg >= drain || drain >= stop {
				t.Errorf("%s: deregistration delay %d s, drain %d s, stop timeout %d s; want them strictly increasing", name, dereg, drain, stop)
			}
			webServices++
		}
	}
	want := 0
	for _, ms := range s.manifest.Services {
		if ms.Kind == manifest.KindWeb {
			want++
		}
	}
	if webServices != want {
		t.Errorf("services behind the load balancer = %d; want %d", webServices, want)
	}
}

// TestEveryLogGroup checks every log group of every stack: the environment's retention, encrypted with a
// customer-managed key, and removed as removal.logs says.
func TestEveryLogGroup(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		wantPolicy := map[config.RemovalPolicy]string{config.RemovalRetain: "Retain", config.RemovalDestroy: "Delete"}[s.env.Removal.Logs]
		groups := 0
		for _, name := range s.stackNames() {
			for id, r := range s.templates[name].ofType("AWS::Logs::LogGroup") {
				groups++
				if r.Properties["RetentionInDays"] != float64(s.env.LogRetentionDays) || r.Properties["KmsKeyId"] == nil || r.DeletionPolicy != wantPolicy {
					t.Errorf("%s log group %s: retention %v, key %v, deletion policy %s; want %d days, a key, %s",
						name, id, r.Properties["RetentionInDays"], r.Properties["KmsKeyId"], r.DeletionPolicy, s.env.LogRetentionDays, wantPolicy)
				}
			}
		}
		if groups == 0 {
			t.Error("no log groups found")
		}
	})
}

func TestStatelessScaling(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateless")
		var scheduled, steps int
		for _, ms := range s.manifest.Services {
			sz := s.env.Sizing(ms.Name)
			scheduled += len(sz.ScheduledScaling)
			if sz.ScaleFromZero {
				steps++
			}
			tmpl.hasResource(t, "AWS::ApplicationAutoScaling::ScalableTarget", map[string]any{
				"MinCapacity": sz.MinTasks, "MaxCapacity": sz.MaxTasks, "ScalableDimension": "ecs:service:DesiredCount",
			})
			if ms.Kind == manifest.KindWorker {
				tmpl.hasResource(t, "AWS::ApplicationAutoScaling::ScalingPolicy", map[string]any{
					"TargetTrackingScalingPolicyConfiguration": assertions.Match_ObjectLike(&map[string]any{"TargetValue": ms.BacklogPerTaskTarget()}),
				})
			}
		}
		var gotScheduled, gotSteps int
		for _, r := range tmpl.ofType("AWS::ApplicationAutoScaling::ScalableTarget") {
			if a, ok := r.Properties["ScheduledActions"].([]any); ok {
				gotScheduled += len(a)
			}
		}
		for _, r := range tmpl.ofType("AWS::ApplicationAutoScaling::ScalingPolicy") {
			if r.Properties["PolicyType"] == "StepScaling" {
				gotSteps++
			}
		}
		if gotScheduled != scheduled || gotSteps != steps {
			t.Errorf("scheduled actions %d, step policies %d; want %d and %d", gotScheduled, gotSteps, scheduled, steps)
		}
		for _, r := range tmpl.ofType("AWS::ECS::Service") {
			strategy := toJSON(r.Properties["CapacityProviderStrategy"])
			// The service's name is its container's (one container per task definition).
			td := tmpl.Resources[r.Properties["TaskDefinition"].(map[string]any)["Ref"].(string)]
			name, _ := td.Properties["ContainerDefinitions"].([]any)[0].(map[string]any)["Name"].(string)
			if got, want := strings.Contains(strategy, "FARGATE_SPOT"), s.env.Sizing(name).Spot; got != want {
				t.Errorf("%s runs on Spot: %v; want %v (%s)", name, got, want, strategy)
			}
			// The task definition runs the environment file's architecture (Spot services x86_64).
			wantArch := map[string]string{config.ArchARM64: "ARM64", config.ArchX86_64: "X86_64"}[s.env.Sizing(name).CPUArchitecture()]
			if got := toJSON(td.Properties["RuntimePlatform"]); !strings.Contains(got, `"CpuArchitecture":"`+wantArch+`"`) {
				t.Errorf("%s task definition runs %s; want %s", name, got, wantArch)
			}
			if got, want := r.Properties["EnableExecuteCommand"], s.env.Sizing(name).ECSExec; got != want {
				t.Errorf("%s ECS Exec = %v; want %v", name, got, want)
			}
		}
	})
}

func TestStatelessLoadBalancerAndDistribution(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateless")
		prefixList, err := loadbalancer.CloudFrontPrefixList(s.env.Region)
		if err != nil {
			t.Fatal(err)
		}
		port := 80.0
		if s.env.Domain != nil {
			port = 443
		}
		tmpl.hasResource(t, "AWS::EC2::SecurityGroupIngress", map[string]any{"SourcePrefixListId": prefixList, "FromPort": port})
		for id, r := range tmpl.ofType("AWS::EC2::SecurityGroup") {
			if strings.Contains(toJSON(r.Properties["SecurityGroupIngress"]), "0.0.0.0/0") {
				t.Errorf("security group %s is open to the internet", id)
			}
		}
		listeners := map[float64]string{}
		for _, r := range tmpl.ofType("AWS::ElasticLoadBalancingV2::Listener") {
			listeners[r.Properties["Port"].(float64)] = r.Properties["Protocol"].(string)
		}
		want := map[float64]string{80: "HTTP"}
		if s.env.Domain != nil {
			want = map[float64]string{443: "HTTPS"}
		}
		if toJSON(listeners) != toJSON(want) {
			t.Errorf("listeners = %v; want %v", listeners, want)
		}
		// Internal, through a VPC origin, in every environment; deletion protection in production; no origin
		// secret anywhere.
		for id, r := range tmpl.ofType("AWS::ElasticLoadBalancingV2::LoadBalancer") {
			if r.Properties["Scheme"] != "internal" {
				t.Errorf("load balancer %s scheme %v; want internal", id, r.Properties["Scheme"])
			}
			protected := strings.Contains(toJSON(r.Properties["LoadBalancerAttributes"]), `{"Key":"deletion_protection.enabled","Value":"true"}`)
			if protected != s.env.Production {
				t.Errorf("load balancer %s deletion protection %v; want %v (production)", id, protected, s.env.Production)
			}
		}
		tmpl.countOf(t, "AWS::CloudFront::VpcOrigin", 1)
		tmpl.countOf(t, "AWS::SecretsManager::Secret", 0)
		if strings.Contains(toJSON(tmpl), "X-Origin-Verify") || strings.Contains(toJSON(tmpl), "resolve:secretsmanager") {
			t.Errorf("the stateless template still carries an origin secret")
		}

		var d map[string]any
		for _, r := range tmpl.ofType("AWS::CloudFront::Distribution") {
			d = r.Properties["DistributionConfig"].(map[string]any)
		}
		webACL := toJSON(d["WebACLId"])
		if !strings.Contains(webACL, `"Fn::GetStackOutput"`) || !strings.Contains(webACL, `"Region":"us-east-1"`) || !strings.Contains(webACL, s.env.StackName("edge")) {
			t.Errorf("WebACLId = %s; want the edge stack's output read across regions", webACL)
		}
		cert, _ := d["ViewerCertificate"].(map[string]any)
		if s.env.Domain != nil {
			if cert["MinimumProtocolVersion"] != "TLSv1.2_2021" || toJSON(d["Aliases"]) != toJSON([]string{s.env.Domain.Name}) {
				t.Errorf("viewer certificate %v, aliases %v; want TLSv1.2_2021 for %s", cert, d["Aliases"], s.env.Domain.Name)
			}
			tmpl.countOf(t, "AWS::Route53::RecordSet", 3)
		} else {
			tmpl.countOf(t, "AWS::Route53::RecordSet", 0)
		}
		var apiPaths []string
		for _, b := range d["CacheBehaviors"].([]any) {
			apiPaths = append(apiPaths, b.(map[string]any)["PathPattern"].(string))
		}
		var patterns []string
		for _, web := range s.manifest.WebServices() {
			patterns = append(patterns, web.PathPattern)
		}
		slices.Sort(apiPaths)
		slices.Sort(patterns)
		if !slices.Contains(patterns, "/api/*") || !slices.Equal(apiPaths, patterns) {
			t.Errorf("behaviors %v; want the web services' path patterns %v (the API's /api/* among them)", apiPaths, patterns)
		}
		// Shipped environments leave Shield Advanced off (TestStatelessVariants turns it on).
		tmpl.countOf(t, "AWS::Shield::Protection", 0)
		if _, ok := s.templates[s.env.StackName("edge-protection")]; ok != s.env.ShieldAdvanced {
			t.Errorf("edge protection stack present: %v; want %v (shield_advanced)", ok, s.env.ShieldAdvanced)
		}
	})
}

func TestStatelessAlarms(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateless")
		metrics := map[string]bool{}
		for id, r := range tmpl.ofType("AWS::CloudWatch::Alarm") {
			doc := toJSON(r.Properties)
			for _, m := range []string{"HTTPCode_ELB_5XX_Count", "HTTPCode_Target_5XX_Count", "TargetResponseTime", "UnHealthyHostCount", "RunningTaskCount", "ApproximateNumberOfMessagesVisible"} {
				if strings.Contains(doc, `"`+m+`"`) {
					metrics[m] = true
				}
			}
			actions := toJSON(r.Properties["AlarmActions"])
			if isScalingAlarm(tmpl, r) {
				continue // a step scaling policy's own alarm
			}
			if !strings.Contains(actions, "Fn::ImportValue") {
				t.Errorf("alarm %s notifies %v; want the stateful stack's alarm topic", id, r.Properties["AlarmActions"])
			}
		}
		if len(metrics) != 6 {
			t.Errorf("alarms cover %v; want 5xx, latency, unhealthy hosts, tasks below desired and dead letters", metrics)
		}
		belowDesired := 0
		for _, r := range tmpl.ofType("AWS::CloudWatch::Alarm") {
			if doc := toJSON(r.Properties["Metrics"]); strings.Contains(doc, `"DesiredTaskCount"`) && strings.Contains(doc, `"RunningTaskCount"`) {
				belowDesired++
			}
		}
		if belowDesired != len(s.manifest.Services) {
			t.Errorf("running-below-desired alarms = %d; want one per service (%d)", belowDesired, len(s.manifest.Services))
		}
		tmpl.hasResource(t, "AWS::CloudWatch::Alarm", map[string]any{
			"MetricName": "HTTPCode_ELB_5XX_Count", "Threshold": s.env.Alarms.HTTP5xxPerMinute,
		})
	})
}

// synthVariant synthesizes a changed copy of a shipped environment with the given inputs and returns its stacks
// and their unsuppressed cdk-nag findings.
func synthVariant(t *testing.T, name string, change func(*config.Environment), in config.Inputs) (*Environment, []string) {
	t.Helper()
	base := synth(t, name)
	env := *base.env
	change(&env)
	in.Manifest = base.manifest
	if in.ImageTag == "" && in.ImageDigest == "" {
		in.ImageTag = "test"
	}
	out, err := os.MkdirTemp(outRoot, env.Name+"-variant-")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out), Context: AppContext()})
	stacks := AddEnvironment(app, &env, in)
	app.Synth(nil)
	var findings []string
	all := []awscdk.Stack{stacks.Stateful.Stack, stacks.Edge.Stack, stacks.Stateless.Stack}
	if stacks.EdgeProtection != nil {
		all = append(all, stacks.EdgeProtection.Stack)
	}
	for _, st := range all {
		ann := assertions.Annotations_FromStack(st)
		match := assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))
		for _, msgs := range []*[]*cxapi.SynthesisMessage{ann.FindError(jsii.String("*"), match), ann.FindWarning(jsii.String("*"), match)} {
			for _, m := range *msgs {
				findings = append(findings, *m.Id+": "+firstLine(toJSON(m.Entry.Data)))
			}
		}
	}
	return stacks, findings
}

func TestStatelessVariants(t *testing.T) {
	site := t.TempDir()
	if err := os.WriteFile(filepath.Join(site, "index.html"), []byte("<!doctype html>"), 0o644); err != nil {
		t.Fatal(err)
	}
	stacks, findings := synthVariant(t, "prod", func(e *config.Environment) { e.ShieldAdvanced = true },
		config.Inputs{ImageDigest: "sha256:0123456789abcdef", SiteSource: site})
	if len(findings) > 0 {
		t.Errorf("unsuppressed cdk-nag findings:\n%s", strings.Join(findings, "\n"))
	}
	tmpl := assertions.Template_FromStack(stacks.Stateless.Stack, nil)
	raw := toJSON(tmpl.ToJSON())
	if !strings.Contains(raw, "@sha256:0123456789abcdef") {
		t.Errorf("task definitions do not pin the image digest")
	}
	tmpl.ResourceCountIs(jsii.String("Custom::CDKBucketDeployment"), jsii.Number(2))
	checkShieldProtections(t, stacks)

	_, findings = synthVariant(t, "dev", func(e *config.Environment) { e.WAF.BotControl = true }, config.Inputs{})
	if len(findings) > 0 {
		t.Errorf("unsuppressed cdk-nag findings with bot control:\n%s", strings.Join(findings, "\n"))
	}
}

// checkShieldProtections checks where an environment with Shield Advanced protects what: the load balancer in the
// regional stateless stack, the distribution and the group over both in the us-east-1 edge protection stack, which
// reads the distribution and the load balancer across regions and deploys after the stateless stack.
func checkShieldProtections(t *testing.T, stacks *Environment) {
	t.Helper()
	stateless := toJSON(assertions.Template_FromStack(stacks.Stateless.Stack, nil).ToJSON())
	if got := strings.Count(stateless, `"AWS::Shield::Protection"`); got != 1 || strings.Contains(stateless, "AWS::Shield::ProtectionGroup") {
		t.Errorf("stateless stack: %d protections and a group %v; want only the load balancer's protection",
			got, strings.Contains(stateless, "AWS::Shield::ProtectionGroup"))
	}
	p := stacks.EdgeProtection
	if p == nil {
		t.Fatal("no edge protection stack with shield_advanced")
	}
	if got := *p.Region(); got != config.EdgeRegion {
		t.Errorf("edge protection stack region = %s; want %s", got, config.EdgeRegion)
	}
	tmpl := assertions.Template_FromStack(p.Stack, nil)
	protections := *tmpl.FindResources(jsii.String("AWS::Shield::Protection"), nil)
	groups := *tmpl.FindResources(jsii.String("AWS::Shield::ProtectionGroup"), nil)
	if len(protections) != 1 || len(groups) != 1 {
		t.Fatalf("edge protection stack: %d protections, %d groups; want the distribution's and one group", len(protections), len(groups))
	}
	statelessName := *stacks.Stateless.StackName()
	for _, r := range protections {
		arn := toJSON((*r)["Properties"].(map[string]any)["ResourceArn"])
		if !strings.Contains(arn, ":cloudfront::") || !strings.Contains(arn, `"Fn::GetStackOutput"`) || !strings.Contains(arn, statelessName) {
			t.Errorf("protected resource %s; want the stateless stack's distribution, read across regions", arn)
		}
	}
	for _, r := range groups {
		members := (*r)["Properties"].(map[string]any)["Members"].([]any)
		if len(members) != 2 || !strings.Contains(toJSON(members[1]), `"Fn::GetStackOutput"`) || !strings.Contains(toJSON(members[1]), `"Region":"`+*stacks.Stateless.Region()+`"`) {
			t.Errorf("group members %s; want the distribution and the stateless stack's load balancer", toJSON(members))
		}
	}
	deps := map[string]bool{}
	for _, d := range *p.Dependencies() {
		deps[*d.StackName()] = true
	}
	if !deps[statelessName] {
		t.Errorf("edge protection stack depends on %v; want %s (deployed after the distribution exists)", deps, statelessName)
	}
	for _, d := range *stacks.Stateless.Dependencies() {
		if *d.StackName() == *p.StackName() {
			t.Errorf("the stateless stack depends on the edge protection stack: a dependency cycle")
		}
	}
}

func jsonNumber(n int) string { return toJSON(n) }

// isScalingAlarm reports whether the alarm's action is a scaling policy of the template.
func isScalingAlarm(tmpl template, alarm resource) bool {
	for _, a := range alarm.Properties["AlarmActions"].([]any) {
		if ref, ok := a.(map[string]any)["Ref"].(string); ok && tmpl.Resources[ref].Type == "AWS::ApplicationAutoScaling::ScalingPolicy" {
			return true
		}
	}
	return false
}

// TestDatabaseTrustAnchor checks that every service verifies the database endpoint it connects to with that
// endpoint's trust anchors: the system roots (Amazon Trust Services, which RDS Proxy's ACM certificate chains to)
// through a proxy, the RDS bundle when it connects to the instance.
func TestDatabaseTrustAnchor(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		want := service.CAFile
		if s.env.Database.RDSProxy {
			want = service.SystemRoots
		}
		n := 0
		for id, r := range s.stack(t, "stateless").ofType("AWS::ECS::TaskDefinition") {
			for _, c := range r.Properties["ContainerDefinitions"].([]any) {
				env := map[string]any{}
				for _, e := range c.(map[string]any)["Environment"].([]any) {
					env[e.(map[string]any)["Name"].(string)] = e.(map[string]any)["Value"]
				}
				if env["DATABASE_IAM_AUTH"] != "true" {
					continue // the migration task, which connects to the instance itself
				}
				n++
				if env["DATABASE_CA_FILE"] != want {
					t.Errorf("%s: DATABASE_CA_FILE = %v; want %s (rds_proxy %v)", id, env["DATABASE_CA_FILE"], want, s.env.Database.RDSProxy)
				}
			}
		}
		withDatabase := 0
		for _, ms := range s.manifest.Services {
			if ms.DatabaseUser != "" { // a service without database_user has no database
				withDatabase++
			}
		}
		if n != withDatabase {
			t.Errorf("checked %d service containers; want %d, one per service with a database", n, withDatabase)
		}
	})
}

// TestBucketsRetained: CloudFormation cannot delete a bucket that holds objects, and the access-log and site
// buckets always do, so every environment retains them (a DESTROY policy would leave a deleted dev stack in
// DELETE_FAILED) and no custom resource empties them.
func TestBucketsRetained(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		buckets := 0
		for name, tmpl := range s.templates {
			for id, r := range tmpl.ofType("AWS::S3::Bucket") {
				buckets++
				if r.DeletionPolicy != "Retain" || r.UpdateReplace != "Retain" {
					t.Errorf("%s bucket %s DeletionPolicy %q, UpdateReplacePolicy %q; want Retain", name, id, r.DeletionPolicy, r.UpdateReplace)
				}
			}
			if n := len(tmpl.ofType("Custom::S3AutoDeleteObjects")); n > 0 {
				t.Errorf("%s empties buckets with a custom resource (%d)", name, n)
			}
		}
		if buckets == 0 {
			t.Error("no S3 bucket found")
		}
	})
}
