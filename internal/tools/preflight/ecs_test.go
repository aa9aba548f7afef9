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

// TestCapacityAssociation feeds the rule the shape CDK synthesizes for a cluster with Fargate capacity providers
// and a service in one stack: the association (added late by an aspect) and the service both depend only on the
// cluster, so CloudFormation creates and deletes them in parallel.
func TestCapacityAssociation(t *testing.T) {
	assoc := `"Assoc":{"Type":"AWS::ECS::ClusterCapacityProviderAssociations","Properties":{"Cluster":{"Ref":"Cluster"},
		"CapacityProviders":["FARGATE","FARGATE_SPOT"],"DefaultCapacityProviderStrategy":[]}},`
	dependsOn := func(tpl, deps string) string {
		return strings.Replace(tpl, `"Service":{"Type":"AWS::ECS::Service",`, `"Service":{"Type":"AWS::ECS::Service","DependsOn":`+deps+`,`, 1)
	}
	// The cluster and its association in one stack, the service in another that imports the cluster.
	clusterStack := `{"Resources":{"Cluster":{"Type":"AWS::ECS::Cluster","Properties":{}},` + strings.TrimSuffix(assoc, ",") + `},
		"Outputs":{"ClusterName":{"Value":{"Ref":"Cluster"},"Export":{"Name":"ecsr-dev-cluster:ClusterName"}}}}`
	serviceStack := `{"Resources":{
		"Task":{"Type":"AWS::ECS::TaskDefinition","Properties":{"RuntimePlatform":{"CpuArchitecture":"X86_64"}}},
		"Service":{"Type":"AWS::ECS::Service","Properties":{"Cluster":{"Fn::ImportValue":"ecsr-dev-cluster:ClusterName"},
			"TaskDefinition":{"Ref":"Task"},"CapacityProviderStrategy":` + spotStrategy + `}}}}`
	launchType := strings.Replace(service("", "X86_64", assoc), `"TaskDefinition":{"Ref":"Task"}`, `"TaskDefinition":{"Ref":"Task"},"LaunchType":"FARGATE"`, 1)
	defaultStrategy := strings.Replace(assoc, `"DefaultCapacityProviderStrategy":[]`, `"DefaultCapacityProviderStrategy":[{"CapacityProvider":"FARGATE","Weight":1}]`, 1)
	runCases(t, capacityAssociationRule, []ruleCase{
		{name: "strategy without a dependency on the association", stacks: []testStack{{name: "ecsr-dev-app",
			template: service(spotStrategy, "X86_64", assoc)}}, want: []string{"ecsr-dev-app/Service"}},
		{name: "DependsOn the association", stacks: []testStack{{name: "ecsr-dev-app",
			template: dependsOn(service(spotStrategy, "X86_64", assoc), `["Assoc"]`)}}},
		{name: "DependsOn the association as a string", stacks: []testStack{{name: "ecsr-dev-app",
			template: dependsOn(service(spotStrategy, "X86_64", assoc), `"Assoc"`)}}},
		{name: "through a resource that depends on it", stacks: []testStack{{name: "ecsr-dev-app",
			template: dependsOn(service(spotStrategy, "X86_64", assoc+`"Wait":{"Type":"AWS::CloudFormation::WaitConditionHandle","DependsOn":"Assoc"},`), `["Wait"]`)}}},
		{name: "the cluster's default strategy without a dependency", stacks: []testStack{{name: "ecsr-dev-app",
			template: service("", "X86_64", defaultStrategy)}}, want: []string{"ecsr-dev-app/Service"}},
		{name: "launch type, no capacity providers", stacks: []testStack{{name: "ecsr-dev-app", template: launchType}}},
		{name: "service in the stack after the cluster's", stacks: []testStack{
			{name: "ecsr-dev-cluster", template: clusterStack}, {name: "ecsr-dev-stateless", template: serviceStack}}},
		{name: "another environment is not checked", stacks: []testStack{{name: "ecsr-prod-app",
			template: service(spotStrategy, "X86_64", assoc)}}},
	})
}
