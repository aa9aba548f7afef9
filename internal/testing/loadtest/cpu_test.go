package loadtest

import (
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// CPU reads a running process's processor time, which grows while it computes and not while it sleeps.
func TestProcessCPU(t *testing.T) {
	busy := &Process{cmd: exec.Command("sh", "-c", "while :; do :; done")}
	idle := &Process{cmd: exec.Command("sleep", "5")}
	for _, p := range []*Process{busy, idle} {
		if err := p.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = p.cmd.Process.Kill(); _ = p.cmd.Wait() })
	}
	before := map[*Process]time.Duration{}
	for _, p := range []*Process{busy, idle} {
		d, err := p.CPU()
		if err != nil {
			t.Fatal(err)
		}
		before[p] = d
	}
	time.Sleep(500 * time.Millisecond)
	grew := func(p *Process) time.Duration {
		d, err := p.CPU()
		if err != nil {
			t.Fatal(err)
		}
		return d - before[p]
	}
	if d := grew(busy); d < 50*time.Millisecond {
		t.Errorf("a busy process used %s of processor time in 500 ms; want at least 50 ms", d)
	}
	if d := grew(idle); d > 30*time.Millisecond {
		t.Errorf("a sleeping process used %s of processor time in 500 ms; want about none", d)
	}
}

// A tree's processor time counts its children: a shell that only waits, with a busy child, grows.
func TestTreeCPU(t *testing.T) {
	parent := exec.Command("sh", "-c", "sh -c 'while :; do :; done' & wait")
	if err := parent.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = exec.Command("pkill", "-P", strconv.Itoa(parent.Process.Pid)).Run()
		_ = parent.Process.Kill()
		_ = parent.Wait()
	})
	time.Sleep(100 * time.Millisecond) // the child started
	before, err := CPUOfTree(parent.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(before) != 2 {
		t.Fatalf("tree of %d = %v; want the shell and its child", parent.Process.Pid, before)
	}
	time.Sleep(500 * time.Millisecond)
	after, err := CPUOfTree(parent.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if d := after.Since(before); d < 50*time.Millisecond {
		t.Errorf("a tree with a busy child used %s of processor time in 500 ms; want at least 50 ms", d)
	}
	if own, err := CPUOf(parent.Process.Pid); err != nil || own > 30*time.Millisecond {
		t.Errorf("the waiting shell alone used %s (%v); want about none", own, err)
	}
}
