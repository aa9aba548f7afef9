// Package cloudassembly reads a synthesized CDK cloud assembly (manifest.json and the templates it lists) or a
// directory of <stackName>.template.json files, such as the deployed templates `aws cloudformation get-template`
// returns, into the stacks, their environments and dependencies, and the parts of their templates that the
// offline checks (preflight), the architecture diagram and the cost estimate read.
package cloudassembly

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Assembly is a set of synthesized stacks: a CDK cloud assembly (manifest.json and its templates) or a directory
// of <stackName>.template.json files, such as the deployed templates `aws cloudformation get-template` returns.
type Assembly struct {
	// Dir is where the assembly was read from.
	Dir string
	// Stacks are the stacks by name.
	Stacks map[string]*Stack
}

// Stack is one stack of an assembly.
type Stack struct {
	// Name is the stack's name (the manifest's stackName, or the artifact ID, or the file name).
	Name string
	// Account and Region come from the manifest's environment (aws://account/region); both are empty for a
	// directory of templates.
	Account, Region string
	// DependsOn are the names of the stacks this stack depends on directly (the manifest's dependencies).
	DependsOn []string
	// Template is the decoded template.
	Template Template
	// paths maps logical IDs to construct paths, from the manifest's aws:cdk:logicalId metadata.
	paths map[string]string
}

// Template is the part of a CloudFormation template the rules read.
type Template struct {
	Resources map[string]Resource `json:"Resources"`
	Outputs   map[string]Output   `json:"Outputs"`
}

// Resource is one template resource.
type Resource struct {
	Type       string         `json:"Type"`
	Properties map[string]any `json:"Properties"`
	Metadata   map[string]any `json:"Metadata"`
	// DependsOn is a logical ID or a list of them.
	DependsOn any `json:"DependsOn"`
}

// Output is one template output, possibly exported.
type Output struct {
	Value  any `json:"Value"`
	Export *struct {
		Name any `json:"Name"`
	} `json:"Export"`
}

// ExportName returns the output's export name when it is exported under a literal name.
func (o Output) ExportName() (string, bool) {
	if o.Export == nil {
		return "", false
	}
	name, ok := o.Export.Name.(string)
	return name, ok
}

// Path returns the construct path of a resource: its aws:cdk:path metadata when the template has it (the CDK
// CLI adds it), otherwise the path the manifest's metadata gives its logical ID; "" when neither knows it.
func (s *Stack) Path(logicalID string) string {
	if r, ok := s.Template.Resources[logicalID]; ok {
		if p, ok := r.Metadata["aws:cdk:path"].(string); ok {
			return p
		}
	}
	return s.paths[logicalID]
}

// Load reads the assembly in dir. A directory with a manifest.json is a cloud assembly: every stack artifact is
// read with its environment and dependencies. Any other directory is read as <stackName>.template.json files.
func Load(dir string) (*Assembly, error) {
	if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err == nil {
		return loadCloudAssembly(dir)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read assembly %s: %w", dir, err)
	}
	return loadTemplates(dir)
}

// manifest is the part of a cloud assembly manifest the loader reads.
type manifest struct {
	Artifacts map[string]struct {
		Type                   string   `json:"type"`
		Environment            string   `json:"environment"`
		Dependencies           []string `json:"dependencies"`
		AdditionalMetadataFile string   `json:"additionalMetadataFile"`
		Properties             struct {
			TemplateFile string `json:"templateFile"`
			StackName    string `json:"stackName"`
		} `json:"properties"`
		Metadata metadata `json:"metadata"`
	} `json:"artifacts"`
}

// metadata holds a stack's construct metadata by construct path.
type metadata map[string][]struct {
	Type string `json:"type"`
	Data any    `json:"data"`
}

func loadCloudAssembly(dir string) (*Assembly, error) {
	var m manifest
	if err := readJSON(filepath.Join(dir, "manifest.json"), &m); err != nil {
		return nil, err
	}
	asm := &Assembly{Dir: dir, Stacks: map[string]*Stack{}}
	names := map[string]string{} // artifact ID -> stack name
	for id, a := range m.Artifacts {
		if a.Type == "aws:cloudformation:stack" {
			names[id] = cmp.Or(a.Properties.StackName, id)
		}
	}
	for id, a := range m.Artifacts {
		if a.Type != "aws:cloudformation:stack" {
			continue
		}
		s := &Stack{Name: names[id], paths: map[string]string{}}
		s.Account, s.Region = parseEnvironment(a.Environment)
		for _, d := range a.Dependencies {
			if n, ok := names[d]; ok { // asset manifests are dependencies too; only stacks order deployments
				s.DependsOn = append(s.DependsOn, n)
			}
		}
		sort.Strings(s.DependsOn)
		if err := readJSON(filepath.Join(dir, a.Properties.TemplateFile), &s.Template); err != nil {
			return nil, err
		}
		meta := a.Metadata
		if a.AdditionalMetadataFile != "" {
			var more metadata
			if err := readJSON(filepath.Join(dir, a.AdditionalMetadataFile), &more); err != nil {
				return nil, err
			}
			meta = mergeMetadata(meta, more)
		}
		for path, entries := range meta {
			for _, e := range entries {
				if lid, ok := e.Data.(string); ok && e.Type == "aws:cdk:logicalId" {
					s.paths[lid] = path
				}
			}
		}
		asm.Stacks[s.Name] = s
	}
	if len(asm.Stacks) == 0 {
		return nil, fmt.Errorf("read assembly %s: the manifest lists no stacks", dir)
	}
	return asm, nil
}

func mergeMetadata(a, b metadata) metadata {
	out := metadata{}
	for k, v := range a {
		out[k] = append(out[k], v...)
	}
	for k, v := range b {
		out[k] = append(out[k], v...)
	}
	return out
}

func loadTemplates(dir string) (*Assembly, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.template.json"))
	if err != nil {
		return nil, fmt.Errorf("list templates in %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("read assembly %s: no manifest.json and no <stackName>.template.json files", dir)
	}
	asm := &Assembly{Dir: dir, Stacks: map[string]*Stack{}}
	for _, f := range files {
		s := &Stack{Name: strings.TrimSuffix(filepath.Base(f), ".template.json"), paths: map[string]string{}}
		if err := readJSON(f, &s.Template); err != nil {
			return nil, err
		}
		asm.Stacks[s.Name] = s
	}
	return asm, nil
}

// parseEnvironment splits aws://account/region.
func parseEnvironment(env string) (account, region string) {
	rest, ok := strings.CutPrefix(env, "aws://")
	if !ok {
		return "", ""
	}
	account, region, _ = strings.Cut(rest, "/")
	return account, region
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("read assembly: %w", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// EnvironmentPrefix is the prefix of every stack name of environment env, and of the physical names its
// resources carry: ecsr-<env>.
func EnvironmentPrefix(env string) string { return "ecsr-" + env }

// Environment returns the names of env's stacks (ecsr-<env>-*), sorted.
func (a *Assembly) Environment(env string) []string {
	var names []string
	for n := range a.Stacks {
		if strings.HasPrefix(n, EnvironmentPrefix(env)+"-") {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// StackNames returns every stack name, sorted.
func (a *Assembly) StackNames() []string {
	names := make([]string, 0, len(a.Stacks))
	for n := range a.Stacks {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DependsOn reports whether stack from depends on stack to, directly or through other stacks.
func (a *Assembly) DependsOn(from, to string) bool {
	seen := map[string]bool{}
	var walk func(string) bool
	walk = func(n string) bool {
		if seen[n] {
			return false
		}
		seen[n] = true
		s, ok := a.Stacks[n]
		if !ok {
			return false
		}
		for _, d := range s.DependsOn {
			if d == to || walk(d) {
				return true
			}
		}
		return false
	}
	return walk(from)
}

// Merge returns an assembly holding the stacks of every given assembly, as one cloud assembly would. The tests
// synthesize each environment into its own assembly; the rules that compare environments need them together.
func Merge(parts ...*Assembly) (*Assembly, error) {
	out := &Assembly{Stacks: map[string]*Stack{}}
	var dirs []string
	for _, p := range parts {
		dirs = append(dirs, p.Dir)
		for n, s := range p.Stacks {
			if _, dup := out.Stacks[n]; dup {
				return nil, fmt.Errorf("merge assemblies: stack %s is in more than one", n)
			}
			out.Stacks[n] = s
		}
	}
	out.Dir = strings.Join(dirs, ",")
	return out, nil
}
