package preflight

import (
	"maps"
	"math"
	"slices"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// The trust anchors a container names in DATABASE_CA_FILE, by the kind of endpoint DATABASE_HOST resolves to.
const (
	// SystemTrustStore makes the service verify the server against the image's system roots, which hold the
	// Amazon Trust Services roots that ACM certificates chain to.
	SystemTrustStore = "system"
	// RDSBundle is the RDS certificate bundle in the image, which holds the RDS certificate authorities.
	RDSBundle = "/etc/ssl/certs/rds-global-bundle.pem"
)

// trustAnchorRule: "Amazon RDS Proxy ... use[s] certificates from the AWS Certificate Manager (ACM)" (Amazon RDS,
// Rotating your SSL/TLS certificate,
// https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html), which chain
// to the Amazon Trust Services roots (the proxy's TLS example trusts AmazonRootCA1.pem:
// https://repost.aws/knowledge-center/rds-aurora-mysql-connect-proxy), while a DB instance presents a certificate
// of its RDS certificate authority, verified with the RDS bundle (Amazon RDS, Using SSL/TLS to encrypt a
// connection, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html). With
// sslmode=verify-full, a client that trusts the other anchor fails the handshake. So a container whose
// DATABASE_HOST resolves to an RDS Proxy must set DATABASE_CA_FILE=system, and one that resolves to a DB instance
// or cluster the RDS bundle.
var trustAnchorRule = Rule{
	ID:      "db-trust-anchor",
	Summary: "DATABASE_CA_FILE matches the endpoint DATABASE_HOST resolves to: system for RDS Proxy, the RDS bundle for an instance.",
	Source:  "https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL-certificate-rotation.html",
	check: func(c *check) {
		c.resources("AWS::ECS::TaskDefinition", func(stack, id string, td Resource) {
			for _, ct := range c.containers(ref{Stack: stack, ID: id}) {
				host, ok := environment(ct, "DATABASE_HOST")
				if !ok {
					continue
				}
				caValue, _ := environment(ct, "DATABASE_CA_FILE")
				ca, _ := c.w.literal(stack, caValue)
				kind, endpoint := c.endpointKind(stack, host)
				var want string
				switch kind {
				case "proxy":
					want = SystemTrustStore
				case "instance":
					want = RDSBundle
				default:
					c.fail(stack, id, "container %s: DATABASE_HOST %s does not resolve to an RDS Proxy or DB instance of the "+
						"assembly, so its trust anchor cannot be checked; reference the endpoint attribute.", ct["Name"], describe(host))
					continue
				}
				if ca != want {
					c.fail(stack, id, "container %s connects to %s (%s) with DATABASE_CA_FILE %q; it must be %q: %s.",
						ct["Name"], endpoint, kind, ca, want, anchorReason(kind))
				}
			}
		})
	},
}

func anchorReason(kind string) string {
	if kind == "proxy" {
		return "RDS Proxy presents an ACM certificate that chains to the Amazon Trust Services roots, not to the RDS CAs"
	}
	return "a DB instance presents a certificate of its RDS certificate authority, which the RDS bundle holds"
}

// endpointKind resolves a DATABASE_HOST value to "proxy" or "instance" and names the resource.
func (c *check) endpointKind(stack string, host any) (kind, endpoint string) {
	t, ok := c.w.target(stack, host)
	if !ok {
		return "", ""
	}
	res, _ := c.w.resource(t)
	switch res.Type {
	case "AWS::RDS::DBProxy", "AWS::RDS::DBProxyEndpoint":
		return "proxy", t.String()
	case "AWS::RDS::DBInstance", "AWS::RDS::DBCluster":
		return "instance", t.String()
	}
	return "", t.String()
}

// MigrateEntryPoint is how the migration container runs, the image's one binary with the migrate command
// (manifest.EntryPoint); the task definition that holds it is the migration task.
const MigrateEntryPoint = manifest.ImageBinary + " " + manifest.MigrateCommand

// isMigration reports whether a container runs the migrations: `/app/ecsr migrate`, the command given in the
// entry point or as the first argument of the container's command. The binary's former name (/app/migrate) is
// not in the image and is not a migration.
func isMigration(container map[string]any) bool {
	var argv []string
	for _, v := range append(list(container["EntryPoint"]), list(container["Command"])...) {
		s, ok := v.(string)
		if !ok {
			return false
		}
		argv = append(argv, s)
	}
	return len(argv) >= 2 && argv[0] == manifest.ImageBinary && argv[1] == manifest.MigrateCommand
}

// migrateFirstRule: a service whose container logs in as DATABASE_USER needs that role to exist before its
// first task starts, and only the migration creates it. CloudFormation creates a stack's services and waits for
// them to stabilise; with the deployment circuit breaker "a service deployment will transition to a failed
// state" when tasks keep failing (AWS::ECS::Service DeploymentCircuitBreaker,
// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ecs-service-deploymentcircuitbreaker.html),
// and the stack rolls back with the migration task definition in it. So the migration task definition must live
// in a stack that the service's stack depends on (transitively, per the manifest), deployed and run first, never
// in the service's own stack; and every DATABASE_USER must be a role the migrations create.
var migrateFirstRule = Rule{
	ID:      "migrate-first",
	Summary: "Services with DATABASE_USER live in a stack that depends on the migration's stack, and use roles the migrations create.",
	Source:  "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-ecs-service-deploymentcircuitbreaker.html",
	check: func(c *check) {
		var migrations []ref
		c.resources("AWS::ECS::TaskDefinition", func(stack, id string, _ Resource) {
			for _, ct := range c.containers(ref{Stack: stack, ID: id}) {
				if isMigration(ct) {
					migrations = append(migrations, ref{Stack: stack, ID: id})
				}
			}
		})
		c.resources("AWS::ECS::Service", func(stack, id string, svc Resource) {
			td, ok := c.taskDefinition(stack, svc)
			if !ok {
				return
			}
			for _, ct := range c.containers(td) {
				userValue, ok := environment(ct, "DATABASE_USER")
				if !ok {
					continue
				}
				if user, ok := c.w.literal(td.Stack, userValue); !ok || !slices.Contains(c.o.ServiceRoles, user) {
					c.fail(stack, id, "container %s logs in as DATABASE_USER %s, which is not a role the migrations create (%s).",
						ct["Name"], describe(userValue), strings.Join(c.o.ServiceRoles, ", "))
				}
				switch {
				case len(migrations) == 0:
					c.fail(stack, id, "container %s logs in as a service role, but the environment has no migration task "+
						"definition (a container with entry point %s) to create it first.", ct["Name"], MigrateEntryPoint)
				default:
					m := migrations[0]
					if m.Stack == stack {
						c.fail(stack, id, "the service starts in the same stack as the migration task definition %s: "+
							"CloudFormation creates the service before the migration can run, its tasks cannot log in as "+
							"their role yet, and a failed service rolls the stack back with the migration in it. Move the "+
							"migration to a stack that %s depends on.", m.ID, stack)
					} else if !c.asm.DependsOn(stack, m.Stack) {
						c.fail(stack, id, "stack %s does not depend on %s, which holds the migration task definition %s: "+
							"the service may start before the migration has created its role.", stack, m.Stack, m.ID)
					}
				}
			}
		})
	},
}

// instanceMemoryGiB is the memory of the DB instance classes the environments use or are likely to, from the
// RDS instance class tables (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.DBInstanceClass.Summary.html).
var instanceMemoryGiB = map[string]float64{
	"db.t4g.micro": 1, "db.t4g.small": 2, "db.t4g.medium": 4, "db.t4g.large": 8, "db.t4g.xlarge": 16, "db.t4g.2xlarge": 32,
	"db.m7g.large": 8, "db.m7g.xlarge": 16, "db.m7g.2xlarge": 32, "db.m7g.4xlarge": 64,
	"db.r7g.large": 16, "db.r7g.xlarge": 32, "db.r7g.2xlarge": 64, "db.r7g.4xlarge": 128,
}

// MaxConnections returns the upper bound of RDS for PostgreSQL's default max_connections for an instance class,
// LEAST({DBInstanceClassMemory/9531392}, 5000) (AWS Prescriptive Guidance, max_connections,
// https://docs.aws.amazon.com/prescriptive-guidance/latest/tuning-postgresql-parameters/max-connections.html),
// computed with the class's nominal memory. DBInstanceClassMemory is smaller than the nominal memory (RDS keeps
// some for itself), so the real limit is lower: demand above this bound certainly fails. It reports false for
// a class the table does not know.
func MaxConnections(class string) (int, bool) {
	gib, ok := instanceMemoryGiB[class]
	if !ok {
		return 0, false
	}
	return int(math.Min(math.Floor(gib*(1<<30)/9531392), 5000)), true
}

// connectionBudgetRule: the services that connect to a DB instance directly (not through RDS Proxy, which pools
// them) open up to max tasks × pool size connections, and the migration its pool on top; the sum must stay under
// the instance's max_connections (see MaxConnections), or new connections are refused while the services scale.
var connectionBudgetRule = Rule{
	ID:      "db-connections",
	Summary: "Services' max tasks × pool size plus the migration stay under the DB instance's max_connections.",
	Source:  "https://docs.aws.amazon.com/prescriptive-guidance/latest/tuning-postgresql-parameters/max-connections.html",
	check: func(c *check) {
		if c.o.PoolSize == 0 {
			return
		}
		demand := map[ref]int{}     // instance -> connections
		parts := map[ref][]string{} // instance -> what adds up
		c.resources("AWS::ECS::TaskDefinition", func(stack, id string, _ Resource) {
			for _, ct := range c.containers(ref{Stack: stack, ID: id}) {
				host, ok := environment(ct, "DATABASE_HOST")
				if !ok {
					continue
				}
				inst, ok := c.w.target(stack, host)
				if res, _ := c.w.resource(inst); !ok || res.Type != "AWS::RDS::DBInstance" {
					continue // through a proxy, or not an instance
				}
				inst.Attr = ""
				if isMigration(ct) {
					demand[inst] += c.o.MigrationPoolSize
					parts[inst] = append(parts[inst], "migration")
					continue
				}
				if max, svc, ok := c.maxTasks(stack, id); ok {
					demand[inst] += max * c.o.PoolSize
					parts[inst] = append(parts[inst], svc)
				}
			}
		})
		instances := slices.SortedFunc(maps.Keys(demand), func(a, b ref) int { return strings.Compare(a.String(), b.String()) })
		for _, inst := range instances {
			n := demand[inst]
			res, _ := c.w.resource(inst)
			class, _ := c.w.literal(inst.Stack, res.Properties["DBInstanceClass"])
			limit, ok := MaxConnections(class)
			if !ok || n <= limit {
				continue
			}
			c.fail(inst.Stack, inst.ID, "%s (%s) can receive %d connections at full scale (pool of %d per task at max tasks, "+
				"migration %d) but %s allows at most %d: scale-out or a migration during a deploy is refused connections.",
				inst.ID, strings.Join(parts[inst], " + "), n, c.o.PoolSize, c.o.MigrationPoolSize, class, limit)
		}
	},
}

// maxTasks returns the maximum task count of the service that runs task definition td, from its scalable
// target (or its DesiredCount when it does not scale), and the service's logical ID; or, for a scheduled job's
// task definition, the tasks its schedule starts and the schedule's logical ID.
func (c *check) maxTasks(stack, td string) (int, string, bool) {
	for _, sn := range c.env {
		s := c.asm.Stacks[sn]
		for _, sid := range sortedKeys(s.Template.Resources) {
			svc := s.Template.Resources[sid]
			if svc.Type != "AWS::ECS::Service" {
				continue
			}
			if t, ok := c.taskDefinition(sn, svc); !ok || t.Stack != stack || t.ID != td {
				continue
			}
			for _, tid := range sortedKeys(s.Template.Resources) {
				st := s.Template.Resources[tid]
				if st.Type != "AWS::ApplicationAutoScaling::ScalableTarget" {
					continue
				}
				for _, part := range list(object(st.Properties["ResourceId"])["Fn::Join"]) {
					for _, p := range list(part) {
						if t, ok := c.w.target(sn, p); ok && t.ID == sid {
							return int(number(st.Properties["MaxCapacity"])), sid, true
						}
					}
				}
			}
			if n := number(svc.Properties["DesiredCount"]); n >= 0 {
				return int(n), sid, true
			}
			return 1, sid, true // CloudFormation's default desired count
		}
	}
	// A scheduled job: the schedule starts TaskCount tasks (default 1) per run. Runs should not overlap; one
	// that outlasts the interval to the next adds another run's tasks, which this does not count.
	for _, sn := range c.env {
		s := c.asm.Stacks[sn]
		for _, sid := range sortedKeys(s.Template.Resources) {
			sch := s.Template.Resources[sid]
			if sch.Type != "AWS::Scheduler::Schedule" {
				continue
			}
			ecs := object(object(sch.Properties["Target"])["EcsParameters"])
			if t, ok := c.w.target(sn, ecs["TaskDefinitionArn"]); ok && t.Stack == stack && t.ID == td {
				if n := number(ecs["TaskCount"]); n >= 1 {
					return int(n), sid, true
				}
				return 1, sid, true
			}
		}
	}
	return 0, "", false
}
