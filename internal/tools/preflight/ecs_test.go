package preflight

import (
	"strconv"
	"strings"
	"testing"
)

// service returns a template with a cluster, an ECS service with the given capacity provider strategy (JSON,
// "" for none) and a task definition of the given architecture.
func service(strategy, arch, clusterExtra string) string {
	s := `{"Resources":{
	"Cluster":{"Type":"AWS::ECS::Cluster","Properties":{}},` + clusterExtra + `
	"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{"RequiresCompatibilities":["FARGATE"],"Cpu":"256","Memory":"512",
		"RuntimePlatform":{"CpuArchitecture":"` + arch + `","OperatingSystemFamily":"LINUX"},
		"ContainerDefinitions":[{"Name":"app","PortMappings":[{"ContainerPort":8080}]}]}},
	"Service":{"Type":"AWS::ECS::Service","Properties":{"Cluster":{"Ref":"Cluster"},"TaskDefinition":{"Ref":"Task"}`
	if strategy != "" {
		s += `,"CapacityProviderStrategy":` + strategy
	}
	return s + `}}}}`
}

const spotStrategy = `[{"CapacityProvider":"FARGATE","Base":1,"Weight":1},{"CapacityProvider":"FARGATE_SPOT","Weight":3}]`

func TestSpotArchitecture(t *testing.T) {
	defaultSpot := `"Assoc":{"Type":"AWS::ECS::ClusterCapacityProviderAssociations","Properties":{"Cluster":{"Ref":"Cluster"},
		"CapacityProviders":["FARGATE","FARGATE_SPOT"],"DefaultCapacityProviderStrategy":[{"CapacityProvider":"FARGATE_SPOT","Weight":1}]}},`
	runCases(t, spotArchitectureRule, []ruleCase{
		{name: "ARM64 with FARGATE_SPOT", stacks: []testStack{{name: "ecsr-dev-app", template: service(spotStrategy, "ARM64", "")}},
			want: []string{"ecsr-dev-app/Service"}},
		{name: "X86_64 with FARGATE_SPOT", stacks: []testStack{{name: "ecsr-dev-app", template: service(spotStrategy, "X86_64", "")}}},
		{name: "ARM64 on FARGATE only", stacks: []testStack{{name: "ecsr-dev-app",
			template: service(`[{"CapacityProvider":"FARGATE","Weight":1}]`, "ARM64", "")}}},
		{name: "ARM64 with the cluster's default strategy on Spot", stacks: []testStack{{name: "ecsr-dev-app",
			template: service("", "ARM64", defaultSpot)}}, want: []string{"ecsr-dev-app/Service"}},
		{name: "another environment is not checked", stacks: []testStack{{name: "ecsr-prod-app", template: service(spotStrategy, "ARM64", "")}}},
	})
}

func TestFargateSize(t *testing.T) {
	td := func(cpu, mem string) string {
		return `{"Resources":{"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{"RequiresCompatibilities":["FARGATE"],
			"Cpu":` + cpu + `,"Memory":` + mem + `}}}}`
	}
	runCases(t, fargateSizeRule, []ruleCase{
		{name: "256/512", stacks: []testStack{{name: "ecsr-dev-app", template: td(`"256"`, `"512"`)}}},
		{name: "1024/3072 as numbers", stacks: []testStack{{name: "ecsr-dev-app", template: td(`1024`, `3072`)}}},
		{name: "256/4096", stacks: []testStack{{name: "ecsr-dev-app", template: td(`"256"`, `"4096"`)}}, want: []string{"ecsr-dev-app/Task"}},
		{name: "512/1536 is not a whole GB", stacks: []testStack{{name: "ecsr-dev-app", template: td(`"512"`, `"1536"`)}}, want: []string{"ecsr-dev-app/Task"}},
		{name: "300 CPU units", stacks: []testStack{{name: "ecsr-dev-app", template: td(`"300"`, `"1024"`)}}, want: []string{"ecsr-dev-app/Task"}},
		{name: "8192/18432 is not a multiple of 4 GB", stacks: []testStack{{name: "ecsr-dev-app", template: td(`"8192"`, `"18432"`)}}, want: []string{"ecsr-dev-app/Task"}},
	})
}

func TestLoadBalancerPort(t *testing.T) {
	lb := func(container string, port int) string {
		s := service(`[{"CapacityProvider":"FARGATE","Weight":1}]`, "ARM64", `"TG":{"Type":"AWS::ElasticLoadBalancingV2::TargetGroup","Properties":{}},`)
		return strings.Replace(s, `"TaskDefinition":{"Ref":"Task"}`, `"TaskDefinition":{"Ref":"Task"},"LoadBalancers":[{"ContainerName":"`+
			container+`","ContainerPort":`+strconv.Itoa(port)+`,"TargetGroupArn":{"Ref":"TG"}}]`, 1)
	}
	runCases(t, loadBalancerPortRule, []ruleCase{
		{name: "mapped port", stacks: []testStack{{name: "ecsr-dev-app", template: lb("app", 8080)}}},
		{name: "unmapped port", stacks: []testStack{{name: "ecsr-dev-app", template: lb("app", 9090)}}, want: []string{"ecsr-dev-app/Service"}},
		{name: "unknown container", stacks: []testStack{{name: "ecsr-dev-app", template: lb("web", 8080)}}, want: []string{"ecsr-dev-app/Service"}},
	})
}
