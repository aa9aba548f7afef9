// Package shield provides AWS Shield Advanced protections for the internet-facing resources (the CloudFront
// distribution and the load balancer) and a protection group over them. Shield Advanced is a paid subscription
// (a yearly commitment per organization) that must be active on the account before deploying; environments
// turn it on with shield_advanced. The group aggregates with MAX, the setting AWS recommends for a distribution
// and its origin, which see the same traffic.
//
// A protection is created next to the resource it protects: a regional resource's in its region, a global
// resource's (a CloudFront distribution) in us-east-1, where AWS manages global resources and serves the Shield
// API. A group spanning both lives in us-east-1 with the global protection; the regional members join it by ARN.
package shield

import (
	"sort"

	"github.com/aws/aws-cdk-go/awscdk/v2/awsshield"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Props configures the protections.
type Props struct {
	// Name prefixes the protection names.
	Name string
	// Resources maps a short name to the ARN of a resource to protect here.
	Resources map[string]*string
	// Group, when set, is the id of a protection group over Resources and Members.
	Group string
	// Members are more group members: ARNs of resources protected elsewhere, by a stack deployed before this one
	// (a protection group accepts protected resources only).
	Members []*string
}

// Shield holds the protections and the optional group.
type Shield struct {
	constructs.Construct
	// Protections are the protections by the short names of Props.Resources.
	Protections map[string]awsshield.CfnProtection
	// Group is the protection group, or nil.
	Group awsshield.CfnProtectionGroup
}

// New creates one protection per resource and, with Props.Group, a protection group over them and the members.
func New(scope constructs.Construct, id string, props Props) *Shield {
	c := constructs.NewConstruct(scope, jsii.String(id))
	s := &Shield{Construct: c, Protections: map[string]awsshield.CfnProtection{}}
	names := make([]string, 0, len(props.Resources))
	for n := range props.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	members := make([]*string, 0, len(names)+len(props.Members))
	protections := make([]constructs.IDependable, 0, len(names))
	for _, n := range names {
		p := awsshield.NewCfnProtection(c, jsii.String(n), &awsshield.CfnProtectionProps{
			Name:        jsii.String(props.Name + "-" + n),
			ResourceArn: props.Resources[n],
		})
		s.Protections[n] = p
		protections = append(protections, p)
		members = append(members, props.Resources[n])
	}
	if props.Group == "" {
		return s
	}
	members = append(members, props.Members...)
	s.Group = awsshield.NewCfnProtectionGroup(c, jsii.String("Group"), &awsshield.CfnProtectionGroupProps{
		ProtectionGroupId: jsii.String(props.Group),
		Aggregation:       jsii.String("MAX"),
		Pattern:           jsii.String("ARBITRARY"),
		Members:           &members,
	})
	// A group's members must be protected before the group is created.
	s.Group.Node().AddDependency(protections...)
	return s
}
