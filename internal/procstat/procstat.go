// Package procstat reads what Linux's /proc says about a process: its CPU
// time, the CPU time of its threads of one name, and its resident memory.
// The load generator samples a server with it, and the tests of the hasher
// check on their own threads.
package procstat

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// CPUSeconds returns the CPU time (user and system) process pid has used.
func CPUSeconds(pid int) (float64, error) {
	return statCPU(fmt.Sprintf("/proc/%d/stat", pid))
}

// statCPU reads utime + stime from a stat file of /proc (a process's
// or a thread's).
func statCPU(path string) (float64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("%s: unexpected format", path)
	}
	f := strings.Fields(s[i+1:])
	// After the name: state(3) … utime(14) stime(15), so indexes 11 and 12.
	if len(f) < 13 {
		return 0, fmt.Errorf("%s: too few fields", path)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("%s: bad utime or stime", path)
	}
	return float64(u+st) / clockTicks, nil
}

// ThreadsCPUSeconds returns the CPU time (user and system) of process
// pid's threads named comm, and how many there are.
func ThreadsCPUSeconds(pid int, comm string) (float64, int, error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	tasks, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	var sum float64
	n := 0
	for _, t := range tasks {
		name, err := os.ReadFile(dir + "/" + t.Name() + "/comm")
		if err != nil || strings.TrimSpace(string(name)) != comm {
			continue // gone meanwhile, or another thread
		}
		cpu, err := statCPU(dir + "/" + t.Name() + "/stat")
		if err != nil {
			continue
		}
		sum += cpu
		n++
	}
	return sum, n, nil
}

// RSSMB returns the resident set size of process pid in MB (MiB).
func RSSMB(pid int) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			f := strings.Fields(v)
			if len(f) >= 1 {
				kb, err := strconv.ParseFloat(f[0], 64)
				if err != nil {
					return 0, err
				}
				return kb / 1024, nil
			}
		}
	}
	return 0, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
}
