package service

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// ClusterProps configures the cluster.
type ClusterProps struct {
	// Vpc holds the cluster's tasks.
	Vpc awsec2.IVpc
	// ExecLogGroup, when set, records ECS Exec sessions (for environments that enable ECS Exec). The task roles
	// may then write to this log group only, instead of to any log group.
	ExecLogGroup awslogs.ILogGroup
}

// NewCluster creates the ECS cluster the services run in: Fargate and Fargate Spot capacity providers and
// Container Insights with enhanced observability (per-task and per-container metrics; the worker's scaling
// reads its RunningTaskCount).
func NewCluster(scope constructs.Construct, id string, props ClusterProps) awsecs.Cluster {
	cp := &awsecs.ClusterProps{
		Vpc:                            props.Vpc,
		ContainerInsightsV2:            awsecs.ContainerInsights_ENHANCED,
		EnableFargateCapacityProviders: jsii.Bool(true),
	}
	if props.ExecLogGroup != nil {
		cp.ExecuteCommandConfiguration = &awsecs.ExecuteCommandConfiguration{
			Logging: awsecs.ExecuteCommandLogging_OVERRIDE,
			LogConfiguration: &awsecs.ExecuteCommandLogConfiguration{
				CloudWatchLogGroup:          props.ExecLogGroup,
				CloudWatchEncryptionEnabled: jsii.Bool(true),
			},
		}
	}
	return awsecs.NewCluster(scope, jsii.String(id), cp)
}

// Image returns the service image from the ECR repository named repository, imported by name (the delivery
// pipeline owns the repository), at tagOrDigest: a tag, or a digest "sha256:..." which pins the exact image.
func Image(scope constructs.Construct, id, repository, tagOrDigest string) awsecs.ContainerImage {
	repo := awsecr.Repository_FromRepositoryName(scope, jsii.String(id), jsii.String(repository))
	return awsecs.ContainerImage_FromEcrRepository(repo, jsii.String(tagOrDigest))
}

// TasksPrincipal is ecs-tasks.amazonaws.com for a task role's trust policy, limited to ECS tasks of this stack's
// account and region: "we recommend that you use the aws:SourceAccount or aws:SourceArn condition keys ... in the
// trust relationship ... to prevent the confused deputy security issue", with aws:SourceArn
// arn:aws:ecs:<region>:<account>:* (Amazon ECS task IAM role,
// https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-iam-roles.html). Task roles only: the task
// execution role page (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html)
// documents its trust policy without conditions, and the ECS and Fargate agents assume that role, so CDK's
// unconditioned default stays there.
func TasksPrincipal(scope constructs.Construct) awsiam.IPrincipal {
	stack := awscdk.Stack_Of(scope)
	return awsiam.NewServicePrincipal(jsii.String("ecs-tasks.amazonaws.com"), &awsiam.ServicePrincipalOpts{
		Conditions: &map[string]any{
			"ArnLike":      map[string]any{"aws:SourceArn": awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("arn:"), stack.Partition(), jsii.String(":ecs:"), stack.Region(), jsii.String(":"), stack.Account(), jsii.String(":*")})},
			"StringEquals": map[string]any{"aws:SourceAccount": stack.Account()},
		},
	})
}
