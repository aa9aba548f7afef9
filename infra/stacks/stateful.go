package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/database"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/messaging"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/network"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/observability"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/secrets"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// StatefulProps configures the stateful stack.
type StatefulProps struct {
	// Env is the environment the stack belongs to.
	Env *config.Environment
	// Manifest declares the topics and queues.
	Manifest *manifest.Manifest
}

// Stateful is the stack of resources whose replacement would lose data or break addresses: the network, the
// database, the topics and queues, their keys and the alarm topic. Its logical IDs are pinned by a test
// (testdata/stateful-logical-ids.json): never rename the construct IDs below.
type Stateful struct {
	awscdk.Stack
	// Observability holds the log key and the alarm topic; Alarm wires any alarm to it.
	Observability *observability.Observability
	// Network is the VPC.
	Network *network.Network
	// Database is the PostgreSQL instance (and proxy).
	Database *database.Database
	// Messaging holds the topics and queues by manifest name.
	Messaging *messaging.Messaging
	// Secrets holds the services' own secrets.
	Secrets *secrets.Secrets
}

// NewStateful creates the stateful stack of an environment.
func NewStateful(scope constructs.Construct, id string, props StatefulProps) *Stateful {
	env := props.Env
	stack := awscdk.NewStack(scope, jsii.String(id), &awscdk.StackProps{
		Env:                   regional(env),
		StackName:             jsii.String(id),
		Description:           jsii.String("ECS Reworked " + env.Name + ": network, database, messaging and alarm topic"),
		TerminationProtection: jsii.Bool(env.TerminationProtection),
	})
	retention := logRetention(env)
	obs := observability.New(stack, "Observability", observability.Props{
		Emails:       env.Alarms.Emails,
		LogRetention: retention,
		LogRemoval:   removalPolicy(env.Removal.Logs),
		KeyRemoval:   removalPolicy(env.Removal.Data),
	})
	net := network.New(stack, "Network", network.Props{
		CIDR:         env.Network.CIDR,
		Zones:        env.Network.Zones(env.Region),
		NATGateways:  env.Network.NATGateways,
		Endpoints:    endpoints(env.Network.Endpoints),
		LogKey:       obs.Key,
		LogRetention: retention,
		LogRemoval:   removalPolicy(env.Removal.Logs),
	})
	msg := messaging.New(stack, "Messaging", messaging.Props{
		Manifest:   props.Manifest,
		NamePrefix: "ecsr-" + env.Name,
		Thresholds: messaging.Thresholds{DeadLetterDepth: env.Messaging.DLQDepthThreshold,
			OldestMessageAgeSeconds: env.Messaging.OldestMessageAgeSeconds},
		AlarmTopic: obs.AlarmTopic,
		Removal:    removalPolicy(env.Removal.Data),
	})
	sec := secrets.New(stack, "Secrets", secrets.Props{
		Manifest: props.Manifest, Environment: env.Name, Removal: removalPolicy(env.Removal.Data),
	})
	db := database.New(stack, "Database", database.Props{
		Identifier: "ecsr-" + env.Name,
		Settings:   databaseSettings(env.Database),
		Removal:    databaseRemoval(env.Removal.Database),
		Vpc:        net.Vpc,
		Thresholds: database.Thresholds{CPUPercent: env.Alarms.DatabaseCPUPercent,
			FreeStorageGiB: env.Alarms.DatabaseFreeStorageGiB, Connections: env.Alarms.DatabaseConnections},
		AlarmTopic:   obs.AlarmTopic,
		LogKey:       obs.Key,
		LogRetention: retention,
		LogRemoval:   removalPolicy(env.Removal.Logs),
		KeyRemoval:   removalPolicy(env.Removal.Data),
	})
	// The instance's resource ID is exported whether or not the services use it. Without a proxy the services'
	// rds-db:connect grant names it; with one they name the proxy, and the export would vanish with the toggle.
	// Turning database.rds_proxy on updates this stack first, while the deployed stateless stack still imports
	// it, and "After another stack imports an output value, you can't delete the stack that is exporting the
	// output value or modify the exported output value"
	// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/intrinsic-function-reference-importvalue.html).
	// ExportValue gives it the name of the automatic cross-stack reference, so the deployed import keeps
	// resolving. The instance endpoint and security group are exported either way (the migration task uses them);
	// the proxy's exports appear with the proxy. Preflight's imported-export rule checks the toggle
	// (TestRDSProxyToggleKeepsImportedExports).
	stack.ExportValue(db.InstanceResourceID(), nil)
	// Transition: the load balancer moved from the public to the private subnets (CloudFront VPC origin, ADR 0009),
	// so the stateless stack no longer imports the public subnets. A stateless stack deployed before the move
	// still does, so the exports stay for one release after every environment has deployed the move (the same
	// CloudFormation rule as above; preflight's imported-export rule finds them with a baseline from before it).
	for _, sn := range *net.Vpc.PublicSubnets() {
		stack.ExportValue(sn.SubnetId(), nil)
	}
	return &Stateful{Stack: stack, Observability: obs, Network: net, Database: db, Messaging: msg, Secrets: sec}
}
