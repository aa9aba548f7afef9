// Package cost estimates the monthly cost of an environment from its synthesized CloudFormation templates and a
// dated price table (docs/pricing/<region>-<date>.yaml). It counts what the templates declare (tasks at their
// minimum scale, NAT gateways, load balancers, database instances, keys, endpoints, web ACL rules) and applies
// stated usage assumptions for what templates cannot know (traffic, log volume). Every assumption is printed
// with the estimate: it is a planning number, not a bill.
package cost

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/cloudassembly"
)

// Prices is a dated price table.
type Prices struct {
	Region        string  `yaml:"region"`
	Date          string  `yaml:"date"`
	Source        string  `yaml:"source"`
	HoursPerMonth float64 `yaml:"hours_per_month"`
	Fargate       struct {
		VCPUHour     float64 `yaml:"vcpu_hour"`
		GBHour       float64 `yaml:"gb_hour"`
		SpotDiscount float64 `yaml:"spot_discount"`
	} `yaml:"fargate_arm64"`
	NAT struct {
		Hour float64 `yaml:"hour"`
		GB   float64 `yaml:"gb"`
	} `yaml:"nat_gateway"`
	ALB struct {
		Hour    float64 `yaml:"hour"`
		LCUHour float64 `yaml:"lcu_hour"`
	} `yaml:"alb"`
	RDSHour      map[string]float64 `yaml:"rds_postgresql_single_az_hour"`
	RDSStorageGB float64            `yaml:"rds_gp3_gb_month"`
	RDSProxyVCPU float64            `yaml:"rds_proxy_vcpu_hour"`
	RDSVCPUs     map[string]float64 `yaml:"rds_instance_vcpus"`
	CloudFront   struct {
		GB       float64 `yaml:"gb"`
		HTTPS10k float64 `yaml:"https_10k_requests"`
	} `yaml:"cloudfront"`
	WAF struct {
		ACL               float64 `yaml:"web_acl_month"`
		Rule              float64 `yaml:"rule_month"`
		MillionRequests   float64 `yaml:"million_requests"`
		BotControl        float64 `yaml:"bot_control_month"`
		BotControlMillion float64 `yaml:"bot_control_targeted_million_requests"`
	} `yaml:"waf"`
	Shield   float64 `yaml:"shield_advanced_month"`
	KMSKey   float64 `yaml:"kms_key_month"`
	Endpoint struct {
		AZHour float64 `yaml:"az_hour"`
		GB     float64 `yaml:"gb"`
	} `yaml:"vpc_interface_endpoint"`
	Logs struct {
		IngestGB float64 `yaml:"ingest_gb"`
		StoreGB  float64 `yaml:"store_gb_month"`
	} `yaml:"cloudwatch_logs"`
	Secret float64 `yaml:"secrets_manager_secret_month"`
	// Spans sent to the X-Ray OTLP endpoint are stored in the aws/spans log group, and "span ingestion is
	// charged separately from log ingestion" (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch-Transaction-Search-ingesting-span-log-groups.html,
	// prices at https://aws.amazon.com/cloudwatch/pricing/). Optional: without it the traces line says so.
	TransactionSearch struct {
		SpanIngestGB float64 `yaml:"span_ingest_gb"`
	} `yaml:"transaction_search,omitempty"`
}

// DecodePrices decodes a price table, strictly.
func DecodePrices(data []byte) (*Prices, error) {
	var p Prices
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode price table: %w", err)
	}
	if p.HoursPerMonth <= 0 || p.Date == "" || p.Source == "" {
		return nil, fmt.Errorf("price table: hours_per_month, date and source are required")
	}
	return &p, nil
}

// Assumptions are the usage figures templates cannot declare.
type Assumptions struct {
	NATGBPerGateway    float64 // GB processed per NAT gateway per month
	ALBLCUs            float64 // average LCUs per load balancer
	CloudFrontGB       float64 // GB served per month
	CloudFrontRequests float64 // HTTPS requests per month
	WAFRequests        float64 // requests inspected per month
	EndpointGBPerEnd   float64 // GB through each interface endpoint per month
	LogGBPerGroup      float64 // GB ingested per log group per month (stored for the retention, about a month)
	SpansPerRequest    float64 // spans a sampled request leads to, across the services (an order: about 11)
	SpanKB             float64 // size of one span as ingested
}

// DefaultAssumptions is a small production-like load: 5 million requests and 50 GB out a month.
var DefaultAssumptions = Assumptions{
	NATGBPerGateway: 20, ALBLCUs: 1, CloudFrontGB: 50, CloudFrontRequests: 5e6, WAFRequests: 5e6,
	EndpointGBPerEnd: 2, LogGBPerGroup: 1, SpansPerRequest: 4, SpanKB: 1,
}

// Template is the part of a CloudFormation template the estimate reads (package cloudassembly).
type Template = cloudassembly.Template

// Resource is one template resource.
type Resource = cloudassembly.Resource

// Line is one priced item of the estimate.
type Line struct {
	Item    string
	Detail  string
	Monthly float64
}

// Estimate prices the templates of one environment (by stack name) and returns its lines, sorted by stack
// order of appearance and item, and the assumptions it used, as sentences.
func Estimate(templates map[string]Template, p *Prices, a Assumptions) ([]Line, []string) {
	h := p.HoursPerMonth
	var lines []Line
	add := func(item, detail string, monthly float64) {
		lines = append(lines, Line{Item: item, Detail: detail, Monthly: monthly})
	}
	names := make([]string, 0, len(templates))
	for n := range templates {
		names = append(names, n)
	}
	sort.Strings(names)
	counts := map[string]int{}
	traceRatio := 0.0 // the largest share of traces any service sends to X-Ray
	for _, name := range names {
		t := templates[name]
		ids := make([]string, 0, len(t.Resources))
		for id := range t.Resources {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		minTasks := scalingMinimums(t)
		for _, id := range ids {
			r := t.Resources[id]
			counts[r.Type]++
			switch r.Type {
			case "AWS::ECS::Service":
				td := t.Resources[refName(r.Properties["TaskDefinition"])]
				vcpu := num(td.Properties["Cpu"]) / 1024
				gb := num(td.Properties["Memory"]) / 1024
				n := minTasks[id]
				onDemand, spot := split(n, r.Properties["CapacityProviderStrategy"])
				perTask := (vcpu*p.Fargate.VCPUHour + gb*p.Fargate.GBHour) * h
				cost := onDemand*perTask + spot*perTask*(1-p.Fargate.SpotDiscount)
				add("Fargate "+id, fmt.Sprintf("%g tasks (%.2f on demand, %.2f Spot) x %g vCPU, %g GB, arm64", n, onDemand, spot, vcpu, gb), cost)
				traceRatio = math.Max(traceRatio, sampleRatio(td))
			case "AWS::EC2::NatGateway":
				add("NAT gateway "+id, fmt.Sprintf("%g h + %g GB", h, a.NATGBPerGateway), h*p.NAT.Hour+a.NATGBPerGateway*p.NAT.GB)
			case "AWS::ElasticLoadBalancingV2::LoadBalancer":
				add("Load balancer "+id, fmt.Sprintf("%g h + %g LCU", h, a.ALBLCUs), h*(p.ALB.Hour+a.ALBLCUs*p.ALB.LCUHour))
			case "AWS::RDS::DBInstance":
				class, _ := r.Properties["DBInstanceClass"].(string)
				multi := r.Properties["MultiAZ"] == true
				storage := num(r.Properties["AllocatedStorage"])
				f := 1.0
				if multi {
					f = 2
				}
				rate, ok := p.RDSHour[class]
				detail := fmt.Sprintf("%s, %g GB gp3, Multi-AZ %v", class, storage, multi)
				if !ok {
					detail += " (NO PRICE for this class in the table)"
				}
				add("RDS "+id, detail, f*(rate*h+storage*p.RDSStorageGB))
				if r.Properties["ManageMasterUserPassword"] == true {
					add("Secret (RDS master) "+id, "managed master user secret", p.Secret)
				}
			case "AWS::RDS::DBProxy":
				vcpus := 2.0
				for _, v := range p.RDSVCPUs {
					vcpus = math.Max(vcpus, v)
				}
				add("RDS Proxy "+id, fmt.Sprintf("%g vCPU of the instance", vcpus), vcpus*p.RDSProxyVCPU*h)
			case "AWS::CloudFront::Distribution":
				add("CloudFront "+id, fmt.Sprintf("%g GB, %g HTTPS requests", a.CloudFrontGB, a.CloudFrontRequests),
					a.CloudFrontGB*p.CloudFront.GB+a.CloudFrontRequests/1e4*p.CloudFront.HTTPS10k)
			case "AWS::WAFv2::WebACL":
				rules, _ := r.Properties["Rules"].([]any)
				cost := p.WAF.ACL + float64(len(rules))*p.WAF.Rule + a.WAFRequests/1e6*p.WAF.MillionRequests
				detail := fmt.Sprintf("%d rules, %g requests", len(rules), a.WAFRequests)
				if hasBotControl(rules) {
					cost += p.WAF.BotControl + a.WAFRequests/1e6*p.WAF.BotControlMillion
					detail += ", Bot Control targeted (every request inspected: no scope-down assumed)"
				}
				add("WAF "+id, detail, cost)
			case "AWS::Shield::Protection":
				counts["shield"]++
			case "AWS::KMS::Key":
				add("KMS key "+id, "customer managed key", p.KMSKey)
			case "AWS::EC2::VPCEndpoint":
				if r.Properties["VpcEndpointType"] != "Interface" {
					continue // gateway endpoints (S3) are free
				}
				subnets, _ := r.Properties["SubnetIds"].([]any)
				azs := float64(len(subnets))
				add("VPC endpoint "+id, fmt.Sprintf("%g AZ x %g h + %g GB", azs, h, a.EndpointGBPerEnd), azs*h*p.Endpoint.AZHour+a.EndpointGBPerEnd*p.Endpoint.GB)
			case "AWS::Logs::LogGroup":
				add("Log group "+id, fmt.Sprintf("%g GB ingested and stored", a.LogGBPerGroup), a.LogGBPerGroup*(p.Logs.IngestGB+p.Logs.StoreGB))
			case "AWS::SecretsManager::Secret":
				add("Secret "+id, "one secret", p.Secret)
			}
		}
	}
	if traceRatio > 0 {
		gb := a.CloudFrontRequests * traceRatio * a.SpansPerRequest * a.SpanKB / 1e6
		detail := fmt.Sprintf("%g of %g requests sampled x %g spans x %g KB = %.2f GB of spans", traceRatio, a.CloudFrontRequests,
			a.SpansPerRequest, a.SpanKB, gb)
		if p.TransactionSearch.SpanIngestGB == 0 {
			detail += " (NO PRICE for span ingestion in the table)"
		}
		add("Traces (X-Ray OTLP endpoint, Transaction Search)", detail, gb*p.TransactionSearch.SpanIngestGB)
	}
	if counts["shield"] > 0 {
		add("Shield Advanced", fmt.Sprintf("subscription (%d protections; the fee is per organization)", counts["shield"]), p.Shield)
	}
	assumptions := []string{
		fmt.Sprintf("prices: %s list prices of %s (%s), %g hours a month", p.Region, p.Date, p.Source, h),
		"Fargate: each service at its minimum task count (autoscaling minimum), split between on-demand and Spot by its capacity provider strategy (base, then weights)",
		fmt.Sprintf("Fargate Spot: %.0f%% below on-demand", p.Fargate.SpotDiscount*100),
		fmt.Sprintf("NAT gateways: %g GB processed each", a.NATGBPerGateway),
		fmt.Sprintf("load balancers: %g LCU on average", a.ALBLCUs),
		fmt.Sprintf("CloudFront: %g GB out and %g HTTPS requests; WAF inspects %g requests", a.CloudFrontGB, a.CloudFrontRequests, a.WAFRequests),
		fmt.Sprintf("interface endpoints: %g GB each; log groups: %g GB ingested each", a.EndpointGBPerEnd, a.LogGBPerGroup),
		fmt.Sprintf("traces: each sampled request (of the CloudFront requests) leads to %g spans of %g KB", a.SpansPerRequest, a.SpanKB),
		"not priced: SQS, SNS, S3, data transfer between AZs and to the internet beyond CloudFront, CloudWatch metrics, alarms and dashboards, backups beyond the free allowance",
	}
	return lines, assumptions
}

// sampleRatio is the OTEL_TRACES_SAMPLER_ARG of a task definition's containers (0 when tracing is off).
func sampleRatio(td Resource) float64 {
	containers, _ := td.Properties["ContainerDefinitions"].([]any)
	ratio := 0.0
	for _, c := range containers {
		c, _ := c.(map[string]any)
		env, _ := c["Environment"].([]any)
		for _, e := range env {
			e, _ := e.(map[string]any)
			if e["Name"] == "OTEL_TRACES_SAMPLER_ARG" {
				ratio = math.Max(ratio, num(e["Value"]))
			}
		}
	}
	return ratio
}

// scalingMinimums maps each ECS service's logical ID to its scalable target's minimum capacity.
func scalingMinimums(t Template) map[string]float64 {
	out := map[string]float64{}
	for _, r := range t.Resources {
		if r.Type != "AWS::ApplicationAutoScaling::ScalableTarget" {
			continue
		}
		for _, svc := range getAttTargets(r.Properties["ResourceId"]) {
			out[svc] = num(r.Properties["MinCapacity"])
		}
	}
	for id, r := range t.Resources {
		if r.Type == "AWS::ECS::Service" {
			if _, ok := out[id]; !ok {
				out[id] = num(r.Properties["DesiredCount"])
			}
		}
	}
	return out
}

// getAttTargets returns the logical IDs named by Fn::GetAtt anywhere inside v.
func getAttTargets(v any) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
			if s, ok := ga[0].(string); ok {
				out = append(out, s)
			}
		}
		for _, y := range x {
			out = append(out, getAttTargets(y)...)
		}
	case []any:
		for _, y := range x {
			out = append(out, getAttTargets(y)...)
		}
	}
	return out
}

// split divides n tasks between on-demand and Spot following an ECS capacity provider strategy: the base goes
// to its provider first, the rest by weight.
func split(n float64, strategy any) (onDemand, spot float64) {
	items, _ := strategy.([]any)
	if len(items) == 0 {
		return n, 0
	}
	var wOD, wSpot float64
	rest := n
	for _, it := range items {
		m, _ := it.(map[string]any)
		isSpot := m["CapacityProvider"] == "FARGATE_SPOT"
		base := math.Min(num(m["Base"]), rest)
		rest -= base
		if isSpot {
			spot += base
			wSpot += num(m["Weight"])
		} else {
			onDemand += base
			wOD += num(m["Weight"])
		}
	}
	if wOD+wSpot > 0 {
		onDemand += rest * wOD / (wOD + wSpot)
		spot += rest * wSpot / (wOD + wSpot)
	}
	return onDemand, spot
}

func hasBotControl(rules []any) bool {
	for _, r := range rules {
		if strings.Contains(fmt.Sprint(r), "AWSManagedRulesBotControlRuleSet") {
			return true
		}
	}
	return false
}

func refName(v any) string {
	m, _ := v.(map[string]any)
	s, _ := m["Ref"].(string)
	return s
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case int:
		return float64(x)
	case string:
		// A number that is not a number is priced at 0 and shows as such in the estimate.
		f, _ := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f
	}
	return 0
}

// Print writes the estimate as a table: one line per item, the total, then the assumptions.
func Print(w io.Writer, env string, lines []Line, assumptions []string) float64 {
	var total float64
	fmt.Fprintf(w, "Monthly estimate for %s (USD)\n", env)
	for _, l := range lines {
		total += l.Monthly
		fmt.Fprintf(w, "  %10.2f  %-44s %s\n", l.Monthly, l.Item, l.Detail)
	}
	fmt.Fprintf(w, "  %10.2f  TOTAL\n", total)
	fmt.Fprintln(w, "Assumptions:")
	for _, a := range assumptions {
		fmt.Fprintln(w, "  - "+a)
	}
	return total
}
