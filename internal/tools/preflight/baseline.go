package preflight

import (
	"encoding/json"
	"strconv"
)

// importedExportsRule (with a baseline): "After another stack imports an output value, you can't delete the
// stack that is exporting the output value or modify the exported output value. All the imports must be removed
// before you can delete the exporting stack or modify the output value." (Fn::ImportValue,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html).
// The exporting stack deploys first (the importer depends on it), while the deployed importer still imports the
// export, so an export that a baseline stack imports must survive unchanged in the new assembly even when the
// new importer no longer uses it. The fix is a two-step change: keep the export (CDK's exportValue) for one
// deploy, remove it in the next.
var importedExportsRule = Rule{
	ID:            "imported-export",
	Summary:       "An export that a deployed stack imports is neither removed nor changed.",
	Source:        "https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference-importvalue.html",
	NeedsBaseline: true,
	check: func(c *check) {
		base := c.o.Baseline
		bw := newWorld(base)
		for _, sn := range base.Environment(c.o.Env) {
			imports := map[string]bool{}
			walkImports(base.Stacks[sn].Template.Resources, imports)
			walkImports(base.Stacks[sn].Template.Outputs, imports)
			for _, name := range sortedKeys(imports) {
				old, ok := bw.exports[name]
				if !ok {
					continue // exported outside the baseline (another environment or stack we were not given)
				}
				oldValue, _ := bw.output(old.Stack, old.ID)
				cur, ok := c.w.exports[name]
				if !ok {
					c.fail(old.Stack, old.ID, "export %s is imported by deployed stack %s but the new %s no longer exports it: "+
						"CloudFormation refuses to remove an export another stack imports, so the update of %s fails. Keep "+
						"exporting it for one deploy (the new %s stops importing it), then remove it.", name, sn, old.Stack, old.Stack, sn)
					continue
				}
				newValue, _ := c.w.output(cur.Stack, cur.ID)
				if cur.Stack != old.Stack {
					c.fail(old.Stack, old.ID, "export %s, imported by deployed stack %s, moves from %s to %s: CloudFormation "+
						"cannot remove it from %s while it is imported.", name, sn, old.Stack, cur.Stack, old.Stack)
				} else if normalized(oldValue) != normalized(newValue) {
					c.fail(old.Stack, old.ID, "export %s, imported by deployed stack %s, changes value from %s to %s: "+
						"CloudFormation refuses to modify an export another stack imports.", name, sn, describe(oldValue), describe(newValue))
				}
			}
		}
	},
}

// walkImports collects the literal export names Fn::ImportValue reads anywhere in v.
func walkImports(v any, into map[string]bool) {
	switch x := v.(type) {
	case map[string]Resource:
		for _, r := range x {
			walkImports(r.Properties, into)
		}
	case map[string]Output:
		for _, o := range x {
			walkImports(o.Value, into)
		}
	case map[string]any:
		if name, ok := x["Fn::ImportValue"].(string); ok && len(x) == 1 {
			into[name] = true
			return
		}
		for _, e := range x {
			walkImports(e, into)
		}
	case []any:
		for _, e := range x {
			walkImports(e, into)
		}
	}
}

// normalized renders a template value as JSON with numbers and booleans as strings, as CloudFormation passes
// them, so 5432 and "5432" compare equal.
func normalized(v any) string {
	var norm func(any) any
	norm = func(v any) any {
		switch x := v.(type) {
		case float64:
			return strconv.FormatFloat(x, 'f', -1, 64)
		case bool:
			return strconv.FormatBool(x)
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = norm(e)
			}
			return out
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				out[k] = norm(e)
			}
			return out
		}
		return v
	}
	b, _ := json.Marshal(norm(v))
	return string(b)
}

// statefulTypes are the resource types whose replacement loses data or identity that something outside the
// stack holds, and the property that names each explicitly:
//   - RDS DB instances and clusters hold the database; a replacement starts an empty one (and with a fixed
//     identifier fails, since the old one still holds the name);
//   - an RDS proxy's endpoint is the host the services connect to, and its name is unique per region;
//   - SQS queues hold messages in flight; SNS topics hold subscriptions (confirmed e-mail ones cannot be
//     recreated without the recipient); both have ARNs that policies and subscribers outside the stack name;
//   - KMS keys: replacing a key schedules the old one for deletion, and what it encrypted (queues, logs,
//     snapshots, secrets) becomes unreadable;
//   - S3 buckets, log groups, Secrets Manager secrets, ECR repositories, DynamoDB tables and EFS file systems
//     hold data;
//   - VPCs and subnets: every network interface in them (tasks, endpoints, the database) must move, which
//     CloudFormation cannot do while they are in use.
var statefulTypes = map[string]string{
	"AWS::RDS::DBInstance":        "DBInstanceIdentifier",
	"AWS::RDS::DBCluster":         "DBClusterIdentifier",
	"AWS::RDS::DBProxy":           "DBProxyName",
	"AWS::SQS::Queue":             "QueueName",
	"AWS::SNS::Topic":             "TopicName",
	"AWS::KMS::Key":               "",
	"AWS::S3::Bucket":             "BucketName",
	"AWS::Logs::LogGroup":         "LogGroupName",
	"AWS::SecretsManager::Secret": "Name",
	"AWS::ECR::Repository":        "RepositoryName",
	"AWS::EC2::VPC":               "",
	"AWS::EC2::Subnet":            "",
	"AWS::DynamoDB::Table":        "TableName",
	"AWS::EFS::FileSystem":        "",
}

// statefulReplacementRule (with a baseline): a stateful resource (statefulTypes) of a deployed stack must not
// be replaced by the update: its logical ID must stay (CloudFormation deletes a resource whose logical ID
// disappears and creates the new one empty), its type and explicit name must stay, and no property whose change
// "requires replacement" may change (AWS CloudFormation, Update behaviors of stack resources,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html).
// Which properties those are comes from the CloudFormation resource specification (Spec): "yes" fails, "maybe"
// (replacement depends on the values) is a notice to check by hand. Properties are compared as written, so a
// changed reference counts as a change even when it would resolve to the same value.
var statefulReplacementRule = Rule{
	ID:            "stateful-replacement",
	Summary:       "No stateful resource of a deployed stack is removed, renamed or replaced by the update.",
	Source:        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-update-behaviors.html",
	NeedsBaseline: true,
	check: func(c *check) {
		base := c.o.Baseline
		for _, sn := range base.Environment(c.o.Env) {
			old := base.Stacks[sn]
			cur, ok := c.asm.Stacks[sn]
			if !ok {
				continue // a stack the new assembly does not have is not deployed by it
			}
			for _, id := range sortedKeys(old.Template.Resources) {
				before := old.Template.Resources[id]
				nameProp, stateful := statefulTypes[before.Type]
				if !stateful {
					continue
				}
				after, ok := cur.Template.Resources[id]
				switch {
				case !ok:
					c.fail(sn, id, "stateful %s %s of the deployed stack is gone from the new template: CloudFormation deletes "+
						"it (or, with a Retain policy, orphans it) and anything that replaces it under another logical ID "+
						"starts empty. Keep the logical ID.", before.Type, id)
					continue
				case after.Type != before.Type:
					c.fail(sn, id, "stateful resource %s changes type from %s to %s: CloudFormation replaces it.", id, before.Type, after.Type)
					continue
				}
				if nameProp != "" && normalized(before.Properties[nameProp]) != normalized(after.Properties[nameProp]) {
					c.fail(sn, id, "stateful %s %s changes its explicit name %s from %s to %s: CloudFormation replaces it.",
						before.Type, id, nameProp, describe(before.Properties[nameProp]), describe(after.Properties[nameProp]))
				}
				replacing := c.o.Spec.Replacement[before.Type]
				for _, p := range sortedKeys(replacing) {
					if p == nameProp || normalized(before.Properties[p]) == normalized(after.Properties[p]) {
						continue
					}
					msg := "stateful %s %s changes %s from %s to %s, which the CloudFormation resource specification (%s) " +
						"marks as causing replacement: the update replaces the resource."
					if replacing[p] == "maybe" {
						msg = "stateful %s %s changes %s from %s to %s, which the CloudFormation resource specification (%s) " +
							"marks as possibly causing replacement: check the property's \"Update requires\" in the resource reference."
						c.notice(c.rule.Source, sn, id, msg, before.Type, id, p, describe(before.Properties[p]),
							describe(after.Properties[p]), "@aws-cdk/aws-service-spec "+c.o.Spec.Version)
						continue
					}
					c.fail(sn, id, msg, before.Type, id, p, describe(before.Properties[p]), describe(after.Properties[p]),
						"@aws-cdk/aws-service-spec "+c.o.Spec.Version)
				}
			}
		}
	},
}
