// Package logbucket provides the S3 bucket that receives the access logs of the load balancer, the CloudFront
// distribution and the static-site bucket. One bucket fits all three: it uses SSE-S3 (load balancer access logs
// cannot be written to a KMS-encrypted bucket) and keeps ACLs enabled for the bucket owner (CloudFront standard
// logs are delivered through the bucket ACL).
package logbucket

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Props configures the log bucket.
type Props struct {
	// ExpirationDays is how long log objects are kept; they move to infrequent access after 30 days.
	ExpirationDays int
	// RemovalPolicy is what happens to the bucket when it leaves the stack (RETAIN when empty). DESTROY removes
	// only an empty bucket: objects are not auto-deleted, which would need a custom-resource Lambda.
	RemovalPolicy awscdk.RemovalPolicy
}

// New creates the log bucket: private, SSE-S3, TLS-only, objects expire after Props.ExpirationDays.
func New(scope constructs.Construct, id string, props Props) awss3.Bucket {
	days := props.ExpirationDays
	if days < 1 {
		days = 90
	}
	rules := []*awss3.LifecycleRule{{
		Id:                                  jsii.String("expire-logs"),
		Expiration:                          awscdk.Duration_Days(jsii.Number(float64(days))),
		AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(1)),
	}}
	if days > 30 {
		rules[0].Transitions = &[]*awss3.Transition{{
			StorageClass:    awss3.StorageClass_INFREQUENT_ACCESS(),
			TransitionAfter: awscdk.Duration_Days(jsii.Number(30)),
		}}
	}
	removal := props.RemovalPolicy
	if removal == "" {
		removal = awscdk.RemovalPolicy_RETAIN
	}
	b := awss3.NewBucket(scope, jsii.String(id), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_PREFERRED,
		LifecycleRules:    &rules,
		RemovalPolicy:     removal,
	})
	cdknag.NagSuppressions_AddResourceSuppressions(b, &[]*cdknag.NagPackSuppression{{
		Id:     jsii.String("AwsSolutions-S1"),
		Reason: jsii.String("This is the access-log bucket itself; logging its own access into itself would recurse and a second log bucket would need the same exemption."),
	}}, jsii.Bool(false))
	return b
}
