package preflight

import (
	"fmt"
	"slices"
	"strings"
)

// The release rules check the resources of native Amazon ECS blue/green, canary and linear deployments: the
// test listener that routes to the new tasks before production traffic, the lifecycle hooks that test them, and
// the bake time and alarms that let a bad release roll back.
const (
	blueGreenSource = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html"
	hooksSource     = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-lifecycle-hooks.html"
	bakeSource      = "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html"
)

// testListenerIngressRule: a test listener routes to the new revision before it is tested, so it must admit
// only the service's lifecycle hook functions (their security groups), never an address range or a prefix list,
// and never the whole internet. The load balancer's security group is what admits traffic to a listener port
// (Application Load Balancer security groups,
// https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-update-security-groups.html).
var testListenerIngressRule = Rule{
	ID:      "test-listener-ingress",
	Summary: "A blue/green test listener's port admits only the service's lifecycle hook functions' security groups.",
	Source:  blueGreenSource,
	check: func(c *check) {
		c.resources("AWS::ECS::Service", func(stack, id string, svc Resource) {
			hookGroups := c.hookSecurityGroups(stack, svc)
			for _, lb := range list(svc.Properties["LoadBalancers"]) {
				adv := object(object(lb)["AdvancedConfiguration"])
				rule, ok := c.w.target(stack, adv["TestListenerRule"])
				if !ok {
					continue
				}
				ruleRes, _ := c.w.resource(rule)
				listener, ok := c.w.target(rule.Stack, ruleRes.Properties["ListenerArn"])
				if !ok {
					continue
				}
				lres, _ := c.w.resource(listener)
				port := number(lres.Properties["Port"])
				alb, ok := c.w.target(listener.Stack, lres.Properties["LoadBalancerArn"])
				if !ok {
					continue
				}
				albRes, _ := c.w.resource(alb)
				for _, g := range list(albRes.Properties["SecurityGroups"]) {
					sg, ok := c.w.target(alb.Stack, g)
					if !ok {
						continue
					}
					for _, in := range c.ingressOf(sg) {
						if !coversPort(in.rule, port) {
							continue
						}
						src, ok := c.w.target(in.stack, in.rule["SourceSecurityGroupId"])
						if ok && slices.Contains(hookGroups, src.Stack+"/"+src.ID) {
							continue
						}
						c.fail(in.stack, in.id, "admits %s to port %v, the test listener of service %s: a test listener routes to "+
							"untested tasks and must admit only the service's lifecycle hook functions (their security groups)",
							describePeer(in.rule), port, id)
					}
				}
			}
		})
	},
}

// hookLeastPrivilegeRule: the role ECS assumes to call a lifecycle hook needs lambda:InvokeFunction on that
// function only (Lambda hooks for Amazon ECS service deployments,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html: the hook's roleArn
// lets ECS invoke the function). Any other action, or another resource, is more than it needs.
var hookLeastPrivilegeRule = Rule{
	ID:      "hook-least-privilege",
	Summary: "A lifecycle hook's role may only invoke its hook function (and its versions).",
	Source:  "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/lambda-lifecycle-hooks.html",
	check: func(c *check) {
		c.resources("AWS::ECS::Service", func(stack, id string, svc Resource) {
			for _, h := range list(object(svc.Properties["DeploymentConfiguration"])["LifecycleHooks"]) {
				hook := object(h)
				fn, okFn := c.w.target(stack, hook["HookTargetArn"])
				role, okRole := c.w.target(stack, hook["RoleArn"])
				if !okFn || !okRole {
					continue
				}
				roleRes, _ := c.w.resource(role)
				if arns := list(roleRes.Properties["ManagedPolicyArns"]); len(arns) > 0 {
					c.fail(role.Stack, role.ID, "the lifecycle hook role of service %s has managed policies %s; it needs "+
						"lambda:InvokeFunction on its hook function only", id, describe(arns))
				}
				for _, st := range c.roleStatements(role) {
					if s, _ := st.doc["Effect"].(string); s != "Allow" {
						continue
					}
					for _, a := range oneOrMany(st.doc["Action"]) {
						if a, _ := a.(string); !strings.EqualFold(a, "lambda:InvokeFunction") {
							c.fail(st.stack, st.id, "the lifecycle hook role of service %s is allowed %q; it needs lambda:InvokeFunction only", id, a)
						}
					}
					for _, r := range oneOrMany(st.doc["Resource"]) {
						if !c.isFunctionOrVersion(st.stack, r, fn) {
							c.fail(st.stack, st.id, "the lifecycle hook role of service %s may act on %s; it needs its hook function %s (and its versions) only",
								id, describe(r), fn.ID)
						}
					}
				}
			}
		})
	},
}

// MinProductionBakeMinutes is the least bake time the production release rule accepts: the deployment alarms
// evaluate 3 one-minute periods, so a shorter bake can end before they fire.
const MinProductionBakeMinutes = 10

// productionReleaseRule: in production, every service deployed blue/green, canary or linear keeps the old
// revision for a bake time (bakeTimeInMinutes) during which its deployment alarms roll back
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-type-blue-green.html, and
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html), and every service
// behind a load balancer deploys that way.
var productionReleaseRule = Rule{
	ID:      "production-release-safety",
	Summary: "In production, web services deploy blue/green, canary or linear with a bake time of at least 10 minutes and rollback alarms.",
	Source:  bakeSource,
	check: func(c *check) {
		if !c.o.Production {
			return
		}
		c.resources("AWS::ECS::Service", func(stack, id string, svc Resource) {
			dc := object(svc.Properties["DeploymentConfiguration"])
			strategy, _ := dc["Strategy"].(string)
			web := len(list(svc.Properties["LoadBalancers"])) > 0
			if strategy == "" || strategy == "ROLLING" {
				if web {
					c.fail(stack, id, "a production web service deploys with rolling updates; use blue/green, canary or linear (release.strategy)")
				}
				return
			}
			if bake := number(dc["BakeTimeInMinutes"]); bake < MinProductionBakeMinutes {
				c.fail(stack, id, "bake time %v minutes; production keeps the old revision at least %d minutes so the deployment alarms can roll back",
					bake, MinProductionBakeMinutes)
			}
			alarms := object(dc["Alarms"])
			if alarms["Enable"] != true || alarms["Rollback"] != true || len(list(alarms["AlarmNames"])) == 0 {
				c.failSource("https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-alarm-failure.html", stack, id,
					"deploys %s without deployment alarms that roll back (Alarms %s)", strategy, describe(dc["Alarms"]))
			}
			if len(list(dc["LifecycleHooks"])) == 0 {
				c.failSource(hooksSource, stack, id, "deploys %s without a lifecycle hook: nothing tests the new revision before production traffic", strategy)
			}
		})
	},
}

// hookSecurityGroups returns "stack/id" of the security groups of a service's lifecycle hook functions.
func (c *check) hookSecurityGroups(stack string, svc Resource) []string {
	var out []string
	for _, h := range list(object(svc.Properties["DeploymentConfiguration"])["LifecycleHooks"]) {
		fn, ok := c.w.target(stack, object(h)["HookTargetArn"])
		if !ok {
			continue
		}
		res, _ := c.w.resource(fn)
		for _, g := range list(object(res.Properties["VpcConfig"])["SecurityGroupIds"]) {
			if sg, ok := c.w.target(fn.Stack, g); ok {
				out = append(out, sg.Stack+"/"+sg.ID)
			}
		}
	}
	return out
}

type ingress struct {
	stack, id string
	rule      map[string]any
}

// ingressOf returns the ingress rules of a security group: inline ones and AWS::EC2::SecurityGroupIngress
// resources of the environment's stacks.
func (c *check) ingressOf(sg ref) []ingress {
	var out []ingress
	res, _ := c.w.resource(sg)
	for _, r := range list(res.Properties["SecurityGroupIngress"]) {
		out = append(out, ingress{sg.Stack, sg.ID, object(r)})
	}
	c.resources("AWS::EC2::SecurityGroupIngress", func(stack, id string, r Resource) {
		if t, ok := c.w.target(stack, r.Properties["GroupId"]); ok && t.Stack == sg.Stack && t.ID == sg.ID {
			out = append(out, ingress{stack, id, r.Properties})
		}
	})
	return out
}

// coversPort reports whether an ingress rule admits TCP port.
func coversPort(r map[string]any, port float64) bool {
	proto := fmt.Sprint(r["IpProtocol"])
	if proto == "-1" {
		return true
	}
	if proto != "tcp" && proto != "6" {
		return false
	}
	return number(r["FromPort"]) <= port && port <= number(r["ToPort"])
}

func describePeer(r map[string]any) string {
	for _, k := range []string{"CidrIp", "CidrIpv6", "SourcePrefixListId", "SourceSecurityGroupId"} {
		if v, ok := r[k]; ok {
			return k + " " + describe(v)
		}
	}
	return "an unknown peer"
}

type statement struct {
	stack, id string
	doc       map[string]any
}

// roleStatements returns the statements of a role's inline policies and of the AWS::IAM::Policy resources
// attached to it.
func (c *check) roleStatements(role ref) []statement {
	var out []statement
	res, _ := c.w.resource(role)
	for _, p := range list(res.Properties["Policies"]) {
		for _, s := range list(object(object(p)["PolicyDocument"])["Statement"]) {
			out = append(out, statement{role.Stack, role.ID, object(s)})
		}
	}
	c.resources("AWS::IAM::Policy", func(stack, id string, r Resource) {
		for _, rr := range list(r.Properties["Roles"]) {
			if t, ok := c.w.target(stack, rr); ok && t.Stack == role.Stack && t.ID == role.ID {
				for _, s := range list(object(r.Properties["PolicyDocument"])["Statement"]) {
					out = append(out, statement{stack, id, object(s)})
				}
			}
		}
	})
	return out
}

// isFunctionOrVersion reports whether v is fn's ARN ({"Fn::GetAtt": [fn, "Arn"]}) or that ARN followed by ":*"
// (its versions and aliases).
func (c *check) isFunctionOrVersion(stack string, v any, fn ref) bool {
	if t, ok := c.w.target(stack, v); ok {
		return t.Stack == fn.Stack && t.ID == fn.ID && t.Attr == "Arn"
	}
	j, ok := object(v)["Fn::Join"].([]any)
	if !ok || len(j) != 2 || j[0] != "" {
		return false
	}
	parts := list(j[1])
	if len(parts) != 2 || parts[1] != ":*" {
		return false
	}
	t, ok := c.w.target(stack, parts[0])
	return ok && t.Stack == fn.Stack && t.ID == fn.ID && t.Attr == "Arn"
}

// oneOrMany is an IAM policy element that is a single value or a list, as a list.
func oneOrMany(v any) []any {
	switch v := v.(type) {
	case nil:
		return nil
	case []any:
		return v
	default:
		return []any{v}
	}
}
