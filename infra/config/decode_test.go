package config

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeRejects(t *testing.T) {
	m := loadManifest(t)
	dev := readEnv(t, "dev")
	tests := []struct {
		name     string
		old, new string
		wantKeys []string // every key must be named by a problem
		wantText []string // and these must appear in the message
	}{
		{"unknown key", "  nat_gateways: 1\n", "  nat_gateways: 1\n  nat_gatways: 2\n", []string{"network.nat_gatways"}, []string{"unknown key"}},
		{"unknown top-level key", "shield_advanced: false\n", "shield_advanced: false\nshield: true\n", []string{"shield"}, []string{"unknown key"}},
		{"wrong type", "az_count: 2", "az_count: two", []string{"network.az_count"}, []string{"wrong type", `"two"`}},
		{"wrong type bool", "multi_az: false", "multi_az: nope", []string{"database.multi_az"}, []string{"wrong type"}},
		{"missing value", "  multi_az: false\n", "", []string{"database.multi_az"}, []string{"required, but missing"}},
		{"null value", "  multi_az: false\n", "  multi_az:\n", []string{"database.multi_az"}, []string{"required, but missing"}},
		{"missing service key", "    spot: true\n    scale_from_zero: false\n", "    scale_from_zero: false\n", []string{"services.api.spot"}, []string{"required"}},
		{"name differs from file", "name: dev", "name: prod", []string{"name"}, []string{"must match the file name"}},
		{"bad region", "region: eu-west-1", "region: Europe", []string{"region"}, []string{"not an AWS region"}},
		{"account of 11 digits", `account: "111111111111"`, `account: "11111111111"`, []string{"account"}, []string{"not a 12-digit AWS account ID"}},
		{"missing account", "account: \"111111111111\"\n", "", []string{"account"}, []string{"required, but missing"}},
		{"bad images account", `account: "444444444444"`, `account: "4444-4444"`, []string{"image.account"}, []string{"not a 12-digit AWS account ID"}},
		{"images account is the environment's", `account: "444444444444"`, `account: "111111111111"`, []string{"image.account"}, []string{"the environment's own account"}},
		{"region without prefix list", "region: eu-west-1", "region: eu-south-2", []string{"region"}, []string{"eu-south-2 has no known CloudFront origin-facing prefix list", "supported regions: ", "eu-west-1, eu-west-2"}},
		{"bad retention", "log_retention_days: 14", "log_retention_days: 15", []string{"log_retention_days"}, []string{"not a CloudWatch Logs retention period"}},
		{"bad removal", "database: destroy", "database: delete", []string{"removal.database"}, []string{"snapshot, retain or destroy"}},
		{"bad cidr", "cidr: 10.10.0.0/16", "cidr: 10.10.0.0/24", []string{"network.cidr"}, []string{"/16 to /18"}},
		{"one az", "az_count: 2", "az_count: 1", []string{"network.az_count"}, []string{"2 or 3"}},
		{"too many nats", "nat_gateways: 1", "nat_gateways: 3", []string{"network.nat_gateways"}, []string{"between 1 and az_count"}},
		{"zones count", "  az_count: 2\n", "  az_count: 2\n  availability_zones: [eu-west-1a]\n", []string{"network.availability_zones"}, []string{"want az_count"}},
		{"zone of other region", "  az_count: 2\n", "  az_count: 2\n  availability_zones: [eu-west-1a, us-east-1b]\n", []string{"network.availability_zones[1]"}, []string{"not a zone of eu-west-1"}},
		{"unknown endpoint", "vpc_endpoints: [s3]", "vpc_endpoints: [s3, dynamodb]", []string{"network.vpc_endpoints[1]"}, []string{`"dynamodb"`}},
		{"old postgres", `engine_version: "18"`, `engine_version: "12"`, []string{"database.engine_version"}, []string{"major version"}},
		{"db prefix", "instance_class: t4g.micro", "instance_class: db.t4g.micro", []string{"database.instance_class"}, []string{"without the db. prefix"}},
		{"max storage", "max_allocated_storage_gib: 50", "max_allocated_storage_gib: 20", []string{"database.max_allocated_storage_gib"}, []string{"above allocated_storage_gib"}},
		{"trace ratio above 1", "sample_ratio: 1 ", "sample_ratio: 5 ", []string{"tracing.sample_ratio"}, []string{"between 0 (off) and 1"}},
		{"negative trace ratio", "sample_ratio: 1 ", "sample_ratio: -0.1 ", []string{"tracing.sample_ratio"}, []string{"between 0 (off) and 1"}},
		{"free storage alarm at autoscaling's trigger", "database_free_storage_gib: 1", "database_free_storage_gib: 2", []string{"alarms.database_free_storage_gib"}, []string{"below 10% of database.allocated_storage_gib (20)", "storage autoscaling"}},
		{"waf mode", "mode: count", "mode: monitor", []string{"waf.mode"}, []string{"block or count"}},
		{"orders limit looser", "rate_limit_orders_per_ip: 100", "rate_limit_orders_per_ip: 5000", []string{"waf.rate_limit_orders_per_ip"}, []string{"stricter"}},
		{"unknown rule group", "- AWSManagedRulesSQLiRuleSet", "- AWSManagedRulesLinuxRuleSet", []string{"waf.managed_rule_groups[2]"}, []string{"not one of"}},
		{"bad email", "emails: []", "emails: [ops]", []string{"alarms.emails[0]"}, []string{"email"}},
		{"fargate memory", "    cpu: 256\n    memory: 512\n    min_tasks: 1", "    cpu: 256\n    memory: 4096\n    min_tasks: 1", []string{"services.api.memory"}, []string{"not valid with 256 CPU units"}},
		{"fargate cpu", "    cpu: 256\n    memory: 512\n    min_tasks: 1", "    cpu: 300\n    memory: 512\n    min_tasks: 1", []string{"services.api.cpu"}, []string{"Fargate CPU size"}},
		{"web scale from zero", "    spot: true\n    scale_from_zero: false\n    ecs_exec: false", "    spot: true\n    scale_from_zero: true\n    ecs_exec: false", []string{"services.api.scale_from_zero"}, []string{"only workers"}},
		{"spot on arm64", "    ecs_exec: false\n    architecture: x86_64\n", "    ecs_exec: false\n    architecture: arm64\n", []string{"services.api.spot"}, []string{"Fargate Spot runs X86_64 tasks only", "architecture is arm64"}},
		{"spot on the default architecture", "    ecs_exec: false\n    architecture: x86_64\n", "    ecs_exec: false\n", []string{"services.api.spot"}, []string{"Fargate Spot runs X86_64 tasks only"}},
		{"unknown architecture", "    ecs_exec: false\n    architecture: x86_64\n", "    ecs_exec: false\n    architecture: amd64\n", []string{"services.api.architecture"}, []string{`"amd64" must be arm64 or x86_64`}},
		{"zero without scale from zero", "    scale_from_zero: true\n", "    scale_from_zero: false\n", []string{"services.worker.min_tasks"}, []string{"needs scale_from_zero"}},
		{"max below min", "    min_tasks: 1\n    max_tasks: 2\n", "    min_tasks: 1\n    max_tasks: 0\n", []string{"services.api.max_tasks"}, []string{"at least min_tasks"}},
		{"desired count", "    max_tasks: 2\n    spot: true\n    scale_from_zero: false\n", "    max_tasks: 2\n    desired_tasks: 1\n    spot: true\n    scale_from_zero: false\n", []string{"services.api.desired_tasks"}, []string{"unknown key"}},
		{"service missing", "  worker:\n", "  wrker:\n", []string{"services.worker", "services.wrker"}, []string{"needs its sizing", "declares no service"}},
		{"scheduled minimum above the base", "    ecs_exec: false\n", "    ecs_exec: false\n    scheduled_scaling:\n      - {name: peak, schedule: 'cron(0 7 * * ? *)', min_tasks: 2, max_tasks: 2}\n", []string{"services.api.scheduled_scaling[0].min_tasks"}, []string{"above the service's min_tasks (1)", "re-registers the scalable target"}},
		{"bad schedule", "    ecs_exec: false\n", "    ecs_exec: false\n    scheduled_scaling:\n      - {name: peak, schedule: '0 7 * * *', min_tasks: 1, max_tasks: 2}\n", []string{"services.api.scheduled_scaling[0].schedule"}, []string{"cron(...)"}},
		{"domain cert region", "shield_advanced: false\n", "shield_advanced: false\ndomain:\n  name: dev.example.com\n  hosted_zone_id: Z123\n  hosted_zone_name: example.com\n  origin_name: origin.dev.example.com\n  alb_certificate_arn: arn:aws:acm:eu-west-1:111111111111:certificate/abc\n  cloudfront_certificate_arn: arn:aws:acm:eu-west-1:111111111111:certificate/abc\n", []string{"domain.cloudfront_certificate_arn"}, []string{"only uses certificates from us-east-1"}},
		{"several problems at once", "az_count: 2", "az_count: 4\n  extra: 1", []string{"network.az_count", "network.extra"}, nil},
	}
	if _, err := Decode("dev.yaml", []byte(dev), m); err != nil {
		t.Fatalf("Decode(dev) = %v; want nil", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := edit(t, dev, tt.old, tt.new)
			_, err := Decode("environments/dev.yaml", []byte(in), m)
			assertProblems(t, err, tt.wantKeys, tt.wantText)
		})
	}
}

// assertProblems checks that err is an *Error naming the file and every wanted key, and containing every text.
func assertProblems(t *testing.T, err error, keys, texts []string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Decode() error = %v; want a *config.Error", err)
	}
	msg := err.Error()
	for _, line := range strings.Split(msg, "\n") {
		if !strings.HasPrefix(line, e.File+": ") {
			t.Errorf("error line %q does not start with the file name %q", line, e.File)
		}
	}
	for _, k := range keys {
		found := false
		for _, p := range e.Problems {
			found = found || p.Key == k
		}
		if !found {
			t.Errorf("Decode() error = %q; want a problem with key %q", msg, k)
		}
	}
	for _, w := range texts {
		if !strings.Contains(msg, w) {
			t.Errorf("Decode() error = %q; want it to mention %q", msg, w)
		}
	}
}
