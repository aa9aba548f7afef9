package stacks

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsec2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecr"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/database"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/migration"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
)

// ClusterProps configures the cluster stack.
type ClusterProps struct {
	// Env is the environment the stack belongs to.
	Env *config.Environment
	// Inputs holds the manifest and the image to deploy.
	Inputs config.Inputs
	// Stateful provides the network, the database and the log key.
	Stateful *Stateful
}

// Cluster is the stack deployed between the stateful and the stateless stack: the ECS cluster and the migration
// task. The deploy runs the migration task from it before the services exist or change, so their database
// roles and schema are in place when their first task starts (docs/adr/0012-deploy-order.md). It holds no data.
type Cluster struct {
	awscdk.Stack
	// Cluster runs the migration task and the services.
	Cluster awsecs.Cluster
	// Image is the service image at the tag or digest being deployed.
	Image awsecs.ContainerImage
	// Migration is the one-off migration task.
	Migration *migration.Migration
}

// image is the service image at the release's tag or digest, from the repository in the images account. The
// repository's policy (stack ecsr-cicd-images) lets this environment's roles pull across accounts; the roles'
// own policies (CDK grants on the imported repository) allow the pull on their side.
func image(scope constructs.Construct, env *config.Environment, in config.Inputs) awsecs.ContainerImage {
	repo := awsecr.Repository_FromRepositoryAttributes(scope, jsii.String("Repository"), &awsecr.RepositoryAttributes{
		RepositoryName: jsii.String(env.Image.Repository),
		RepositoryArn:  jsii.String(RepositoryArn(env.Region, env.Image.Account, env.Image.Repository)),
	})
	return awsecs.ContainerImage_FromEcrRepository(repo, jsii.String(imageRef(in)))
}

// RepositoryArn is the ARN of the image repository name in account and region.
func RepositoryArn(region, account, name string) string {
	return "arn:aws:ecr:" + region + ":" + account + ":repository/" + name
}

// ClusterName is the name of an environment's ECS cluster.
func ClusterName(env string) string { return "ecsr-" + env }

// MigrationFamily is the task definition family of an environment's migration task.
func MigrationFamily(env string) string { return "ecsr-" + env + "-migrate" }

// RolePath is the IAM path of every role in an environment's stacks, "/ecsr/<env>/": a role's ARN includes its
// path, so policies can name an environment's roles by it whatever names CloudFormation generates (IAM
// identifiers, https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html). Paths are at most
// 512 characters of printable ASCII starting and ending with a slash; an environment name is 2-15 lowercase
// letters and digits.
func RolePath(env string) string { return "/ecsr/" + env + "/" }

// MigrationRolePath is the IAM path of the migration task's roles, the only roles the deploy role may pass.
func MigrationRolePath(env string) string { return RolePath(env) + "migration/" }

// NewCluster creates the cluster stack of an environment.
func NewCluster(scope constructs.Construct, id string, props ClusterProps) *Cluster {
	env, st, m := props.Env, props.Stateful, props.Inputs.Manifest
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:         regional(env),
		StackName:   jsii.String(id),
		Description: jsii.String("ECS Reworked " + env.Name + ": ECS cluster and the database migration task"),
	})
	awscdk.CrossStackReferences_Of(stack).Consume(awscdk.ReferenceStrength_STRONG)
	c := &Cluster{Stack: stack}
	vpc, obs, db := st.Network.Vpc, st.Observability, st.Database

	clusterProps := service.ClusterProps{Vpc: vpc}
	for _, ms := range m.Services {
		if env.Sizing(ms.Name).ECSExec {
			clusterProps.ExecLogGroup = obs.NewLogGroup(stack, "ExecLogs")
			break
		}
	}
	// The cluster's capacity provider association (FARGATE, FARGATE_SPOT) is created in this stack with it, so the
	// services of the stateless stack, which depends on this one, are created after it and deleted before it:
	// preflight's capacity-association rule checks that no service shares a stack with it undepended.
	c.Cluster = service.NewCluster(stack, clusterID, clusterProps)
	// An explicit name: the deploy role may run and read tasks in exactly this cluster.
	c.Cluster.Node().DefaultChild().(awsecs.CfnCluster).SetClusterName(jsii.String(ClusterName(env.Name)))
	c.Image = image(stack, env, props.Inputs)
	c.Migration = migration.New(stack, "Migration", migration.Props{
		Cluster: c.Cluster, Vpc: vpc, Image: c.Image,
		Family: MigrationFamily(env.Name), RolePath: MigrationRolePath(env.Name),
		Host: *db.InstanceEndpoint(), Port: strconv.Itoa(database.Port), Name: db.Name(), CAFile: service.CAFile,
		MasterSecretArn: db.Secret().SecretArn(), MasterSecretKey: db.Key,
		AllowFrom:    func(p awsec2.IConnectable) { db.AllowDirectFrom(p, "migration task") },
		LogRetention: logRetention(env), LogKey: obs.Key, LogRemoval: removalPolicy(env.Removal.Logs),
	})
	return c
}
