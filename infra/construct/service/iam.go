package service

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// grant gives the task role least privilege through grants: its own topics and queues (and their KMS key), its own
// database user, and X-Ray when tracing is on.
func (s *Service) grant(props Props) { grantAccess(props.Service, s.TaskRole, props) }

// grantAccess gives role what service (or job) ms declares, through grants.
func grantAccess(ms manifest.Service, role awsiam.Role, props Props) {
	for _, t := range ms.Publishes {
		props.Topics[t].GrantPublish(role)
	}
	for _, q := range ms.Consumes {
		props.Queues[q].GrantConsumeMessages(role)
	}
	for _, q := range ms.Sends {
		grantSend(props.Queues[q], role)
	}
	if props.Database.GrantConnect != nil && ms.DatabaseUser != "" {
		props.Database.GrantConnect(role, ms.DatabaseUser)
	}
	if props.TraceSampleRatio > 0 {
		grantTracing(role)
	}
	cdknag.NagSuppressions_AddResourceSuppressions(role, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-IAM5"),
		Reason: jsii.String("kms:GenerateDataKey* comes from the topic and queue grants (GenerateDataKey and GenerateDataKeyWithoutPlaintext, " +
			"both needed to publish to encrypted topics) and is limited to the messaging key's ARN."),
		AppliesTo: &[]interface{}{jsii.String("Action::kms:GenerateDataKey*")},
	}}, jsii.Bool(true))
}

// suppressExecFindings records why ECS Exec's permissions, where it is on, take wildcards.
func (s *Service) suppressExecFindings(props Props) {
	if props.Sizing.ECSExec {
		cdknag.NagSuppressions_AddResourceSuppressions(s.TaskRole, &[]*cdknag.NagPackSuppression{{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("ECS Exec (enabled for this environment only) needs the ssmmessages channel actions and logs:DescribeLogGroups, which support no resource-level permissions."),
			AppliesTo: &[]interface{}{jsii.String("Resource::*")},
		}, {
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("ECS Exec session logs: the log streams of the cluster's one exec log group, which IAM names log-group:<name>:*."),
			AppliesTo: &[]interface{}{&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:logs:[a-z0-9-]+:<AWS::AccountId>:log-group:<[A-Za-z0-9]+>:\*$/`)}},
		}}, jsii.Bool(true))
	}
}

// grantSend lets grantee send to queue, and no more: SendMessage (GetQueueAttributes and GetQueueUrl, which the
// SDK may call), and on the queue's key what a producer of an encrypted queue needs, kms:GenerateDataKey and
// kms:Decrypt (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-key-management.html,
// "Allow a producer to send messages"). Queue.GrantSendMessages adds kms:Encrypt and kms:ReEncrypt*, which sending
// does not use.
func grantSend(queue awssqs.IQueue, grantee awsiam.IGrantable) {
	queue.Grant(grantee, jsii.String("sqs:SendMessage"), jsii.String("sqs:GetQueueAttributes"), jsii.String("sqs:GetQueueUrl"))
	if key := queue.EncryptionMasterKey(); key != nil {
		key.Grant(grantee, jsii.String("kms:GenerateDataKey"), jsii.String("kms:Decrypt"))
	}
}
