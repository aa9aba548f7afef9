// Package devenvtest starts the whole local system, as `make up` does, from tests: it builds the real binaries
// and runs cmd/devenv as a process on free ports, so end-to-end tests exercise exactly what a developer runs.
package devenvtest

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecs-reworked/ecs-reworked/internal/platform/logging/logtest"
)

// System is a running local system.
type System struct {
	// URL is the edge: the web UI and /api/*.
	URL string
	// AWSAddr is the host:port of the embedded SQS/SNS endpoint.
	AWSAddr string
	// Output is everything devenv and its children printed so far.
	Output *logtest.Buffer

	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	stopped sync.Once
	stopErr error
}

// Root is the repository's root directory.
func Root(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("devenvtest: cannot locate the repository")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// Build builds packages of the repository (paths relative to its root, such as "./cmd/api"; every command,
// "./cmd/...", when none is given) into a temporary directory and returns it. Each binary is named after its
// package's directory.
func Build(t testing.TB, pkgs ...string) string {
	t.Helper()
	if len(pkgs) == 0 {
		pkgs = []string{"./cmd/..."}
	}
	bin := t.TempDir()
	args := append([]string{"build", "-o", bin + string(filepath.Separator)}, pkgs...)
	cmd := exec.CommandContext(t.Context(), "go", args...)
	cmd.Dir = Root(t)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %v: %v\n%s", pkgs, err, out)
	}
	return bin
}

// Start runs bin/devenv on free ports with the repository's manifest and extra arguments, and waits until it
// says it is ready. The system is stopped with Ctrl-C (SIGINT) when the test ends, unless Stop was called.
func Start(t testing.TB, bin string, extra ...string) *System {
	t.Helper()
	return StartIn(t, Root(t), bin, extra...)
}

// StartIn is Start in the repository at root (its manifest and its working directory), such as a copy.
func StartIn(t testing.TB, root, bin string, extra ...string) *System {
	t.Helper()
	addr, awsAddr := FreeAddr(t), FreeAddr(t)
	args := append([]string{"-addr", addr, "-aws-addr", awsAddr,
		"-manifest", filepath.Join(root, "infra", "services.yaml")}, extra...)
	s := &System{URL: "http://" + addr, AWSAddr: awsAddr, Output: &logtest.Buffer{}, exited: make(chan struct{})}
	s.cmd = exec.Command(filepath.Join(bin, "devenv"), args...) //nolint:noctx // stopped with Ctrl-C (SIGINT) by Stop, as a developer stops it
	s.cmd.Dir = root
	s.cmd.Env = append(os.Environ(), "DB_PORT=0")
	pr, pw := io.Pipe()
	s.cmd.Stdout, s.cmd.Stderr = io.MultiWriter(s.Output, pw), s.Output
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start devenv: %v", err)
	}
	go func() { s.waitErr = s.cmd.Wait(); _ = pw.Close(); close(s.exited) }()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		var once sync.Once
		for sc.Scan() {
			if strings.Contains(sc.Text(), "ready in") {
				once.Do(func() { close(ready) })
			}
		}
	}()
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("devenv: %v", err)
		}
		if t.Failed() {
			t.Logf("devenv output:\n%s", s.Output.String())
		}
	})
	select {
	case <-ready:
	case <-s.exited:
		t.Fatalf("devenv exited before it was ready: %v\n%s", s.waitErr, s.Output.String())
	case <-time.After(2 * time.Minute):
		t.Fatalf("devenv was not ready within 2 minutes\n%s", s.Output.String())
	}
	return s
}

// Stop presses Ctrl-C and waits for devenv to exit; it returns devenv's exit error. Calling it again returns
// the same result.
func (s *System) Stop() error {
	s.stopped.Do(func() {
		_ = s.cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-s.exited:
			s.stopErr = s.waitErr
		case <-time.After(90 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
			s.stopErr = errDidNotStop
		}
	})
	return s.stopErr
}

type stopError string

func (e stopError) Error() string { return string(e) }

const errDidNotStop = stopError("did not stop within 90 s of Ctrl-C and was killed")

// FreeAddr returns a loopback address with a port that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := (&net.ListenConfig{}).Listen(t.Context(), "tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("find a free port: %v", err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
