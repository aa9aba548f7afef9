// Package encryption creates the environment's customer-managed KMS keys the same way everywhere: rotation on,
// an explicit removal policy, and key policy statements that let an AWS service use a key on behalf of this
// account only.
package encryption

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// NewKey creates a symmetric customer-managed key with yearly automatic rotation.
func NewKey(scope constructs.Construct, id, description string, removal awscdk.RemovalPolicy) awskms.Key {
	return awskms.NewKey(scope, jsii.String(id), &awskms.KeyProps{
		Description:       jsii.String(description),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removal,
	})
}

// AllowService lets an AWS service principal (e.g. sns.amazonaws.com) perform actions with key, on behalf of
// the key's own account only (aws:SourceAccount).
func AllowService(key awskms.Key, sid, service string, actions ...string) {
	stack := awscdk.Stack_Of(key)
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String(sid),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String(service), nil)},
		Actions:    jsii.Strings(actions...),
		Resources:  jsii.Strings("*"), // in a key policy "*" means this key
		Conditions: &map[string]any{"StringEquals": map[string]any{"aws:SourceAccount": *stack.Account()}},
	}), nil)
}
