// Package shield provides AWS Shield Advanced protections for the internet-facing resources (the CloudFront
// distribution and the load balancer) and a protection group over them. Shield Advanced is a paid subscription
// (a yearly commitment per organization) that must be active on the account before deploying; environments
// turn it on with shield_advanced. The group aggregates with MAX, the setting AWS recommends for a distribution
// and its origin, which see the same traffic.
package shield

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsshield"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configures the protections.
type Props struct {
	// Name prefixes the protection names and is the protection group's id.
	Name string
	// Resources maps a short name to the ARN of a resource to protect.
	Resources map[string]*string
}

// New creates one protection per resource and a protection group over them.
func New(scope constructs.Construct, id string, props Props) constructs.Construct {
	c := constructs.NewConstruct(scope, jsii.String(id))
	names := make([]string, 0, len(props.Resources))
	for n := range props.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	members := make([]*string, 0, len(names))
	protections := make([]constructs.IDependable, 0, len(names))
	for _, n := range names {
		protections = append(protections, awsshield.NewCfnProtection(c, jsii.String(n), &awsshield.CfnProtectionProps{
			Name:        jsii.String(props.Name + "-" + n),
			ResourceArn: props.Resources[n],
		}))
		members = append(members, props.Resources[n])
	}
	group := awsshield.NewCfnProtectionGroup(c, jsii.String("Group"), &awsshield.CfnProtectionGroupProps{
		ProtectionGroupId: jsii.String(props.Name),
		Aggregation:       jsii.String("MAX"),
		Pattern:           jsii.String("ARBITRARY"),
		Members:           &members,
	})
	// A group's members must be protected before the group is created.
	group.Node().AddDependency(protections...)
	return c
}
