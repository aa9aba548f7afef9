package preflight

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// ref names one resource of the assembly, and the attribute a reference reads from it ("" for Ref).
type ref struct {
	Stack, ID, Attr string
}

func (r ref) String() string {
	if r.Attr == "" {
		return r.Stack + "/" + r.ID
	}
	return r.Stack + "/" + r.ID + "." + r.Attr
}

// world resolves references across the stacks of an assembly: Ref and Fn::GetAtt inside a stack,
// Fn::ImportValue to the output of the stack that exports the name, and Fn::GetStackOutput to the named
// stack's output.
type world struct {
	asm     *Assembly
	exports map[string]ref // export name -> the stack and output ID that export it
}

func newWorld(asm *Assembly) *world {
	w := &world{asm: asm, exports: map[string]ref{}}
	for _, name := range asm.StackNames() {
		for oid, o := range asm.Stacks[name].Template.Outputs {
			if n, ok := o.ExportName(); ok {
				w.exports[n] = ref{Stack: name, ID: oid}
			}
		}
	}
	return w
}

// resource returns the resource r names.
func (w *world) resource(r ref) (Resource, bool) {
	s, ok := w.asm.Stacks[r.Stack]
	if !ok {
		return Resource{}, false
	}
	res, ok := s.Template.Resources[r.ID]
	return res, ok
}

// output returns the value of output id of stack and whether it exists.
func (w *world) output(stack, id string) (any, bool) {
	s, ok := w.asm.Stacks[stack]
	if !ok {
		return nil, false
	}
	o, ok := s.Template.Outputs[id]
	return o.Value, ok
}

// target returns the resource attribute v (a value of stack's template) refers to, following imports and
// stack outputs. It also recognises the load balancer's full name that CDK derives from a listener's ARN
// (Fn::Join of elements 1-3 of the ARN split on "/"). It reports false for literals and pseudo parameters.
func (w *world) target(stack string, v any) (ref, bool) {
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return ref{}, false
	}
	if id, ok := m["Ref"].(string); ok {
		if _, ok := w.resource(ref{Stack: stack, ID: id}); ok {
			return ref{Stack: stack, ID: id}, true
		}
		return ref{}, false
	}
	if ga, ok := getAtt(m["Fn::GetAtt"]); ok {
		return ref{Stack: stack, ID: ga[0], Attr: ga[1]}, true
	}
	if name, ok := m["Fn::ImportValue"].(string); ok {
		if e, ok := w.exports[name]; ok {
			if val, ok := w.output(e.Stack, e.ID); ok {
				return w.target(e.Stack, val)
			}
		}
		return ref{}, false
	}
	if so, ok := m["Fn::GetStackOutput"].(map[string]any); ok {
		st, _ := so["StackName"].(string)
		name, _ := so["OutputName"].(string)
		if val, ok := w.output(st, name); ok {
			return w.target(st, val)
		}
		return ref{}, false
	}
	if lb, ok := w.loadBalancerOfListener(stack, m); ok {
		return lb, true
	}
	return ref{}, false
}

// loadBalancerOfListener recognises {"Fn::Join": ["", [Select 1, "/", Select 2, "/", Select 3]]} of a
// listener's ARN split on "/": the "app/<name>/<id>" full name of the listener's load balancer.
func (w *world) loadBalancerOfListener(stack string, m map[string]any) (ref, bool) {
	j, ok := m["Fn::Join"].([]any)
	if !ok || len(j) != 2 || j[0] != "" {
		return ref{}, false
	}
	parts, ok := j[1].([]any)
	if !ok || len(parts) != 5 || parts[1] != "/" || parts[3] != "/" {
		return ref{}, false
	}
	var listener ref
	for i, p := range []any{parts[0], parts[2], parts[4]} {
		sel, ok := p.(map[string]any)["Fn::Select"].([]any)
		if !ok || len(sel) != 2 || number(sel[0]) != float64(i+1) {
			return ref{}, false
		}
		split, ok := sel[1].(map[string]any)["Fn::Split"].([]any)
		if !ok || len(split) != 2 || split[0] != "/" {
			return ref{}, false
		}
		t, ok := w.target(stack, split[1])
		if !ok || t.Attr != "" {
			return ref{}, false
		}
		listener = t
	}
	res, ok := w.resource(listener)
	if !ok || res.Type != "AWS::ElasticLoadBalancingV2::Listener" {
		return ref{}, false
	}
	lb, ok := w.target(listener.Stack, res.Properties["LoadBalancerArn"])
	if !ok {
		return ref{}, false
	}
	return ref{Stack: lb.Stack, ID: lb.ID, Attr: "LoadBalancerFullName"}, true
}

// getAtt decodes Fn::GetAtt's list form and its "Resource.Attribute" string form.
func getAtt(v any) ([2]string, bool) {
	switch x := v.(type) {
	case []any:
		if len(x) == 2 {
			id, ok1 := x[0].(string)
			attr, ok2 := x[1].(string)
			if ok1 && ok2 {
				return [2]string{id, attr}, true
			}
		}
	case string:
		if id, attr, ok := strings.Cut(x, "."); ok {
			return [2]string{id, attr}, true
		}
	}
	return [2]string{}, false
}

// literal evaluates v to a string when it is a literal, a join or substitution of literals and pseudo
// parameters of stack (AWS::StackName, AWS::Region, AWS::AccountId when the manifest names them), or the Ref or
// Fn::GetAtt of a resource attribute the template fixes (an explicit physical name, a database port).
func (w *world) literal(stack string, v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	case map[string]any:
		if len(x) != 1 {
			return "", false
		}
		if name, ok := x["Ref"].(string); ok {
			if p, ok := w.pseudo(stack, name); ok {
				return p, true
			}
		}
		if j, ok := x["Fn::Join"].([]any); ok && len(j) == 2 {
			sep, ok := j[0].(string)
			parts, ok2 := j[1].([]any)
			if !ok || !ok2 {
				return "", false
			}
			out := make([]string, 0, len(parts))
			for _, p := range parts {
				s, ok := w.literal(stack, p)
				if !ok {
					return "", false
				}
				out = append(out, s)
			}
			return strings.Join(out, sep), true
		}
		if sub, ok := x["Fn::Sub"].(string); ok {
			return w.substitute(stack, sub)
		}
		if t, ok := w.target(stack, x); ok {
			return w.fixedAttribute(t)
		}
	}
	return "", false
}

// pseudo returns the value of a pseudo parameter that the stack's manifest entry fixes.
func (w *world) pseudo(stack, name string) (string, bool) {
	s, ok := w.asm.Stacks[stack]
	if !ok {
		return "", false
	}
	switch name {
	case "AWS::StackName":
		return s.Name, true
	case "AWS::Region":
		return s.Region, s.Region != "" && !strings.HasPrefix(s.Region, "unknown-")
	case "AWS::AccountId":
		return s.Account, s.Account != "" && !strings.HasPrefix(s.Account, "unknown-")
	}
	return "", false
}

// substitute evaluates an Fn::Sub string whose variables are pseudo parameters.
func (w *world) substitute(stack, s string) (string, bool) {
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), true
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			return "", false
		}
		v, ok := w.pseudo(stack, s[i+2:i+j])
		if !ok {
			return "", false
		}
		b.WriteString(s[:i] + v)
		s = s[i+j+1:]
	}
}

// fixedAttribute returns the value of a resource attribute that the template fixes: the explicit name Ref or
// a name attribute returns (see namedTypes), and an RDS instance's endpoint port.
func (w *world) fixedAttribute(t ref) (string, bool) {
	res, ok := w.resource(t)
	if !ok {
		return "", false
	}
	if nt, ok := namedTypes[res.Type]; ok && (t.Attr == "" && nt.RefIsName || t.Attr != "" && t.Attr == nt.NameAttr) {
		return w.literal(t.Stack, res.Properties[nt.Property])
	}
	if res.Type == "AWS::RDS::DBInstance" && t.Attr == "Endpoint.Port" {
		if p, ok := res.Properties["Port"]; ok {
			return w.literal(t.Stack, p)
		}
		engine, _ := res.Properties["Engine"].(string)
		if port, ok := defaultPorts[strings.ToLower(engine)]; ok {
			return port, true
		}
	}
	return "", false
}

// defaultPorts are the engines' default ports, which an RDS instance listens on when Port is not set.
// Source: AWS::RDS::DBInstance Port, "Default: ... PostgreSQL: 5432 ... MySQL: 3306"
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/aws-resource-rds-dbinstance.html).
var defaultPorts = map[string]string{"postgres": "5432", "mysql": "3306", "mariadb": "3306"}

// canonical renders v of stack as a string in which references are replaced by the resources they resolve to
// and literals by their value, so two spellings of one value compare equal.
func (w *world) canonical(stack string, v any) string {
	if s, ok := w.literal(stack, v); ok {
		return strconv.Quote(s)
	}
	if t, ok := w.target(stack, v); ok {
		return "<" + t.String() + ">"
	}
	switch x := v.(type) {
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = w.canonical(stack, e)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case map[string]any:
		parts := make([]string, 0, len(x))
		for _, k := range sortedKeys(x) {
			parts = append(parts, strconv.Quote(k)+":"+w.canonical(stack, x[k]))
		}
		return "{" + strings.Join(parts, ",") + "}"
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// number returns v as a float64 (JSON numbers, and numbers CloudFormation accepts as strings); NaN-free: -1
// when v is neither.
func number(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err == nil {
			return f
		}
	}
	return -1
}

// list returns v as a list ([] for anything else).
func list(v any) []any {
	l, _ := v.([]any)
	return l
}

// object returns v as an object (nil for anything else).
func object(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// describe renders a template value for a message.
func describe(v any) string {
	if s, ok := v.(string); ok {
		return fmt.Sprintf("%q", s)
	}
	b, _ := json.Marshal(v)
	return string(b)
}
