package preflight

import (
	"slices"
	"strings"
)

// taskSecretsRule: ECS reads a container's secrets with the task execution role when the task starts: "the task
// definition is referencing sensitive data using Secrets Manager secrets" needs a task execution role with
// secretsmanager:GetSecretValue on the secret, and kms:Decrypt on the secret's key when it is a customer managed
// key (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html, "Required IAM
// permissions for Amazon ECS secrets"). Without them the task stops before the container starts
// (ResourceInitializationError), and a deployment never becomes healthy.
var taskSecretsRule = Rule{
	ID:      "task-secrets",
	Summary: "The execution role of a task definition with Secrets Manager secrets may read each one (and decrypt its key).",
	Source:  "https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html",
	check: func(c *check) {
		c.resources("AWS::ECS::TaskDefinition", func(stack, id string, td Resource) {
			var secrets []ref
			for _, ct := range c.containers(ref{Stack: stack, ID: id}) {
				for _, s := range list(ct["Secrets"]) {
					target, ok := c.w.target(stack, object(s)["ValueFrom"])
					if res, found := c.w.resource(target); ok && found && res.Type == "AWS::SecretsManager::Secret" {
						secrets = append(secrets, target)
					}
				}
			}
			if len(secrets) == 0 {
				return
			}
			role, ok := c.w.target(stack, td.Properties["ExecutionRoleArn"])
			if !ok {
				c.fail(stack, id, "its containers read %d Secrets Manager secret(s) but it has no execution role of this "+
					"assembly to read them with; ECS cannot start the task", len(secrets))
				return
			}
			statements := c.roleStatements(ref{Stack: role.Stack, ID: role.ID})
			for _, s := range secrets {
				if !c.allows(statements, "secretsmanager:GetSecretValue", s) {
					c.fail(stack, id, "its execution role %s may not secretsmanager:GetSecretValue on %s: ECS cannot read the "+
						"secret and the task stops before its container starts; grant it (Secret.GrantRead)", role.ID, s.ID)
				}
				res, _ := c.w.resource(s)
				if key, ok := c.w.target(s.Stack, res.Properties["KmsKeyId"]); ok && !c.allows(statements, "kms:Decrypt", key) {
					c.fail(stack, id, "its execution role %s may not kms:Decrypt with %s, the key of secret %s", role.ID, key.ID, s.ID)
				}
			}
		})
	},
}

// allows reports whether an Allow statement grants action on the resource target (by reference, or "*").
func (c *check) allows(statements []statement, action string, target ref) bool {
	for _, st := range statements {
		if st.doc["Effect"] != "Allow" || !grantsAction(st.doc["Action"], action) {
			continue
		}
		for _, r := range oneOrMany(st.doc["Resource"]) {
			if r == "*" {
				return true
			}
			if t, ok := c.w.target(st.stack, r); ok && t.Stack == target.Stack && t.ID == target.ID {
				return true
			}
		}
	}
	return false
}

// grantsAction reports whether a statement's Action element covers action ("*", "service:*" or the action).
func grantsAction(v any, action string) bool {
	service := action[:strings.Index(action, ":")+1]
	return slices.ContainsFunc(oneOrMany(v), func(a any) bool {
		s, _ := a.(string)
		return s == "*" || s == service+"*" || strings.EqualFold(s, action)
	})
}
