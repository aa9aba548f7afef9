package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// minProductionBackupDays and minProductionLogDays are the shortest retention production accepts: a week of
// point-in-time recovery, and a quarter of logs for incident reviews.
const (
	minProductionBackupDays = 7
	minProductionLogDays    = 90
)

// guard applies the production guardrails: each unsafe setting is a problem that says why production needs the
// safe one. They only run for environments with production: true.
func (e *Environment) guard(c *checker, m *manifest.Manifest) {
	const why = "production requires"
	c.check(e.TerminationProtection, "termination_protection",
		"%s termination protection on the stateful stack, so the database and queues cannot be destroyed by `cdk destroy`", why)
	c.check(e.LogRetentionDays >= minProductionLogDays, "log_retention_days",
		"%s at least %d days of logs; got %d", why, minProductionLogDays, e.LogRetentionDays)
	c.check(e.Removal.Database != RemovalDestroy, "removal.database",
		"%s snapshot or retain: destroy would delete the database and its data with the stack", why)
	c.check(e.Removal.Data == RemovalRetain, "removal.data",
		"%s retain: destroy would delete queues with messages and the keys that decrypt backups", why)
	c.check(e.Removal.Logs == RemovalRetain, "removal.logs", "%s retain: logs are the audit trail", why)
	c.check(e.Network.AZCount >= 2, "network.az_count", "%s at least 2 AZs; got %d", why, e.Network.AZCount)
	c.check(e.Network.NATGateways == e.Network.AZCount, "network.nat_gateways",
		"%s one NAT gateway per AZ (%d), so losing one AZ does not cut the others off; got %d",
		why, e.Network.AZCount, e.Network.NATGateways)
	c.check(e.Domain != nil, "domain", "%s a domain: HTTPS end to end needs certificates for CloudFront and the load balancer", why)
	c.check(e.Database.MultiAZ, "database.multi_az", "%s Multi-AZ: a single instance is down during an AZ outage and every maintenance", why)
	c.check(e.Database.DeletionProtection, "database.deletion_protection", "%s deletion protection on the database", why)
	c.check(e.Database.BackupRetentionDays >= minProductionBackupDays, "database.backup_retention_days",
		"%s at least %d days of backups; got %d", why, minProductionBackupDays, e.Database.BackupRetentionDays)
	c.check(!strings.HasPrefix(e.Database.InstanceClass, "t"), "database.instance_class",
		"%s a non-burstable instance class: %q throttles once its CPU credits run out", why, e.Database.InstanceClass)
	c.check(e.WAF.Mode == WAFBlock, "waf.mode", "%s block mode: count mode lets every attack through", why)
	for _, g := range ManagedRuleGroups {
		c.check(slices.Contains(e.WAF.ManagedRuleGroups, g), "waf.managed_rule_groups",
			"%s every managed rule group; %s is missing", why, g)
	}
	c.check(len(e.Alarms.Emails) > 0, "alarms.emails", "%s at least one address to send alarms to", why)
	for _, s := range m.Services {
		sz, ok := e.Services[s.Name]
		if !ok {
			continue // reported by validate
		}
		key := "services." + s.Name
		// Two tasks at least, which ECS spreads over the AZs: one task failing or one AZ going down leaves the
		// service running (a web service answering, a worker draining its queue).
		c.check(sz.MinTasks >= 2, key+".min_tasks",
			"%s at least 2 tasks for every service, spread across AZs, so one failure or AZ outage does not stop it; got %d", why, sz.MinTasks)
		for i, a := range sz.ScheduledScaling {
			c.check(a.MinTasks >= 2, fmt.Sprintf("%s.scheduled_scaling[%d].min_tasks", key, i),
				"%s at least 2 tasks for every service at all times; got %d", why, a.MinTasks)
		}
		if s.Kind == manifest.KindWeb {
			c.check(!sz.Spot, key+".spot", "%s on-demand Fargate for a web service: Spot interruptions drop requests", why)
		}
		c.check(!sz.ECSExec, key+".ecs_exec", "%s ECS Exec off: it opens a shell into production tasks", why)
	}
}
