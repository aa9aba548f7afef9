package loadtest

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of the times in /proc/<pid>/stat: clock ticks of USER_HZ, 100 on Linux (proc(5)).
const userHZ = 100

// CPU returns the processor time (user and system) the process has used so far. On a machine shared with other
// work, processor time per request is steadier than throughput: it does not count the time the process waited
// for the processor.
func (p *Process) CPU() (time.Duration, error) { return CPUOf(p.cmd.Process.Pid) }

// PID is the process's id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// CPUOf returns the processor time (user and system) process pid has used so far.
func CPUOf(pid int) (time.Duration, error) {
	st, err := stat(pid)
	if err != nil {
		return 0, err
	}
	return st.cpu, nil
}

// procStat is what CPU accounting reads of /proc/<pid>/stat (proc(5)).
type procStat struct {
	ppid int
	cpu  time.Duration
}

func stat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, fmt.Errorf("processor time: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, fmt.Errorf("processor time: unexpected /proc stat %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); ppid is field 4, utime and stime fields 14 and 15
	if len(f) < 13 {
		return procStat{}, fmt.Errorf("processor time: unexpected /proc stat %q", s)
	}
	ppid, err0 := strconv.Atoi(f[1])
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err0 != nil || err1 != nil || err2 != nil {
		return procStat{}, fmt.Errorf("processor time: unexpected /proc stat %q", s)
	}
	return procStat{ppid: ppid, cpu: time.Duration(utime+stime) * time.Second / userHZ}, nil
}

// TreeCPU is the processor time of a process and of each of its children, by pid, at one moment.
type TreeCPU map[int]time.Duration

// CPUOfTree returns the processor time used so far by process pid and each of its running children (for
// PostgreSQL: the postmaster, the backend of every connection, the writers).
func CPUOfTree(pid int) (TreeCPU, error) {
	root, err := stat(pid)
	if err != nil {
		return nil, err
	}
	tree := TreeCPU{pid: root.cpu}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("processor time: %w", err)
	}
	for _, e := range entries {
		child, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if st, err := stat(child); err == nil && st.ppid == pid {
			tree[child] = st.cpu
		}
	}
	return tree, nil
}

// Since returns the processor time the tree used since before: a child started since counts in full, one
// that exited since is not counted.
func (t TreeCPU) Since(before TreeCPU) time.Duration {
	var d time.Duration
	for pid, cpu := range t {
		d += cpu - before[pid]
	}
	return d
}
