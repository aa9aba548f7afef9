package preflight

import (
	"strconv"
	"strings"
)

// securityGroupRulesRule: EC2 refuses to add a rule that a security group already has
// (InvalidPermission.Duplicate, "the specified rule ... already exists"; Amazon EC2 API error codes,
// https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html), so a stack that declares the same
// rule twice, inline (SecurityGroupIngress/SecurityGroupEgress of AWS::EC2::SecurityGroup) or as
// AWS::EC2::SecurityGroupIngress/Egress resources, fails to create the second. A rule is its direction,
// protocol, port range and peer (CIDR, prefix list or security group); descriptions do not distinguish rules.
// Ports given as an attribute the template fixes (an RDS instance's Endpoint.Port) count as that port, which is
// how CDK's RDS Proxy wiring and an explicit rule on 5432 end up identical.
var securityGroupRulesRule = Rule{
	ID:      "sg-duplicate-rules",
	Summary: "No security group rule is declared twice (inline or as SecurityGroupIngress/Egress resources).",
	Source:  "https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html",
	check: func(c *check) {
		type decl struct{ stack, id, what string }
		seen := map[string]decl{} // group + rule key -> first declaration
		add := func(group ref, direction string, rule map[string]any, d decl) {
			key := group.Stack + "/" + group.ID + "|" + direction + "|" + c.ruleKey(d.stack, rule)
			if first, dup := seen[key]; dup {
				c.fail(d.stack, d.id, "%s duplicates %s (same protocol, ports and peer on security group %s): "+
					"EC2 rejects the second with InvalidPermission.Duplicate.", d.what, first.what, group.ID)
				return
			}
			seen[key] = d
		}
		for _, sn := range c.env {
			s := c.asm.Stacks[sn]
			for _, id := range sortedKeys(s.Template.Resources) {
				r := s.Template.Resources[id]
				switch r.Type {
				case "AWS::EC2::SecurityGroup":
					g := ref{Stack: sn, ID: id}
					for i, in := range list(r.Properties["SecurityGroupIngress"]) {
						add(g, "ingress", object(in), decl{sn, id, inlineName("ingress", i, id)})
					}
					for i, out := range list(r.Properties["SecurityGroupEgress"]) {
						add(g, "egress", object(out), decl{sn, id, inlineName("egress", i, id)})
					}
				case "AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress":
					g, ok := c.w.target(sn, r.Properties["GroupId"])
					if !ok {
						continue
					}
					g.Attr = ""
					direction := "ingress"
					if r.Type == "AWS::EC2::SecurityGroupEgress" {
						direction = "egress"
					}
					add(g, direction, r.Properties, decl{sn, id, "rule " + id})
				}
			}
		}
	},
}

func inlineName(direction string, i int, group string) string {
	return "inline " + direction + " rule #" + strconv.Itoa(i+1) + " of " + group
}

// ruleKey renders what identifies a rule: protocol, ports and peer.
func (c *check) ruleKey(stack string, rule map[string]any) string {
	proto, _ := c.w.literal(stack, rule["IpProtocol"])
	proto = strings.ToLower(proto)
	switch proto { // EC2 accepts protocol numbers and names alike
	case "6":
		proto = "tcp"
	case "17":
		proto = "udp"
	case "1":
		proto = "icmp"
	case "all":
		proto = "-1"
	}
	peers := []string{"CidrIp", "CidrIpv6", "SourcePrefixListId", "SourceSecurityGroupId", "SourceSecurityGroupName",
		"DestinationPrefixListId", "DestinationSecurityGroupId"}
	var b strings.Builder
	b.WriteString(proto)
	for _, p := range []string{"FromPort", "ToPort"} {
		b.WriteString("|" + c.w.canonical(stack, rule[p]))
	}
	for _, p := range peers {
		if v, ok := rule[p]; ok {
			b.WriteString("|" + strings.TrimPrefix(strings.TrimPrefix(p, "Source"), "Destination") + "=" + c.peer(stack, v))
		}
	}
	return b.String()
}

// peer renders a rule's peer, resolving a security group reference to the group itself whichever attribute
// or import spells it.
func (c *check) peer(stack string, v any) string {
	if t, ok := c.w.target(stack, v); ok {
		return "<" + t.Stack + "/" + t.ID + ">"
	}
	return c.w.canonical(stack, v)
}
