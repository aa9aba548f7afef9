package diagram

import (
	"encoding/json"
	"strings"
	"testing"
)

// stack decodes a template written as JSON.
func stack(t *testing.T, name, region, tmpl string) Stack {
	t.Helper()
	s := Stack{Name: name, Region: region}
	if err := json.Unmarshal([]byte(tmpl), &s.Template); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestDOT(t *testing.T) {
	stateful := stack(t, "ecsr-x-stateful", "eu-west-1", `{
	  "Resources": {
	    "MessagingOrderEventsTopic5DB736FD": {"Type": "AWS::SNS::Topic"},
	    "MessagingFulfillmentQueue7B3664FF": {"Type": "AWS::SQS::Queue", "Properties": {"RedrivePolicy": {"deadLetterTargetArn": {"Fn::GetAtt": ["MessagingFulfillmentDeadLetterQueue9FCEE763", "Arn"]}}}},
	    "MessagingFulfillmentDeadLetterQueue9FCEE763": {"Type": "AWS::SQS::Queue"},
	    "MessagingLedgerQueue72A2C1DB": {"Type": "AWS::SQS::Queue", "Properties": {"FifoQueue": true}},
	    "Sub": {"Type": "AWS::SNS::Subscription", "Properties": {"TopicArn": {"Ref": "MessagingOrderEventsTopic5DB736FD"}, "Endpoint": {"Fn::GetAtt": ["MessagingFulfillmentQueue7B3664FF", "Arn"]}, "FilterPolicy": {}}},
	    "Key": {"Type": "AWS::KMS::Key"}
	  },
	  "Outputs": {
	    "TopicOut": {"Value": {"Ref": "MessagingOrderEventsTopic5DB736FD"}, "Export": {"Name": "ecsr-x-stateful:Topic"}},
	    "QueueOut": {"Value": {"Ref": "MessagingFulfillmentQueue7B3664FF"}, "Export": {"Name": "ecsr-x-stateful:Queue"}},
	    "QueueArnOut": {"Value": {"Fn::GetAtt": ["MessagingFulfillmentQueue7B3664FF", "Arn"]}, "Export": {"Name": "ecsr-x-stateful:QueueArn"}},
	    "LedgerOut": {"Value": {"Ref": "MessagingLedgerQueue72A2C1DB"}, "Export": {"Name": "ecsr-x-stateful:Ledger"}},
	    "LedgerArnOut": {"Value": {"Fn::GetAtt": ["MessagingLedgerQueue72A2C1DB", "Arn"]}, "Export": {"Name": "ecsr-x-stateful:LedgerArn"}}
	  }
	}`)
	stateless := stack(t, "ecsr-x-stateless", "eu-west-1", `{
	  "Resources": {
	    "ServiceworkerTask": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"TaskRoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "ContainerDefinitions": [{"Name": "worker", "Environment": [
	      {"Name": "Q", "Value": {"Fn::ImportValue": "ecsr-x-stateful:Queue"}},
	      {"Name": "LEDGER", "Value": {"Fn::ImportValue": "ecsr-x-stateful:Ledger"}},
	      {"Name": "T", "Value": {"Fn::ImportValue": "ecsr-x-stateful:Topic"}},
	      {"Name": "LOG_LEVEL", "Value": "info"}]}]}},
	    "ServiceworkerService": {"Type": "AWS::ECS::Service", "Properties": {"TaskDefinition": {"Ref": "ServiceworkerTask"}}},
	    "JobTask": {"Type": "AWS::ECS::TaskDefinition", "Properties": {"ContainerDefinitions": [{"Name": "nightly"}]}},
	    "JobSchedule": {"Type": "AWS::Scheduler::Schedule", "Properties": {"ScheduleExpression": "cron(0 3 * * ? *)",
	      "Target": {"EcsParameters": {"TaskDefinitionArn": {"Ref": "JobTask"}}}}},
	    "JobPolicy": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": []}}},
	    "Role": {"Type": "AWS::IAM::Role"},
	    "RolePolicy": {"Type": "AWS::IAM::Policy", "Properties": {"Roles": [{"Ref": "Role"}], "PolicyDocument": {"Statement": [
	      {"Effect": "Allow", "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage"], "Resource": {"Fn::ImportValue": "ecsr-x-stateful:QueueArn"}},
	      {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:GetQueueAttributes"], "Resource": {"Fn::ImportValue": "ecsr-x-stateful:LedgerArn"}}]}}}
	  }
	}`)
	got := DOT([]Stack{stateless, stateful})
	for _, want := range []string{
		`subgraph cluster_0 {` + "\n" + `    label="ecsr-x-stateful (eu-west-1)"`,
		`[label="SNS topic\norder-events"`,
		`[label="SQS queue\nfulfillment-dlq"`,
		`[label="ECS Fargate service\nworker"`,
		`"ecsr-x-stateful/MessagingOrderEventsTopic5DB736FD" -> "ecsr-x-stateful/MessagingFulfillmentQueue7B3664FF" [label="subscription (filtered)"];`,
		`"ecsr-x-stateful/MessagingFulfillmentQueue7B3664FF" -> "ecsr-x-stateful/MessagingFulfillmentDeadLetterQueue9FCEE763" [label="dead letters", style=dashed];`,
		`"ecsr-x-stateful/MessagingFulfillmentQueue7B3664FF" -> "ecsr-x-stateless/ServiceworkerService" [label="consumes"];`,
		`"ecsr-x-stateless/ServiceworkerService" -> "ecsr-x-stateful/MessagingOrderEventsTopic5DB736FD" [label="publishes"];`,
		`"ecsr-x-stateless/ServiceworkerService" -> "ecsr-x-stateful/MessagingLedgerQueue72A2C1DB" [label="sends"];`,
		`[label="ECS scheduled task\nnightly\ncron(0 3 * * ? *)"`,
		`"ecsr-x-stateless/JobSchedule" -> "ecsr-x-stateless/JobTask" [label="runs"];`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("DOT() lacks %s\n%s", want, got)
		}
	}
	for _, not := range []string{"Key", "Role", "ServiceworkerTask\""} {
		if strings.Contains(got, not) {
			t.Errorf("DOT() draws %s, which it should leave out\n%s", not, got)
		}
	}
	if again := DOT([]Stack{stateful, stateless}); again != got {
		t.Error("DOT() depends on the order of its input")
	}
}
