// Package migration provides the one-off task that applies the database migrations (`/app/ecsr migrate`). The
// deploy (scripts/deploy.sh) runs it with `aws ecs run-task` after the stack that holds it and before the
// services' stack, using the stack outputs this construct creates (task definition, cluster, subnets, security
// group, log group), and waits for it to exit 0.
//
// The task connects as the RDS-managed master user: DATABASE_USER and DATABASE_PASSWORD are injected from the
// master secret's username and password fields by ECS (never plain variables). It creates the schemas, the
// service roles and their grants (docs/configuration.md).
package migration

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// Props configures the migration task.
type Props struct {
	// Cluster runs the task; Vpc holds it in the private subnets.
	Cluster awsecs.ICluster
	Vpc     awsec2.IVpc
	// Image is the shared service image; the task runs `/app/ecsr migrate` from it.
	Image awsecs.ContainerImage
	// Family is the task definition's family. RolePath is the IAM path of the task's task and execution roles
	// ("/a/b/"): the pipeline's deploy role may pass the roles under it (iam:PassRole on role/a/b/*), whatever
	// names CloudFormation generates for them.
	Family, RolePath string
	// Host, Port and Name locate the database; CAFile is the CA bundle inside the image.
	Host, Port, Name, CAFile string
	// MasterSecretArn is the complete ARN of the database's master secret (fields username and password) and
	// MasterSecretKey the KMS key that encrypts it. The secret is imported by ARN so the grants land on the
	// execution role only: granting through the secret's own construct would add the role to the key policy in
	// the stateful stack, a reference back into this stack.
	MasterSecretArn *string
	MasterSecretKey awskms.IKey
	// AllowFrom opens the database's security group to the task.
	AllowFrom func(peer awsec2.IConnectable)
	// LogRetention, LogKey (optional) and LogRemoval configure the task's log group.
	LogRetention awslogs.RetentionDays
	LogKey       awskms.IKey
	LogRemoval   awscdk.RemovalPolicy
}

// Migration is the migration task definition and where to run it.
type Migration struct {
	constructs.Construct
	// TaskDefinition runs `/app/ecsr migrate`.
	TaskDefinition awsecs.FargateTaskDefinition
	// SecurityGroup is the task's security group (the database admits it).
	SecurityGroup awsec2.SecurityGroup
	// Subnets are the private subnets to run the task in.
	Subnets []*string
}

// New creates the migration task definition and its stack outputs.
func New(scope constructs.Construct, id string, props Props) *Migration {
	c := constructs.NewConstruct(scope, jsii.String(id))
	m := &Migration{Construct: c}
	logs := awslogs.NewLogGroup(c, jsii.String("Logs"), &awslogs.LogGroupProps{
		Retention: props.LogRetention, EncryptionKey: props.LogKey, RemovalPolicy: props.LogRemoval,
	})
	role := func(id, what string, assumedBy awsiam.IPrincipal) awsiam.Role {
		return awsiam.NewRole(c, jsii.String(id), &awsiam.RoleProps{
			AssumedBy: assumedBy, Path: optional(props.RolePath), Description: jsii.String(what),
		})
	}
	m.TaskDefinition = awsecs.NewFargateTaskDefinition(c, jsii.String("Task"), &awsecs.FargateTaskDefinitionProps{
		Family: optional(props.Family),
		// The task role's trust carries the confused-deputy conditions, the execution role's does not (service.TasksPrincipal).
		TaskRole:       role("TaskRole", "Task role of the database migration task (no AWS permissions)", service.TasksPrincipal(c)),
		ExecutionRole:  role("ExecutionRole", "Pulls the migration task's image, writes its logs and reads the master secret", awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), nil)),
		Cpu:            jsii.Number(256),
		MemoryLimitMiB: jsii.Number(512),
		RuntimePlatform: &awsecs.RuntimePlatform{
			CpuArchitecture:       awsecs.CpuArchitecture_ARM64(),
			OperatingSystemFamily: awsecs.OperatingSystemFamily_LINUX(),
		},
	})
	secret := awssecretsmanager.Secret_FromSecretCompleteArn(c, jsii.String("MasterSecret"), props.MasterSecretArn)
	m.TaskDefinition.AddContainer(jsii.String("migrate"), &awsecs.ContainerDefinitionOptions{
		Image:                  props.Image,
		EntryPoint:             jsii.Strings(manifest.EntryPoint(manifest.MigrateCommand)...),
		Essential:              jsii.Bool(true),
		ReadonlyRootFilesystem: jsii.Bool(true),
		Environment: &map[string]*string{
			"LOG_FORMAT":       jsii.String("json"),
			"LOG_LEVEL":        jsii.String("info"),
			"AWS_REGION":       awscdk.Stack_Of(c).Region(),
			"DATABASE_HOST":    jsii.String(props.Host),
			"DATABASE_PORT":    jsii.String(props.Port),
			"DATABASE_NAME":    jsii.String(props.Name),
			"DATABASE_SSLMODE": jsii.String("verify-full"),
			"DATABASE_CA_FILE": jsii.String(props.CAFile),
		},
		Secrets: &map[string]awsecs.Secret{
			"DATABASE_USER":     awsecs.Secret_FromSecretsManager(secret, jsii.String("username")),
			"DATABASE_PASSWORD": awsecs.Secret_FromSecretsManager(secret, jsii.String("password")),
		},
		Logging: awsecs.LogDriver_AwsLogs(&awsecs.AwsLogDriverProps{
			LogGroup: logs, StreamPrefix: jsii.String("migrate"), Mode: awsecs.AwsLogDriverMode_NON_BLOCKING,
		}),
	})
	if props.MasterSecretKey != nil {
		m.TaskDefinition.ObtainExecutionRole().AddToPrincipalPolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions:   jsii.Strings("kms:Decrypt"),
			Resources: &[]*string{props.MasterSecretKey.KeyArn()},
			Conditions: &map[string]any{"StringEquals": map[string]any{
				"kms:ViaService": "secretsmanager." + *awscdk.Stack_Of(c).Region() + ".amazonaws.com",
			}},
		}))
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{
		{
			Id:     jsii.String("AwsSolutions-ECS2"),
			Reason: jsii.String("The plain variables are non-secret addresses and settings (docs/configuration.md); the master user name and password are injected from Secrets Manager."),
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("ecr:GetAuthorizationToken, which the execution role needs to pull the image, supports no resource-level permission; image pulls are scoped to the repository."),
			AppliesTo: &[]interface{}{jsii.String("Resource::*")},
		},
	}, jsii.Bool(true))

	m.SecurityGroup = awsec2.NewSecurityGroup(c, jsii.String("SecurityGroup"), &awsec2.SecurityGroupProps{
		Vpc:              props.Vpc,
		Description:      jsii.String("One-off database migration task"),
		AllowAllOutbound: jsii.Bool(false),
	})
	// Outbound: HTTPS to the AWS APIs (through the NAT gateways or VPC endpoints); the database port is opened
	// to the database's security group only, by Database.AllowFrom.
	m.SecurityGroup.AddEgressRule(awsec2.Peer_AnyIpv4(), awsec2.Port_Tcp(jsii.Number(443)), jsii.String("HTTPS to AWS APIs"), jsii.Bool(false))
	if props.AllowFrom != nil {
		props.AllowFrom(m.SecurityGroup)
	}
	private := props.Vpc.SelectSubnets(&awsec2.SubnetSelection{SubnetType: awsec2.SubnetType_PRIVATE_WITH_EGRESS})
	m.Subnets = *private.SubnetIds

	out := func(name, value, what string) {
		awscdk.NewCfnOutput(scope, jsii.String(name), &awscdk.CfnOutputProps{Value: jsii.String(value), Description: jsii.String(what)})
	}
	out("MigrationTaskDefinitionArn", *m.TaskDefinition.TaskDefinitionArn(), "Task definition of the one-off migration task (aws ecs run-task --task-definition)")
	out("MigrationClusterName", *props.Cluster.ClusterName(), "Cluster to run the migration task in (aws ecs run-task --cluster)")
	out("MigrationSubnets", *awscdk.Fn_Join(jsii.String(","), private.SubnetIds), "Private subnets for the migration task (awsvpcConfiguration subnets)")
	out("MigrationLogGroup", *logs.LogGroupName(), "Log group of the migration task (its streams are migrate/migrate/<task id>)")
	out("MigrationSecurityGroup", *m.SecurityGroup.SecurityGroupId(), "Security group for the migration task (awsvpcConfiguration securityGroups)")
	return m
}

// optional returns nil for "" (the CDK default) and the string otherwise.
func optional(s string) *string {
	if s == "" {
		return nil
	}
	return jsii.String(s)
}
