package stacks

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// wildcardAllowance is a wildcard AWS requires (or that no narrower form can express), with the reason.
type wildcardAllowance struct {
	// ResourceType and Action (a regexp on "<action>") identify the statement; Resource (a regexp on the
	// resource, rendered as JSON) identifies the wildcard.
	ResourceType string
	Action       *regexp.Regexp
	Resource     *regexp.Regexp
	// Principal (a regexp on the principal, rendered as JSON), when set, must match too.
	Principal *regexp.Regexp
	// Stack (a regexp on the stack's name), when set, limits the allowance to those stacks.
	Stack  *regexp.Regexp
	Reason string
}

// wildcardAllowances lists every wildcard the templates may contain. Anything else fails TestIAMNoWildcards.
var wildcardAllowances = []wildcardAllowance{
	{
		ResourceType: "AWS::KMS::Key",
		Action:       regexp.MustCompile(`^kms:`),
		Resource:     regexp.MustCompile(`^"\*"$`),
		Reason:       `in a key policy the resource "*" means the key itself; AWS accepts nothing else there`,
	},
	{
		ResourceType: "AWS::KMS::Key",
		Action:       regexp.MustCompile(`^kms:\*$`),
		Resource:     regexp.MustCompile(`^"\*"$`),
		Principal:    regexp.MustCompile(`:root"`),
		Reason: "the default key policy statement: the account root may manage the key, which delegates access to " +
			"IAM policies; without it the key becomes unmanageable (AWS KMS documentation, default key policy)",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Action:       regexp.MustCompile(`^ecr:GetAuthorizationToken$`),
		Resource:     regexp.MustCompile(`^"\*"$`),
		Reason:       "ecr:GetAuthorizationToken supports no resource-level permissions; AWS requires Resource \"*\"",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Action:       regexp.MustCompile(`^ssmmessages:(Create|Open)(Control|Data)Channel$`),
		Resource:     regexp.MustCompile(`^"\*"$`),
		Reason:       "ECS Exec's Session Manager channels support no resource-level permissions; only where ecs_exec is on",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Action:       regexp.MustCompile(`^logs:DescribeLogGroups$`),
		Resource:     regexp.MustCompile(`^"\*"$`),
		Reason:       "logs:DescribeLogGroups supports no resource-level permissions; AWS requires Resource \"*\"",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Action:       regexp.MustCompile(`^kms:(GenerateDataKey|ReEncrypt)\*$`),
		Resource:     regexp.MustCompile(`^\{.*\}$`), // one key's ARN, never "*"
		Reason: "CDK's Grant methods for encrypted topics and queues emit kms:GenerateDataKey* (the data-key family " +
			"SNS and SQS use) on the one key's ARN; the resource is specific",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Action:       regexp.MustCompile(`^logs:(CreateLogStream|DescribeLogStreams|PutLogEvents)$`),
		Resource:     regexp.MustCompile(`^\{"Fn::Join":\["",\[.*:log-group:",\{"Fn::ImportValue":"ecsr-[a-z0-9]+-cluster:ExportsOutputRefExecLogs[A-Z0-9]+"\},":\*"\]\]\}$`),
		Reason: "ECS Exec session logs (only where ecs_exec is on): the streams of the one exec log group, which IAM " +
			"names as log-group:<name>:*",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Action:       regexp.MustCompile(`^xray:(PutSpans|PutSpansForIndexing|PutTraceSegments)$`),
		Resource:     regexp.MustCompile(`^"\*"$`),
		Reason: "the services send their spans to the X-Ray OTLP endpoint (docs/adr/0015-tracing.md); X-Ray's write " +
			"actions take no resource narrower than \"*\" (https://docs.aws.amazon.com/IAM/latest/UserGuide/list_awsxray.html)",
	},
	{
		ResourceType: "AWS::S3::BucketPolicy",
		Action:       regexp.MustCompile(`^s3:(GetObject|PutObject)$`),
		Resource:     regexp.MustCompile(`^\{"Fn::Join":\["",\[\{"Fn::GetAtt":\["[A-Za-z0-9]+","Arn"\]\}.*/\*"\]\]\}$`),
		Reason:       "the objects under one bucket (and prefix): S3 names objects only by ARN pattern",
	},
	// The pipeline's deploy roles (stacks ecsr-cicd-<env>) act on the cluster stack of their one environment, which is
	// deployed after them: every name there is explicit, so the grants name it exactly or by its fixed prefix.
	{
		ResourceType: "AWS::IAM::Policy",
		Stack:        cicdStack,
		Action:       regexp.MustCompile(`^ecs:RunTask$`),
		Resource:     regexp.MustCompile(`:task-definition/ecsr-[a-z0-9]+-migrate:\*"\]\]\}$`),
		Reason:       "every revision of the environment's migration task family; the statement's condition also limits it to the environment's cluster",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Stack:        cicdStack,
		Action:       regexp.MustCompile(`^ecs:(DescribeTasks|StopTask)$`),
		Resource:     regexp.MustCompile(`:task/ecsr-[a-z0-9]+/\*"\]\]\}$`),
		Reason:       "the tasks of the environment's cluster, whose task IDs ECS generates",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Stack:        cicdStack,
		Action:       regexp.MustCompile(`^iam:PassRole$`),
		Resource:     regexp.MustCompile(`:role/ecsr/[a-z0-9]+/migration/\*"\]\]\}$`),
		Reason:       "the roles under the environment's migration role path (the migration task's two roles); passed to ECS tasks only (iam:PassedToService)",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Stack:        cicdStack,
		Action:       regexp.MustCompile(`^cloudformation:DescribeStack(s|Resources)$`),
		Resource:     regexp.MustCompile(`:stack/ecsr-[a-z0-9]+-(stateful|edge|cluster|stateless|edge-protection)/\*"\]\]\}$`),
		Reason:       "the environment's stacks by name (deploy.sh reads their status; the cluster's outputs locate the migration; the release step finds the services); the trailing id is the stack's generated UUID",
	},
	{
		ResourceType: "AWS::IAM::Policy",
		Stack:        cicdStack,
		Action:       regexp.MustCompile(`^ecs:(List|Describe)ServiceDeployments$`),
		Resource:     regexp.MustCompile(`:(service|service-deployment)/ecsr-[a-z0-9]+/\*"\]\]\}$`),
		Reason:       "the services of the environment's one cluster and their deployments, which the release step follows (scripts/release-wait.sh); service names are generated",
	},
}

// cicdStack matches the delivery pipeline's stacks, the only ones allowed the deploy roles' wildcards.
var cicdStack = regexp.MustCompile(`^ecsr-cicd-[a-z0-9]+$`)

// TestIAMNoWildcards walks every Allow statement of every policy in every template (IAM policies and roles,
// key policies, queue, topic, bucket and secret policies) and fails on a wildcard action or resource that no
// allowance above covers.
func TestIAMNoWildcards(t *testing.T) {
	forEachEnvironment(t, checkWildcards)
	t.Run("cicd", func(t *testing.T) { checkWildcards(t, synthCICD(t)) })
}

// checkWildcards fails on every wildcard of s's templates that no allowance covers.
func checkWildcards(t *testing.T, s *synthesized) {
	t.Helper()
	var problems []string
	for _, name := range s.stackNames() {
		for id, r := range s.templates[name].Resources {
			for _, st := range statements(r) {
				for _, p := range wildcards(name, r.Type, st) {
					problems = append(problems, fmt.Sprintf("%s %s (%s): %s", name, id, r.Type, p))
				}
			}
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		t.Errorf("%d wildcard(s) where a specific action or resource exists:\n%s", len(problems), strings.Join(problems, "\n"))
	}
}

// statements returns the policy statements a resource carries.
func statements(r resource) []map[string]any {
	var docs []any
	switch r.Type {
	case "AWS::IAM::Policy", "AWS::IAM::ManagedPolicy", "AWS::SQS::QueuePolicy", "AWS::SNS::TopicPolicy",
		"AWS::S3::BucketPolicy", "AWS::SecretsManager::ResourcePolicy":
		docs = append(docs, r.Properties["PolicyDocument"])
		if r.Type == "AWS::SecretsManager::ResourcePolicy" {
			docs = append(docs, r.Properties["ResourcePolicy"])
		}
	case "AWS::KMS::Key":
		docs = append(docs, r.Properties["KeyPolicy"])
	case "AWS::IAM::Role":
		policies, _ := r.Properties["Policies"].([]any)
		for _, p := range policies {
			docs = append(docs, p.(map[string]any)["PolicyDocument"])
		}
	}
	var out []map[string]any
	for _, d := range docs {
		doc, ok := d.(map[string]any)
		if !ok {
			continue
		}
		switch st := doc["Statement"].(type) {
		case []any:
			for _, x := range st {
				out = append(out, x.(map[string]any))
			}
		case map[string]any:
			out = append(out, st)
		}
	}
	return out
}

// wildcards returns the wildcard actions and resources of an Allow statement no allowance covers. Deny
// statements may be as broad as they like.
func wildcards(stack, resourceType string, st map[string]any) []string {
	if st["Effect"] != "Allow" {
		return nil
	}
	principal := mustJSON(st["Principal"])
	allowed := func(action, res string) bool {
		for _, a := range wildcardAllowances {
			if a.ResourceType == resourceType && a.Action.MatchString(action) && a.Resource.MatchString(res) &&
				(a.Principal == nil || a.Principal.MatchString(principal)) && (a.Stack == nil || a.Stack.MatchString(stack)) {
				return true
			}
		}
		return false
	}
	actions := asStrings(st["Action"])
	var resources []string
	switch r := st["Resource"].(type) {
	case []any:
		for _, x := range r {
			resources = append(resources, mustJSON(x))
		}
	case nil:
	default:
		resources = append(resources, mustJSON(r))
	}
	var out []string
	for _, a := range actions {
		for _, res := range resources {
			wild := strings.Contains(a, "*") || strings.Contains(res, "*")
			if wild && !allowed(a, res) {
				out = append(out, fmt.Sprintf("%s on %s", a, res))
			}
		}
	}
	return out
}

// TestTaskRoleTrustConditions: every task role (the role the application code runs as) trusts
// ecs-tasks.amazonaws.com only for ECS tasks of the environment's own account and region, the confused-deputy
// conditions the ECS task IAM role page recommends
// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html).
func TestTaskRoleTrustConditions(t *testing.T) {
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		taskRoles := 0
		for _, part := range []string{"cluster", "stateless"} {
			tmpl := s.stack(t, part)
			for _, td := range tmpl.ofType("AWS::ECS::TaskDefinition") {
				arn, _ := td.Properties["TaskRoleArn"].(map[string]any)
				getAtt, _ := arn["Fn::GetAtt"].([]any)
				if len(getAtt) == 0 {
					t.Errorf("task definition in %s has no task role of its stack: %v", part, td.Properties["TaskRoleArn"])
					continue
				}
				roleID := getAtt[0].(string)
				taskRoles++
				trust := mustJSON(tmpl.Resources[roleID].Properties["AssumeRolePolicyDocument"])
				for _, want := range []string{
					`"ArnLike":{"aws:SourceArn":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":ecs:` + s.env.Region + `:` + s.env.Account + `:*"]]}}`,
					`"StringEquals":{"aws:SourceAccount":"` + s.env.Account + `"}`,
					`"Service":"ecs-tasks.amazonaws.com"`,
				} {
					if !strings.Contains(trust, want) {
						t.Errorf("%s task role %s trust %s lacks %s", part, roleID, trust, want)
					}
				}
			}
		}
		if want := len(s.manifest.Services) + len(s.manifest.Jobs) + 1; taskRoles != want {
			t.Errorf("task roles checked = %d; want %d (the services, the jobs and the migration)", taskRoles, want)
		}
	})
}
