package preflight

import (
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/cloudassembly"
)

// Uniqueness scopes of explicit physical names.
const (
	perRegion  = "region"  // unique per account and region
	perAccount = "account" // unique per account, in every region (IAM)
)

// namedType is a resource type whose explicit name AWS requires to be unique, and where.
type namedType struct {
	// Property holds the explicit name.
	Property string
	// Scope is perRegion or perAccount.
	Scope string
	// RefIsName: Ref returns the name; NameAttr: the Fn::GetAtt attribute that returns it ("" for none).
	RefIsName bool
	NameAttr  string
	// CaseInsensitive names collide whatever their case.
	CaseInsensitive bool
	// Source is the AWS page that states the uniqueness.
	Source string
}

// namedTypes are the resource types whose explicit names the physical-name rule checks. Each entry's Source
// states where AWS requires the name to be unique; creating a second resource with the name fails
// (AlreadyExists, DBProxyAlreadyExistsFault, WAFDuplicateItemException, ...), so two environments in one
// account and region cannot both deploy.
var namedTypes = map[string]namedType{
	"AWS::RDS::DBProxy": {Property: "DBProxyName", Scope: perRegion, RefIsName: true, CaseInsensitive: true,
		// "This name must be unique for all proxies owned by your AWS account in the specified AWS Region."
		Source: "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBProxy.html"},
	"AWS::RDS::DBInstance": {Property: "DBInstanceIdentifier", Scope: perRegion, RefIsName: true, CaseInsensitive: true,
		// "The DB instance identifier must be unique for that customer in an AWS Region."
		Source: "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Overview.DBInstance.html"},
	"AWS::Logs::LogGroup": {Property: "LogGroupName", Scope: perRegion, RefIsName: true,
		// "Log group names must be unique within a Region for an AWS account."
		Source: "https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_CreateLogGroup.html"},
	"AWS::CloudWatch::Alarm": {Property: "AlarmName", Scope: perRegion, RefIsName: true,
		// "The name for the alarm. This name must be unique within the Region."
		Source: "https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html"},
	"AWS::WAFv2::WebACL": {Property: "Name", Scope: perRegion,
		// CreateWebACL fails with WAFDuplicateItemException for a web ACL that duplicates an existing one.
		Source: "https://docs.aws.amazon.com/waf/latest/APIReference/API_CreateWebACL.html"},
	"AWS::SQS::Queue": {Property: "QueueName", Scope: perRegion, NameAttr: "QueueName",
		// "provide a queue name that ... is unique within the scope of your queues"; QueueNameExists otherwise.
		Source: "https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_CreateQueue.html"},
	"AWS::IAM::Role": {Property: "RoleName", Scope: perAccount, RefIsName: true, CaseInsensitive: true,
		// "IAM user, group, role, and policy names must be unique within the account. Names are not
		// distinguished by case."
		Source: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html"},
	"AWS::IAM::ManagedPolicy": {Property: "ManagedPolicyName", Scope: perAccount, CaseInsensitive: true,
		Source: "https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreatePolicy.html"},
}

// physicalNamesRule: explicit names of the types in namedTypes must be unique where AWS requires it, across
// the stacks of every environment that shares the account and region (the manifest's aws://account/region;
// environments synthesized without an account deploy to the credentials' account, so they share it), and must
// carry the environment's ecsr-<env> prefix so that the next environment's names differ by construction.
var physicalNamesRule = Rule{
	ID:      "physical-names",
	Summary: "Explicit names that AWS requires unique do not collide across environments and carry ecsr-<env>.",
	Source:  "https://docs.aws.amazon.com/AmazonRDS/latest/APIReference/API_CreateDBProxy.html",
	check: func(c *check) {
		type owner struct{ stack, id string }
		taken := map[string][]owner{} // scope key -> resources with that name
		// key identifies a name where it must be unique; web ACL names are unique per scope (CLOUDFRONT or
		// REGIONAL) as well.
		key := func(stack string, r Resource, nt namedType, name string) string {
			s := c.asm.Stacks[stack]
			where := s.Account + "/" + s.Region
			if nt.Scope == perAccount {
				where = s.Account
			}
			if nt.CaseInsensitive {
				name = strings.ToLower(name)
			}
			scope, _ := r.Properties["Scope"].(string)
			return r.Type + "|" + where + "|" + scope + "|" + name
		}
		for _, sn := range c.asm.StackNames() {
			s := c.asm.Stacks[sn]
			for _, id := range sortedKeys(s.Template.Resources) {
				r := s.Template.Resources[id]
				nt, ok := namedTypes[r.Type]
				if !ok {
					continue
				}
				name, ok := c.w.literal(sn, r.Properties[nt.Property])
				if !ok {
					continue
				}
				k := key(sn, r, nt, name)
				taken[k] = append(taken[k], owner{sn, id})
			}
		}
		prefix := cloudassembly.EnvironmentPrefix(c.o.Env)
		c.forNamed(func(stack, id string, r Resource, nt namedType) {
			raw := r.Properties[nt.Property]
			if raw == nil {
				return // CloudFormation generates the name
			}
			name, ok := c.w.literal(stack, raw)
			if !ok {
				return
			}
			if !carriesPrefix(name, prefix) {
				c.failSource(nt.Source, stack, id, "explicit %s %q does not carry the environment's prefix %q: a second "+
					"environment in the same account%s gets the same name and fails to create it. Name it %s-... or let "+
					"CloudFormation generate the name.", nt.Property, name, prefix, regionWords(nt), prefix)
			}
			for _, o := range taken[key(stack, r, nt, name)] {
				if o.stack == stack && o.id == id {
					continue
				}
				c.failSource(nt.Source, stack, id, "explicit %s %q is also the name of %s in stack %s, in the same account%s: "+
					"the second one to deploy fails.", nt.Property, name, o.id, o.stack, regionWords(nt))
			}
		})
	},
}

// forNamed calls f for every resource of a named type in the environment's stacks.
func (c *check) forNamed(f func(stack, id string, r Resource, nt namedType)) {
	for _, sn := range c.env {
		s := c.asm.Stacks[sn]
		for _, id := range sortedKeys(s.Template.Resources) {
			r := s.Template.Resources[id]
			if nt, ok := namedTypes[r.Type]; ok {
				f(sn, id, r, nt)
			}
		}
	}
}

func regionWords(nt namedType) string {
	if nt.Scope == perAccount {
		return ""
	}
	return " and region"
}

// carriesPrefix reports whether name contains prefix as a whole word: at the start or after a separator, and
// followed by the end or a separator (so ecsr-dev does not match ecsr-dev2).
func carriesPrefix(name, prefix string) bool {
	lower, prefix := strings.ToLower(name), strings.ToLower(prefix)
	for i := 0; ; {
		j := strings.Index(lower[i:], prefix)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(prefix)
		if (start == 0 || isSeparator(lower[start-1])) && (end == len(lower) || isSeparator(lower[end])) {
			return true
		}
		i = start + 1
	}
}

func isSeparator(b byte) bool { return strings.IndexByte("-_/.:", b) >= 0 }
