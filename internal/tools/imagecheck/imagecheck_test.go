package imagecheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

const root = "../../.."

// TestCheckRepository builds every command of the image for both architectures, inspects and starts them, and
// lints the repository's Dockerfile: what `make images-check` does.
func TestCheckRepository(t *testing.T) {
	m, err := manifest.Load(filepath.Join(root, "infra", "services.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	cmds := Commands(m)
	for _, want := range []string{"api", "migrate", "worker"} {
		if !strings.Contains(strings.Join(cmds, " "), want) {
			t.Errorf("Commands() = %v; want it to hold %s", cmds, want)
		}
	}
	dir := t.TempDir()
	var out bytes.Buffer
	err = Check(context.Background(), Options{Root: root, Dir: dir, Commands: cmds,
		CABundle: filepath.Join(root, "certs", "rds-ca-bundle.pem")}, runtime.GOARCH, &out)
	t.Logf("report:\n%s", out.String())
	if err != nil {
		t.Fatalf("Check() = %v", err)
	}
	for _, arch := range Architectures {
		if !strings.Contains(out.String(), "linux/"+arch+" image estimate") ||
			!strings.Contains(out.String(), "judged on the compressed size") {
			t.Errorf("report lacks the linux/%s size estimate judged on the compressed size", arch)
		}
	}
	// A binary built for one architecture must fail the other's inspection.
	if err := InspectELF(filepath.Join(dir, "arm64", "migrate"), "amd64"); err == nil {
		t.Error("InspectELF(arm64 binary, amd64) = nil; want a machine mismatch")
	}
}

// TestInspectELFRejectsDynamicBinaries uses the test binary itself (built with cgo where available) and a
// non-ELF file.
func TestInspectELFRejects(t *testing.T) {
	notELF := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(notELF, []byte("#!/bin/sh\necho hi\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := InspectELF(notELF, "amd64"); err == nil {
		t.Error("InspectELF(shell script) = nil; want an error")
	}
	if err := InspectELF("/bin/sh", runtime.GOARCH); err == nil {
		t.Error("InspectELF(/bin/sh) = nil; want a dynamic-linking error")
	}
}

func TestStartRejectsCrashAndHang(t *testing.T) {
	dir := t.TempDir()
	script := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, body string
		ok         bool
	}{
		{"help", `echo "usage: x"; exit 0`, true},
		{"config-error", `echo "config: AWS_REGION is required" >&2; exit 1`, true},
		{"panic", `echo "panic: runtime error: invalid memory address" >&2; exit 2`, false},
		{"signal", `kill -SEGV $$`, false},
		{"silent", `exit 0`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Start(context.Background(), script(tc.name, tc.body))
			if got := err == nil; got != tc.ok {
				t.Errorf("Start(%s) = %v; want ok=%v", tc.name, err, tc.ok)
			}
		})
	}
}

func TestLintDockerfile(t *testing.T) {
	repo, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	const digest = "@sha256:d093aa3e30dbadd3efe1310db061a14da60299baff8450a17fe0ccc514a16639"
	good := "FROM golang:1.26" + digest + " AS build\nRUN go build ./cmd/api\nFROM gcr.io/distroless/static" + digest + "\nCOPY --from=build /out /app\nUSER nonroot:nonroot\n"
	tests := []struct {
		name, src string
		want      string // a substring of a finding; "" for none
	}{
		{"repository", string(repo), ""},
		{"good", good, ""},
		{"tag only", strings.Replace(good, "golang:1.26"+digest, "golang:1.26", 1), "not pinned by digest"},
		{"latest", strings.Replace(good, "golang:1.26"+digest, "golang:latest", 1), "latest tag"},
		{"arg without default", "ARG IMG\nFROM ${IMG}\nUSER nonroot\nRUN go build ./cmd/api\n", "has no image"},
		{"root", strings.Replace(good, "USER nonroot:nonroot", "USER root", 1), "non-root USER"},
		{"no user", strings.Replace(good, "USER nonroot:nonroot\n", "", 1), "non-root USER"},
		{"add url", good + "ADD https://example.com/bundle.pem /etc/ssl/\n", "fetches https://example.com/bundle.pem"},
		{"missing command", strings.Replace(good, "./cmd/api", "./cmd/other", 1), "command api is not built"},
		{"continuation", "FROM golang:1.26" + digest + " \\\n  AS build\nRUN go build \\\n  ./cmd/api\nFROM build\nUSER 65532\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LintDockerfile(tc.src, []string{"api"})
			if tc.want == "" {
				if len(got) > 0 {
					t.Errorf("LintDockerfile() = %q; want no findings", got)
				}
				return
			}
			if !strings.Contains(strings.Join(got, "\n"), tc.want) {
				t.Errorf("LintDockerfile() = %q; want a finding with %q", got, tc.want)
			}
		})
	}
}

// TestCABundle checks the committed RDS CA bundle: its checksum file matches (the Dockerfile verifies the same
// file), every block is a self-signed CA certificate whose signature verifies, and it holds the RSA2048, RSA4096
// and ECC384 G1 roots of every shipped environment's region.
func TestCABundle(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "certs", "rds-ca-bundle.pem"))
	if err != nil {
		t.Fatal(err)
	}
	sumFile, err := os.ReadFile(filepath.Join(root, "certs", "rds-ca-bundle.pem.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got, want := strings.Fields(string(sumFile)), []string{hex.EncodeToString(sum[:]), "rds-ca-bundle.pem"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rds-ca-bundle.pem.sha256 = %q; want %q", got, want)
	}
	subjects := map[string]bool{}
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			if strings.TrimSpace(string(rest)) != "" {
				t.Errorf("trailing data after the last certificate: %q", firstLines(string(rest), 2))
			}
			break
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("parse certificate: %v", err)
		}
		if !cert.IsCA {
			t.Errorf("%s is not a CA certificate", cert.Subject.CommonName)
		}
		if err := cert.CheckSignatureFrom(cert); err != nil {
			t.Errorf("%s: self-signature does not verify: %v", cert.Subject.CommonName, err)
		}
		subjects[cert.Subject.CommonName] = true
	}
	files, err := filepath.Glob(filepath.Join(root, "infra", "environments", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("environment files: %v (%d)", err, len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var env struct {
			Region string `yaml:"region"`
		}
		if err := yaml.Unmarshal(b, &env); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, kind := range []string{"RSA2048", "RSA4096", "ECC384"} {
			cn := "Amazon RDS " + env.Region + " Root CA " + kind + " G1"
			if !subjects[cn] {
				t.Errorf("%s: region %s: bundle lacks %q", filepath.Base(f), env.Region, cn)
			}
		}
	}
}

func TestLayerSize(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	zeros := write("zeros", make([]byte, 100_000))
	tests := []struct {
		name         string
		files        map[string]string
		raw          int64 // tar: a 512-byte header per file, contents padded to 512, two 512-byte end blocks
		minGz, maxGz int64
	}{
		{"one small file", map[string]string{"a/b": write("small", []byte("hello"))}, 512 + 512 + 1024, 20, 200},
		{"zeros compress", map[string]string{"z": zeros}, 512 + 100_352 + 1024, 20, 1_000},
		{"two files", map[string]string{"z": zeros, "y": zeros}, 2*(512+100_352) + 1024, 20, 2_000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw, gz, err := LayerSize(tc.files)
			if err != nil {
				t.Fatal(err)
			}
			if raw != tc.raw || gz < tc.minGz || gz > tc.maxGz {
				t.Errorf("LayerSize() = %d raw, %d compressed; want %d raw, %d..%d compressed", raw, gz, tc.raw, tc.minGz, tc.maxGz)
			}
		})
	}
	if _, _, err := LayerSize(map[string]string{"x": filepath.Join(dir, "missing")}); err == nil {
		t.Error("LayerSize(missing file) = nil error; want one")
	}
}
