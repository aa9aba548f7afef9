package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// Problem is one thing wrong with an environment file: the key it concerns and why.
type Problem struct {
	// Key is the dotted path of the setting, e.g. database.multi_az or services.api.min_tasks.
	Key string
	// Reason says what is wrong and, for a guardrail, why production needs it.
	Reason string
}

// Error lists every problem found in one environment file.
type Error struct {
	// File is the file the environment was read from.
	File string
	// Problems are all the problems found, in file order for decoding problems, then in checking order.
	Problems []Problem
}

// Error formats one problem per line, each naming the file and the key.
func (e *Error) Error() string {
	var b strings.Builder
	for i, p := range e.Problems {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "%s: %s: %s", e.File, p.Key, p.Reason)
	}
	return b.String()
}

// Decode decodes the environment file named file (used in messages only) strictly, then validates it against the
// manifest and, for a production environment, against the guardrails. Every problem is reported in one *Error.
func Decode(file string, data []byte, m *manifest.Manifest) (*Environment, error) {
	errs := &Error{File: file}
	var env Environment
	if !decodeStrict(data, &env, errs) {
		return nil, errs
	}
	c := &checker{}
	env.validate(c, file, m)
	if env.Production {
		env.guard(c, m)
	}
	errs.addUncovered(c.problems)
	if len(errs.Problems) > 0 {
		return nil, errs
	}
	return &env, nil
}

// addUncovered adds the checks' problems, except those about a key that already failed to decode: such a key holds
// a zero value, and checking it again would only repeat the problem.
func (e *Error) addUncovered(problems []Problem) {
	for _, p := range problems {
		if !e.covers(p.Key) {
			e.Problems = append(e.Problems, p)
		}
	}
}

// decodeStrict decodes data into v (a pointer to a struct with yaml tags) strictly: an unknown key, a wrong type
// or a missing key without omitempty is a problem naming its key, appended to errs. It returns false when the file
// is not a YAML mapping at all, so nothing further can be checked.
func decodeStrict[T any](data []byte, v *T, errs *Error) bool {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		errs.Problems = append(errs.Problems, Problem{Key: "(file)", Reason: err.Error()})
		return false
	}
	if len(root.Content) == 0 || root.Content[0].Kind != yaml.MappingNode {
		errs.Problems = append(errs.Problems, Problem{Key: "(file)", Reason: "want a mapping of settings"})
		return false
	}
	keys := indexKeys(root.Content[0], "")
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			errs.Problems = append(errs.Problems, Problem{Key: "(file)", Reason: err.Error()})
			return false
		}
		for _, msg := range te.Errors {
			errs.Problems = append(errs.Problems, keys.explain(msg))
		}
	}
	requireKeys(root.Content[0], reflect.TypeFor[T](), "", &errs.Problems)
	return true
}

// covers reports whether a problem was already found for key or a key around or inside it.
func (e *Error) covers(key string) bool {
	for _, p := range e.Problems {
		if p.Key == key || strings.HasPrefix(key, p.Key+".") || strings.HasPrefix(p.Key, key+".") ||
			strings.HasPrefix(key, p.Key+"[") || strings.HasPrefix(p.Key, key+"[") {
			return true
		}
	}
	return false
}

// keyIndex maps YAML lines back to the settings on them, so a decoding error can name its key.
type keyIndex []keyEntry

type keyEntry struct {
	line  int
	path  string
	name  string
	value string
}

func indexKeys(n *yaml.Node, prefix string) keyIndex {
	var out keyIndex
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			path := join(prefix, k.Value)
			out = append(out, keyEntry{line: k.Line, path: path, name: k.Value, value: v.Value})
			out = append(out, indexKeys(v, path)...)
		}
	case yaml.SequenceNode:
		for i, v := range n.Content {
			path := fmt.Sprintf("%s[%d]", prefix, i)
			out = append(out, keyEntry{line: v.Line, path: path, value: v.Value})
			out = append(out, indexKeys(v, path)...)
		}
	}
	return out
}

var linePrefix = regexp.MustCompile(`^line (\d+): (.*)$`)
var unknownField = regexp.MustCompile(`^field (\S+) not found in type`)
var badValue = regexp.MustCompile("^cannot unmarshal !!\\w+ `([^`]*)` into (\\S+)")

// explain turns a yaml.v3 decoding message into a problem naming the key.
func (idx keyIndex) explain(msg string) Problem {
	m := linePrefix.FindStringSubmatch(msg)
	if m == nil {
		return Problem{Key: "(file)", Reason: msg}
	}
	line, _ := strconv.Atoi(m[1])
	rest := m[2]
	if f := unknownField.FindStringSubmatch(rest); f != nil {
		for _, e := range idx {
			if e.line == line && e.name == f[1] {
				return Problem{Key: e.path, Reason: fmt.Sprintf("unknown key (line %d)", line)}
			}
		}
		return Problem{Key: f[1], Reason: fmt.Sprintf("unknown key (line %d)", line)}
	}
	if v := badValue.FindStringSubmatch(rest); v != nil {
		for _, e := range idx {
			if e.line == line && e.value == v[1] {
				return Problem{Key: e.path, Reason: fmt.Sprintf("wrong type: %q is not a %s (line %d)", v[1], goTypeName(v[2]), line)}
			}
		}
	}
	for _, e := range idx {
		if e.line == line {
			return Problem{Key: e.path, Reason: fmt.Sprintf("%s (line %d)", rest, line)}
		}
	}
	return Problem{Key: fmt.Sprintf("(line %d)", line), Reason: rest}
}

func goTypeName(t string) string {
	switch {
	case t == "int" || t == "float64":
		return "number"
	case t == "bool":
		return "boolean (true or false)"
	case strings.HasPrefix(t, "[]"):
		return "list"
	case strings.HasPrefix(t, "map["), strings.HasPrefix(t, "config."):
		return "mapping"
	default:
		return t
	}
}

// requireKeys reports every field of t whose key is missing from the mapping n, unless its tag says omitempty.
// It descends into nested mappings, lists of mappings and maps of mappings.
func requireKeys(n *yaml.Node, t reflect.Type, prefix string, problems *[]Problem) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the wrong type
		}
		present := map[string]*yaml.Node{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			present[n.Content[i].Value] = n.Content[i+1]
		}
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "" || name == "-" {
				continue
			}
			v, ok := present[name]
			optional := strings.Contains(opts, "omitempty")
			if !ok || (v.Kind == yaml.ScalarNode && v.Tag == "!!null") {
				if !optional {
					*problems = append(*problems, Problem{Key: join(prefix, name), Reason: "required, but missing"})
				}
				continue
			}
			requireKeys(v, f.Type, join(prefix, name), problems)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, v := range n.Content {
			requireKeys(v, t.Elem(), fmt.Sprintf("%s[%d]", prefix, i), problems)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			requireKeys(n.Content[i+1], t.Elem(), join(prefix, n.Content[i].Value), problems)
		}
	}
}

func join(prefix, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + "." + name
}

// checker collects problems.
type checker struct{ problems []Problem }

func (c *checker) bad(key, format string, args ...any) {
	c.problems = append(c.problems, Problem{Key: key, Reason: fmt.Sprintf(format, args...)})
}

// check reports a problem unless ok.
func (c *checker) check(ok bool, key, format string, args ...any) {
	if !ok {
		c.bad(key, format, args...)
	}
}
