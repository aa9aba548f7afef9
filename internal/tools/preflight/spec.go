package preflight

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// SpecPackage is where the pinned npm package @aws-cdk/aws-service-spec installs its database, relative to the
// repository root (infra/_spec/package.json and its lock file pin it; scripts/deps.sh installs it with npm ci,
// which checks the package's digest).
const SpecPackage = "infra/_spec/node_modules/@aws-cdk/aws-service-spec"

// Spec is the part of the CloudFormation resource specification the replacement rule reads: for each resource
// type, the properties whose change replaces the resource ("yes") or may replace it ("maybe"). It comes from
// @aws-cdk/aws-service-spec's db.json.gz, which the AWS CDK builds from the CloudFormation resource schemas
// (createOnlyProperties) and the documentation's "Update requires: Replacement" lines.
type Spec struct {
	// Version is the package version the database came from.
	Version string
	// Replacement maps a resource type to its properties' causesReplacement ("yes" or "maybe").
	Replacement map[string]map[string]string
}

// LoadSpec reads the database of the @aws-cdk/aws-service-spec package installed in dir.
func LoadSpec(dir string) (*Spec, error) {
	var pkg struct {
		Version string `json:"version"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, fmt.Errorf("read the CloudFormation resource specification (run scripts/deps.sh): %w", err)
	}
	if err := json.Unmarshal(b, &pkg); err != nil {
		return nil, fmt.Errorf("decode %s: %w", filepath.Join(dir, "package.json"), err)
	}
	f, err := os.Open(filepath.Join(dir, "db.json.gz"))
	if err != nil {
		return nil, fmt.Errorf("read the CloudFormation resource specification (run scripts/deps.sh): %w", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", f.Name(), err)
	}
	var db struct {
		Schema struct {
			Resource struct {
				Entities []struct {
					CloudFormationType string `json:"cloudFormationType"`
					Properties         map[string]struct {
						CausesReplacement string `json:"causesReplacement"`
					} `json:"properties"`
				} `json:"entities"`
			} `json:"resource"`
		} `json:"schema"`
	}
	if err := json.NewDecoder(zr).Decode(&db); err != nil {
		return nil, fmt.Errorf("decode %s: %w", f.Name(), err)
	}
	s := &Spec{Version: pkg.Version, Replacement: map[string]map[string]string{}}
	for _, e := range db.Schema.Resource.Entities {
		props := map[string]string{}
		for name, p := range e.Properties {
			if p.CausesReplacement == "yes" || p.CausesReplacement == "maybe" {
				props[name] = p.CausesReplacement
			}
		}
		s.Replacement[e.CloudFormationType] = props
	}
	if len(s.Replacement) == 0 {
		return nil, fmt.Errorf("decode %s: no resource types", f.Name())
	}
	return s, nil
}
