package loadgen

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"milogin/internal/authn"
)

// Baseline is the bare argon2id throughput of this machine: verifications
// with the production parameters on every core for a while, nothing else.
// The targets are ratios to it, measured in the same run, because shared
// machines move absolute figures from one run to the next.
type Baseline struct {
	PerSecond float64 `json:"per_second"`
	// CPUMSPerHash is the CPU time of one verification (measured with
	// getrusage, so waiting for a busy machine's cores is not counted).
	CPUMSPerHash float64 `json:"cpu_ms_per_hash"`
	Workers      int     `json:"workers"`
}

// MeasureHash runs argon2id verifications on runtime.GOMAXPROCS(0)
// goroutines for d.
func MeasureHash(ctx context.Context, d time.Duration) (*Baseline, error) {
	workers := runtime.GOMAXPROCS(0)
	h := authn.NewHasher(authn.DefaultParams, workers)
	enc, err := h.Hash(ctx, "Mitten!State26")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var n atomic.Int64
	var wg sync.WaitGroup
	cpu0 := selfCPUSeconds()
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, _, err := h.Verify(context.Background(), enc, "Mitten!State26"); err == nil {
					n.Add(1)
				}
			}
		})
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	cpu := selfCPUSeconds() - cpu0
	b := &Baseline{PerSecond: float64(n.Load()) / el, Workers: workers}
	if n.Load() > 0 {
		// CPU time actually used, not wall time: on a shared machine the
		// workers wait for the cores, and that wait is not hashing.
		b.CPUMSPerHash = cpu * 1000 / float64(n.Load())
	}
	return b, nil
}

// selfCPUSeconds is the CPU time (user and system) of this process.
func selfCPUSeconds() float64 {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()).Seconds()
}
