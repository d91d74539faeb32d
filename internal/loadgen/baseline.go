package loadgen

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"milogin/internal/authn"
)

// Baseline is the bare argon2id throughput of this machine: verifications
// with the production parameters on every core for a while, nothing else.
// The targets are ratios to it, measured in the same run, because shared
// machines move absolute figures from one run to the next.
type Baseline struct {
	PerSecond float64 `json:"per_second"`
	// CPUMSPerHash is the CPU time of one verification.
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
	b := &Baseline{PerSecond: float64(n.Load()) / el, Workers: workers}
	if n.Load() > 0 {
		b.CPUMSPerHash = el * float64(workers) * 1000 / float64(n.Load())
	}
	return b, nil
}
