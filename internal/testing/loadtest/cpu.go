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
func (p *Process) CPU() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", p.cmd.Process.Pid))
	if err != nil {
		return 0, fmt.Errorf("processor time: %w", err)
	}
	// The command name (field 2) is in parentheses and may hold spaces: count fields after its closing one.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("processor time: unexpected /proc stat %q", s)
	}
	f := strings.Fields(s[i+1:]) // f[0] is field 3 (state); utime and stime are fields 14 and 15
	if len(f) < 13 {
		return 0, fmt.Errorf("processor time: unexpected /proc stat %q", s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("processor time: unexpected /proc stat %q", s)
	}
	return time.Duration(utime+stime) * time.Second / userHZ, nil
}
