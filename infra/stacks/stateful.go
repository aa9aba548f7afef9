package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/ecs-reworked/ecs-reworked/infra/config"
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
// database, the topics and queues, their keys and the alarm topic. Its logical IDs are pinned by a test.
type Stateful struct {
	awscdk.Stack
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
	return &Stateful{Stack: stack}
}
