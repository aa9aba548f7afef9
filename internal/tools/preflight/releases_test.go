package preflight

import (
	"strings"
	"testing"
)

// releaseStack is a stack with a blue/green service, its test listener, its hook function and hook role; the
// replacements change one part.
func releaseStack(repl map[string]string) string {
	parts := map[string]string{
		"ingress":   `{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"SourcePrefixListId":"pl-1"}`,
		"extra":     ``,
		"actions":   `"lambda:InvokeFunction"`,
		"resources": `[{"Fn::GetAtt":["Hook","Arn"]},{"Fn::Join":["",[{"Fn::GetAtt":["Hook","Arn"]},":*"]]}]`,
		"managed":   `[]`,
		"dc":        `"Strategy":"BLUE_GREEN","BakeTimeInMinutes":30,"Alarms":{"Enable":true,"Rollback":true,"AlarmNames":["a"]},`,
	}
	for k, v := range repl {
		parts[k] = v
	}
	return `{"Resources":{
	"AlbSG":{"Type":"AWS::EC2::SecurityGroup","Properties":{"SecurityGroupIngress":[` + parts["ingress"] + `]}},
	"HookSG":{"Type":"AWS::EC2::SecurityGroup","Properties":{}},
	"OtherSG":{"Type":"AWS::EC2::SecurityGroup","Properties":{}},
	"ALB":{"Type":"AWS::ElasticLoadBalancingV2::LoadBalancer","Properties":{"SecurityGroups":[{"Fn::GetAtt":["AlbSG","GroupId"]}]}},
	"Prod":{"Type":"AWS::ElasticLoadBalancingV2::Listener","Properties":{"LoadBalancerArn":{"Ref":"ALB"},"Port":443}},
	"Test":{"Type":"AWS::ElasticLoadBalancingV2::Listener","Properties":{"LoadBalancerArn":{"Ref":"ALB"},"Port":9000}},
	"ProdRule":{"Type":"AWS::ElasticLoadBalancingV2::ListenerRule","Properties":{"ListenerArn":{"Ref":"Prod"}}},
	"TestRule":{"Type":"AWS::ElasticLoadBalancingV2::ListenerRule","Properties":{"ListenerArn":{"Ref":"Test"}}},
	"HookIn":{"Type":"AWS::EC2::SecurityGroupIngress","Properties":{"GroupId":{"Fn::GetAtt":["AlbSG","GroupId"]},
		"IpProtocol":"tcp","FromPort":9000,"ToPort":9000,"SourceSecurityGroupId":{"Fn::GetAtt":["HookSG","GroupId"]}}}` + parts["extra"] + `,
	"Hook":{"Type":"AWS::Lambda::Function","Properties":{"VpcConfig":{"SecurityGroupIds":[{"Fn::GetAtt":["HookSG","GroupId"]}]}}},
	"HookRole":{"Type":"AWS::IAM::Role","Properties":{"ManagedPolicyArns":` + parts["managed"] + `}},
	"HookPolicy":{"Type":"AWS::IAM::Policy","Properties":{"Roles":[{"Ref":"HookRole"}],"PolicyDocument":{"Statement":[
		{"Effect":"Allow","Action":` + parts["actions"] + `,"Resource":` + parts["resources"] + `}]}}},
	"Svc":{"Type":"AWS::ECS::Service","Properties":{
		"LoadBalancers":[{"AdvancedConfiguration":{"ProductionListenerRule":{"Ref":"ProdRule"},"TestListenerRule":{"Ref":"TestRule"}}}],
		"DeploymentConfiguration":{` + parts["dc"] + `
			"LifecycleHooks":[{"HookTargetArn":{"Fn::GetAtt":["Hook","Arn"]},"RoleArn":{"Fn::GetAtt":["HookRole","Arn"]},
			"LifecycleStages":["POST_TEST_TRAFFIC_SHIFT"]}]}}}}}`
}

func stacksOf(repl map[string]string) []testStack {
	return []testStack{{name: "ecsr-dev-stateless", template: releaseStack(repl)}}
}

func TestTestListenerIngress(t *testing.T) {
	ingressFrom := func(id, peer string) string {
		return `,"` + id + `":{"Type":"AWS::EC2::SecurityGroupIngress","Properties":{"GroupId":{"Fn::GetAtt":["AlbSG","GroupId"]},
			"IpProtocol":"tcp","FromPort":9000,"ToPort":9000,` + peer + `}}`
	}
	runCases(t, testListenerIngressRule, []ruleCase{
		{name: "only the hook", stacks: stacksOf(nil)},
		{name: "the internet on the test port", stacks: stacksOf(map[string]string{"extra": ingressFrom("World", `"CidrIp":"0.0.0.0/0"`)}),
			want: []string{"ecsr-dev-stateless/World"}},
		{name: "another security group", stacks: stacksOf(map[string]string{"extra": ingressFrom("Other", `"SourceSecurityGroupId":{"Fn::GetAtt":["OtherSG","GroupId"]}`)}),
			want: []string{"ecsr-dev-stateless/Other"}},
		{name: "an inline all-ports rule", stacks: stacksOf(map[string]string{"ingress": `{"IpProtocol":"-1","CidrIp":"10.0.0.0/8"}`}),
			want: []string{"ecsr-dev-stateless/AlbSG"}},
		{name: "the production port is not the test listener's", stacks: stacksOf(map[string]string{
			"ingress": `{"IpProtocol":"tcp","FromPort":443,"ToPort":443,"CidrIp":"0.0.0.0/0"}`})},
	})
}

func TestHookLeastPrivilege(t *testing.T) {
	runCases(t, hookLeastPrivilegeRule, []ruleCase{
		{name: "invoke its function only", stacks: stacksOf(nil)},
		{name: "another action", stacks: stacksOf(map[string]string{"actions": `["lambda:InvokeFunction","lambda:UpdateFunctionCode"]`}),
			want: []string{"ecsr-dev-stateless/HookPolicy"}},
		{name: "every function", stacks: stacksOf(map[string]string{"resources": `"*"`}),
			want: []string{"ecsr-dev-stateless/HookPolicy"}},
		{name: "a managed policy", stacks: stacksOf(map[string]string{"managed": `["arn:aws:iam::aws:policy/AWSLambda_FullAccess"]`}),
			want: []string{"ecsr-dev-stateless/HookRole"}},
	})
}

func TestProductionReleaseSafety(t *testing.T) {
	prod := Options{Production: true}
	runCases(t, productionReleaseRule, []ruleCase{
		{name: "blue/green, 30 min bake, alarms", stacks: stacksOf(nil), opts: prod},
		{name: "short bake", opts: prod, stacks: stacksOf(map[string]string{
			"dc": `"Strategy":"BLUE_GREEN","BakeTimeInMinutes":2,"Alarms":{"Enable":true,"Rollback":true,"AlarmNames":["a"]},`}),
			want: []string{"ecsr-dev-stateless/Svc"}},
		{name: "no bake time", opts: prod, stacks: stacksOf(map[string]string{
			"dc": `"Strategy":"CANARY","Alarms":{"Enable":true,"Rollback":true,"AlarmNames":["a"]},`}),
			want: []string{"ecsr-dev-stateless/Svc"}},
		{name: "no alarms", opts: prod, stacks: stacksOf(map[string]string{"dc": `"Strategy":"BLUE_GREEN","BakeTimeInMinutes":30,`}),
			want: []string{"ecsr-dev-stateless/Svc"}},
		{name: "rolling web service", opts: prod, stacks: stacksOf(map[string]string{"dc": `"Alarms":{"Enable":true,"Rollback":true,"AlarmNames":["a"]},`}),
			want: []string{"ecsr-dev-stateless/Svc"}},
		{name: "short bake outside production", stacks: stacksOf(map[string]string{
			"dc": `"Strategy":"BLUE_GREEN","BakeTimeInMinutes":2,"Alarms":{"Enable":true,"Rollback":true,"AlarmNames":["a"]},`})},
	})
	// A rolling worker (no load balancer) is fine in production.
	worker := `{"Resources":{"W":{"Type":"AWS::ECS::Service","Properties":{"DeploymentConfiguration":{}}}}}`
	got, _ := runRule(t, productionReleaseRule, newAssembly(t, testStack{name: "ecsr-dev-stateless", template: worker}), prod)
	if len(got) != 0 {
		t.Errorf("a rolling worker: findings %v; want none", got)
	}
	if !strings.Contains(productionReleaseRule.Summary, "10 minutes") || MinProductionBakeMinutes != 10 {
		t.Errorf("the summary and MinProductionBakeMinutes disagree")
	}
}
