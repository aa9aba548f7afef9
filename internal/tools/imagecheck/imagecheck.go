// Package imagecheck verifies the service image without a container engine: the image's one binary, /app/ecsr
// (cmd/ecsr), cross-compiles as a static Linux binary for arm64 and amd64, the amd64 binary starts every command
// the manifest runs (`ecsr <command> -h` answers or fails on its configuration, never crashes, and the command
// is known), the image fits its size budget, and the Dockerfile follows the rules that keep it reproducible,
// non-root and built from that one binary. `make images-check` and the package's tests run it.
//
// The budget (25 MB) applies to the compressed size, the gzip layers a registry stores and a task pulls: ECR
// reports and bills that size. The raw (unpacked) size is reported beside it, about 2.5 times larger.
package imagecheck

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/manifest"
)

// Architectures are the image's platforms, as GOARCH values.
var Architectures = []string{"amd64", "arm64"}

// BaseLayerBytes is the size of the runtime base, gcr.io/distroless/static-debian12:nonroot: one layer of CA
// certificates, tzdata and /etc/passwd with the nonroot user, "around 2 MiB" as the distroless project documents
// it. It counts at that size both raw and compressed (its gzip layer is smaller): an upper bound, since no
// registry is reachable here to read the compressed size from the manifest.
const BaseLayerBytes = 2 << 20

// SizeBudget is the largest image per architecture, 25 MB, judged on the compressed (pushed) size: registries
// (ECR) store, report and bill the gzip-compressed layers, and that is what a task pulls at start.
const SizeBudget = 25_000_000

// CABundlePath is where the image holds the RDS CA bundle (DATABASE_CA_FILE).
const CABundlePath = "etc/ssl/certs/rds-global-bundle.pem"

// Binary is the image's one binary: the command ./cmd/<Binary>, at manifest.ImageBinary in the image.
const Binary = "ecsr"

// Commands returns the commands the image's binary must run: every service's command in the manifest and
// migrate, sorted.
func Commands(m *manifest.Manifest) []string {
	cmds := []string{manifest.MigrateCommand}
	for _, s := range m.Services {
		if !slices.Contains(cmds, s.Command) {
			cmds = append(cmds, s.Command)
		}
	}
	slices.Sort(cmds)
	return cmds
}

// Build cross-compiles the command ./cmd/<binary> under root for linux/arch into dir/<arch>/<binary>, exactly
// as the Dockerfile does (CGO_ENABLED=0, -trimpath, -ldflags "-s -w"), and returns the binary's path.
func Build(ctx context.Context, root, dir, arch, binary string) (string, error) {
	out := filepath.Join(dir, arch)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("create output directory: %w", err)
	}
	if _, err := os.Stat(filepath.Join(root, "cmd", binary)); err != nil {
		return "", fmt.Errorf("binary %s: no ./cmd/%s: %w", binary, binary, err)
	}
	path := filepath.Join(out, binary)
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags", "-s -w", "-o", path, "./cmd/"+binary)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build for linux/%s: %w\n%s", arch, err, b)
	}
	return path, nil
}

// machines maps GOARCH to the ELF machine a binary for it must declare.
var machines = map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}

// InspectELF checks that path is a static Linux ELF executable for arch: the right machine, no program
// interpreter and no shared library dependencies (the distroless static base has no libc).
func InspectELF(path, arch string) error {
	want, ok := machines[arch]
	if !ok {
		return fmt.Errorf("unknown architecture %q", arch)
	}
	f, err := elf.Open(path)
	if err != nil {
		return fmt.Errorf("open %s as ELF: %w", path, err)
	}
	defer f.Close()
	if f.Machine != want {
		return fmt.Errorf("%s: machine %v; want %v", path, f.Machine, want)
	}
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return fmt.Errorf("%s: ELF type %v is not an executable", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return fmt.Errorf("%s: dynamically linked (has a program interpreter)", path)
		}
	}
	libs, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("%s: read dynamic section: %w", path, err)
	}
	if len(libs) > 0 {
		return fmt.Errorf("%s: needs shared libraries %v", path, libs)
	}
	return nil
}

// startTimeout bounds how long a binary may take to answer -h or reject its configuration.
const startTimeout = 20 * time.Second

// Start runs `<binary> <command> -h` with an empty environment, as a container without configuration would. It
// passes when the process exits by itself (0 for help, non-zero for a configuration error) and fails when it
// panics, is killed by a signal, is still running after startTimeout (it should have refused to start), or
// does not know the command.
func Start(ctx context.Context, path, command string) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, command, "-h")
	cmd.Env = []string{}
	name := filepath.Base(path) + " " + command
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		return fmt.Errorf("%s -h: still running after %v with no configuration", name, startTimeout)
	}
	text := out.String()
	if strings.Contains(text, "panic:") || strings.Contains(text, "fatal error:") {
		return fmt.Errorf("%s -h crashed:\n%s", name, firstLines(text, 8))
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) && !exit.Exited() {
		return fmt.Errorf("%s -h: killed: %w", name, exit)
	}
	if err != nil && !errors.As(err, &exit) {
		return fmt.Errorf("run %s: %w", name, err)
	}
	if strings.Contains(text, "unknown command") {
		return fmt.Errorf("%s -h: the binary does not run %s:\n%s", name, command, firstLines(text, 8))
	}
	if strings.TrimSpace(text) == "" {
		return fmt.Errorf("%s -h: exited without a word", name)
	}
	return nil
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

// LayerSize returns the size of an image layer holding files (path in the image -> file on disk), as a tar
// (raw) and gzip-compressed at the default level (as BuildKit pushes it). Entries are written in path order.
func LayerSize(files map[string]string) (raw, compressed int64, err error) {
	var gz countingWriter
	zw := gzip.NewWriter(&gz)
	var tarred countingWriter
	tw := tar.NewWriter(io.MultiWriter(&tarred, zw))
	for _, name := range slices.Sorted(maps.Keys(files)) {
		if err := addFile(tw, name, files[name]); err != nil {
			return 0, 0, err
		}
	}
	if err := tw.Close(); err != nil {
		return 0, 0, fmt.Errorf("close tar: %w", err)
	}
	if err := zw.Close(); err != nil {
		return 0, 0, fmt.Errorf("close gzip: %w", err)
	}
	return tarred.n, gz.n, nil
}

func addFile(tw *tar.Writer, name, src string) error {
	f, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("layer file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("layer file: %w", err)
	}
	hdr := &tar.Header{Name: name, Mode: int64(fi.Mode().Perm()), Size: fi.Size(), Typeflag: tar.TypeReg}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar %s: %w", name, err)
	}
	if _, err := io.Copy(tw, f); err != nil {
		return fmt.Errorf("tar %s: %w", name, err)
	}
	return nil
}

// countingWriter counts the bytes written to it and discards them.
type countingWriter struct{ n int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// Options configures Check.
type Options struct {
	// Root is the repository root (holding go.mod, cmd/, Dockerfile, certs/).
	Root string
	// Dir receives the binaries.
	Dir string
	// Binary is the command to build, the image's one binary (Binary in the repository); it is at
	// manifest.ImageBinary in the image.
	Binary string
	// Commands are the commands the binary must run; Commands(manifest) in the repository.
	Commands []string
	// CABundle is the RDS CA bundle the image adds at CABundlePath.
	CABundle string
}

// Check builds the binary for every architecture, inspects it, starts every command with it on a host of the
// same architecture, measures the image per architecture (raw, and compressed as pushed: the layers the Dockerfile's COPY
// instructions add, tarred and gzipped, plus the base) against SizeBudget, judged on the compressed size, and
// lints the Dockerfile. It writes a report to w and returns every problem found, joined.
func Check(ctx context.Context, opts Options, hostArch string, w io.Writer) error {
	var errs []error
	for _, arch := range Architectures {
		p, err := Build(ctx, opts.Root, opts.Dir, arch, opts.Binary)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if err := InspectELF(p, arch); err != nil {
			errs = append(errs, err)
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fmt.Fprintf(w, "linux/%s %s static ELF %6.1f MiB\n", arch, manifest.ImageBinary, mib(fi.Size()))
		for _, c := range opts.Commands {
			started := "not run (inspected only)"
			if arch == hostArch {
				started = "starts"
				if err := Start(ctx, p, c); err != nil {
					errs = append(errs, err)
					started = "FAILED to start"
				}
			}
			fmt.Fprintf(w, "linux/%s %s %-8s %s\n", arch, manifest.ImageBinary, c, started)
		}
		size, err := measure(map[string]string{strings.TrimPrefix(manifest.ImageBinary, "/"): p}, opts.CABundle)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		verdict := "within"
		if size.compressed > SizeBudget {
			verdict = "OVER"
			errs = append(errs, fmt.Errorf("linux/%s image is %.1f MB compressed, over the %.0f MB budget", arch, mb(size.compressed), mb(SizeBudget)))
		}
		fmt.Fprintf(w, "linux/%s image estimate: %.1f MB compressed (pushed and pulled: gzip layers of /app %.1f MB, CA bundle %.2f MB, "+
			"distroless static base at most %.1f MB), %.1f MB raw (unpacked on the task): %s the %.0f MB budget, judged on the compressed size\n",
			arch, mb(size.compressed), mb(size.app), mb(size.bundle), mb(BaseLayerBytes), mb(size.raw), verdict, mb(SizeBudget))
	}
	df, err := os.ReadFile(filepath.Join(opts.Root, "Dockerfile"))
	if err != nil {
		errs = append(errs, fmt.Errorf("read Dockerfile: %w", err))
	} else if findings := LintDockerfile(string(df), opts.Binary); len(findings) > 0 {
		for _, f := range findings {
			errs = append(errs, errors.New("Dockerfile: "+f))
		}
	} else {
		fmt.Fprintln(w, "Dockerfile: lint clean")
	}
	return errors.Join(errs...)
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }

func mb(n int64) float64 { return float64(n) / 1e6 }

// imageSize is one architecture's image: the compressed layers (/app, the CA bundle), the compressed total with
// the base, and the raw total.
type imageSize struct{ app, bundle, compressed, raw int64 }

// measure sizes the image's two layers as the Dockerfile builds them (COPY of /app, COPY of the CA bundle) on
// top of the base.
func measure(binaries map[string]string, bundle string) (imageSize, error) {
	appRaw, app, err := LayerSize(binaries)
	if err != nil {
		return imageSize{}, err
	}
	var bundleRaw, bundleGz int64
	if bundle != "" {
		if bundleRaw, bundleGz, err = LayerSize(map[string]string{CABundlePath: bundle}); err != nil {
			return imageSize{}, err
		}
	}
	return imageSize{
		app: app, bundle: bundleGz,
		compressed: BaseLayerBytes + app + bundleGz,
		raw:        BaseLayerBytes + appRaw + bundleRaw,
	}, nil
}
