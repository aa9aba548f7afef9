package localaws

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// filterPolicy is a parsed SNS subscription filter policy.
type filterPolicy struct {
	keys map[string]*filterNode
	ors  [][]*filterPolicy
}

// filterNode is either a nested policy (MessageBody scope) or a list of
// conditions, any of which may match.
type filterNode struct {
	nested *filterPolicy
	conds  []condition
}

type condition struct {
	kind    string // "exact", "prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists"
	str     *string
	num     *float64
	null    bool
	boolean *bool
	exists  bool
	ops     []numOp
	but     []condition // anything-but: values or a prefix/suffix condition
}

type numOp struct {
	op string
	v  float64
}

// lookup returns the values found at a key path and whether the key exists.
type lookup func(path []string) ([]any, bool)

func parseFilterPolicy(s string, bodyScope bool) (*filterPolicy, error) {
	var raw map[string]any
	if err := json.Unmarshal([]byte(s), &raw); err != nil {
		return nil, fmt.Errorf("filter policy is not a JSON object: %w", err)
	}
	return parsePolicyObject(raw, bodyScope, 0)
}

func parsePolicyObject(raw map[string]any, bodyScope bool, depth int) (*filterPolicy, error) {
	p := &filterPolicy{keys: map[string]*filterNode{}}
	for k, v := range raw {
		if k == "$or" {
			alts, ok := v.([]any)
			if !ok || len(alts) < 2 {
				return nil, fmt.Errorf("$or must be an array of at least two policies")
			}
			var group []*filterPolicy
			for _, a := range alts {
				obj, ok := a.(map[string]any)
				if !ok {
					return nil, fmt.Errorf("$or must contain objects")
				}
				sub, err := parsePolicyObject(obj, bodyScope, depth)
				if err != nil {
					return nil, err
				}
				group = append(group, sub)
			}
			p.ors = append(p.ors, group)
			continue
		}
		switch x := v.(type) {
		case map[string]any:
			if !bodyScope {
				return nil, fmt.Errorf("nested keys are only allowed with FilterPolicyScope MessageBody (key %q)", k)
			}
			sub, err := parsePolicyObject(x, bodyScope, depth+1)
			if err != nil {
				return nil, err
			}
			p.keys[k] = &filterNode{nested: sub}
		case []any:
			n := &filterNode{}
			for _, c := range x {
				cond, err := parseCondition(c)
				if err != nil {
					return nil, fmt.Errorf("key %q: %w", k, err)
				}
				n.conds = append(n.conds, cond)
			}
			p.keys[k] = n
		default:
			return nil, fmt.Errorf("match value of key %q must be an array", k)
		}
	}
	return p, nil
}

func parseCondition(c any) (condition, error) {
	switch v := c.(type) {
	case string:
		return condition{kind: "exact", str: &v}, nil
	case float64:
		return condition{kind: "exact", num: &v}, nil
	case bool:
		return condition{kind: "exact", boolean: &v}, nil
	case nil:
		return condition{kind: "exact", null: true}, nil
	case map[string]any:
		if len(v) != 1 {
			return condition{}, fmt.Errorf("a match object must have exactly one operator")
		}
		for op, arg := range v {
			switch op {
			case "prefix", "suffix", "equals-ignore-case":
				s, ok := arg.(string)
				if !ok {
					return condition{}, fmt.Errorf("%s match pattern must be a string", op)
				}
				return condition{kind: op, str: &s}, nil
			case "exists":
				b, ok := arg.(bool)
				if !ok {
					return condition{}, fmt.Errorf("exists match pattern must be either true or false")
				}
				return condition{kind: "exists", exists: b}, nil
			case "numeric":
				return parseNumeric(arg)
			case "anything-but":
				cond := condition{kind: "anything-but"}
				switch a := arg.(type) {
				case []any:
					for _, x := range a {
						switch x.(type) {
						case string, float64:
						default:
							return condition{}, fmt.Errorf("anything-but list must hold strings or numbers")
						}
						sub, _ := parseCondition(x)
						cond.but = append(cond.but, sub)
					}
				case string, float64:
					sub, _ := parseCondition(a)
					cond.but = []condition{sub}
				case map[string]any:
					sub, err := parseCondition(a)
					if err != nil || (sub.kind != "prefix" && sub.kind != "suffix" && sub.kind != "equals-ignore-case") {
						return condition{}, fmt.Errorf("anything-but object must be prefix, suffix or equals-ignore-case")
					}
					cond.but = []condition{sub}
				default:
					return condition{}, fmt.Errorf("anything-but has an invalid value")
				}
				return cond, nil
			default:
				return condition{}, fmt.Errorf("unrecognized match type %s", op)
			}
		}
	}
	return condition{}, fmt.Errorf("match value must be a string, number, boolean, null or object")
}

func parseNumeric(arg any) (condition, error) {
	a, ok := arg.([]any)
	if !ok || len(a) == 0 || len(a)%2 != 0 || len(a) > 4 {
		return condition{}, fmt.Errorf("numeric match must be an array of operator and value pairs")
	}
	cond := condition{kind: "numeric"}
	for i := 0; i < len(a); i += 2 {
		op, ok1 := a[i].(string)
		v, ok2 := a[i+1].(float64)
		if !ok1 || !ok2 {
			return condition{}, fmt.Errorf("numeric match must be an array of operator and value pairs")
		}
		switch op {
		case "=", "<", "<=", ">", ">=":
		default:
			return condition{}, fmt.Errorf("unrecognized numeric range operator %s", op)
		}
		cond.ops = append(cond.ops, numOp{op, v})
	}
	return cond, nil
}

// match reports whether the message described by get satisfies the policy:
// every key matches, and one alternative of every $or matches.
func (p *filterPolicy) match(get lookup) bool {
	return p.matchAt(get, nil)
}

func (p *filterPolicy) matchAt(get lookup, prefix []string) bool {
	for k, n := range p.keys {
		path := append(append([]string(nil), prefix...), k)
		if n.nested != nil {
			if !n.nested.matchAt(get, path) {
				return false
			}
			continue
		}
		vals, present := get(path)
		ok := false
		for _, c := range n.conds {
			if c.match(vals, present) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for _, group := range p.ors {
		ok := false
		for _, alt := range group {
			if alt.matchAt(get, prefix) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	return true
}

func (c condition) match(vals []any, present bool) bool {
	switch c.kind {
	case "exists":
		return present == c.exists
	case "anything-but":
		if !present {
			return false
		}
		for _, v := range vals {
			for _, b := range c.but {
				if b.match([]any{v}, true) {
					return false
				}
			}
		}
		return true
	}
	if !present {
		return false
	}
	for _, v := range vals {
		if c.matchOne(v) {
			return true
		}
	}
	return false
}

func (c condition) matchOne(v any) bool {
	switch c.kind {
	case "exact":
		switch {
		case c.str != nil:
			s, ok := v.(string)
			return ok && s == *c.str
		case c.num != nil:
			f, ok := v.(float64)
			return ok && f == *c.num
		case c.boolean != nil:
			b, ok := v.(bool)
			return ok && b == *c.boolean
		case c.null:
			return v == nil
		}
	case "prefix":
		s, ok := v.(string)
		return ok && strings.HasPrefix(s, *c.str)
	case "suffix":
		s, ok := v.(string)
		return ok && strings.HasSuffix(s, *c.str)
	case "equals-ignore-case":
		s, ok := v.(string)
		return ok && strings.EqualFold(s, *c.str)
	case "numeric":
		f, ok := v.(float64)
		if !ok {
			return false
		}
		for _, o := range c.ops {
			var r bool
			switch o.op {
			case "=":
				r = f == o.v
			case "<":
				r = f < o.v
			case "<=":
				r = f <= o.v
			case ">":
				r = f > o.v
			case ">=":
				r = f >= o.v
			}
			if !r {
				return false
			}
		}
		return true
	}
	return false
}

// attrLookup looks keys up in SNS message attributes: String values as
// strings, Number values as numbers, String.Array values element by element.
func attrLookup(attrs map[string]snsAttr) lookup {
	return func(path []string) ([]any, bool) {
		if len(path) != 1 {
			return nil, false
		}
		a, ok := attrs[path[0]]
		if !ok {
			return nil, false
		}
		switch a.DataType {
		case "Number":
			f, err := strconv.ParseFloat(a.StringValue, 64)
			if err != nil {
				return nil, true
			}
			return []any{f}, true
		case "String.Array":
			var arr []any
			if err := json.Unmarshal([]byte(a.StringValue), &arr); err != nil {
				return nil, true
			}
			return arr, true
		case "Binary":
			return nil, true
		}
		return []any{a.StringValue}, true
	}
}

// bodyLookup looks key paths up in a JSON message body; arrays along the way
// match element by element.
func bodyLookup(body map[string]any) lookup {
	return func(path []string) ([]any, bool) {
		cur := []any{body}
		for _, k := range path {
			var next []any
			found := false
			for _, c := range cur {
				for _, obj := range flatten(c) {
					m, ok := obj.(map[string]any)
					if !ok {
						continue
					}
					if v, ok := m[k]; ok {
						found = true
						next = append(next, v)
					}
				}
			}
			if !found {
				return nil, false
			}
			cur = next
		}
		var out []any
		for _, c := range cur {
			out = append(out, flatten(c)...)
		}
		return out, true
	}
}

func flatten(v any) []any {
	if a, ok := v.([]any); ok {
		return a
	}
	return []any{v}
}
