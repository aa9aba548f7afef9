package config

import (
	"errors"
	"fmt"
	"net/mail"
	"net/netip"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/infra/construct/loadbalancer"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

var (
	envNamePattern    = regexp.MustCompile(`^[a-z][a-z0-9]{1,14}$`)
	regionPattern     = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
	instanceClass     = regexp.MustCompile(`^[a-z][a-z0-9-]*\.[a-z0-9]+$`)
	dbNamePattern     = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	accountPattern    = regexp.MustCompile(`^[0-9]{12}$`)
	repositoryPattern = regexp.MustCompile(`^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$`)
	domainPattern     = regexp.MustCompile(`^([a-z0-9]([a-z0-9-]*[a-z0-9])?\.)+[a-z]{2,}$`)
	certificateARN    = regexp.MustCompile(`^arn:aws[a-z-]*:acm:([a-z0-9-]+):\d{12}:certificate/[0-9a-f-]+$`)
	actionNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}$`)
	schedulePattern   = regexp.MustCompile(`^(cron|rate|at)\(.+\)$`)
	tagKeyPattern     = regexp.MustCompile(`^[A-Za-z0-9 _.:/=+@-]{1,128}$`)
)

// PostgresMajorVersions are the PostgreSQL major versions an environment may run, newest last.
var PostgresMajorVersions = []string{"16", "17", "18"}

// logRetentionDays are the retention periods CloudWatch Logs accepts.
var logRetentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// ReservedNames are the names no environment may take: CI/CD stack names use them.
var ReservedNames = []string{"cicd", "images"}

// CheckAccounts checks what no single environment file can: that every environment has an account of its own.
// AWS recommends account-level separation of production from development and test environments (Well-Architected
// Security Pillar SEC01-BP01, https://docs.aws.amazon.com/wellarchitected/2022-03-31/framework/sec_securely_operate_multi_accounts.html;
// Organizing Your AWS Environment Using Multiple Accounts, "Production and non-production workload environments",
// https://docs.aws.amazon.com/whitepapers/latest/organizing-your-aws-environment/production-and-non-production-workload-environments.html).
// This project goes one step further and separates every environment, not only production: the CDK bootstrap
// roles, the GitHub OIDC provider and the deploy role are per account, so two environments in one account would
// share the roles that deploy them, and staging's reviewers would guard nothing that dev's jobs cannot do.
func CheckAccounts(envs []*Environment) error {
	var errs []string
	owner := map[string]string{}
	for _, e := range envs {
		if prev, ok := owner[e.Account]; ok {
			errs = append(errs, fmt.Sprintf("environments/%s.yaml: account: %s is also the account of environment %s "+
				"(environments/%s.yaml): every environment needs an AWS account of its own", e.Name, e.Account, prev, prev))
			continue
		}
		owner[e.Account] = e.Name
	}
	for _, e := range envs {
		if other, ok := owner[e.Image.Account]; ok {
			errs = append(errs, fmt.Sprintf("environments/%s.yaml: image.account: %s is the account of environment %s; the "+
				"images account holds only the image repository", e.Name, e.Image.Account, other))
		}
	}
	if len(errs) > 0 {
		return errors.New(strings.Join(errs, "\n"))
	}
	return nil
}

// validate checks values that are wrong in any environment.
func (e *Environment) validate(c *checker, file string, m *manifest.Manifest) {
	base := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	switch {
	case !envNamePattern.MatchString(e.Name):
		c.bad("name", "%q must be 2-15 lowercase letters or digits, starting with a letter", e.Name)
	case e.Name != base:
		c.bad("name", "%q must match the file name %q, so a copied file cannot shadow another environment", e.Name, base)
	case slices.Contains(ReservedNames, e.Name):
		c.bad("name", "%q is reserved: the CI/CD stacks are named ecsr-cicd-<environment> and ecsr-cicd-images", e.Name)
	}
	c.check(accountPattern.MatchString(e.Account), "account", "%q is not a 12-digit AWS account ID (quote it in YAML)", e.Account)
	c.check(accountPattern.MatchString(e.Image.Account), "image.account", "%q is not a 12-digit AWS account ID (quote it in YAML)", e.Image.Account)
	c.check(e.Image.Account == "" || e.Image.Account != e.Account, "image.account",
		"%s is the environment's own account; the images account holds only the image repository", e.Image.Account)
	switch regions := loadbalancer.CloudFrontPrefixListRegions(); {
	case !regionPattern.MatchString(e.Region):
		c.bad("region", "%q is not an AWS region name such as eu-west-1", e.Region)
	case !slices.Contains(regions, e.Region):
		c.bad("region", "%s has no known CloudFront origin-facing prefix list, which the load balancer admits alone; "+
			"supported regions: %s (add the region's list id in infra/construct/loadbalancer to support it)",
			e.Region, strings.Join(regions, ", "))
	}
	e.validateRelease(c)
	c.check(slices.Contains(logRetentionDays, e.LogRetentionDays), "log_retention_days",
		"%d is not a CloudWatch Logs retention period; use one of %v", e.LogRetentionDays, logRetentionDays)
	e.validateRemoval(c)
	e.validateNetwork(c)
	e.validateDomain(c)
	c.check(len(e.Image.Repository) >= 2 && len(e.Image.Repository) <= 256 && repositoryPattern.MatchString(e.Image.Repository),
		"image.repository", "%q is not an ECR repository name", e.Image.Repository)
	e.validateDatabase(c)
	c.check(e.Tracing.SampleRatio >= 0 && e.Tracing.SampleRatio <= 1, "tracing.sample_ratio",
		"%g must be between 0 (off) and 1 (every trace)", e.Tracing.SampleRatio)
	c.check(e.Messaging.DLQDepthThreshold >= 1, "messaging.dlq_depth_threshold", "%d must be at least 1", e.Messaging.DLQDepthThreshold)
	c.check(e.Messaging.OldestMessageAgeSeconds >= 60, "messaging.oldest_message_age_seconds",
		"%d must be at least 60 (SQS reports the age once a minute)", e.Messaging.OldestMessageAgeSeconds)
	e.validateWAF(c)
	e.validateAlarms(c)
	e.validateServices(c, m)
	for k, v := range e.Tags {
		c.check(tagKeyPattern.MatchString(k) && !strings.HasPrefix(strings.ToLower(k), "aws:"), "tags."+k,
			"tag keys are 1-128 letters, digits, spaces or _.:/=+-@ and may not start with aws:")
		c.check(len(v) <= 256, "tags."+k, "tag values are at most 256 characters")
	}
}

func (e *Environment) validateRemoval(c *checker) {
	c.check(slices.Contains([]RemovalPolicy{RemovalSnapshot, RemovalRetain, RemovalDestroy}, e.Removal.Database),
		"removal.database", "%q must be snapshot, retain or destroy", e.Removal.Database)
	c.check(e.Removal.Data == RemovalRetain || e.Removal.Data == RemovalDestroy,
		"removal.data", "%q must be retain or destroy", e.Removal.Data)
	c.check(e.Removal.Logs == RemovalRetain || e.Removal.Logs == RemovalDestroy,
		"removal.logs", "%q must be retain or destroy", e.Removal.Logs)
}

func (e *Environment) validateNetwork(c *checker) {
	n := e.Network
	p, err := netip.ParsePrefix(n.CIDR)
	switch {
	case err != nil || !p.Addr().Is4():
		c.bad("network.cidr", "%q is not an IPv4 CIDR block", n.CIDR)
	case p.Bits() < 16 || p.Bits() > 18:
		c.bad("network.cidr", "%q must be a /16 to /18: each AZ gets a /24 public, a /20 private and a /24 isolated subnet", n.CIDR)
	case p.Masked() != p:
		c.bad("network.cidr", "%q has host bits set; did you mean %s?", n.CIDR, p.Masked())
	}
	c.check(n.AZCount == 2 || n.AZCount == 3, "network.az_count",
		"%d must be 2 or 3: the database subnet group and the load balancer need at least two AZs", n.AZCount)
	c.check(n.NATGateways >= 1 && n.NATGateways <= max(n.AZCount, 1), "network.nat_gateways",
		"%d must be between 1 and az_count (%d)", n.NATGateways, n.AZCount)
	if len(n.AvailabilityZones) > 0 {
		c.check(len(n.AvailabilityZones) == n.AZCount, "network.availability_zones",
			"lists %d zones; want az_count (%d)", len(n.AvailabilityZones), n.AZCount)
		for i, z := range n.AvailabilityZones {
			c.check(len(z) == len(e.Region)+1 && strings.HasPrefix(z, e.Region) && z[len(z)-1] >= 'a' && z[len(z)-1] <= 'z',
				fmt.Sprintf("network.availability_zones[%d]", i), "%q is not a zone of %s", z, e.Region)
		}
		c.check(len(slices.Compact(slices.Sorted(slices.Values(n.AvailabilityZones)))) == len(n.AvailabilityZones),
			"network.availability_zones", "lists a zone twice")
	}
	checkSubset(c, "network.vpc_endpoints", n.Endpoints, Endpoints)
}

func (e *Environment) validateDomain(c *checker) {
	d := e.Domain
	if d == nil {
		return
	}
	c.check(domainPattern.MatchString(d.Name), "domain.name", "%q is not a lowercase domain name", d.Name)
	c.check(domainPattern.MatchString(d.HostedZoneName), "domain.hosted_zone_name", "%q is not a lowercase domain name", d.HostedZoneName)
	c.check(regexp.MustCompile(`^Z[A-Z0-9]{1,31}$`).MatchString(d.HostedZoneID), "domain.hosted_zone_id",
		"%q is not a Route 53 hosted zone ID (Z...)", d.HostedZoneID)
	c.check(inZone(d.Name, d.HostedZoneName), "domain.name", "%q is not inside the hosted zone %q", d.Name, d.HostedZoneName)
	c.check(inZone(d.OriginName, d.HostedZoneName) && d.OriginName != d.Name, "domain.origin_name",
		"%q must be a name inside the hosted zone %q other than domain.name", d.OriginName, d.HostedZoneName)
	if m := certificateARN.FindStringSubmatch(d.ALBCertificateARN); m == nil {
		c.bad("domain.alb_certificate_arn", "%q is not an ACM certificate ARN", d.ALBCertificateARN)
	} else {
		c.check(m[1] == e.Region, "domain.alb_certificate_arn",
			"the load balancer's certificate must be in the environment's region %s, not %s", e.Region, m[1])
	}
	if m := certificateARN.FindStringSubmatch(d.CloudFrontCertificateARN); m == nil {
		c.bad("domain.cloudfront_certificate_arn", "%q is not an ACM certificate ARN", d.CloudFrontCertificateARN)
	} else {
		c.check(m[1] == EdgeRegion, "domain.cloudfront_certificate_arn",
			"CloudFront only uses certificates from %s, not %s", EdgeRegion, m[1])
	}
}

func inZone(name, zone string) bool {
	return domainPattern.MatchString(name) && (name == zone || strings.HasSuffix(name, "."+zone))
}

func (e *Environment) validateDatabase(c *checker) {
	d := e.Database
	c.check(slices.Contains(PostgresMajorVersions, d.EngineVersion), "database.engine_version",
		"%q must be a PostgreSQL major version, one of %v", d.EngineVersion, PostgresMajorVersions)
	c.check(instanceClass.MatchString(d.InstanceClass) && !strings.HasPrefix(d.InstanceClass, "db."), "database.instance_class",
		"%q must be an instance class without the db. prefix, such as t4g.micro", d.InstanceClass)
	c.check(dbNamePattern.MatchString(d.Name), "database.name", "%q is not a PostgreSQL database name", d.Name)
	c.check(d.BackupRetentionDays >= 1 && d.BackupRetentionDays <= 35, "database.backup_retention_days",
		"%d must be between 1 and 35", d.BackupRetentionDays)
	c.check(d.AllocatedStorageGiB >= 20 && d.AllocatedStorageGiB <= 65536, "database.allocated_storage_gib",
		"%d must be between 20 and 65536 (gp3)", d.AllocatedStorageGiB)
	c.check(d.MaxAllocatedStorageGiB > d.AllocatedStorageGiB && d.MaxAllocatedStorageGiB <= 65536,
		"database.max_allocated_storage_gib", "%d must be above allocated_storage_gib (%d) and at most 65536",
		d.MaxAllocatedStorageGiB, d.AllocatedStorageGiB)
}

func (e *Environment) validateWAF(c *checker) {
	w := e.WAF
	c.check(w.Mode == WAFBlock || w.Mode == WAFCount, "waf.mode", "%q must be block or count", w.Mode)
	c.check(slices.Contains([]int{60, 120, 300, 600}, w.RateLimitWindowSeconds), "waf.rate_limit_window_seconds",
		"%d must be 60, 120, 300 or 600", w.RateLimitWindowSeconds)
	c.check(w.RateLimitPerIP >= 10 && w.RateLimitPerIP <= 2_000_000_000, "waf.rate_limit_per_ip",
		"%d must be between 10 and 2000000000", w.RateLimitPerIP)
	c.check(w.RateLimitOrdersPerIP >= 10 && w.RateLimitOrdersPerIP <= w.RateLimitPerIP, "waf.rate_limit_orders_per_ip",
		"%d must be at least 10 and at most rate_limit_per_ip (%d): it is the stricter limit", w.RateLimitOrdersPerIP, w.RateLimitPerIP)
	checkSubset(c, "waf.managed_rule_groups", w.ManagedRuleGroups, ManagedRuleGroups)
}

// checkSubset reports each element of list that is not in allowed or is listed twice.
func checkSubset[T comparable](c *checker, key string, list, allowed []T) {
	seen := map[T]bool{}
	for i, x := range list {
		k := fmt.Sprintf("%s[%d]", key, i)
		switch {
		case !slices.Contains(allowed, x):
			c.bad(k, "%q is not one of %v", fmt.Sprint(x), allowed)
		case seen[x]:
			c.bad(k, "%q is listed twice", fmt.Sprint(x))
		}
		seen[x] = true
	}
}

func (e *Environment) validateAlarms(c *checker) {
	a := e.Alarms
	for i, addr := range a.Emails {
		if p, err := mail.ParseAddress(addr); err != nil || p.Address != addr {
			c.bad(fmt.Sprintf("alarms.emails[%d]", i), "%q is not a plain email address", addr)
		}
	}
	c.check(a.DatabaseCPUPercent >= 1 && a.DatabaseCPUPercent <= 100, "alarms.database_cpu_percent",
		"%d must be between 1 and 100", a.DatabaseCPUPercent)
	// Below 10% of the initial allocation: RDS storage autoscaling grows the storage when free space is at or
	// below 10% of the allocated storage
	// (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/USER_PIOPS.Autoscaling.html), so a higher threshold
	// would alarm on every normal growth step instead of when autoscaling has not kept up.
	c.check(a.DatabaseFreeStorageGiB >= 1 && a.DatabaseFreeStorageGiB*10 < e.Database.AllocatedStorageGiB,
		"alarms.database_free_storage_gib", "%d must be at least 1 and below 10%% of database.allocated_storage_gib (%d), "+
			"where storage autoscaling starts", a.DatabaseFreeStorageGiB, e.Database.AllocatedStorageGiB)
	for key, v := range map[string]int{
		"alarms.database_connections":      a.DatabaseConnections,
		"alarms.http_5xx_per_minute":       a.HTTP5xxPerMinute,
		"alarms.target_p99_latency_ms":     a.TargetP99LatencyMillis,
		"alarms.waf_blocked_per_5_minutes": a.WAFBlockedPer5Minutes,
	} {
		c.check(v >= 1, key, "%d must be at least 1", v)
	}
}

// fargateMemory lists the memory sizes (MiB) Fargate accepts for each CPU size.
func fargateMemory(cpu int) []int {
	span := func(from, to, step int) []int {
		var out []int
		for m := from; m <= to; m += step {
			out = append(out, m)
		}
		return out
	}
	switch cpu {
	case 256:
		return []int{512, 1024, 2048}
	case 512:
		return span(1024, 4096, 1024)
	case 1024:
		return span(2048, 8192, 1024)
	case 2048:
		return span(4096, 16384, 1024)
	case 4096:
		return span(8192, 30720, 1024)
	case 8192:
		return span(16384, 61440, 4096)
	case 16384:
		return span(32768, 122880, 8192)
	}
	return nil
}

func (e *Environment) validateServices(c *checker, m *manifest.Manifest) {
	for _, s := range m.Services {
		if _, ok := e.Services[s.Name]; !ok {
			c.bad("services."+s.Name, "required: every service of the manifest (infra/services.yaml) needs its sizing")
		}
	}
	names := make([]string, 0, len(e.Services))
	for name := range e.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		sz := e.Services[name]
		key := "services." + name
		svc, ok := m.Service(name)
		if !ok {
			c.bad(key, "the manifest (infra/services.yaml) declares no service %q", name)
			continue
		}
		mem := fargateMemory(sz.CPU)
		switch {
		case mem == nil:
			c.bad(key+".cpu", "%d must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384", sz.CPU)
		case !slices.Contains(mem, sz.Memory):
			c.bad(key+".memory", "%d MiB is not valid with %d CPU units on Fargate; use one of %v", sz.Memory, sz.CPU, mem)
		}
		switch arch := sz.CPUArchitecture(); {
		case arch != ArchARM64 && arch != ArchX86_64:
			c.bad(key+".architecture", "%q must be %s or %s", sz.Architecture, ArchARM64, ArchX86_64)
		case sz.Spot && arch != ArchX86_64:
			// "Linux tasks with the ARM64 architecture don't support the Fargate Spot capacity provider. Fargate
			// Spot only supports Linux tasks with the X86_64 architecture."
			// (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html)
			c.bad(key+".spot", "Fargate Spot runs X86_64 tasks only, and this service's architecture is %s: "+
				"set architecture: %s, or spot: false", arch, ArchX86_64)
		}
		if sz.ScaleFromZero && svc.Kind != manifest.KindWorker {
			c.bad(key+".scale_from_zero", "only workers scale from zero: a %s service must keep a task to answer requests", svc.Kind)
		}
		minAllowed := 1
		if sz.ScaleFromZero {
			minAllowed = 0
		}
		c.check(sz.MinTasks >= minAllowed, key+".min_tasks", "%d must be at least %d (0 needs scale_from_zero on a worker)", sz.MinTasks, minAllowed)
		c.check(sz.MaxTasks >= max(sz.MinTasks, 1) && sz.MaxTasks <= 100, key+".max_tasks",
			"%d must be at least min_tasks (%d), at least 1 and at most 100", sz.MaxTasks, sz.MinTasks)
		seen := map[string]bool{}
		for i, a := range sz.ScheduledScaling {
			akey := fmt.Sprintf("%s.scheduled_scaling[%d]", key, i)
			switch {
			case !actionNamePattern.MatchString(a.Name):
				c.bad(akey+".name", "%q must be lowercase letters, digits or dashes", a.Name)
			case seen[a.Name]:
				c.bad(akey+".name", "%q is used twice", a.Name)
			}
			seen[a.Name] = true
			c.check(schedulePattern.MatchString(a.Schedule), akey+".schedule",
				"%q must be a cron(...), rate(...) or at(...) expression", a.Schedule)
			c.check(a.MinTasks >= minAllowed && a.MaxTasks >= max(a.MinTasks, 1) && a.MaxTasks <= 100, akey,
				"min_tasks %d and max_tasks %d must satisfy %d <= min_tasks <= max_tasks <= 100, max_tasks >= 1",
				a.MinTasks, a.MaxTasks, minAllowed)
			// A stack update that touches the scalable target registers it again with min_tasks, and
			// RegisterScalableTarget changes the current bounds at once
			// (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html);
			// the scheduled minimum returns only at the action's next run. With the base at least every scheduled
			// minimum, such an update can raise the floor for a while, never drop it.
			c.check(sz.MinTasks >= a.MinTasks, akey+".min_tasks",
				"%d is above the service's min_tasks (%d): a stack update re-registers the scalable target with min_tasks "+
					"and would lower the floor until the action runs again; raise min_tasks to at least %d", a.MinTasks, sz.MinTasks, a.MinTasks)
		}
	}
}
