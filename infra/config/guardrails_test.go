package config

import "testing"

// TestGuardrails proves each production guardrail with an unsafe edit of the shipped prod file.
func TestGuardrails(t *testing.T) {
	m := loadManifest(t)
	prod := readEnv(t, "prod")
	tests := []struct {
		name     string
		old, new string
		key      string
		text     string
	}{
		{"no termination protection", "termination_protection: true", "termination_protection: false", "termination_protection", "termination protection"},
		{"short log retention", "log_retention_days: 365", "log_retention_days: 30", "log_retention_days", "at least 90 days"},
		{"database destroyed", "database: snapshot", "database: destroy", "removal.database", "snapshot or retain"},
		{"data destroyed", "data: retain", "data: destroy", "removal.data", "retain"},
		{"logs destroyed", "logs: retain", "logs: destroy", "removal.logs", "audit trail"},
		{"single nat", "nat_gateways: 3", "nat_gateways: 1", "network.nat_gateways", "one NAT gateway per AZ"},
		{"single az", "az_count: 3\n  nat_gateways: 3", "az_count: 1\n  nat_gateways: 1", "network.az_count", "2 or 3"},
		{"no domain", prodDomain, "", "domain", "production requires a domain"},
		{"no multi-az", "multi_az: true", "multi_az: false", "database.multi_az", "Multi-AZ"},
		{"no deletion protection", "deletion_protection: true", "deletion_protection: false", "database.deletion_protection", "deletion protection"},
		{"short backups", "backup_retention_days: 14", "backup_retention_days: 3", "database.backup_retention_days", "at least 7 days of backups"},
		{"burstable database", "instance_class: m7g.large", "instance_class: t4g.large", "database.instance_class", "non-burstable"},
		{"waf count mode", "mode: block", "mode: count", "waf.mode", "block mode"},
		{"missing rule group", "    - AWSManagedRulesAnonymousIpList\n", "", "waf.managed_rule_groups", "AWSManagedRulesAnonymousIpList is missing"},
		{"no alarm email", "emails: [platform-alerts@example.com]", "emails: []", "alarms.emails", "at least one address"},
		{"one web task", "this minimum.\n    min_tasks: 4\n", "this minimum.\n    min_tasks: 1\n", "services.api.min_tasks", "at least 2 tasks for every service, spread across AZs"},
		{"one worker task", "    min_tasks: 2\n    max_tasks: 20\n", "    min_tasks: 1\n    max_tasks: 20\n", "services.worker.min_tasks", "at least 2 tasks for every service"},
		{"worker scales to zero", "    min_tasks: 2\n    max_tasks: 20\n    spot: true\n    scale_from_zero: false\n", "    min_tasks: 0\n    max_tasks: 20\n    spot: true\n    scale_from_zero: true\n", "services.worker.min_tasks", "got 0"},
		{"one web task on schedule", "        min_tasks: 3\n", "        min_tasks: 1\n", "services.api.scheduled_scaling[1].min_tasks", "at least 2 tasks"},
		{"web on spot", "    spot: false\n", "    spot: true\n    architecture: x86_64\n", "services.api.spot", "on-demand Fargate"},
		{"ecs exec", "    scale_from_zero: false\n    scheduled_scaling:", "    scale_from_zero: false\n    ecs_exec: true\n    scheduled_scaling:", "services.api.ecs_exec", "ECS Exec off"},
	}
	if _, err := Decode("prod.yaml", []byte(prod), m); err != nil {
		t.Fatalf("Decode(prod) = %v; want nil", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := edit(t, prod, tt.old, tt.new)
			_, err := Decode("prod.yaml", []byte(in), m)
			assertProblems(t, err, []string{tt.key}, []string{tt.text})
		})
	}
}

// prodDomain is the domain block of the shipped prod file.
const prodDomain = `domain:
  name: shop.example.com
  hosted_zone_id: Z0123456789EXAMPLE
  hosted_zone_name: example.com
  origin_name: origin.shop.example.com
  alb_certificate_arn: arn:aws:acm:eu-west-1:333333333333:certificate/00000000-0000-0000-0000-000000000001
  cloudfront_certificate_arn: arn:aws:acm:us-east-1:333333333333:certificate/00000000-0000-0000-0000-000000000002
`

// TestGuardrailsOnlyInProduction shows the same unsafe settings pass when production is false (dev ships them).
func TestGuardrailsOnlyInProduction(t *testing.T) {
	m := loadManifest(t)
	prod := readEnv(t, "prod")
	in := edit(t, prod, "\nproduction: true", "\nproduction: false")
	in = edit(t, in, "multi_az: true", "multi_az: false")
	in = edit(t, in, "mode: block", "mode: count")
	if _, err := Decode("prod.yaml", []byte(in), m); err != nil {
		t.Errorf("Decode(non-production with unsafe settings) = %v; want nil", err)
	}
}
