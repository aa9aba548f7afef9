// Package edge provides the CloudFront distribution in front of everything: the static web UI from a private S3
// bucket through Origin Access Control as the default origin, and the internal load balancer for the API paths
// through a CloudFront VPC origin (no caching, every viewer header but Host). Viewers are redirected to HTTPS,
// responses carry security headers, access logs go to the log bucket, and the CLOUDFRONT-scope web ACL of the
// edge stack (us-east-1) filters every request.
package edge

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscertificatemanager"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfront"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudfrontorigins"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3deployment"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
)

// ContentSecurityPolicy is the policy sent with every response: same-origin scripts, styles, images and API
// calls only, no framing, no plugins.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

// Props configures the distribution.
type Props struct {
	// LoadBalancer is the API origin, reached through a VPC origin.
	LoadBalancer *loadbalancer.LoadBalancer
	// OriginName is the origin domain name when the load balancer has a certificate: CloudFront connects over
	// HTTPS and verifies the load balancer's certificate against it, so the certificate must cover it. Without a
	// certificate CloudFront uses the load balancer's own DNS name over HTTP.
	OriginName string
	// APIPathPatterns are the paths routed to the load balancer (the web services' path patterns).
	APIPathPatterns []string
	// WebACLArn is the CLOUDFRONT-scope web ACL (empty: none; only tests leave it out).
	WebACLArn string
	// DomainName and CertificateARN (an ACM certificate in us-east-1) serve the distribution under a custom
	// domain with TLSv1.2_2021 as the minimum viewer protocol. Empty: the cloudfront.net name and certificate.
	DomainName, CertificateARN string
	// LogBucket receives the distribution's standard logs (prefix cloudfront/) and the site bucket's server
	// access logs (prefix site/).
	LogBucket awss3.IBucket
	// SiteSource is the directory of the built web UI deployed to the site bucket; empty deploys nothing.
	SiteSource string
	// SiteRemoval is the site bucket's removal policy.
	SiteRemoval awscdk.RemovalPolicy
	// PriceClass limits the edge locations (default: North America and Europe).
	PriceClass awscloudfront.PriceClass
}

// Edge is the distribution and its site bucket.
type Edge struct {
	constructs.Construct
	// Distribution is the CloudFront distribution.
	Distribution awscloudfront.Distribution
	// SiteBucket holds the static web UI.
	SiteBucket awss3.Bucket
	// Headers is the response headers policy with the security headers.
	Headers awscloudfront.ResponseHeadersPolicy
}

// New creates the distribution, its site bucket and, when Props.SiteSource is set, the site deployment.
func New(scope constructs.Construct, id string, props Props) *Edge {
	c := constructs.NewConstruct(scope, jsii.String(id))
	e := &Edge{Construct: c}
	removal := props.SiteRemoval
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	e.SiteBucket = awss3.NewBucket(c, jsii.String("Site"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		ServerAccessLogsBucket: props.LogBucket,
		ServerAccessLogsPrefix: jsii.String("site/"),
		RemovalPolicy:          removal,
	})

	e.Headers = awscloudfront.NewResponseHeadersPolicy(c, jsii.String("SecurityHeaders"), &awscloudfront.ResponseHeadersPolicyProps{
		Comment: jsii.String("Security headers for the web UI and the API"),
		SecurityHeadersBehavior: &awscloudfront.ResponseSecurityHeadersBehavior{
			StrictTransportSecurity: &awscloudfront.ResponseHeadersStrictTransportSecurity{
				AccessControlMaxAge: awscdk.Duration_Days(jsii.Number(730)),
				IncludeSubdomains:   jsii.Bool(true),
				Preload:             jsii.Bool(true),
				Override:            jsii.Bool(true),
			},
			ContentSecurityPolicy: &awscloudfront.ResponseHeadersContentSecurityPolicy{
				ContentSecurityPolicy: jsii.String(ContentSecurityPolicy),
				Override:              jsii.Bool(true),
			},
			FrameOptions: &awscloudfront.ResponseHeadersFrameOptions{
				FrameOption: awscloudfront.HeadersFrameOption_DENY,
				Override:    jsii.Bool(true),
			},
			ContentTypeOptions: &awscloudfront.ResponseHeadersContentTypeOptions{Override: jsii.Bool(true)},
			ReferrerPolicy: &awscloudfront.ResponseHeadersReferrerPolicy{
				ReferrerPolicy: awscloudfront.HeadersReferrerPolicy_STRICT_ORIGIN_WHEN_CROSS_ORIGIN,
				Override:       jsii.Bool(true),
			},
		},
	})

	// The API origin is a VPC origin on the internal load balancer (docs/adr/0009-cloudfront-vpc-origin.md):
	// CloudFront connects through the VPC origin's network interfaces in the load balancer's subnets, so the load
	// balancer needs no public address and no shared secret header.
	// https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/private-content-vpc-origins.html
	lb := props.LoadBalancer
	originProps := &awscloudfrontorigins.VpcOriginWithEndpointProps{
		ProtocolPolicy:     awscloudfront.OriginProtocolPolicy_HTTP_ONLY,
		HttpPort:           jsii.Number(80),
		OriginSslProtocols: &[]awscloudfront.OriginSslPolicy{awscloudfront.OriginSslPolicy_TLS_V1_2},
		ReadTimeout:        awscdk.Duration_Seconds(jsii.Number(30)),
	}
	if lb.HTTPS {
		// HTTPS only, and CloudFront checks the certificate against the origin domain name, which must
		// therefore be the origin name the certificate covers rather than the load balancer's internal DNS name
		// (https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/using-https-cloudfront-to-custom-origin.html).
		originProps.ProtocolPolicy = awscloudfront.OriginProtocolPolicy_HTTPS_ONLY
		originProps.HttpPort = nil
		originProps.HttpsPort = jsii.Number(443)
		originProps.DomainName = jsii.String(props.OriginName)
	}
	api := awscloudfrontorigins.VpcOrigin_WithApplicationLoadBalancer(lb.ALB, originProps)
	behaviors := map[string]*awscloudfront.BehaviorOptions{}
	for _, p := range props.APIPathPatterns {
		behaviors[p] = &awscloudfront.BehaviorOptions{
			Origin:                api,
			AllowedMethods:        awscloudfront.AllowedMethods_ALLOW_ALL(),
			CachePolicy:           awscloudfront.CachePolicy_CACHING_DISABLED(),
			OriginRequestPolicy:   awscloudfront.OriginRequestPolicy_ALL_VIEWER_EXCEPT_HOST_HEADER(),
			ResponseHeadersPolicy: e.Headers,
			// The API refuses plain HTTP rather than redirecting: a redirected POST would lose its body.
			ViewerProtocolPolicy: awscloudfront.ViewerProtocolPolicy_HTTPS_ONLY,
			Compress:             jsii.Bool(true),
		}
	}

	priceClass := props.PriceClass
	if priceClass == "" {
		priceClass = awscloudfront.PriceClass_PRICE_CLASS_100
	}
	dp := &awscloudfront.DistributionProps{
		Comment: jsii.String("ECS Reworked " + *awscdk.Stack_Of(c).StackName()),
		DefaultBehavior: &awscloudfront.BehaviorOptions{
			Origin:                awscloudfrontorigins.S3BucketOrigin_WithOriginAccessControl(e.SiteBucket, nil),
			ViewerProtocolPolicy:  awscloudfront.ViewerProtocolPolicy_REDIRECT_TO_HTTPS,
			CachePolicy:           awscloudfront.CachePolicy_CACHING_OPTIMIZED(),
			ResponseHeadersPolicy: e.Headers,
			Compress:              jsii.Bool(true),
		},
		AdditionalBehaviors: &behaviors,
		DefaultRootObject:   jsii.String("index.html"),
		EnableLogging:       jsii.Bool(true),
		LogBucket:           props.LogBucket,
		LogFilePrefix:       jsii.String("cloudfront/"),
		HttpVersion:         awscloudfront.HttpVersion_HTTP2_AND_3,
		PriceClass:          priceClass,
		EnableIpv6:          jsii.Bool(true),
	}
	if props.WebACLArn != "" {
		dp.WebAclId = jsii.String(props.WebACLArn)
	}
	if props.CertificateARN != "" {
		dp.DomainNames = jsii.Strings(props.DomainName)
		dp.Certificate = awscertificatemanager.Certificate_FromCertificateArn(c, jsii.String("Certificate"), jsii.String(props.CertificateARN))
		dp.MinimumProtocolVersion = awscloudfront.SecurityPolicyProtocol_TLS_V1_2_2021
		dp.SslSupportMethod = awscloudfront.SSLMethod_SNI
	}
	e.Distribution = awscloudfront.NewDistribution(c, jsii.String("Distribution"), dp)

	suppressions := []*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-CFR1"),
		Reason: jsii.String("The shop serves customers worldwide; no legal or business requirement restricts countries. The web ACL's IP reputation and anonymous IP rules filter abusive sources instead."),
	}}
	if props.CertificateARN == "" {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-CFR4"),
			Reason: jsii.String("Without a custom domain the distribution uses the default *.cloudfront.net certificate, for which CloudFront fixes the minimum viewer protocol " +
				"(TLSv1 is accepted) and no security policy can be set. Environments with a domain set TLSv1.2_2021; production requires a domain."),
		})
	}
	if !lb.HTTPS {
		suppressions = append(suppressions, &cdknag.NagPackSuppression{
			Id: jsii.String("AwsSolutions-CFR5"),
			Reason: jsii.String("Without a domain the load balancer has no certificate CloudFront could verify, so the API origin is reached over HTTP, " +
				"through a VPC origin: the internal load balancer has no public address and the traffic stays on the AWS network. Environments with a domain use HTTPS (TLSv1.2) to the origin."),
		})
	}
	cdknag.NagSuppressions_AddResourceSuppressions(e.Distribution, &suppressions, jsii.Bool(false))

	if props.SiteSource != "" {
		e.deploySite(c, props.SiteSource)
	}
	return e
}

// deploySite uploads the built web UI: hashed assets with a year-long immutable cache, then index.html (and any
// other unhashed entry point) with no-cache so a release is visible at once, invalidated in CloudFront.
func (e *Edge) deploySite(c constructs.Construct, source string) {
	assets := awss3deployment.NewBucketDeployment(c, jsii.String("SiteAssets"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: e.SiteBucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Asset(jsii.String(source), nil)},
		Exclude:           jsii.Strings("index.html"),
		CacheControl: &[]awss3deployment.CacheControl{
			awss3deployment.CacheControl_SetPublic(),
			awss3deployment.CacheControl_MaxAge(awscdk.Duration_Days(jsii.Number(365))),
			awss3deployment.CacheControl_Immutable(),
		},
		// Old hashed assets stay for clients still running the previous index.html.
		Prune: jsii.Bool(false),
	})
	index := awss3deployment.NewBucketDeployment(c, jsii.String("SiteIndex"), &awss3deployment.BucketDeploymentProps{
		DestinationBucket: e.SiteBucket,
		Sources:           &[]awss3deployment.ISource{awss3deployment.Source_Asset(jsii.String(source), nil)},
		Exclude:           jsii.Strings("*"),
		Include:           jsii.Strings("index.html"),
		CacheControl: &[]awss3deployment.CacheControl{
			awss3deployment.CacheControl_NoCache(),
		},
		Prune:             jsii.Bool(false),
		Distribution:      e.Distribution,
		DistributionPaths: jsii.Strings("/index.html", "/"),
	})
	// index.html goes last, so it never refers to assets not uploaded yet.
	index.Node().AddDependency(assets)
	suppressDeploymentHandler(awscdk.Stack_Of(c))
}

// suppressDeploymentHandler records why the findings on CDK's BucketDeployment handler (a singleton Lambda
// function at the stack's root) are acceptable. Only its own findings are suppressed, each for what it grants.
func suppressDeploymentHandler(stack awscdk.Stack) {
	s3 := []interface{}{
		jsii.String("Action::s3:GetObject*"), jsii.String("Action::s3:GetBucket*"), jsii.String("Action::s3:List*"),
		jsii.String("Action::s3:DeleteObject*"), jsii.String("Action::s3:Abort*"),
		jsii.String("Resource::arn:<AWS::Partition>:s3:::cdk-hnb659fds-assets-<AWS::AccountId>-" + *stack.Region() + "/*"),
	}
	for _, child := range *stack.Node().Children() {
		if !strings.HasPrefix(*child.Node().Id(), "Custom::CDKBucketDeployment") {
			continue
		}
		appliesTo := append([]interface{}{}, s3...)
		for _, r := range *stack.Node().FindAll(constructs.ConstructOrder_PREORDER) {
			if b, ok := r.(awss3.CfnBucket); ok && strings.HasSuffix(*b.Node().Path(), "/Site/Resource") {
				appliesTo = append(appliesTo, jsii.String("Resource::<"+*stack.GetLogicalId(b)+".Arn>/*"))
			}
		}
		cdknag.NagSuppressions_AddResourceSuppressions(child, &[]*cdknag.NagPackSuppression{
			{
				Id:     jsii.String("AwsSolutions-L1"),
				Reason: jsii.String("The runtime of CDK's BucketDeployment handler is fixed by the pinned aws-cdk-lib version and moves forward with CDK upgrades; it is not configurable."),
			},
			{
				Id:        jsii.String("AwsSolutions-IAM4"),
				Reason:    jsii.String("CDK's BucketDeployment handler writes its own logs with AWSLambdaBasicExecutionRole (log actions only)."),
				AppliesTo: &[]interface{}{jsii.String("Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")},
			},
			{
				Id: jsii.String("AwsSolutions-IAM5"),
				Reason: jsii.String("BucketDeployment's grants: read the uploaded asset objects from the CDK asset bucket, and replace the objects of the site bucket; " +
					"the wildcards are object keys and the S3 read/delete action families of those two buckets only."),
				AppliesTo: &appliesTo,
			},
			{
				Id:        jsii.String("AwsSolutions-IAM5"),
				Reason:    jsii.String("BucketDeployment grants cloudfront:CreateInvalidation and GetInvalidation on * to invalidate index.html after a release; the actions only create and read cache invalidations."),
				AppliesTo: &[]interface{}{jsii.String("Resource::*")},
			},
		}, jsii.Bool(true))
	}
}
