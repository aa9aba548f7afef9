package main

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// A killed service process is replaced with the same command after the back-off, and the restart is printed
// and counted.
func TestSuperviseRestartsKilledProcess(t *testing.T) {
	var buf lockedBuffer
	out := &syncWriter{w: &buf}
	policy := restartPolicy{firstDelay: 50 * time.Millisecond, maxDelay: time.Second, maxCrashes: 3, stableAfter: time.Minute}
	starts := 0
	svc, err := supervise("sleeper", out, policy, func() (*process, error) {
		starts++
		return startProcess("sleeper", out, "/bin/sleep", []string{"60"}, environ())
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.stop(time.Second)
	first := svc.current()
	if err := syscall.Kill(first.cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "a replacement process", func() bool { return svc.Restarts() == 1 })
	second := svc.current()
	if second == first || second.cmd.Process.Pid == first.cmd.Process.Pid {
		t.Fatalf("current process after a kill is still pid %d", first.cmd.Process.Pid)
	}
	if got := strings.Join(second.cmd.Args, " "); got != "/bin/sleep 60" {
		t.Errorf("replacement runs %q; want the same command, /bin/sleep 60", got)
	}
	o := buf.String()
	for _, want := range []string{"sleeper exited unexpectedly (sleeper exited: signal: killed)", "sleeper restarted (pid", "restart 1)"} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
	// A stop is not a crash: nothing is started again.
	if err := svc.stop(time.Second); err != nil {
		t.Errorf("stop = %v", err)
	}
	time.Sleep(200 * time.Millisecond)
	if starts != 2 || svc.Restarts() != 1 {
		t.Errorf("after stop: %d starts, %d restarts; want 2 and 1", starts, svc.Restarts())
	}
}

// A process that keeps crashing right after it starts is given up after maxCrashes restarts, with a message
// that says so, and the back-off doubles between attempts.
func TestSuperviseGivesUpAfterCrashesInARow(t *testing.T) {
	var buf lockedBuffer
	out := &syncWriter{w: &buf}
	policy := restartPolicy{firstDelay: 20 * time.Millisecond, maxDelay: time.Second, maxCrashes: 2, stableAfter: time.Minute}
	svc, err := supervise("crasher", out, policy, func() (*process, error) {
		return startProcess("crasher", out, "/bin/sh", []string{"-c", "exit 3"}, environ())
	})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.stop(time.Second)
	select {
	case err := <-svc.failed:
		if !strings.Contains(err.Error(), "crasher crashed 3 times in a row") || !strings.Contains(err.Error(), "giving up") {
			t.Errorf("failure = %v; want it to say it crashed 3 times in a row and devenv gives up", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("devenv did not give up on a process that always crashes:\n%s", buf.String())
	}
	if svc.Restarts() != 2 {
		t.Errorf("restarts = %d; want 2", svc.Restarts())
	}
	o := buf.String()
	for _, want := range []string{"starting a replacement in 20ms (crash 1 in a row, at most 2)", "starting a replacement in 40ms (crash 2 in a row, at most 2)", "exit status 3"} {
		if !strings.Contains(o, want) {
			t.Errorf("output lacks %q:\n%s", want, o)
		}
	}
}

func TestRestartPolicyDelay(t *testing.T) {
	p := restartPolicy{firstDelay: 500 * time.Millisecond, maxDelay: 5 * time.Second}
	for n, want := range map[int]time.Duration{1: 500 * time.Millisecond, 2: time.Second, 3: 2 * time.Second, 4: 4 * time.Second, 5: 5 * time.Second, 9: 5 * time.Second} {
		if got := p.delay(n); got != want {
			t.Errorf("delay(%d) = %s; want %s", n, got, want)
		}
	}
}

// README.md and docs/reliability.md state the restart policy; they are the code's.
func TestRestartPolicyDocumented(t *testing.T) {
	p := defaultRestartPolicy
	secs := func(d time.Duration) string { return strings.TrimSuffix(fmt.Sprintf("%g", d.Seconds()), ".0") + " s" }
	for file, wants := range map[string][]string{
		"../../README.md": {fmt.Sprintf("(%s, doubling to %s)", secs(p.firstDelay), secs(p.maxDelay)),
			fmt.Sprintf("after %d crashes in a row", p.maxCrashes)},
		"../../docs/reliability.md": {fmt.Sprintf("after %s doubling to %s per crash in a row", secs(p.firstDelay), secs(p.maxDelay)),
			fmt.Sprintf("after %d crashes in a row", p.maxCrashes), fmt.Sprintf("a process that ran %s", secs(p.stableAfter))},
	} {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		doc := strings.Join(strings.Fields(string(b)), " ")
		for _, w := range wants {
			if !strings.Contains(doc, w) {
				t.Errorf("%s lacks %q", file, w)
			}
		}
	}
}
