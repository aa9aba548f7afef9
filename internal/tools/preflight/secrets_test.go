package preflight

import "testing"

func TestTaskSecrets(t *testing.T) {
	stateful := func(kms string) string {
		key := ""
		if kms != "" {
			key = `,"KmsKeyId":{"Fn::GetAtt":["Key","Arn"]}`
		}
		return `{"Resources":{"Key":{"Type":"AWS::KMS::Key","Properties":{}},
			"Secret":{"Type":"AWS::SecretsManager::Secret","Properties":{"GenerateSecretString":{}` + key + `}}},
			"Outputs":{"SecretArn":{"Value":{"Ref":"Secret"},"Export":{"Name":"ecsr-dev-data:SecretArn"}},
			"KeyArn":{"Value":{"Fn::GetAtt":["Key","Arn"]},"Export":{"Name":"ecsr-dev-data:KeyArn"}}}}`
	}
	app := func(statements string) string {
		return `{"Resources":{
			"ExecRole":{"Type":"AWS::IAM::Role","Properties":{}},
			"ExecPolicy":{"Type":"AWS::IAM::Policy","Properties":{"Roles":[{"Ref":"ExecRole"}],"PolicyDocument":{"Statement":[` + statements + `]}}},
			"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{"ExecutionRoleArn":{"Fn::GetAtt":["ExecRole","Arn"]},
				"ContainerDefinitions":[{"Name":"shipping","Secrets":[{"Name":"CARRIER_API_KEY","ValueFrom":{"Fn::ImportValue":"ecsr-dev-data:SecretArn"}}]}]}}}}`
	}
	read := `{"Effect":"Allow","Action":["secretsmanager:GetSecretValue","secretsmanager:DescribeSecret"],"Resource":{"Fn::ImportValue":"ecsr-dev-data:SecretArn"}}`
	decrypt := `{"Effect":"Allow","Action":"kms:Decrypt","Resource":{"Fn::ImportValue":"ecsr-dev-data:KeyArn"}}`
	runCases(t, taskSecretsRule, []ruleCase{
		{name: "granted", stacks: []testStack{{name: "ecsr-dev-data", template: stateful("")}, {name: "ecsr-dev-app", template: app(read)}}},
		{name: "not granted", stacks: []testStack{{name: "ecsr-dev-data", template: stateful("")},
			{name: "ecsr-dev-app", template: app(`{"Effect":"Allow","Action":"logs:PutLogEvents","Resource":"*"}`)}},
			want: []string{"ecsr-dev-app/Task"}},
		{name: "granted on another secret", stacks: []testStack{{name: "ecsr-dev-data", template: stateful("")},
			{name: "ecsr-dev-app", template: app(`{"Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":"arn:aws:secretsmanager:eu-west-1:1:secret:other"}`)}},
			want: []string{"ecsr-dev-app/Task"}},
		{name: "customer managed key without decrypt", stacks: []testStack{{name: "ecsr-dev-data", template: stateful("cmk")},
			{name: "ecsr-dev-app", template: app(read)}}, want: []string{"ecsr-dev-app/Task"}},
		{name: "customer managed key with decrypt", stacks: []testStack{{name: "ecsr-dev-data", template: stateful("cmk")},
			{name: "ecsr-dev-app", template: app(read + "," + decrypt)}}},
	})
}
