package config

import (
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// TestEverySettingDocumented checks that docs/infrastructure.md's "Environment settings" section names every key
// an environment file may hold, so a new setting cannot ship undocumented.
func TestEverySettingDocumented(t *testing.T) {
	b, err := os.ReadFile("../../docs/infrastructure.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(b)
	start := strings.Index(doc, "## Environment settings")
	end := strings.Index(doc, "### Production guardrails")
	if start < 0 || end < start {
		t.Fatal(`docs/infrastructure.md lacks the "Environment settings" section followed by "Production guardrails"`)
	}
	section := doc[start:end]
	keys := yamlKeys(reflect.TypeFor[Environment](), "")
	if len(keys) < 50 {
		t.Fatalf("found %d keys; the walk over Environment is broken", len(keys))
	}
	for _, k := range keys {
		leaf := k[strings.LastIndex(k, ".")+1:]
		if !regexp.MustCompile(`\b` + regexp.QuoteMeta(leaf) + `\b`).MatchString(section) {
			t.Errorf("setting %s is not in the environment settings table of docs/infrastructure.md", k)
		}
	}
}

// yamlKeys lists the dotted yaml keys of the settings (the non-struct values) in the struct type typ and the
// structs inside it; "<name>" stands for a map key.
func yamlKeys(typ reflect.Type, prefix string) []string {
	var keys []string
	for f := range typ.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" {
			continue
		}
		key, ft := prefix+name, f.Type
		switch ft.Kind() {
		case reflect.Pointer, reflect.Slice:
			ft = ft.Elem()
		case reflect.Map:
			if ft = ft.Elem(); ft.Kind() == reflect.Struct {
				key += ".<name>"
			}
		}
		if ft.Kind() == reflect.Struct {
			keys = append(keys, yamlKeys(ft, key+".")...)
		} else {
			keys = append(keys, key)
		}
	}
	return keys
}
