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
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces:
	// count fields after the last ')'.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(s[i+1:])
	// After the name: state(3) … utime(14) stime(15), so indexes 11 and 12.
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: too few fields", pid)
	}
	u, err1 := strconv.ParseUint(f[11], 10, 64)
	st, err2 := strconv.ParseUint(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: bad utime or stime", pid)
	}
	return float64(u+st) / clockTicks, nil
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
	rssStart float64
	mu       sync.Mutex
	rssPeak  float64
	done     chan struct{}
	finished chan struct{}
}

type procSample struct{ cpu, rssStart, rssPeak float64 }

func startSampler(pid int) (*procSampler, error) {
	cpu, err := ProcCPUSeconds(pid)
	if err != nil {
		return nil, fmt.Errorf("--pid %d: %w", pid, err)
	}
	rss, err := ProcRSSMB(pid)
	if err != nil {
		return nil, fmt.Errorf("--pid %d: %w", pid, err)
	}
	s := &procSampler{pid: pid, cpu0: cpu, rssStart: rss, rssPeak: rss, done: make(chan struct{}), finished: make(chan struct{})}
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
	if r, err := ProcRSSMB(s.pid); err == nil {
		s.rssPeak = max(s.rssPeak, r)
	}
	return procSample{cpu: cpu - s.cpu0, rssStart: s.rssStart, rssPeak: s.rssPeak}
}
