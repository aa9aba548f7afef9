package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// process is one child of the local system: a service binary started the way ECS starts a task, with its own
// environment, its output prefixed with its name, and stopped with SIGTERM and a drain budget like ECS does.
type process struct {
	name    string
	cmd     *exec.Cmd
	started time.Time
	done    chan struct{}
	err     error // set before done is closed
}

// startProcess starts bin with args and env, copying each line of its output to out prefixed with name. The
// child gets its own process group so that a Ctrl-C in the terminal reaches only devenv, which then stops the
// children in order.
func startProcess(name string, out *syncWriter, bin string, args, env []string) (*process, error) {
	cmd := exec.Command(bin, args...) //nolint:noctx // stopped by SIGTERM and a drain budget, as ECS stops tasks, not by a context
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, started: time.Now(), done: make(chan struct{})}
	var copied sync.WaitGroup
	copied.Add(1)
	go func() {
		defer copied.Done()
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			out.Line(name, sc.Text())
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		p.err = cmd.Wait()
		_ = pw.Close()
		copied.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop sends SIGTERM and waits up to budget for the process to exit, then kills its whole process group. A
// process that had already exited is not an error of the stop: its exit was reported when it happened.
func (p *process) stop(budget time.Duration) error {
	select {
	case <-p.done:
		return nil
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.exitErr()
	case <-time.After(budget):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
		return fmt.Errorf("%s did not stop within %s and was killed", p.name, budget)
	}
}

// exitErr is the process's exit error, where a stop by our own SIGTERM counts as success.
func (p *process) exitErr() error {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
		return fmt.Errorf("%s exited: %w", p.name, p.err)
	}
	return p.err
}

// waitExit returns when the process exits or ctx is done.
func (p *process) waitExit(ctx context.Context) error {
	select {
	case <-p.done:
		if err := p.exitErr(); err != nil {
			return err
		}
		return fmt.Errorf("%s exited unexpectedly", p.name)
	case <-ctx.Done():
		return nil
	}
}

// syncWriter serialises whole lines from several processes onto one writer.
type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// Line writes one line of output from the named part of the system.
func (s *syncWriter) Line(name, line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fmt.Fprintf(s.w, "%-9s| %s\n", name, line)
}

// Printf writes a message of devenv itself.
func (s *syncWriter) Printf(format string, args ...any) {
	s.Line("devenv", fmt.Sprintf(format, args...))
}

// environ returns the parent's environment without the variables the services are configured by, followed
// by extra, so a stray variable in the developer's shell cannot change the local system.
func environ(extra ...string) []string {
	keep := []string{"PATH", "HOME", "TMPDIR", "TZ", "LANG"}
	var env []string
	for _, k := range keep {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}
