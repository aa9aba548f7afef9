package stacks

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
)

// TestReleases: per environment, web services deploy with the environment's strategy and bake time, through a
// test listener routed by their own rule, with the smoke test hook at the test-traffic stage; workers roll with
// the circuit breaker; every container has the -healthcheck health check.
func TestReleases(t *testing.T) {
	strategies := map[config.ReleaseStrategy]string{
		config.ReleaseBlueGreen: "BLUE_GREEN", config.ReleaseCanary: "CANARY", config.ReleaseLinear: "LINEAR",
	}
	forEachEnvironment(t, func(t *testing.T, s *synthesized) {
		tmpl := s.stack(t, "stateless")
		r := s.env.ReleaseSettings()
		byContainer := map[string]map[string]any{}
		for _, td := range tmpl.ofType("AWS::ECS::TaskDefinition") {
			c := td.Properties["ContainerDefinitions"].([]any)[0].(map[string]any)
			byContainer[c["Name"].(string)] = c
		}
		for _, ms := range s.manifest.Services {
			hc, _ := byContainer[ms.Name]["HealthCheck"].(map[string]any)
			if got, want := toJSON(hc["Command"]), toJSON([]string{"CMD", "/app/ecsr", ms.Command, "-healthcheck"}); got != want {
				t.Errorf("%s health check command = %s; want %s", ms.Name, got, want)
			}
		}
		for id, svc := range tmpl.ofType("AWS::ECS::Service") {
			dc := svc.Properties["DeploymentConfiguration"].(map[string]any)
			lbs, _ := svc.Properties["LoadBalancers"].([]any)
			if len(lbs) == 0 { // the worker
				if dc["Strategy"] != nil || dc["LifecycleHooks"] != nil || toJSON(dc["DeploymentCircuitBreaker"]) != `{"Enable":true,"Rollback":true}` {
					t.Errorf("%s (no load balancer) deployment = %s; want a rolling update with the circuit breaker", id, toJSON(dc))
				}
				continue
			}
			if dc["Strategy"] != strategies[r.Strategy] || toJSON(dc["BakeTimeInMinutes"]) != jsonNumber(r.BakeMinutes) {
				t.Errorf("%s strategy %v, bake %v; want %s, %d (release settings %v)", id, dc["Strategy"], dc["BakeTimeInMinutes"], strategies[r.Strategy], r.BakeMinutes, r)
			}
			if r.Strategy == config.ReleaseCanary {
				want := fmt.Sprintf(`{"CanaryBakeTimeInMinutes":%d,"CanaryPercent":%v}`, r.StepBakeMinutes, r.StepPercent)
				if got := toJSON(dc["CanaryConfiguration"]); got != want {
					t.Errorf("%s canary = %s; want %s", id, got, want)
				}
			}
			if a := dc["Alarms"].(map[string]any); a["Rollback"] != true || len(a["AlarmNames"].([]any)) == 0 {
				t.Errorf("%s deployment alarms = %v; want rollback on alarms", id, a)
			}
			adv := lbs[0].(map[string]any)["AdvancedConfiguration"].(map[string]any)
			for _, k := range []string{"AlternateTargetGroupArn", "ProductionListenerRule", "TestListenerRule", "RoleArn"} {
				if adv[k] == nil {
					t.Errorf("%s advanced configuration lacks %s: %s", id, k, toJSON(adv))
				}
			}
			testRule := tmpl.Resources[adv["TestListenerRule"].(map[string]any)["Ref"].(string)]
			listener := tmpl.Resources[testRule.Properties["ListenerArn"].(map[string]any)["Ref"].(string)]
			// Each web service has its own test listener, from TestPortBase on.
			port, _ := listener.Properties["Port"].(float64)
			if port < loadbalancer.TestPortBase || port >= float64(loadbalancer.TestPortBase+len(s.manifest.WebServices())) || listener.Properties["Protocol"] != "HTTP" {
				t.Errorf("%s test listener = %s; want HTTP on a port from %d", id, toJSON(listener.Properties), loadbalancer.TestPortBase)
			}
			// The target 5xx (rollback), p99 latency and unhealthy-host alarms watch both target groups: production
			// traffic is on either after a deployment.
			blue := toJSON(lbs[0].(map[string]any)["TargetGroupArn"])
			green := toJSON(adv["AlternateTargetGroupArn"])
			both := 0
			for _, a := range tmpl.ofType("AWS::CloudWatch::Alarm") {
				j := toJSON(a.Properties)
				name := strings.Trim(blue, `{}"Ref:`)
				if strings.Contains(j, name) && strings.Contains(j, strings.Trim(green, `{}"Ref:`)) {
					both++
				}
			}
			if both != 3 {
				t.Errorf("%s: %d alarms watch both target groups (%s, %s); want 3 (5xx, p99, unhealthy hosts)", id, both, blue, green)
			}
			hooks := dc["LifecycleHooks"].([]any)
			if len(hooks) != 1 {
				t.Fatalf("%s lifecycle hooks = %s; want the smoke test", id, toJSON(hooks))
			}
			hook := hooks[0].(map[string]any)
			if toJSON(hook["LifecycleStages"]) != `["POST_TEST_TRAFFIC_SHIFT"]` {
				t.Errorf("%s hook stages = %s; want POST_TEST_TRAFFIC_SHIFT", id, toJSON(hook["LifecycleStages"]))
			}
			fn := tmpl.Resources[hook["HookTargetArn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)]
			p := fn.Properties
			if p["Runtime"] != "provided.al2023" || toJSON(p["Architectures"]) != `["arm64"]` || p["Handler"] != "bootstrap" ||
				toJSON(p["Timeout"]) != jsonNumber(service.HookTimeoutSeconds) || p["VpcConfig"] == nil {
				t.Errorf("hook function = %s; want provided.al2023 on arm64 in the VPC", toJSON(p))
			}
			if url := toJSON(p["Environment"]); !strings.Contains(url, fmt.Sprintf(":%d", int(port))) {
				t.Errorf("hook environment = %s; want SMOKE_BASE_URL on the test listener (port %d)", url, int(port))
			}
		}
	})
}

// TestReleasesDocumented keeps docs/releases.md's numbers equal to the code's.
func TestReleasesDocumented(t *testing.T) {
	doc, err := os.ReadFile("../../docs/releases.md")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, env := range environments {
		e := synth(t, env).env
		want = append(want, fmt.Sprintf("| %s | %s |", env, e.ReleaseSettings()))
	}
	want = append(want,
		fmt.Sprintf("port %d", loadbalancer.TestPortBase),
		fmt.Sprintf("every %d s", service.HealthCheckIntervalSeconds),
		fmt.Sprintf("%d failures", service.HealthCheckRetries),
		fmt.Sprintf("start period of %d s", service.HealthCheckStartPeriodSeconds),
		fmt.Sprintf("timeout of %d s", service.HookTimeoutSeconds),
		fmt.Sprintf("%d minutes in production", config.MinProductionBakeMinutes),
		string(service.HookStage),
	)
	for _, w := range want {
		if !strings.Contains(string(doc), w) {
			t.Errorf("docs/releases.md does not say %q", w)
		}
	}
}
