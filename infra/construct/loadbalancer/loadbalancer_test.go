package loadbalancer_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awselasticloadbalancingv2targets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/logbucket"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

func newLoadBalancer(t *testing.T, certificate string) (awscdk.Stack, constructtest.Template) {
	t.Helper()
	stack := constructtest.NewStack(t, "test", "eu-west-1")
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1)})
	constructtest.Suppress(vpc, "AwsSolutions-VPC7", "test fixture VPC without flow logs")
	topic := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{EnforceSSL: jsii.Bool(true)})
	constructtest.Suppress(topic, "AwsSolutions-SNS2", "test fixture alarm topic")
	lb := loadbalancer.New(stack, "LoadBalancer", loadbalancer.Props{
		Vpc: vpc, PrefixListID: "pl-4fa04526", CertificateARN: certificate, AlarmTopic: topic, HTTP5xxPerMinute: 7,
		AccessLogBucket: logbucket.New(stack, "Logs", logbucket.Props{ExpirationDays: 30}),
	})
	lb.AddService("api", loadbalancer.Route{
		Target:              awselasticloadbalancingv2targets.NewIpTarget(jsii.String("10.0.0.10"), nil, nil),
		Port:                8080,
		HealthPath:          "/healthz",
		PathPattern:         "/api/*",
		DeregistrationDelay: awscdk.Duration_Seconds(jsii.Number(15)),
	})
	if got := constructtest.NagFindings(t, stack); len(got) > 0 {
		t.Errorf("unsuppressed cdk-nag findings:\n%s", strings.Join(got, "\n"))
	}
	return stack, constructtest.TemplateOf(stack)
}

func TestListeners(t *testing.T) {
	tests := []struct {
		name        string
		certificate string
		port        float64
		listeners   map[float64]string // port -> default action type
	}{
		{"without domain", "", 80, map[float64]string{80: "fixed-response"}},
		// No port 80 redirect: CloudFront, the only client, talks HTTPS; nothing could reach a second listener.
		{"with domain", "arn:aws:acm:eu-west-1:111111111111:certificate/abc", 443, map[float64]string{443: "fixed-response"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, tpl := newLoadBalancer(t, tc.certificate)
			got := map[float64]string{}
			for _, l := range tpl.Resources("AWS::ElasticLoadBalancingV2::Listener") {
				p := constructtest.Props(l)
				action := p["DefaultActions"].([]any)[0].(map[string]any)
				got[p["Port"].(float64)] = action["Type"].(string)
				switch action["Type"] {
				case "fixed-response":
					if code := action["FixedResponseConfig"].(map[string]any)["StatusCode"]; code != "403" {
						t.Errorf("default response %v; want 403", code)
					}
				case "redirect":
					if rc := action["RedirectConfig"].(map[string]any); rc["Protocol"] != "HTTPS" || rc["Port"] != "443" {
						t.Errorf("redirect %v; want HTTPS on 443", rc)
					}
				}
				if p["Port"] == 443.0 {
					if p["Protocol"] != "HTTPS" || len(p["Certificates"].([]any)) != 1 {
						t.Errorf("listener 443 = %v; want HTTPS with the certificate", p)
					}
				}
			}
			if constructtest.JSON(got) != constructtest.JSON(tc.listeners) {
				t.Errorf("listeners = %v; want %v", got, tc.listeners)
			}

			sg := tpl.Only(t, "AWS::EC2::SecurityGroup")
			if sg["SecurityGroupIngress"] != nil {
				t.Errorf("inline ingress %v; want only the CloudFront prefix list rule", sg["SecurityGroupIngress"])
			}
			ingress := tpl.Resources("AWS::EC2::SecurityGroupIngress")
			if len(ingress) != 1 {
				t.Fatalf("ingress rules = %v; want only the CloudFront prefix list", ingress)
			}
			for _, r := range ingress {
				rule := constructtest.Props(r)
				if rule["SourcePrefixListId"] != "pl-4fa04526" || rule["FromPort"] != tc.port || rule["CidrIp"] != nil {
					t.Errorf("ingress = %v; want pl-4fa04526 on %v only", rule, tc.port)
				}
			}
		})
	}
}

func TestListenerRule(t *testing.T) {
	_, tpl := newLoadBalancer(t, "")
	rule := tpl.Only(t, "AWS::ElasticLoadBalancingV2::ListenerRule")
	// The path only: the load balancer is internal, reached through the VPC origin, so no secret header.
	if got := constructtest.JSON(rule["Conditions"]); got != `[{"Field":"path-pattern","PathPatternConfig":{"Values":["/api/*"]}}]` {
		t.Errorf("rule conditions = %s; want the path pattern only", got)
	}
	tg := tpl.Only(t, "AWS::ElasticLoadBalancingV2::TargetGroup")
	want := map[string]any{
		"HealthCheckPath": "/healthz", "HealthCheckIntervalSeconds": 10.0, "HealthCheckTimeoutSeconds": 5.0,
		"HealthyThresholdCount": 2.0, "UnhealthyThresholdCount": 3.0, "Port": 8080.0,
	}
	for k, v := range want {
		if tg[k] != v {
			t.Errorf("target group %s = %v; want %v", k, tg[k], v)
		}
	}
	if got := constructtest.JSON(tg["TargetGroupAttributes"]); !strings.Contains(got, `"Key":"deregistration_delay.timeout_seconds","Value":"15"`) {
		t.Errorf("target group attributes = %s; want a 15 s deregistration delay", got)
	}
	if n := len(tpl.Resources("AWS::SecretsManager::Secret")); n != 0 {
		t.Errorf("%d secrets; want none (no origin secret)", n)
	}
}

func TestAccessLogsAndAlarm(t *testing.T) {
	_, tpl := newLoadBalancer(t, "")
	alb := tpl.Only(t, "AWS::ElasticLoadBalancingV2::LoadBalancer")
	attrs := constructtest.JSON(alb["LoadBalancerAttributes"])
	for _, want := range []string{`"Key":"access_logs.s3.enabled","Value":"true"`, `"Key":"routing.http.drop_invalid_header_fields.enabled","Value":"true"`} {
		if !strings.Contains(attrs, want) {
			t.Errorf("load balancer attributes %s lack %s", attrs, want)
		}
	}
	if alb["Scheme"] != "internal" {
		t.Errorf("scheme = %v; want internal (CloudFront reaches it through a VPC origin)", alb["Scheme"])
	}
	// In the private subnets, none of the public ones.
	for _, sn := range alb["Subnets"].([]any) {
		if id := constructtest.JSON(sn); !strings.Contains(id, "Private") {
			t.Errorf("load balancer subnet %s; want the private subnets only", id)
		}
	}
	if strings.Contains(attrs, `"Key":"deletion_protection.enabled","Value":"true"`) {
		t.Errorf("deletion protection on without DeletionProtection: %s", attrs)
	}
	bucket := tpl.Only(t, "AWS::S3::Bucket")
	if got := constructtest.JSON(bucket["BucketEncryption"]); !strings.Contains(got, "AES256") {
		t.Errorf("log bucket encryption = %s; want SSE-S3 (load balancer logs need it)", got)
	}
	if bucket["LifecycleConfiguration"] == nil {
		t.Errorf("log bucket has no lifecycle rules")
	}
	alarm := tpl.Only(t, "AWS::CloudWatch::Alarm")
	if alarm["MetricName"] != "HTTPCode_ELB_5XX_Count" || alarm["Threshold"] != 7.0 {
		t.Errorf("alarm = %v; want ELB 5xx at 7", alarm)
	}
}

func TestCloudFrontPrefixList(t *testing.T) {
	if got, err := loadbalancer.CloudFrontPrefixList("eu-west-1"); err != nil || got != "pl-4fa04526" {
		t.Errorf("CloudFrontPrefixList(eu-west-1) = %q, %v; want pl-4fa04526", got, err)
	}
	regions := loadbalancer.CloudFrontPrefixListRegions()
	if !slices.IsSorted(regions) || !slices.Contains(regions, "eu-west-1") {
		t.Errorf("CloudFrontPrefixListRegions() = %v; want the known regions, sorted", regions)
	}
	for _, r := range regions {
		if id, err := loadbalancer.CloudFrontPrefixList(r); err != nil || !strings.HasPrefix(id, "pl-") {
			t.Errorf("CloudFrontPrefixList(%s) = %q, %v; want a prefix list id", r, id, err)
		}
	}
	_, err := loadbalancer.CloudFrontPrefixList("mars-north-1")
	if err == nil || !strings.Contains(err.Error(), "mars-north-1") {
		t.Errorf("CloudFrontPrefixList(mars-north-1) error = %v; want one naming the region", err)
	}
}
