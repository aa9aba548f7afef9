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
