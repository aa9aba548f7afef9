package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2/awsecs"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
)

// deployment is the web services' deployment in an environment (its release settings, docs/releases.md).
func deployment(env *config.Environment) *service.Deployment {
	r := env.ReleaseSettings()
	strategy := map[config.ReleaseStrategy]awsecs.DeploymentStrategy{
		config.ReleaseBlueGreen: awsecs.DeploymentStrategy_BLUE_GREEN,
		config.ReleaseCanary:    awsecs.DeploymentStrategy_CANARY,
		config.ReleaseLinear:    awsecs.DeploymentStrategy_LINEAR,
	}[r.Strategy]
	return &service.Deployment{
		Strategy: strategy, BakeMinutes: r.BakeMinutes,
		StepPercent: r.StepPercent, StepBakeMinutes: r.StepBakeMinutes,
	}
}
