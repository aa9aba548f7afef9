package shield_test

import (
	"slices"
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/shield"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

const (
	distribution = "arn:aws:cloudfront::111111111111:distribution/E1"
	loadBalancer = "arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/x/1"
)

func TestProtections(t *testing.T) {
	tests := []struct {
		name            string
		props           shield.Props
		wantProtections []string
		wantMembers     []string // nil: no group
	}{
		{
			name:            "regional protection without a group",
			props:           shield.Props{Name: "ecsr-test", Resources: map[string]*string{"load-balancer": jsii.String(loadBalancer)}},
			wantProtections: []string{loadBalancer},
		},
		{
			name: "global protection with a group over a member protected elsewhere",
			props: shield.Props{Name: "ecsr-test", Resources: map[string]*string{"distribution": jsii.String(distribution)},
				Group: "ecsr-test", Members: []*string{jsii.String(loadBalancer)}},
			wantProtections: []string{distribution},
			wantMembers:     []string{distribution, loadBalancer},
		},
		{
			name: "both protections and their group",
			props: shield.Props{Name: "ecsr-test", Group: "ecsr-test", Resources: map[string]*string{
				"distribution": jsii.String(distribution), "load-balancer": jsii.String(loadBalancer),
			}},
			wantProtections: []string{distribution, loadBalancer},
			wantMembers:     []string{distribution, loadBalancer},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stack := constructtest.NewStack(t, "test", "us-east-1")
			shield.New(stack, "Shield", tt.props)
			tpl := constructtest.TemplateOf(stack)
			var arns []string
			for _, p := range tpl.Resources("AWS::Shield::Protection") {
				arns = append(arns, constructtest.Props(p)["ResourceArn"].(string))
			}
			if got, want := constructtest.JSON(sorted(arns)), constructtest.JSON(tt.wantProtections); got != want {
				t.Errorf("protected ARNs = %s; want %s", got, want)
			}
			groups := tpl.Resources("AWS::Shield::ProtectionGroup")
			if tt.wantMembers == nil {
				if len(groups) != 0 {
					t.Errorf("protection groups = %d; want none", len(groups))
				}
				return
			}
			group := tpl.Only(t, "AWS::Shield::ProtectionGroup")
			var members []string
			for _, m := range group["Members"].([]any) {
				members = append(members, m.(string))
			}
			if group["Aggregation"] != "MAX" || group["Pattern"] != "ARBITRARY" || constructtest.JSON(sorted(members)) != constructtest.JSON(tt.wantMembers) {
				t.Errorf("protection group = %v; want MAX over %v", group, tt.wantMembers)
			}
			for id, r := range groups {
				if got := len(constructtest.List(r["DependsOn"])); got != len(tt.wantProtections) {
					t.Errorf("group %s depends on %v; want the %d protections of this stack", id, r["DependsOn"], len(tt.wantProtections))
				}
			}
		})
	}
}

func sorted(s []string) []string { return slices.Sorted(slices.Values(s)) }
