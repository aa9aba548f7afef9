package shield_test

import (
	"testing"

	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/internal/constructtest"
	"github.com/ecs-reworked/ecs-reworked/infra/construct/shield"
)

func TestMain(m *testing.M) { constructtest.Main(m) }

func TestProtections(t *testing.T) {
	stack := constructtest.NewStack(t, "test", "eu-west-1")
	shield.New(stack, "Shield", shield.Props{Name: "ecsr-test", Resources: map[string]*string{
		"distribution":  jsii.String("arn:aws:cloudfront::111111111111:distribution/E1"),
		"load-balancer": jsii.String("arn:aws:elasticloadbalancing:eu-west-1:111111111111:loadbalancer/app/x/1"),
	}})
	tpl := constructtest.TemplateOf(stack)
	protections := tpl.Resources("AWS::Shield::Protection")
	var arns []string
	for _, p := range protections {
		arns = append(arns, constructtest.Props(p)["ResourceArn"].(string))
	}
	if len(arns) != 2 {
		t.Fatalf("protections = %v; want the distribution and the load balancer", arns)
	}
	group := tpl.Only(t, "AWS::Shield::ProtectionGroup")
	if group["Aggregation"] != "MAX" || group["Pattern"] != "ARBITRARY" || len(group["Members"].([]any)) != 2 {
		t.Errorf("protection group = %v; want MAX over both resources", group)
	}
	for id, r := range tpl.Resources("AWS::Shield::ProtectionGroup") {
		if len(constructtest.List(r["DependsOn"])) != 2 {
			t.Errorf("group %s depends on %v; want both protections", id, r["DependsOn"])
		}
	}
}
