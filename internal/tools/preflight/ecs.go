package preflight

import (
	"fmt"
	"strings"
)

// spotArchitectureRule: Fargate Spot runs only X86_64 Linux tasks. "Linux tasks with the ARM64 architecture
// don't support the Fargate Spot capacity provider. Fargate Spot only supports Linux tasks with the X86_64
// architecture." (Amazon ECS, Fargate capacity providers,
// https://docs.aws.amazon.com/AmazonECS/latest/userguide/fargate-capacity-providers.html). A service whose
// capacity provider strategy (its own, or the cluster's default when it has none and no launch type) includes
// FARGATE_SPOT, with an ARM64 task definition, cannot place the tasks the strategy sends to Spot.
var spotArchitectureRule = Rule{
	ID:      "spot-arm64",
	Summary: "No FARGATE_SPOT in the capacity provider strategy of a service whose task definition is ARM64.",
	Source:  "https://docs.aws.amazon.com/AmazonECS/latest/userguide/fargate-capacity-providers.html",
	check: func(c *check) {
		c.resources("AWS::ECS::Service", func(stack, id string, svc Resource) {
			strategy, from := svc.Properties["CapacityProviderStrategy"], "its capacity provider strategy"
			if strategy == nil && svc.Properties["LaunchType"] == nil {
				strategy, from = c.clusterDefaultStrategy(stack, svc.Properties["Cluster"]), "its cluster's default capacity provider strategy"
			}
			if !usesProvider(strategy, "FARGATE_SPOT") {
				return
			}
			td, ok := c.taskDefinition(stack, svc)
			if !ok {
				return
			}
			res, _ := c.w.resource(td)
			if arch, _ := object(res.Properties["RuntimePlatform"])["CpuArchitecture"].(string); strings.EqualFold(arch, "ARM64") {
				c.fail(stack, id, "%s includes FARGATE_SPOT but its task definition %s is ARM64: Fargate Spot runs only "+
					"X86_64 Linux tasks, so the tasks the strategy places on Spot never start. Drop FARGATE_SPOT for ARM64 "+
					"services or build the service for X86_64.", from, td.ID)
			}
		})
	},
}

// clusterDefaultStrategy returns the default capacity provider strategy of the cluster v refers to.
func (c *check) clusterDefaultStrategy(stack string, cluster any) any {
	cl, ok := c.w.target(stack, cluster)
	if !ok {
		return nil
	}
	for _, id := range sortedKeys(c.asm.Stacks[cl.Stack].Template.Resources) {
		r := c.asm.Stacks[cl.Stack].Template.Resources[id]
		if r.Type == "AWS::ECS::ClusterCapacityProviderAssociations" {
			if t, ok := c.w.target(cl.Stack, r.Properties["Cluster"]); ok && t.ID == cl.ID {
				return r.Properties["DefaultCapacityProviderStrategy"]
			}
		}
	}
	if res, ok := c.w.resource(cl); ok {
		return res.Properties["DefaultCapacityProviderStrategy"]
	}
	return nil
}

func usesProvider(strategy any, provider string) bool {
	for _, item := range list(strategy) {
		if p, _ := object(item)["CapacityProvider"].(string); p == provider {
			return true
		}
	}
	return false
}

// taskDefinition returns the task definition a service runs.
func (c *check) taskDefinition(stack string, svc Resource) (ref, bool) {
	td, ok := c.w.target(stack, svc.Properties["TaskDefinition"])
	if !ok {
		return ref{}, false
	}
	res, ok := c.w.resource(td)
	return td, ok && res.Type == "AWS::ECS::TaskDefinition"
}

// containers returns the container definitions of a task definition.
func (c *check) containers(td ref) []map[string]any {
	res, _ := c.w.resource(td)
	var out []map[string]any
	for _, cd := range list(res.Properties["ContainerDefinitions"]) {
		if m := object(cd); m != nil {
			out = append(out, m)
		}
	}
	return out
}

// environment returns a container's environment variable name (its value expression) and whether it is set.
func environment(container map[string]any, name string) (any, bool) {
	for _, e := range list(container["Environment"]) {
		if n, _ := object(e)["Name"].(string); n == name {
			return object(e)["Value"], true
		}
	}
	return nil, false
}

// fargateSizes are the CPU units Fargate offers and, for each, the memory sizes in MiB it accepts. Source:
// "For tasks hosted on Fargate, the following table shows the valid CPU and memory combinations" (Amazon ECS,
// Troubleshoot task definition invalid CPU or memory errors,
// https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html).
var fargateSizes = map[int]func(mib int) bool{
	256:   func(m int) bool { return m == 512 || m == 1024 || m == 2048 },
	512:   func(m int) bool { return m >= 1024 && m <= 4096 && m%1024 == 0 },
	1024:  func(m int) bool { return m >= 2048 && m <= 8192 && m%1024 == 0 },
	2048:  func(m int) bool { return m >= 4096 && m <= 16384 && m%1024 == 0 },
	4096:  func(m int) bool { return m >= 8192 && m <= 30720 && m%1024 == 0 },
	8192:  func(m int) bool { return m >= 16384 && m <= 61440 && m%4096 == 0 },
	16384: func(m int) bool { return m >= 32768 && m <= 122880 && m%8192 == 0 },
}

// fargateSizeRule: a Fargate task definition's CPU and memory must be one of Fargate's combinations, or
// RegisterTaskDefinition fails ("Invalid 'cpu' setting for task"). Source: see fargateSizes.
var fargateSizeRule = Rule{
	ID:      "fargate-size",
	Summary: "Fargate task definitions use a supported CPU and memory combination.",
	Source:  "https://docs.aws.amazon.com/AmazonECS/latest/userguide/task-cpu-memory-error.html",
	check: func(c *check) {
		c.resources("AWS::ECS::TaskDefinition", func(stack, id string, td Resource) {
			fargate := false
			for _, rc := range list(td.Properties["RequiresCompatibilities"]) {
				fargate = fargate || rc == "FARGATE"
			}
			if !fargate {
				return
			}
			cpu, mem := number(td.Properties["Cpu"]), number(td.Properties["Memory"])
			valid, ok := fargateSizes[int(cpu)]
			if !ok || !valid(int(mem)) || cpu != float64(int(cpu)) || mem != float64(int(mem)) {
				c.fail(stack, id, "CPU %s with memory %s MiB is not a Fargate task size: registering the task definition fails.",
					describe(td.Properties["Cpu"]), describe(td.Properties["Memory"]))
			}
		})
	},
}

// loadBalancerPortRule: "The port on the container to associate with the load balancer. This port must
// correspond to a containerPort in the task definition the tasks in the service are using." (Amazon ECS API,
// LoadBalancer, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html). A service whose
// load balancer entry names a container or port its task definition does not map fails to create or update.
var loadBalancerPortRule = Rule{
	ID:      "lb-container-port",
	Summary: "A service's load balancer entry names a container and port its task definition maps.",
	Source:  "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_LoadBalancer.html",
	check: func(c *check) {
		c.resources("AWS::ECS::Service", func(stack, id string, svc Resource) {
			td, ok := c.taskDefinition(stack, svc)
			if !ok {
				return
			}
			cs := c.containers(td)
			for _, lb := range list(svc.Properties["LoadBalancers"]) {
				name, port := object(lb)["ContainerName"], number(object(lb)["ContainerPort"])
				found, mapped := false, false
				for _, ct := range cs {
					if ct["Name"] != name {
						continue
					}
					found = true
					for _, pm := range list(ct["PortMappings"]) {
						mapped = mapped || number(object(pm)["ContainerPort"]) == port
					}
				}
				switch {
				case !found:
					c.fail(stack, id, "the load balancer entry names container %s, which task definition %s does not have (it has %s).",
						describe(name), td.ID, containerNames(cs))
				case !mapped:
					c.fail(stack, id, "the load balancer entry sends traffic to port %g of container %s, which task definition %s does "+
						"not map.", port, describe(name), td.ID)
				}
			}
		})
	},
}

// containerNames lists the names of containers, for messages.
func containerNames(cs []map[string]any) string {
	var names []string
	for _, ct := range cs {
		names = append(names, fmt.Sprint(ct["Name"]))
	}
	return strings.Join(names, ", ")
}

// capacityAssociationRule: a service that uses capacity providers must be created after its cluster's capacity
// provider association and deleted before it. "A capacity provider must be associated with a cluster before it
// can be included as part of the default capacity provider strategy of the cluster or used in a capacity provider
// strategy when calling the CreateService or RunTask actions." (CreateCluster, capacityProviders,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html). "You can only disassociate an
// existing capacity provider from a cluster if it's not being used by any existing tasks."
// (PutClusterCapacityProviders,
// https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_PutClusterCapacityProviders.html). CloudFormation
// orders resources of one stack only by DependsOn and references, so a service with a capacity provider strategy
// (its own, or the cluster's default when it has neither a strategy nor a launch type) in the same stack as the
// AWS::ECS::ClusterCapacityProviderAssociations of its cluster must depend on that resource, directly or through
// other resources; otherwise both are created, and deleted, in parallel. A service in another stack is ordered by
// the stacks' dependency (the association's stack deploys first and is deleted last).
var capacityAssociationRule = Rule{
	ID:      "capacity-association",
	Summary: "An ECS service using capacity providers depends on its cluster's capacity provider association when both are in one stack.",
	Source:  "https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateCluster.html",
	check: func(c *check) {
		c.resources("AWS::ECS::Service", func(stack, id string, svc Resource) {
			usesProviders := len(list(svc.Properties["CapacityProviderStrategy"])) > 0
			if svc.Properties["CapacityProviderStrategy"] == nil && svc.Properties["LaunchType"] == nil {
				usesProviders = len(list(c.clusterDefaultStrategy(stack, svc.Properties["Cluster"]))) > 0
			}
			if !usesProviders {
				return
			}
			cl, ok := c.w.target(stack, svc.Properties["Cluster"])
			if !ok || cl.Stack != stack {
				return
			}
			resources := c.asm.Stacks[stack].Template.Resources
			deps := dependencies(resources, id)
			for _, assocID := range sortedKeys(resources) {
				r := resources[assocID]
				if r.Type != "AWS::ECS::ClusterCapacityProviderAssociations" {
					continue
				}
				if t, ok := c.w.target(stack, r.Properties["Cluster"]); !ok || t.ID != cl.ID {
					continue
				}
				if !deps[assocID] {
					c.fail(stack, id, "uses capacity providers of cluster %s, whose capacity provider association %s is in the "+
						"same stack, but does not depend on it: CloudFormation may create the service before the providers are "+
						"associated (CreateService fails) and delete the association while the service's tasks still run on "+
						"them (the delete fails). Add a DependsOn on %s (CDK: service.Node().AddDependency on the association).",
						cl.ID, assocID, assocID)
				}
			}
		})
	},
}

// dependencies returns every resource of resources that id depends on, directly or transitively, through
// DependsOn, Ref and Fn::GetAtt (and Fn::Sub references, which CloudFormation also orders by).
func dependencies(resources map[string]Resource, id string) map[string]bool {
	seen := map[string]bool{}
	var visit func(string)
	visit = func(id string) {
		r, ok := resources[id]
		if !ok {
			return
		}
		var direct []string
		switch d := r.DependsOn.(type) {
		case string:
			direct = append(direct, d)
		case []any:
			for _, v := range d {
				if s, ok := v.(string); ok {
					direct = append(direct, s)
				}
			}
		}
		direct = append(direct, referencedIDs(r.Properties, resources)...)
		for _, dep := range direct {
			if !seen[dep] {
				seen[dep] = true
				visit(dep)
			}
		}
	}
	visit(id)
	return seen
}

// referencedIDs returns the logical IDs of resources that v refers to with Ref, Fn::GetAtt or ${ID} in Fn::Sub.
func referencedIDs(v any, resources map[string]Resource) []string {
	var ids []string
	var walk func(any)
	walk = func(v any) {
		switch t := v.(type) {
		case map[string]any:
			if id, ok := t["Ref"].(string); ok && len(t) == 1 {
				if _, ok := resources[id]; ok {
					ids = append(ids, id)
				}
			}
			if ga, ok := getAtt(t["Fn::GetAtt"]); ok && len(t) == 1 {
				ids = append(ids, ga[0])
			}
			if sub, ok := t["Fn::Sub"]; ok && len(t) == 1 {
				s, _ := sub.(string)
				if l := list(sub); len(l) > 0 {
					s, _ = l[0].(string)
				}
				for _, part := range strings.Split(s, "${")[1:] {
					name, _, _ := strings.Cut(part, "}")
					name, _, _ = strings.Cut(name, ".")
					if _, ok := resources[name]; ok {
						ids = append(ids, name)
					}
				}
			}
			for _, x := range t {
				walk(x)
			}
		case []any:
			for _, x := range t {
				walk(x)
			}
		}
	}
	walk(v)
	return ids
}
