// Package diagram draws the architecture diagram (Graphviz DOT) from an environment's synthesized CloudFormation
// templates, so the picture in docs/ is the deployed shape, not a drawing that drifts from it. It keeps the
// resource types that explain the system (distribution, web ACL, buckets, load balancer, ECS services and tasks,
// database, topics, queues, alarms), groups them by stack, and draws the flows between them from the templates'
// references (Ref, Fn::GetAtt, Fn::ImportValue of another stack's export, Fn::GetStackOutput): requests,
// messages, dead letters, logs. Output is deterministic: the same templates give the same text.
package diagram

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/ecs-reworked/ecs-reworked/internal/tools/cloudassembly"
)

// Stack is one synthesized stack.
type Stack struct {
	// Name is the stack's name (ecsr-dev-stateful, ...); Region its region, shown in the cluster's label.
	Name, Region string
	// Template is the decoded template.
	Template Template
}

// Template is the part of a CloudFormation template the diagram reads (package cloudassembly).
type Template = cloudassembly.Template

// Resource is one template resource.
type Resource = cloudassembly.Resource

// Output is one template output, possibly exported.
type Output = cloudassembly.Output

// LoadAssembly reads the stacks of environment env (ecsr-<env>-*) from the cloud assembly in dir.
func LoadAssembly(dir, env string) ([]Stack, error) {
	asm, err := cloudassembly.Load(dir)
	if err != nil {
		return nil, err
	}
	var stacks []Stack
	for _, name := range asm.Environment(env) {
		s := asm.Stacks[name]
		stacks = append(stacks, Stack{Name: name, Region: s.Region, Template: s.Template})
	}
	if len(stacks) == 0 {
		return nil, fmt.Errorf("no stacks of environment %s in %s", env, dir)
	}
	return stacks, nil
}

// key names a resource across stacks.
type key struct{ stack, id string }

// node is a drawn box.
type node struct {
	id, label, kind string
	stack           string
}

// edge is a drawn arrow.
type edge struct {
	from, to, label string
	dashed          bool
}

// graph collects the diagram while the rules run.
type graph struct {
	stacks    []Stack
	resources map[key]Resource
	exports   map[string]key // export name -> stack of the output; the output value is resolved on use
	nodes     map[string]node
	edges     map[edge]bool
}

// kinds maps the drawn resource types to their kind (fill colour) and title.
var kinds = map[string]struct{ kind, title string }{
	"AWS::CloudFront::Distribution":             {"edge", "CloudFront distribution"},
	"AWS::WAFv2::WebACL":                        {"edge", "WAF web ACL"},
	"AWS::S3::Bucket":                           {"storage", "S3 bucket"},
	"AWS::ElasticLoadBalancingV2::LoadBalancer": {"network", "Application Load Balancer"},
	"AWS::ECS::Service":                         {"compute", "ECS Fargate service"},
	"AWS::ECS::TaskDefinition":                  {"compute", "ECS one-off task"},
	"AWS::RDS::DBInstance":                      {"database", "RDS PostgreSQL"},
	"AWS::RDS::DBProxy":                         {"database", "RDS Proxy"},
	"AWS::SNS::Topic":                           {"messaging", "SNS topic"},
	"AWS::SQS::Queue":                           {"messaging", "SQS queue"},
	"AWS::Lambda::Function":                     {"compute", "Lambda function"},
	"AWS::Scheduler::Schedule":                  {"observability", "EventBridge Scheduler"},
}

// colours are the fill colours by kind.
var colours = map[string]string{
	"edge": "#fde2e4", "storage": "#e2f0cb", "network": "#dfe7fd", "compute": "#fff1c1",
	"database": "#d7e3fc", "messaging": "#f1e4f3", "external": "#ffffff", "observability": "#eeeeee",
}

// DOT returns the diagram of the stacks in Graphviz's DOT language.
func DOT(stacks []Stack) string {
	g := &graph{resources: map[key]Resource{}, exports: map[string]key{}, nodes: map[string]node{}, edges: map[edge]bool{}}
	g.stacks = slices.Clone(stacks)
	slices.SortFunc(g.stacks, func(a, b Stack) int { return strings.Compare(a.Name, b.Name) })
	for _, s := range g.stacks {
		for id, r := range s.Template.Resources {
			g.resources[key{s.Name, id}] = r
		}
		for name, o := range s.Template.Outputs {
			if o.Export != nil {
				if n, ok := o.Export.Name.(string); ok {
					g.exports[n] = key{s.Name, name}
				}
			}
		}
	}
	g.rules()
	return g.render()
}

// refs returns the resources v refers to, following imports and stack outputs to the resource behind them.
func (g *graph) refs(stack string, v any) []key {
	var out []key
	var walk func(stack string, v any)
	walk = func(stack string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if id, ok := x["Ref"].(string); ok {
				if _, ok := g.resources[key{stack, id}]; ok {
					out = append(out, key{stack, id})
				}
				return
			}
			if ga, ok := x["Fn::GetAtt"].([]any); ok && len(ga) > 0 {
				if id, ok := ga[0].(string); ok {
					out = append(out, key{stack, id})
				}
				return
			}
			if name, ok := x["Fn::ImportValue"].(string); ok {
				if k, ok := g.exports[name]; ok {
					g.outputRefs(k, walk)
				}
				return
			}
			if so, ok := x["Fn::GetStackOutput"].(map[string]any); ok {
				st, _ := so["StackName"].(string)
				name, _ := so["OutputName"].(string)
				g.outputRefs(key{st, name}, walk)
				return
			}
			for _, k := range sortedKeys(x) {
				walk(stack, x[k])
			}
		case []any:
			for _, e := range x {
				walk(stack, e)
			}
		}
	}
	walk(stack, v)
	return out
}

// outputRefs walks the value of output k.
func (g *graph) outputRefs(k key, walk func(string, any)) {
	for _, s := range g.stacks {
		if s.Name == k.stack {
			if o, ok := s.Template.Outputs[k.id]; ok {
				walk(s.Name, o.Value)
			}
		}
	}
}

// show adds the node of resource k (of a drawn type) and returns its id, or "" for other types.
func (g *graph) show(k key) string {
	r, ok := g.resources[k]
	if !ok {
		return ""
	}
	t, ok := kinds[r.Type]
	if !ok {
		return ""
	}
	id := k.stack + "/" + k.id
	if _, ok := g.nodes[id]; !ok {
		g.nodes[id] = node{id: id, label: t.title + name(k.id, r), kind: t.kind, stack: k.stack}
	}
	return id
}

func (g *graph) add(from, to, label string, dashed bool) {
	if from != "" && to != "" && from != to {
		g.edges[edge{from, to, label, dashed}] = true
	}
}

// rules draws the flows.
func (g *graph) rules() {
	users := "users"
	for _, k := range g.sortedKeys() {
		r := g.resources[k]
		p := r.Properties
		switch r.Type {
		case "AWS::CloudFront::Distribution":
			d := g.show(k)
			g.nodes[users] = node{id: users, label: "Users (browsers)", kind: "external"}
			g.add(users, d, "HTTPS", false)
			cfg, _ := p["DistributionConfig"].(map[string]any)
			paths := originPaths(cfg)
			origins, _ := cfg["Origins"].([]any)
			for _, o := range origins {
				om, _ := o.(map[string]any)
				oid, _ := om["Id"].(string)
				for _, t := range g.refs(k.stack, om["DomainName"]) {
					g.add(d, g.show(t), paths[oid], false)
				}
			}
			for _, t := range g.refs(k.stack, cfg["WebACLId"]) {
				g.add(g.show(t), d, "inspects requests", true)
			}
			for _, t := range g.refs(k.stack, cfg["Logging"]) {
				g.add(d, g.show(t), "access logs", true)
			}
		case "AWS::ElasticLoadBalancingV2::LoadBalancer":
			for _, t := range g.refs(k.stack, p["LoadBalancerAttributes"]) {
				g.add(g.show(k), g.show(t), "access logs", true)
			}
		case "AWS::ECS::Service":
			svc := g.show(k)
			for _, lb := range asList(p["LoadBalancers"]) {
				m, _ := lb.(map[string]any)
				for _, tg := range g.refs(k.stack, m["TargetGroupArn"]) {
					for _, alb := range g.loadBalancersOf(tg) {
						g.add(g.show(alb), svc, fmt.Sprintf("target group :%v", m["ContainerPort"]), false)
					}
				}
			}
			g.hooks(k, svc)
			for _, td := range g.refs(k.stack, p["TaskDefinition"]) {
				g.container(td, svc)
				if n, ok := g.nodes[svc]; ok {
					n.label = "ECS Fargate service\\n" + containerName(g.resources[td])
					g.nodes[svc] = n
				}
			}
		case "AWS::ECS::TaskDefinition":
			if !g.referencedBy(k, "AWS::ECS::Service") {
				td := g.show(k)
				n := g.nodes[td]
				n.label = "ECS one-off task\\n" + containerName(r) + " (run before deploys)"
				if expr, ok := g.scheduleOf(k); ok { // a scheduled job's task
					n.label = "ECS scheduled task\\n" + containerName(r) + "\\n" + expr
				}
				g.nodes[td] = n
				g.container(k, td)
			}
		case "AWS::Scheduler::Schedule":
			target, _ := p["Target"].(map[string]any)
			ecs, _ := target["EcsParameters"].(map[string]any)
			for _, td := range g.refs(k.stack, ecs["TaskDefinitionArn"]) {
				g.add(g.show(k), g.show(td), "runs", false)
			}
		case "AWS::SNS::Subscription":
			label := "subscription"
			if p["FilterPolicy"] != nil {
				label = "subscription (filtered)"
			}
			for _, topic := range g.refs(k.stack, p["TopicArn"]) {
				for _, q := range g.refs(k.stack, p["Endpoint"]) {
					g.add(g.show(topic), g.show(q), label, false)
				}
			}
		case "AWS::SQS::Queue":
			for _, dlq := range g.refs(k.stack, p["RedrivePolicy"]) {
				g.add(g.show(k), g.show(dlq), "dead letters", true)
			}
		}
	}
	g.alarms()
	// A drawn resource nothing flows to or from (a key's, an alarm topic without alarms) only adds noise.
	linked := map[string]bool{}
	for e := range g.edges {
		linked[e.from], linked[e.to] = true, true
	}
	for id := range g.nodes {
		if !linked[id] {
			delete(g.nodes, id)
		}
	}
}

// container draws what a task definition's containers use through their environment: topics they publish to,
// queues they consume, the database they connect to.
func (g *graph) container(td key, from string) {
	r := g.resources[td]
	for _, c := range asList(r.Properties["ContainerDefinitions"]) {
		cm, _ := c.(map[string]any)
		for _, e := range asList(cm["Environment"]) {
			em, _ := e.(map[string]any)
			for _, t := range g.refs(td.stack, em["Value"]) {
				to := g.show(t)
				switch g.resources[t].Type {
				case "AWS::SNS::Topic":
					g.add(from, to, "publishes", false)
				case "AWS::SQS::Queue":
					if g.taskMay(td, t, "sqs:ReceiveMessage") {
						g.add(to, from, "consumes", false)
					} else {
						g.add(from, to, "sends", false) // a queue the service sends to directly (its sends)
					}
				case "AWS::RDS::DBInstance", "AWS::RDS::DBProxy":
					g.add(from, to, "SQL over TLS", false)
				}
			}
		}
	}
}

// scheduleOf returns the expression of the EventBridge Scheduler schedule that runs task definition td, if one does.
func (g *graph) scheduleOf(td key) (string, bool) {
	for k, r := range g.resources {
		if r.Type != "AWS::Scheduler::Schedule" {
			continue
		}
		target, _ := r.Properties["Target"].(map[string]any)
		ecs, _ := target["EcsParameters"].(map[string]any)
		if slices.Contains(g.refs(k.stack, ecs["TaskDefinitionArn"]), td) {
			expr, _ := r.Properties["ScheduleExpression"].(string)
			return expr, true
		}
	}
	return "", false
}

// taskMay reports whether the task role of task definition td is allowed action on resource k by one of the
// role's policies.
func (g *graph) taskMay(td, k key, action string) bool {
	roles := g.refs(td.stack, g.resources[td].Properties["TaskRoleArn"])
	for p, r := range g.resources {
		if r.Type != "AWS::IAM::Policy" || !slices.ContainsFunc(g.refs(p.stack, r.Properties["Roles"]), func(rk key) bool {
			return slices.Contains(roles, rk)
		}) {
			continue
		}
		doc, _ := r.Properties["PolicyDocument"].(map[string]any)
		for _, st := range asList(doc["Statement"]) {
			sm, _ := st.(map[string]any)
			actions := asList(sm["Action"])
			if len(actions) == 0 {
				actions = []any{sm["Action"]}
			}
			if slices.Contains(actions, any(action)) && slices.Contains(g.refs(p.stack, sm["Resource"]), k) {
				return true
			}
		}
	}
	return false
}

// alarms draws one node per stack for its CloudWatch alarms and arrows to the topics they notify.
func (g *graph) alarms() {
	for _, s := range g.stacks {
		n := 0
		id := s.Name + "/alarms"
		for _, k := range g.sortedKeys() {
			r := g.resources[k]
			if k.stack != s.Name || r.Type != "AWS::CloudWatch::Alarm" {
				continue
			}
			n++
			for _, t := range g.refs(k.stack, r.Properties["AlarmActions"]) {
				g.add(id, g.show(t), "notify", true)
			}
		}
		if n > 0 {
			g.nodes[id] = node{id: id, label: fmt.Sprintf("CloudWatch alarms (%d)", n), kind: "observability", stack: s.Name}
		}
	}
}

// loadBalancersOf returns the load balancers whose listeners (directly or through a rule) forward to target
// group tg.
func (g *graph) loadBalancersOf(tg key) []key {
	var out []key
	for _, k := range g.sortedKeys() {
		r := g.resources[k]
		if k.stack != tg.stack || (r.Type != "AWS::ElasticLoadBalancingV2::Listener" && r.Type != "AWS::ElasticLoadBalancingV2::ListenerRule") {
			continue
		}
		if !slices.Contains(g.refs(k.stack, r.Properties["DefaultActions"]), tg) && !slices.Contains(g.refs(k.stack, r.Properties["Actions"]), tg) {
			continue
		}
		listeners := []key{k}
		if r.Type == "AWS::ElasticLoadBalancingV2::ListenerRule" {
			listeners = g.refs(k.stack, r.Properties["ListenerArn"])
		}
		for _, l := range listeners {
			out = append(out, g.refs(l.stack, g.resources[l].Properties["LoadBalancerArn"])...)
		}
	}
	return out
}

// referencedBy reports whether a resource of type typ refers to k.
func (g *graph) referencedBy(k key, typ string) bool {
	for o, r := range g.resources {
		if r.Type == typ && o.stack == k.stack && slices.Contains(g.refs(o.stack, r.Properties), k) {
			return true
		}
	}
	return false
}

func (g *graph) sortedKeys() []key {
	keys := make([]key, 0, len(g.resources))
	for k := range g.resources {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.stack, b.stack); c != 0 {
			return c
		}
		return strings.Compare(a.id, b.id)
	})
	return keys
}

// originPaths maps origin ids to the path patterns routed to them ("/*" for the default behavior).
func originPaths(cfg map[string]any) map[string]string {
	out := map[string][]string{}
	if d, ok := cfg["DefaultCacheBehavior"].(map[string]any); ok {
		if id, ok := d["TargetOriginId"].(string); ok {
			out[id] = append(out[id], "/*")
		}
	}
	for _, b := range asList(cfg["CacheBehaviors"]) {
		bm, _ := b.(map[string]any)
		id, _ := bm["TargetOriginId"].(string)
		pp, _ := bm["PathPattern"].(string)
		out[id] = append(out[id], pp)
	}
	paths := map[string]string{}
	for id, ps := range out {
		slices.Sort(ps)
		paths[id] = strings.Join(ps, ", ")
	}
	return paths
}

func containerName(td Resource) string {
	for _, c := range asList(td.Properties["ContainerDefinitions"]) {
		if cm, ok := c.(map[string]any); ok {
			if n, ok := cm["Name"].(string); ok {
				return n
			}
		}
	}
	return "?"
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

var (
	hashSuffix  = regexp.MustCompile(`[0-9A-F]{8}$`)
	camelWord   = regexp.MustCompile(`[A-Z][a-z0-9]*|[a-z0-9]+`)
	noiseWords  = map[string]bool{"messaging": true, "observability": true, "edge": true, "database": true, "load": true, "balancer": true, "resource": true}
	typeSuffix  = map[string][]string{"AWS::SNS::Topic": {"topic"}, "AWS::SQS::Queue": {"queue"}, "AWS::S3::Bucket": {"bucket"}}
	dlqSuffixes = []string{"dead", "letter", "queue"}
)

// name derives a readable name from a logical ID (CDK builds it from the construct path and appends a hash):
// MessagingOrderEventsTopic5DB736FD -> "order-events". It returns "" when nothing is left, and otherwise a
// second label line.
func name(id string, r Resource) string {
	words := camelWord.FindAllString(hashSuffix.ReplaceAllString(id, ""), -1)
	// Acronyms (ALB, ACL) come out one capital at a time: join them back.
	var joined []string
	for _, w := range words {
		if n := len(joined); n > 0 && len(w) == 1 && w[0] >= 'A' && w[0] <= 'Z' && strings.ToUpper(joined[n-1]) == joined[n-1] {
			joined[n-1] += w
			continue
		}
		joined = append(joined, w)
	}
	var kept []string
	for _, w := range joined {
		w = strings.ToLower(w)
		if !noiseWords[w] {
			kept = append(kept, w)
		}
	}
	if r.Type == "AWS::SQS::Queue" && len(kept) >= 3 && slices.Equal(kept[len(kept)-3:], dlqSuffixes) {
		kept = append(kept[:len(kept)-3], "dlq")
	}
	for _, suffix := range typeSuffix[r.Type] {
		if len(kept) > 0 && kept[len(kept)-1] == suffix {
			kept = kept[:len(kept)-1]
		}
	}
	if r.Type == "AWS::ECS::Service" || r.Type == "AWS::ECS::TaskDefinition" || len(kept) == 0 || slices.Equal(kept, []string{"alb"}) ||
		slices.Equal(kept, []string{"web", "acl"}) || slices.Equal(kept, []string{"distribution"}) || slices.Equal(kept, []string{"instance"}) {
		return ""
	}
	return "\\n" + strings.Join(kept, "-")
}

// render writes the DOT text: one cluster per stack, nodes and edges in sorted order.
func (g *graph) render() string {
	var b strings.Builder
	b.WriteString("// Generated by `make diagram` (cmd/diagram) from the synthesized templates; do not edit.\n")
	b.WriteString("digraph architecture {\n")
	b.WriteString("  graph [rankdir=LR, fontname=\"Helvetica\", fontsize=12, nodesep=0.35, ranksep=0.6, labelloc=t, label=\"ECS Reworked: " + g.title() + "\\n\\n\"];\n")
	b.WriteString("  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11, margin=\"0.15,0.07\"];\n")
	b.WriteString("  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n")
	ids := make([]string, 0, len(g.nodes))
	for id := range g.nodes {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	writeNode := func(indent string, n node) {
		fmt.Fprintf(&b, "%s%q [label=\"%s\", fillcolor=%q];\n", indent, n.id, n.label, colours[n.kind])
	}
	for _, id := range ids {
		if g.nodes[id].stack == "" {
			writeNode("  ", g.nodes[id])
		}
	}
	for i, s := range g.stacks {
		fmt.Fprintf(&b, "  subgraph cluster_%d {\n    label=\"%s (%s)\"; style=\"rounded,dashed\"; color=\"#888888\";\n", i, s.Name, s.Region)
		for _, id := range ids {
			if g.nodes[id].stack == s.Name {
				writeNode("    ", g.nodes[id])
			}
		}
		b.WriteString("  }\n")
	}
	edges := make([]edge, 0, len(g.edges))
	for e := range g.edges {
		if _, ok := g.nodes[e.from]; ok {
			edges = append(edges, e)
		}
	}
	slices.SortFunc(edges, func(a, b edge) int {
		return strings.Compare(a.from+"\x00"+a.to+"\x00"+a.label, b.from+"\x00"+b.to+"\x00"+b.label)
	})
	for _, e := range edges {
		style := ""
		if e.dashed {
			style = ", style=dashed"
		}
		fmt.Fprintf(&b, "  %q -> %q [label=%q%s];\n", e.from, e.to, e.label, style)
	}
	b.WriteString("}\n")
	return b.String()
}

// title names the environment from the stacks' common prefix (ecsr-<env>-...).
func (g *graph) title() string {
	if len(g.stacks) == 0 {
		return ""
	}
	parts := strings.SplitN(g.stacks[0].Name, "-", 3)
	if len(parts) < 3 {
		return g.stacks[0].Name
	}
	return parts[1] + " environment"
}

// hooks draws a service's deployment lifecycle hooks (functions) and, for a blue/green service, the test
// listener through which they reach the new tasks.
func (g *graph) hooks(k key, svc string) {
	p := g.resources[k].Properties
	dc, _ := p["DeploymentConfiguration"].(map[string]any)
	var hooks []string
	for _, h := range asList(dc["LifecycleHooks"]) {
		m, _ := h.(map[string]any)
		for _, fn := range g.refs(k.stack, m["HookTargetArn"]) {
			id := g.show(fn)
			g.add(svc, id, fmt.Sprintf("deployment hook %v", m["LifecycleStages"]), true)
			hooks = append(hooks, id)
		}
	}
	for _, lb := range asList(p["LoadBalancers"]) {
		m, _ := lb.(map[string]any)
		adv, _ := m["AdvancedConfiguration"].(map[string]any)
		for _, rule := range g.refs(k.stack, adv["TestListenerRule"]) {
			for _, l := range g.refs(rule.stack, g.resources[rule].Properties["ListenerArn"]) {
				port := g.resources[l].Properties["Port"]
				for _, alb := range g.refs(l.stack, g.resources[l].Properties["LoadBalancerArn"]) {
					for _, h := range hooks {
						g.add(h, g.show(alb), fmt.Sprintf("test listener :%v", port), false)
					}
				}
			}
		}
	}
}
