// Package preflight checks a synthesized CDK cloud assembly against AWS rules that CloudFormation, ECS and
// CloudWatch enforce only at deploy time or at run time, so that a stack that would fail to deploy, or deploy
// and not work, fails here first. It reads templates and the manifest only: no AWS call, no credentials.
//
// Each rule states the AWS behaviour it encodes and links the AWS page that documents it (docs/preflight.md
// lists them). Rules run over one environment's stacks (ecsr-<env>-*); the rules that compare environments
// (physical names) read every stack of the assembly. With a baseline (the assembly or the templates deployed
// now) the update-safety rules compare the two. The placeholder rule fails only in deploy mode; otherwise its
// findings are notices.
package preflight

import (
	"fmt"
	"io"
	"strings"
)

// Finding is one broken rule.
type Finding struct {
	// Rule is the rule's ID.
	Rule string
	// Stack and LogicalID name the resource; Path is its construct path ("" when unknown).
	Stack, LogicalID, Path string
	// Message says what is wrong.
	Message string
	// Source is the AWS page that documents the rule.
	Source string
}

// Rule is one check.
type Rule struct {
	// ID names the rule in findings.
	ID string
	// Summary is the rule in one line.
	Summary string
	// Source is the AWS page the rule relies on (findings may cite a more specific one).
	Source string
	// DeployOnly rules fail only in deploy mode; otherwise their findings are notices.
	DeployOnly bool
	// NeedsBaseline rules run only with a baseline.
	NeedsBaseline bool
	check         func(*check)
}

// Rules returns every rule, in the order they run.
func Rules() []Rule {
	return []Rule{
		spotArchitectureRule,
		capacityAssociationRule,
		physicalNamesRule,
		placeholdersRule,
		trustAnchorRule,
		migrateFirstRule,
		alarmDimensionsRule,
		securityGroupRulesRule,
		importedExportsRule,
		statefulReplacementRule,
		fargateSizeRule,
		loadBalancerPortRule,
		connectionBudgetRule,
		testListenerIngressRule,
		hookLeastPrivilegeRule,
		productionReleaseRule,
		fifoQueueRule,
		taskSecretsRule,
	}
}

// Options configure a run.
type Options struct {
	// Env is the environment whose stacks (ecsr-<env>-*) are checked.
	Env string
	// Deploy turns the deploy-only rules' notices into findings.
	Deploy bool
	// Production says the environment is a production one (its file's production: true): the production
	// release rule applies.
	Production bool
	// Baseline is what is deployed now, for the update-safety rules; nil skips them.
	Baseline *Assembly
	// Spec is the CloudFormation resource specification the replacement rule reads; required with a baseline.
	Spec *Spec
	// ServiceRoles are the database roles the migrations create (migrations.ServiceRoles()).
	ServiceRoles []string
	// PoolSize is the size of each service task's database pool; MigrationPoolSize the migration's.
	PoolSize, MigrationPoolSize int
	// MetricsNamespace is the namespace of the services' embedded metrics, and MetricsDimension the one
	// dimension they carry, whose values are the service names (MetricsServices).
	MetricsNamespace, MetricsDimension string
	MetricsServices                    []string
}

// Report is the outcome of a run.
type Report struct {
	// Findings fail the run.
	Findings []Finding
	// Notices are printed and do not fail it: findings of deploy-only rules outside deploy mode, and changes
	// that may replace a stateful resource.
	Notices []Finding
	// Skipped names the rules that did not run and why.
	Skipped []string
}

// Run checks the stacks of o.Env in asm.
func Run(asm *Assembly, o Options) (*Report, error) {
	env := asm.Environment(o.Env)
	if len(env) == 0 {
		return nil, fmt.Errorf("no stacks of environment %s (ecsr-%s-*) in %s", o.Env, o.Env, asm.Dir)
	}
	if o.Baseline != nil && o.Spec == nil {
		return nil, fmt.Errorf("a baseline needs the CloudFormation resource specification (Spec)")
	}
	r := &Report{}
	w := newWorld(asm)
	for _, rule := range Rules() {
		if rule.NeedsBaseline && o.Baseline == nil {
			r.Skipped = append(r.Skipped, rule.ID+": no baseline")
			continue
		}
		c := &check{rule: rule, w: w, asm: asm, o: o, env: env}
		rule.check(c)
		if rule.DeployOnly && !o.Deploy {
			r.Notices = append(r.Notices, c.findings...)
		} else {
			r.Findings = append(r.Findings, c.findings...)
		}
		r.Notices = append(r.Notices, c.notices...)
	}
	return r, nil
}

// check is one rule's run.
type check struct {
	rule     Rule
	w        *world
	asm      *Assembly
	o        Options
	env      []string
	findings []Finding
	notices  []Finding
}

// fail records a finding on resource id of stack, citing the rule's source.
func (c *check) fail(stack, id, format string, args ...any) {
	c.failSource(c.rule.Source, stack, id, format, args...)
}

// failSource records a finding that cites source.
func (c *check) failSource(source, stack, id, format string, args ...any) {
	c.findings = append(c.findings, c.finding(source, stack, id, fmt.Sprintf(format, args...)))
}

// notice records a notice that cites source.
func (c *check) notice(source, stack, id, format string, args ...any) {
	c.notices = append(c.notices, c.finding(source, stack, id, fmt.Sprintf(format, args...)))
}

func (c *check) finding(source, stack, id, msg string) Finding {
	f := Finding{Rule: c.rule.ID, Stack: stack, LogicalID: id, Message: msg, Source: source}
	if s, ok := c.asm.Stacks[stack]; ok {
		f.Path = s.Path(id)
	}
	if f.Path == "" && c.o.Baseline != nil { // a resource or output the update removes
		if s, ok := c.o.Baseline.Stacks[stack]; ok {
			f.Path = s.Path(id)
		}
	}
	return f
}

// resources calls f for every resource of type typ in the environment's stacks, in a stable order.
func (c *check) resources(typ string, f func(stack, id string, r Resource)) {
	for _, name := range c.env {
		s := c.asm.Stacks[name]
		for _, id := range sortedKeys(s.Template.Resources) {
			if r := s.Template.Resources[id]; r.Type == typ {
				f(name, id, r)
			}
		}
	}
}

// Print writes the report: every finding, then every notice, each with its rule, resource, message and
// source, and a closing line with the counts.
func Print(w io.Writer, env string, r *Report) {
	for _, f := range r.Findings {
		printFinding(w, "FAIL", f)
	}
	for _, f := range r.Notices {
		printFinding(w, "NOTE", f)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "skipped %s\n", s)
	}
	fmt.Fprintf(w, "preflight %s: %d finding(s), %d notice(s)\n", env, len(r.Findings), len(r.Notices))
}

func printFinding(w io.Writer, level string, f Finding) {
	path := f.Path
	if path == "" {
		path = "construct path unknown"
	}
	fmt.Fprintf(w, "%s [%s] %s %s (%s)\n  %s\n  source: %s\n", level, f.Rule, f.Stack, f.LogicalID, path,
		strings.ReplaceAll(f.Message, "\n", "\n  "), f.Source)
}
