package loadgen

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100
// on every Linux architecture Go supports.
const clockTicks = 100

// ProcCPUSeconds returns the CPU time (user and system) process pid has used.
func ProcCPUSeconds(pid int) (float64, error) {
	return procStatCPU(fmt.Sprintf("/proc/%d/stat", pid))
}

// procStatCPU reads utime + stime from a stat file of /proc (a process's
// or a thread's).
func procStatCPU(path string) (float64, error) {
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

// ProcThreadsCPUSeconds returns the CPU time (user and system) of process
// pid's threads named comm, and how many there are.
func ProcThreadsCPUSeconds(pid int, comm string) (float64, int, error) {
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
		cpu, err := procStatCPU(dir + "/" + t.Name() + "/stat")
		if err != nil {
			continue
		}
		sum += cpu
		n++
	}
	return sum, n, nil
}

// ProcRSSMB returns the resident set size of process pid in MB (MiB).
func ProcRSSMB(pid int) (float64, error) {
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

// procSampler records a process's CPU time over a run and its peak RSS,
// sampled ten times a second.
type procSampler struct {
	pid      int
	cpu0     float64
	hashCPU0 float64 // of the threads named HashThread
	rssStart float64
	mu       sync.Mutex
	rssPeak  float64
	done     chan struct{}
	finished chan struct{}
}

type procSample struct {
	cpu, rssStart, rssPeak float64
	// hashCPU is the CPU time of the server's hash threads, hashThreads
	// how many it has (0: none found, hashCPU is then unknown).
	hashCPU     float64
	hashThreads int
}

// HashThread is the name of the server's password-hashing threads
// (authn.HashThreadName; the generator imports nothing of the server).
const HashThread = "milogin-hash"

func startSampler(pid int) (*procSampler, error) {
	cpu, err := ProcCPUSeconds(pid)
	if err != nil {
		return nil, fmt.Errorf("--pid %d: %w", pid, err)
	}
	rss, err := ProcRSSMB(pid)
	if err != nil {
		return nil, fmt.Errorf("--pid %d: %w", pid, err)
	}
	hashCPU, _, _ := ProcThreadsCPUSeconds(pid, HashThread)
	s := &procSampler{pid: pid, cpu0: cpu, hashCPU0: hashCPU, rssStart: rss, rssPeak: rss, done: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(s.finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-s.done:
				return
			case <-t.C:
				if r, err := ProcRSSMB(pid); err == nil {
					s.mu.Lock()
					s.rssPeak = max(s.rssPeak, r)
					s.mu.Unlock()
				}
			}
		}
	}()
	return s, nil
}

func (s *procSampler) stop() procSample {
	close(s.done)
	<-s.finished
	cpu, _ := ProcCPUSeconds(s.pid)
	hashCPU, threads, _ := ProcThreadsCPUSeconds(s.pid, HashThread)
	if r, err := ProcRSSMB(s.pid); err == nil {
		s.rssPeak = max(s.rssPeak, r)
	}
	return procSample{cpu: cpu - s.cpu0, rssStart: s.rssStart, rssPeak: s.rssPeak,
		hashCPU: hashCPU - s.hashCPU0, hashThreads: threads}
}
