package cost

import (
	"encoding/json"
	"math"
	"os"
	"strings"
	"testing"
)

// small is a hand-written template: one service of 2 tasks (base 1 on demand, then 1:1 with Spot) at 0.5 vCPU
// and 1 GB, one NAT gateway, one Multi-AZ database, one interface endpoint over 2 subnets, a gateway endpoint
// (free) and a key.
const small = `{"Resources": {
 "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Cpu": "512", "Memory": "1024"}},
 "Svc": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "Task"},
   "CapacityProviderStrategy": [{"CapacityProvider": "FARGATE", "Base": 1, "Weight": 1}, {"CapacityProvider": "FARGATE_SPOT", "Weight": 1}]}},
 "Scaling": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {"MinCapacity": 3,
   "ResourceId": {"Fn::Join": ["/", ["service", {"Ref": "Cluster"}, {"Fn::GetAtt": ["Svc", "Name"]}]]}}},
 "Nat": {"Type": "AWS::EC2::NatGateway", "Properties": {}},
 "Db": {"Type": "AWS::RDS::DBInstance", "Properties": {"DBInstanceClass": "db.t4g.micro", "MultiAZ": true, "AllocatedStorage": "20"}},
 "Sqs": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Interface", "SubnetIds": ["a", "b"]}},
 "S3": {"Type": "AWS::EC2::VPCEndpoint", "Properties": {"VpcEndpointType": "Gateway"}},
 "Key": {"Type": "AWS::KMS::Key", "Properties": {}}
}}`

const table = `region: test
date: 2026-11
source: hand-written
hours_per_month: 100
fargate_arm64: {vcpu_hour: 0.04, gb_hour: 0.004, spot_discount: 0.5}
nat_gateway: {hour: 0.05, gb: 0.1}
alb: {hour: 0.02, lcu_hour: 0.01}
rds_postgresql_single_az_hour: {db.t4g.micro: 0.02}
rds_gp3_gb_month: 0.1
rds_proxy_vcpu_hour: 0.015
rds_instance_vcpus: {db.t4g.micro: 2}
cloudfront: {gb: 0.1, https_10k_requests: 0.01}
waf: {web_acl_month: 5, rule_month: 1, million_requests: 0.6, bot_control_month: 10, bot_control_targeted_million_requests: 10}
shield_advanced_month: 3000
kms_key_month: 1
vpc_interface_endpoint: {az_hour: 0.01, gb: 0.01}
cloudwatch_logs: {ingest_gb: 0.5, store_gb_month: 0.03}
secrets_manager_secret_month: 0.4
`

func TestEstimateArithmetic(t *testing.T) {
	var tmpl Template
	if err := json.Unmarshal([]byte(small), &tmpl); err != nil {
		t.Fatal(err)
	}
	p, err := DecodePrices([]byte(table))
	if err != nil {
		t.Fatal(err)
	}
	a := Assumptions{NATGBPerGateway: 10, EndpointGBPerEnd: 5}
	lines, assumptions := Estimate(map[string]Template{"s": tmpl}, p, a)
	got := map[string]float64{}
	for _, l := range lines {
		got[l.Item] = l.Monthly
	}
	// 3 tasks: base 1 on demand, 2 more split 1:1 -> 2 on demand, 1 Spot. Per task-month: (0.5*0.04 + 1*0.004)*100 = 2.4.
	want := map[string]float64{
		"Fargate Svc":      2*2.4 + 1*2.4*0.5,
		"NAT gateway Nat":  100*0.05 + 10*0.1,
		"RDS Db":           2 * (0.02*100 + 20*0.1),
		"VPC endpoint Sqs": 2*100*0.01 + 5*0.01,
		"KMS key Key":      1,
	}
	for item, w := range want {
		if g, ok := got[item]; !ok || math.Abs(g-w) > 1e-9 {
			t.Errorf("Estimate()[%s] = %v (present %v); want %v", item, g, ok, w)
		}
	}
	if _, ok := got["VPC endpoint S3"]; ok {
		t.Error("the S3 gateway endpoint is priced; gateway endpoints are free")
	}
	if len(lines) != len(want) {
		t.Errorf("Estimate() = %d lines; want %d: %v", len(lines), len(want), lines)
	}
	if !strings.Contains(strings.Join(assumptions, "\n"), "50% below on-demand") {
		t.Errorf("assumptions do not state the Spot discount: %q", assumptions)
	}
}

func TestSplit(t *testing.T) {
	strategy := []any{
		map[string]any{"CapacityProvider": "FARGATE", "Base": 1.0, "Weight": 1.0},
		map[string]any{"CapacityProvider": "FARGATE_SPOT", "Weight": 3.0},
	}
	tests := []struct{ n, od, spot float64 }{{0, 0, 0}, {1, 1, 0}, {5, 2, 3}}
	for _, tc := range tests {
		od, spot := split(tc.n, strategy)
		if od != tc.od || spot != tc.spot {
			t.Errorf("split(%g) = %g, %g; want %g, %g", tc.n, od, spot, tc.od, tc.spot)
		}
	}
}

func TestShippedPriceTableDecodes(t *testing.T) {
	data, err := os.ReadFile("../../../docs/pricing/eu-west-1-2026-11.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := DecodePrices(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, class := range []string{"db.t4g.micro", "db.t4g.small", "db.m7g.large"} {
		if p.RDSHour[class] <= 0 {
			t.Errorf("price table lacks %s, used by a shipped environment", class)
		}
	}
}

// A service that sends traces adds a traces line: sampled requests x spans x size, priced by the table's span
// ingestion price when it has one, and said to be unpriced when it has not.
func TestEstimateTraces(t *testing.T) {
	traced := `{"Resources": {
 "Task": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"Cpu": "512", "Memory": "1024",
   "ContainerDefinitions": [{"Environment": [{"Name": "OTEL_TRACES_SAMPLER_ARG", "Value": "0.05"}]}]}},
 "Svc": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "Task"}}}
}}`
	var tmpl Template
	if err := json.Unmarshal([]byte(traced), &tmpl); err != nil {
		t.Fatal(err)
	}
	a := Assumptions{CloudFrontRequests: 1e6, SpansPerRequest: 10, SpanKB: 2}
	const item = "Traces (X-Ray OTLP endpoint, Transaction Search)"
	for _, tc := range []struct {
		extra      string
		want       float64
		wantDetail string
	}{
		{"", 0, "NO PRICE"},
		{"transaction_search: {span_ingest_gb: 0.5}\n", 1 * 0.5, "1.00 GB of spans"}, // 1e6 x 0.05 x 10 x 2 KB = 1 GB
	} {
		p, err := DecodePrices([]byte(table + tc.extra))
		if err != nil {
			t.Fatal(err)
		}
		lines, _ := Estimate(map[string]Template{"s": tmpl}, p, a)
		var found *Line
		for i := range lines {
			if lines[i].Item == item {
				found = &lines[i]
			}
		}
		if found == nil || math.Abs(found.Monthly-tc.want) > 1e-9 || !strings.Contains(found.Detail, tc.wantDetail) {
			t.Errorf("table %q: traces line = %+v; want %v with %q", tc.extra, found, tc.want, tc.wantDetail)
		}
	}
	var untraced Template
	if err := json.Unmarshal([]byte(small), &untraced); err != nil {
		t.Fatal(err)
	}
	p, _ := DecodePrices([]byte(table))
	lines, _ := Estimate(map[string]Template{"s": untraced}, p, a)
	for _, l := range lines {
		if l.Item == item {
			t.Errorf("untraced services got a traces line: %+v", l)
		}
	}
}
