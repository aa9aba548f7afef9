package preflight

import (
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/connections"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/metrics"
	"github.com/ecs-reworked/ecs-reworked/migrations"
)

// ProjectOptions returns the options that carry this system's side of the rules: the database roles the
// migrations create, the connections each service task and the migration open, and the namespace, dimension and
// service (and job) names of the embedded metrics (from the services manifest m). Callers add the environment,
// the mode and the baseline.
func ProjectOptions(m *manifest.Manifest) Options {
	o := Options{
		ServiceRoles:      migrations.ServiceRoles(),
		PoolSize:          connections.PerServiceTask,
		MigrationPoolSize: connections.PerMigration,
		MetricsNamespace:  metrics.Namespace,
		MetricsDimension:  metrics.ServiceDimension,
	}
	for _, s := range m.Services {
		o.MetricsServices = append(o.MetricsServices, s.Name)
	}
	for _, j := range m.Jobs { // a job's metrics carry its name in the same dimension
		o.MetricsServices = append(o.MetricsServices, j.Name)
	}
	return o
}
