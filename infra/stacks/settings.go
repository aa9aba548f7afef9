package stacks

import (
	"strconv"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/database"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/network"
)

// retentions maps the retention periods config accepts onto CDK's enumeration.
var retentions = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

// logRetention is the environment's log retention. config accepts only periods CloudWatch Logs knows, so the
// lookup cannot miss for a decoded environment.
func logRetention(env *config.Environment) awslogs.RetentionDays {
	r, ok := retentions[env.LogRetentionDays]
	if !ok {
		panic("stacks: log retention not validated by config: " + strconv.Itoa(env.LogRetentionDays))
	}
	return r
}

// removalPolicy maps a retain or destroy setting onto CDK's removal policy.
func removalPolicy(p config.RemovalPolicy) awscdk.RemovalPolicy {
	if p == config.RemovalDestroy {
		return awscdk.RemovalPolicy_DESTROY
	}
	return awscdk.RemovalPolicy_RETAIN
}

// databaseRemoval maps the database's removal setting onto CDK's removal policy: a final snapshot unless the
// environment says retain or destroy.
func databaseRemoval(p config.RemovalPolicy) awscdk.RemovalPolicy {
	switch p {
	case config.RemovalRetain:
		return awscdk.RemovalPolicy_RETAIN
	case config.RemovalDestroy:
		return awscdk.RemovalPolicy_DESTROY
	}
	return awscdk.RemovalPolicy_SNAPSHOT
}

// endpoints translates the environment's VPC endpoints into the network's.
func endpoints(es []config.Endpoint) []network.Endpoint {
	out := make([]network.Endpoint, len(es))
	for i, e := range es {
		out[i] = network.Endpoint(e)
	}
	return out
}

// databaseSettings translates the environment's database section into the database construct's settings.
func databaseSettings(d config.Database) database.Settings {
	return database.Settings{
		EngineVersion: d.EngineVersion, InstanceClass: d.InstanceClass, Name: d.Name,
		MultiAZ: d.MultiAZ, DeletionProtection: d.DeletionProtection, BackupRetentionDays: d.BackupRetentionDays,
		PerformanceInsights: d.PerformanceInsights, AllocatedStorageGiB: d.AllocatedStorageGiB,
		MaxAllocatedStorageGiB: d.MaxAllocatedStorageGiB, RDSProxy: d.RDSProxy,
	}
}
