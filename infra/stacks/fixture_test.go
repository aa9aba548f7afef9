package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/ecs-reworked/ecs-reworked/infra/config"
	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// environments are the shipped environment files every app-level test runs against.
var environments = []string{"dev", "staging", "prod"}

// outRoot holds the cloud assemblies of the package's tests; TestMain removes it.
var outRoot string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "stacks-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	outRoot = dir
	code := m.Run()
	jsii.Close()
	os.RemoveAll(dir)
	os.Exit(code)
}

// synthesized is one environment's app, synthesized once and shared by the tests (synthesis takes seconds).
type synthesized struct {
	dir       string // the cloud assembly
	env       *config.Environment
	manifest  *manifest.Manifest
	stacks    *Environment
	templates map[string]template  // by stack name
	messages  map[string][]message // by stack name
	artifacts map[string]artifact  // by stack name
}

// template is a synthesized CloudFormation template.
type template struct {
	Resources map[string]resource `json:"Resources"`
	Outputs   map[string]any      `json:"Outputs"`
	raw       map[string]any
	// byPath maps construct paths ("/stack/Construct/Resource") to logical IDs.
	byPath map[string]string
}

// resource is one resource of a template.
type resource struct {
	Type           string         `json:"Type"`
	Properties     map[string]any `json:"Properties"`
	DeletionPolicy string         `json:"DeletionPolicy"`
	UpdateReplace  string         `json:"UpdateReplacePolicy"`
	DependsOn      any            `json:"DependsOn"`
	Metadata       map[string]any `json:"Metadata"`
}

// message is an annotation attached to a construct (cdk-nag findings are error and warning annotations).
type message struct {
	Path  string
	Level string // aws:cdk:error, aws:cdk:warning, aws:cdk:info
	Text  string
}

// artifact is a stack's entry in the cloud assembly manifest. Its annotations are inline (Metadata) or, in
// recent CDK versions, in a separate file (AdditionalMetadataFile).
type artifact struct {
	Environment            string   `json:"environment"`
	AdditionalMetadataFile string   `json:"additionalMetadataFile"`
	Dependencies           []string `json:"dependencies"`
	Properties             struct {
		TemplateFile          string `json:"templateFile"`
		TerminationProtection bool   `json:"terminationProtection"`
		StackName             string `json:"stackName"`
	} `json:"properties"`
	Metadata metadata `json:"metadata"`
}

// metadata holds the annotations of a stack's constructs by construct path.
type metadata map[string][]struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

var (
	cacheMu sync.Mutex
	cache   = map[string]*synthesized{}
)

// synth returns the synthesized app of the shipped environment name.
func synth(t *testing.T, name string) *synthesized {
	t.Helper()
	cacheMu.Lock()
	defer cacheMu.Unlock()
	if s, ok := cache[name]; ok {
		return s
	}
	m, err := manifest.Load("../services.yaml")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("..", "environments", name+".yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := config.Decode(name+".yaml", data, m)
	if err != nil {
		t.Fatal(err)
	}
	s := synthEnvironment(t, env, m)
	cache[name] = s
	return s
}

// synthEnvironment synthesizes an app holding env's stacks and reads back the templates and annotations.
func synthEnvironment(t *testing.T, env *config.Environment, m *manifest.Manifest) *synthesized {
	t.Helper()
	out, err := os.MkdirTemp(outRoot, env.Name+"-")
	if err != nil {
		t.Fatal(err)
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(out), Context: AppContext()})
	stacks := AddEnvironment(app, env, config.Inputs{Manifest: m, ImageTag: "test"})
	app.Synth(nil)
	s := readAssembly(t, out)
	s.dir, s.env, s.manifest, s.stacks = out, env, m, stacks
	return s
}

// readAssembly reads the templates and annotations of every stack of the cloud assembly in out.
func readAssembly(t *testing.T, out string) *synthesized {
	t.Helper()
	var asm struct {
		Artifacts map[string]json.RawMessage `json:"artifacts"`
	}
	readJSON(t, filepath.Join(out, "manifest.json"), &asm)
	s := &synthesized{templates: map[string]template{},
		messages: map[string][]message{}, artifacts: map[string]artifact{}}
	for id, raw := range asm.Artifacts {
		var a artifact
		if err := json.Unmarshal(raw, &a); err != nil {
			t.Fatal(err)
		}
		if a.Properties.TemplateFile == "" {
			continue // not a stack
		}
		var tmpl template
		readJSON(t, filepath.Join(out, a.Properties.TemplateFile), &tmpl)
		readJSON(t, filepath.Join(out, a.Properties.TemplateFile), &tmpl.raw)
		s.artifacts[id] = a
		meta := metadata{}
		for path, entries := range a.Metadata {
			meta[path] = append(meta[path], entries...)
		}
		if a.AdditionalMetadataFile != "" {
			var more metadata
			readJSON(t, filepath.Join(out, a.AdditionalMetadataFile), &more)
			for path, entries := range more {
				meta[path] = append(meta[path], entries...)
			}
		}
		tmpl.byPath = map[string]string{}
		for path, entries := range meta {
			for _, e := range entries {
				if e.Type == "aws:cdk:logicalId" {
					tmpl.byPath[path], _ = e.Data.(string)
					continue
				}
				if !strings.HasPrefix(e.Type, "aws:cdk:") {
					continue
				}
				text, _ := e.Data.(string)
				s.messages[id] = append(s.messages[id], message{Path: path, Level: e.Type, Text: text})
			}
		}
		s.templates[id] = tmpl
	}
	return s
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
}

// stack returns the template of the environment's stack part ("stateful", ...), failing when it is missing.
func (s *synthesized) stack(t *testing.T, part string) template {
	t.Helper()
	tmpl, ok := s.templates[s.env.StackName(part)]
	if !ok {
		t.Fatalf("no stack %s in %v", s.env.StackName(part), s.stackNames())
	}
	return tmpl
}

func (s *synthesized) stackNames() []string {
	var names []string
	for n := range s.templates {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// logicalID returns the logical ID of a construct's CloudFormation resource (pass Node().DefaultChild() of an L2).
func (tmpl template) logicalID(t *testing.T, c constructs.IConstruct) string {
	t.Helper()
	path := "/" + *c.Node().Path()
	id, ok := tmpl.byPath[path]
	if !ok {
		t.Fatalf("no logical ID for %s", path)
	}
	return id
}

// ofType returns the resources of a type by logical ID.
func (tmpl template) ofType(typ string) map[string]resource {
	out := map[string]resource{}
	for id, r := range tmpl.Resources {
		if r.Type == typ {
			out[id] = r
		}
	}
	return out
}

// assert runs a CDK assertion against the template, turning its panic into a test error.
func (tmpl template) assert(t *testing.T, check func(assertions.Template)) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("assertion failed: %v", r)
		}
	}()
	raw := tmpl.raw
	check(assertions.Template_FromJSON(&raw, nil))
}

// hasResource asserts that a resource of typ has (at least) the given properties.
func (tmpl template) hasResource(t *testing.T, typ string, props map[string]any) {
	t.Helper()
	tmpl.assert(t, func(a assertions.Template) {
		a.HasResourceProperties(jsii.String(typ), assertions.Match_ObjectLike(&props))
	})
}

// countOf asserts the number of resources of typ.
func (tmpl template) countOf(t *testing.T, typ string, want int) {
	t.Helper()
	if got := len(tmpl.ofType(typ)); got != want {
		t.Errorf("count of %s = %d; want %d", typ, got, want)
	}
}

// forEachEnvironment runs f as a subtest per shipped environment.
func forEachEnvironment(t *testing.T, f func(t *testing.T, s *synthesized)) {
	t.Helper()
	for _, name := range environments {
		t.Run(name, func(t *testing.T) { f(t, synth(t, name)) })
	}
}

// ref is CloudFormation's {"Ref": id}.
func ref(id string) map[string]any { return map[string]any{"Ref": id} }
