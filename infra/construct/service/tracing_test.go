package service_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/service"
)

// With tracing on, every service is told where to send its spans and how many, may send them and nothing more
// on "*", and cdk-nag stays clean; with tracing off, none of it is there.
func TestTracing(t *testing.T) {
	for _, ratio := range []float64{0, 0.05} {
		f := newTracedFixture(t, prodSizing, ratio)
		if got := constructtest.NagFindings(t, f.stack); len(got) > 0 {
			t.Errorf("ratio %g: unsuppressed cdk-nag findings:\n%s", ratio, strings.Join(got, "\n"))
		}
		for name, s := range f.services {
			td := f.template.Of(t, f.stack, s.TaskDefinition)
			env := map[string]any{}
			for _, e := range td["ContainerDefinitions"].([]any)[0].(map[string]any)["Environment"].([]any) {
				env[e.(map[string]any)["Name"].(string)] = e.(map[string]any)["Value"]
			}
			var starActions []string
			roleID := *f.stack.GetLogicalId(s.TaskRole.Node().DefaultChild().(awscdk.CfnElement))
			for _, pol := range f.template.Resources("AWS::IAM::Policy") {
				p := constructtest.Props(pol)
				if constructtest.JSON(p["Roles"]) != constructtest.JSON([]any{map[string]any{"Ref": roleID}}) {
					continue
				}
				for _, st := range p["PolicyDocument"].(map[string]any)["Statement"].([]any) {
					st := st.(map[string]any)
					if st["Resource"] == "*" {
						for _, a := range constructtest.List(st["Action"]) {
							starActions = append(starActions, a.(string))
						}
					}
				}
			}
			slices.Sort(starActions)
			if ratio == 0 {
				if env[service.TraceEndpointEnv] != nil || len(starActions) > 0 {
					t.Errorf("%s with tracing off: endpoint %v, actions on * %v; want neither", name, env[service.TraceEndpointEnv], starActions)
				}
				continue
			}
			if got, want := env[service.TraceEndpointEnv], "https://xray.eu-west-1.amazonaws.com/v1/traces"; got != want {
				t.Errorf("%s: %s = %v; want %s", name, service.TraceEndpointEnv, got, want)
			}
			if got := env[service.TraceSampleRatioEnv]; got != "0.05" {
				t.Errorf("%s: %s = %v; want 0.05", name, service.TraceSampleRatioEnv, got)
			}
			want := slices.Sorted(slices.Values(service.TracingActions))
			if !slices.Equal(starActions, want) {
				t.Errorf("%s: actions on * = %v; want only the X-Ray span actions %v", name, starActions, want)
			}
		}
	}
}
