package loadgen

import (
	"fmt"
	"sync"
	"time"

	"milogin/internal/procstat"
)

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
	cpu, err := procstat.CPUSeconds(pid)
	if err != nil {
		return nil, fmt.Errorf("--pid %d: %w", pid, err)
	}
	rss, err := procstat.RSSMB(pid)
	if err != nil {
		return nil, fmt.Errorf("--pid %d: %w", pid, err)
	}
	hashCPU, _, _ := procstat.ThreadsCPUSeconds(pid, HashThread)
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
				if r, err := procstat.RSSMB(pid); err == nil {
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
	cpu, _ := procstat.CPUSeconds(s.pid)
	hashCPU, threads, _ := procstat.ThreadsCPUSeconds(s.pid, HashThread)
	if r, err := procstat.RSSMB(s.pid); err == nil {
		s.rssPeak = max(s.rssPeak, r)
	}
	return procSample{cpu: cpu - s.cpu0, rssStart: s.rssStart, rssPeak: s.rssPeak,
		hashCPU: hashCPU - s.hashCPU0, hashThreads: threads}
}
