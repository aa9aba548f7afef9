package service_test

import (
	"testing"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
	"github.com/ecs-reworked/ecs-reworked/internal/platform/health"
)

// TestContainerHealthChecks: every task definition, web and worker, runs its binary's -healthcheck mode as the
// container health check, within the ranges ECS accepts and within the service's stop timeout.
func TestContainerHealthChecks(t *testing.T) {
	f := newFixture(t, devSizing)
	for _, ms := range f.manifest {
		t.Run(ms.Name, func(t *testing.T) {
			td := f.template.Of(t, f.stack, f.services[ms.Name].TaskDefinition)
			hc, ok := td["ContainerDefinitions"].([]any)[0].(map[string]any)["HealthCheck"].(map[string]any)
			if !ok {
				t.Fatalf("%s container has no health check", ms.Name)
			}
			want := map[string]any{
				"Command":     []any{"CMD", "/app/ecsr", ms.Command, "-healthcheck"},
				"Interval":    float64(10),
				"Timeout":     float64(5),
				"Retries":     float64(3),
				"StartPeriod": float64(60),
			}
			for k, v := range want {
				if gotJSON, wantJSON := constructtest.JSON(hc[k]), constructtest.JSON(v); gotJSON != wantJSON {
					t.Errorf("HealthCheck.%s = %s; want %s", k, gotJSON, wantJSON)
				}
			}
			unhealthyAfter := service.HealthCheckIntervalSeconds * service.HealthCheckRetries
			if stop := service.StopTimeoutSeconds(ms); unhealthyAfter > stop {
				t.Errorf("unhealthy after %d s, longer than the %d s stop timeout", unhealthyAfter, stop)
			}
		})
	}
	// The ranges ECS accepts (healthcheck.go cites them).
	if i := service.HealthCheckIntervalSeconds; i < 5 || i > 300 {
		t.Errorf("interval %d s outside 5-300", i)
	}
	if to := service.HealthCheckTimeoutSeconds; to < 2 || to > 60 || to >= service.HealthCheckIntervalSeconds {
		t.Errorf("timeout %d s outside 2-60 or not below the interval", to)
	}
	if probe := int(health.ProbeTimeout.Seconds()); probe >= service.HealthCheckTimeoutSeconds {
		t.Errorf("the binary's probe timeout %d s is not below the health check timeout %d s", probe, service.HealthCheckTimeoutSeconds)
	}
	if r := service.HealthCheckRetries; r < 1 || r > 10 {
		t.Errorf("retries %d outside 1-10", r)
	}
	if sp := service.HealthCheckStartPeriodSeconds; sp < 0 || sp > 300 {
		t.Errorf("start period %d s outside 0-300", sp)
	}
}
