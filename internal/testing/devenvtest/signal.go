package devenvtest

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Signal sends sig to the running process that devenv started as name: a service's command (such as "worker",
// which devenv runs as `ecsr worker`) or a binary of its own (such as "localaws"): SIGSTOP freezes it, as a hung task, without devenv noticing; SIGCONT resumes it. It reads /proc,
// so it works on Linux only, and fails the test when no such child runs.
func (s *System) Signal(t testing.TB, name string, sig syscall.Signal) {
	t.Helper()
	parent := s.cmd.Process.Pid
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatalf("devenvtest: signal %s: %v", name, err)
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// stat is "pid (comm) state ppid ...": comm may hold spaces, so split after its closing parenthesis.
		rest := string(stat[strings.LastIndexByte(string(stat), ')')+1:])
		fields := strings.Fields(rest)
		if len(fields) < 2 || fields[1] != strconv.Itoa(parent) {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err != nil || !runs(e.Name(), filepath.Base(exe), name) {
			continue
		}
		if err := syscall.Kill(pid, sig); err != nil {
			t.Fatalf("devenvtest: signal %s (pid %d): %v", name, pid, err)
		}
		return
	}
	t.Fatalf("devenvtest: devenv (pid %d) runs no %s process", parent, name)
}

// runs reports whether process pid, whose executable is named exe, runs name: the binary name itself, or the
// command of the one binary (`ecsr <name>`).
func runs(pid, exe, name string) bool {
	if exe == name {
		return true
	}
	if exe != "ecsr" {
		return false
	}
	cmdline, err := os.ReadFile(filepath.Join("/proc", pid, "cmdline"))
	if err != nil {
		return false
	}
	args := strings.Split(string(cmdline), "\x00")
	return len(args) > 1 && args[1] == name
}
