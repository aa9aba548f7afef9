package edge_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/edge"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/logbucket"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

type variant struct {
	domain bool
	site   string
}

func newEdge(t *testing.T, v variant) (awscdk.Stack, constructtest.Template) {
	t.Helper()
	stack := constructtest.NewStack(t, "test", "eu-west-1")
	vpc := awsec2.NewVpc(stack, jsii.String("Vpc"), &awsec2.VpcProps{MaxAzs: jsii.Number(2), NatGateways: jsii.Number(1)})
	constructtest.Suppress(vpc, "AwsSolutions-VPC7", "test fixture VPC without flow logs")
	logs := logbucket.New(stack, "Logs", logbucket.Props{ExpirationDays: 30})
	lbProps := loadbalancer.Props{Vpc: vpc, PrefixListID: "pl-4fa04526", AccessLogBucket: logs}
	props := edge.Props{
		APIPathPatterns: []string{"/api/*"},
		WebACLArn:       "arn:aws:wafv2:us-east-1:111111111111:global/webacl/ecsr-test/abc",
		LogBucket:       logs,
		SiteSource:      v.site,
	}
	if v.domain {
		lbProps.CertificateARN = "arn:aws:acm:eu-west-1:111111111111:certificate/alb"
		props.DomainName, props.OriginName = "shop.example.com", "origin.shop.example.com"
		props.CertificateARN = "arn:aws:acm:us-east-1:111111111111:certificate/cf"
	}
	props.LoadBalancer = loadbalancer.New(stack, "LoadBalancer", lbProps)
	edge.New(stack, "Edge", props)
	if got := constructtest.NagFindings(t, stack); len(got) > 0 {
		t.Errorf("unsuppressed cdk-nag findings:\n%s", strings.Join(got, "\n"))
	}
	return stack, constructtest.TemplateOf(stack)
}

// distribution returns the distribution's config.
func distribution(t *testing.T, tpl constructtest.Template) map[string]any {
	t.Helper()
	return tpl.Only(t, "AWS::CloudFront::Distribution")["DistributionConfig"].(map[string]any)
}

func TestDistribution(t *testing.T) {
	for _, tc := range []struct {
		name                string
		domain              bool
		originProtocol, tls string
		wantAliases         bool
	}{
		{"without domain", false, "http-only", "", false},
		{"with domain", true, "https-only", "TLSv1.2_2021", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, tpl := newEdge(t, variant{domain: tc.domain})
			d := distribution(t, tpl)
			if d["DefaultRootObject"] != "index.html" || d["WebACLId"] == nil || d["HttpVersion"] != "http2and3" {
				t.Errorf("distribution = %s; want index.html, a web ACL, HTTP/2 and 3", constructtest.JSON(d))
			}
			if got := constructtest.JSON(d["Logging"]); !strings.Contains(got, `"Prefix":"cloudfront/"`) {
				t.Errorf("logging = %s; want the log bucket under cloudfront/", got)
			}
			def := d["DefaultCacheBehavior"].(map[string]any)
			if def["ViewerProtocolPolicy"] != "redirect-to-https" || def["ResponseHeadersPolicyId"] == nil {
				t.Errorf("default behavior = %v; want HTTPS redirect and the security headers", def)
			}
			api := d["CacheBehaviors"].([]any)[0].(map[string]any)
			if api["PathPattern"] != "/api/*" || api["ViewerProtocolPolicy"] != "https-only" ||
				api["CachePolicyId"] != "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" || api["OriginRequestPolicyId"] != "b689b0a8-53d0-40ab-baf2-68738e2966ac" ||
				len(api["AllowedMethods"].([]any)) != 7 {
				t.Errorf("API behavior = %s; want no caching, all viewer headers but Host, every method, HTTPS only", constructtest.JSON(api))
			}
			var s3Origin, albOrigin map[string]any
			for _, o := range d["Origins"].([]any) {
				o := o.(map[string]any)
				if o["S3OriginConfig"] != nil {
					s3Origin = o
				} else {
					albOrigin = o
				}
			}
			if s3Origin == nil || s3Origin["OriginAccessControlId"] == nil {
				t.Errorf("site origin = %v; want Origin Access Control", s3Origin)
			}
			// The API is a VPC origin on the internal load balancer: no custom (internet) origin, no header.
			if albOrigin["CustomOriginConfig"] != nil || albOrigin["VpcOriginConfig"] == nil {
				t.Errorf("API origin = %s; want a VPC origin and no custom origin", constructtest.JSON(albOrigin))
			}
			if albOrigin["OriginCustomHeaders"] != nil {
				t.Errorf("origin headers = %s; want none (no shared secret with a VPC origin)", constructtest.JSON(albOrigin["OriginCustomHeaders"]))
			}
			vpcOrigin := tpl.Only(t, "AWS::CloudFront::VpcOrigin")["VpcOriginEndpointConfig"].(map[string]any)
			if vpcOrigin["OriginProtocolPolicy"] != tc.originProtocol || !strings.Contains(constructtest.JSON(vpcOrigin["Arn"]), "LoadBalancer") {
				t.Errorf("VPC origin = %s; want the load balancer with %s", constructtest.JSON(vpcOrigin), tc.originProtocol)
			}
			if tc.domain && constructtest.JSON(vpcOrigin["OriginSSLProtocols"]) != `["TLSv1.2"]` {
				t.Errorf("VPC origin TLS = %v; want TLSv1.2", vpcOrigin["OriginSSLProtocols"])
			}
			if tc.domain && albOrigin["DomainName"] != "origin.shop.example.com" {
				t.Errorf("API origin = %v; want origin.shop.example.com (the name the load balancer's certificate covers)", albOrigin["DomainName"])
			}
			if !tc.domain && !strings.Contains(constructtest.JSON(albOrigin["DomainName"]), "DNSName") {
				t.Errorf("API origin = %v; want the load balancer's DNS name", albOrigin["DomainName"])
			}
			cert, _ := d["ViewerCertificate"].(map[string]any)
			if got, _ := cert["MinimumProtocolVersion"].(string); got != tc.tls {
				t.Errorf("minimum protocol = %q; want %q", got, tc.tls)
			}
			if _, got := d["Aliases"]; got != tc.wantAliases {
				t.Errorf("aliases %v; want present=%v", d["Aliases"], tc.wantAliases)
			}
		})
	}
}

func TestSecurityHeadersAndBucket(t *testing.T) {
	_, tpl := newEdge(t, variant{})
	cfg := tpl.Only(t, "AWS::CloudFront::ResponseHeadersPolicy")["ResponseHeadersPolicyConfig"].(map[string]any)
	sec := constructtest.JSON(cfg["SecurityHeadersConfig"])
	for _, want := range []string{`"AccessControlMaxAgeSec":63072000`, `"IncludeSubdomains":true`, `"FrameOption":"DENY"`,
		`"ContentTypeOptions":{"Override":true}`, `"ReferrerPolicy":"strict-origin-when-cross-origin"`, "frame-ancestors 'none'"} {
		if !strings.Contains(sec, want) {
			t.Errorf("security headers %s lack %s", sec, want)
		}
	}
	var site map[string]any
	for _, b := range tpl.Resources("AWS::S3::Bucket") {
		if p := constructtest.Props(b); p["LoggingConfiguration"] != nil {
			site = p
		}
	}
	if site == nil {
		t.Fatal("no site bucket with server access logging")
	}
	for _, want := range []string{`"BlockPublicAcls":true`, `"RestrictPublicBuckets":true`} {
		if !strings.Contains(constructtest.JSON(site["PublicAccessBlockConfiguration"]), want) {
			t.Errorf("site bucket public access block lacks %s", want)
		}
	}
	if !strings.Contains(constructtest.JSON(site["BucketEncryption"]), "AES256") {
		t.Errorf("site bucket is not encrypted: %v", site["BucketEncryption"])
	}
	policies := constructtest.JSON(tpl.Resources("AWS::S3::BucketPolicy"))
	for _, want := range []string{`"aws:SecureTransport":"false"`, `"Service":"cloudfront.amazonaws.com"`} {
		if !strings.Contains(policies, want) {
			t.Errorf("bucket policies lack %s", want)
		}
	}
	if n := len(tpl.Resources("Custom::CDKBucketDeployment")); n != 0 {
		t.Errorf("%d site deployments without a site source; want none", n)
	}
}

func TestSiteDeployment(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"index.html": "<!doctype html>", "assets/app-1a2b3c.js": "console.log(1)"} {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, tpl := newEdge(t, variant{site: dir})
	deployments := tpl.Resources("Custom::CDKBucketDeployment")
	if len(deployments) != 2 {
		t.Fatalf("%d site deployments; want assets and index.html", len(deployments))
	}
	var sawAssets, sawIndex bool
	for _, d := range deployments {
		p := constructtest.Props(d)
		meta := constructtest.JSON(p["SystemMetadata"])
		switch {
		case strings.Contains(meta, "immutable"):
			sawAssets = strings.Contains(meta, "max-age=31536000") && p["Prune"] == false
		case strings.Contains(meta, "no-cache"):
			sawIndex = p["DistributionId"] != nil && strings.Contains(constructtest.JSON(p["DistributionPaths"]), "/index.html")
		}
	}
	if !sawAssets || !sawIndex {
		t.Errorf("deployments = %s; want immutable year-long assets (not pruned) and a no-cache index.html invalidated in CloudFront", constructtest.JSON(deployments))
	}
}
