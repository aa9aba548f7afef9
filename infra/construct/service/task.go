package service

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// addTask creates the service's log group, task role and task definition with its one container.
func (s *Service) addTask(c constructs.Construct, props Props) {
	ms := props.Service
	stack := awscdk.Stack_Of(c)

	s.LogGroup = awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention:     props.LogRetention,
		EncryptionKey: props.LogKey,
		RemovalPolicy: props.LogRemoval,
	})

	s.TaskRole = awsiam.NewRole(c, jsii.String("TaskRole"), &awsiam.RoleProps{
		AssumedBy:   TasksPrincipal(c),
		Description: jsii.String("Task role of the " + ms.Name + " service: its own topics, queues and database user only"),
	})
	s.TaskDefinition = awsecs.NewFargateTaskDefinition(c, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Cpu:            jsii.Number(float64(props.Sizing.CPU)),
		MemoryLimitMiB: jsii.Number(float64(props.Sizing.Memory)),
		TaskRole:       s.TaskRole,
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       architecture(props.Sizing.X86),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})

	env := Environment(ms, *stack.Region(), props.Database, props.TraceSampleRatio,
		func(t string) string { return *props.Topics[t].TopicArn() },
		func(q string) string { return *props.Queues[q].QueueUrl() })
	s.TaskDefinition.AddContainer(jsii.String(ms.Name), &awsecs.ContainerDefinitionOptions{
		Image: props.Image,
		// The entry point, not only the command: `/app/ecsr <command>` (manifest.EntryPoint); the image's own
		// ENTRYPOINT is the api, and a command alone would become its arguments.
		EntryPoint:  jsii.Strings(manifest.EntryPoint(ms.Command)...),
		Environment: stringMap(env),
		Secrets:     containerSecrets(ms, props.Secrets),
		Essential:   jsii.Bool(true),
		// Read-only, except where ECS Exec is on: its Session Manager agent writes into the container's file system.
		ReadonlyRootFilesystem: jsii.Bool(!props.Sizing.ECSExec),
		StopTimeout:            awscdk.Duration_Seconds(jsii.Number(float64(StopTimeoutSeconds(ms)))),
		HealthCheck:            containerHealthCheck(ms), // healthcheck.go
		PortMappings: &[]*awsecs.PortMapping{{
			ContainerPort: jsii.Number(float64(ms.Port)),
			Protocol:      awsecs.Protocol_TCP,
			Name:          jsii.String("http"),
		}},
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup:     s.LogGroup,
			StreamPrefix: jsii.String(ms.Name),
			Mode:         awsecs.AwsLogDriverMode_NON_BLOCKING,
		}),
	})
	cdknag.NagSuppressions_AddResourceSuppressions(s.TaskDefinition, &[]*cdknag.NagPackSuppression{{
		Id: jsii.String("AwsSolutions-ECS2"),
		Reason: jsii.String("The plain environment variables are the non-secret configuration contract of docs/configuration.md " +
			"(addresses, names, topic ARNs, queue URLs); the services hold no password (IAM database authentication) and any secret is injected from Secrets Manager."),
	}}, jsii.Bool(false))
}

// containerSecrets are the container's secrets: each of the service's secrets, by its variable. ECS reads them
// from Secrets Manager with the task execution role when the task starts, which the secret's grant allows
// (secretsmanager:GetSecretValue; https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html).
func containerSecrets(ms manifest.Service, secrets map[string]awssecretsmanager.ISecret) *map[string]awsecs.Secret {
	if len(ms.Secrets) == 0 {
		return nil
	}
	out := map[string]awsecs.Secret{}
	for _, name := range ms.Secrets {
		out[manifest.SecretEnv(name)] = awsecs.Secret_FromSecretsManager(secrets[name], nil)
	}
	return &out
}

// architecture is the task definition's CPU architecture.
func architecture(x86 bool) awsecs.CpuArchitecture {
	if x86 {
		return awsecs.CpuArchitecture_X86_64()
	}
	return awsecs.CpuArchitecture_ARM64()
}

// suppressExecutionRole records why the execution role's one wildcard is acceptable.
func suppressExecutionRole(td awsecs.TaskDefinition) {
	cdknag.NagSuppressions_AddResourceSuppressions(td, &[]*cdknag.NagPackSuppression{{
		Id:        jsii.String("AwsSolutions-IAM5"),
		Reason:    jsii.String("ecr:GetAuthorizationToken, which the execution role needs to pull the image, supports no resource-level permission; image pulls are scoped to the repository."),
		AppliesTo: &[]interface{}{jsii.String("Resource::*")},
	}}, jsii.Bool(true))
}
