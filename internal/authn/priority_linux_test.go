package authn

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"milogin/internal/procstat"
)

// TestBackgroundHashesRunAtLowerPriority: with RunInBackground, every
// derivation runs on a thread whose nice value is the one asked for, and
// the caller's own thread keeps its priority; results are unchanged.
func TestBackgroundHashesRunAtLowerPriority(t *testing.T) {
	p := Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	plain := NewHasher(p, 2)
	enc, err := plain.Hash(context.Background(), "Mitten!State26")
	if err != nil {
		t.Fatal(err)
	}

	h := NewHasher(p, 2)
	var mu sync.Mutex
	var prios []int
	h.hook = func(event string) {
		if event != "start" {
			return
		}
		// The raw getpriority system call answers 20 - nice.
		prio, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
		if err != nil {
			t.Error(err)
		}
		comm, _ := os.ReadFile(fmt.Sprintf("/proc/self/task/%d/comm", syscall.Gettid()))
		if got := strings.TrimSpace(string(comm)); got != HashThreadName {
			t.Errorf("a hash ran on a thread named %q, want %q", got, HashThreadName)
		}
		mu.Lock()
		prios = append(prios, 20-prio)
		mu.Unlock()
	}
	if !h.RunInBackground(7) {
		t.Fatal("RunInBackground refused on Linux")
	}
	t.Cleanup(h.Close)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			ok, _, err := h.Verify(context.Background(), enc, "Mitten!State26")
			if err != nil || !ok {
				t.Errorf("Verify in the background = %v, %v; want true", ok, err)
			}
			if ok, _, _ := h.Verify(context.Background(), enc, "wrong"); ok {
				t.Error("a wrong password verified in the background")
			}
		})
	}
	wg.Wait()
	if len(prios) != 12 {
		t.Fatalf("%d derivations observed, want 12", len(prios))
	}
	for _, n := range prios {
		if n != 7 {
			t.Fatalf("a derivation ran at nice %d, want 7 (all: %v)", n, prios)
		}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if prio, _ := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid()); 20-prio == 7 {
		t.Fatal("the caller's thread was lowered too")
	}
}

// TestBackgroundHashesSpendTheirCPUOnTheLoweredThreads: the derivation's
// work itself, not only its start, runs on the lowered threads (argon2
// must not hand it to goroutines of normal priority).
func TestBackgroundHashesSpendTheirCPUOnTheLoweredThreads(t *testing.T) {
	p := Params{Time: 2, MemoryKiB: 8192, Threads: 1, SaltLen: 16, KeyLen: 32}
	h := NewHasher(p, 2)
	if !h.RunInBackground(3) {
		t.Fatal("RunInBackground refused on Linux")
	}
	t.Cleanup(h.Close)
	enc, err := h.Hash(context.Background(), "Mitten!State26")
	if err != nil {
		t.Fatal(err)
	}
	before := hashThreadsCPU(t)
	for range 40 {
		if ok, _, err := h.Verify(context.Background(), enc, "Mitten!State26"); err != nil || !ok {
			t.Fatalf("Verify = %v, %v", ok, err)
		}
	}
	// 40 derivations of 2 passes over 8 MiB take well over 0.1 s of CPU
	// on any machine; /proc counts in ticks of 10 ms.
	if got := hashThreadsCPU(t) - before; got < 0.1 {
		t.Fatalf("the hash threads used %.2f CPU s for 40 derivations: the work ran elsewhere", got)
	}
}

// hashThreadsCPU sums the CPU seconds of this process's threads named
// HashThreadName (every test's hashers together).
func hashThreadsCPU(t *testing.T) float64 {
	t.Helper()
	cpu, _, err := procstat.ThreadsCPUSeconds(os.Getpid(), HashThreadName)
	if err != nil {
		t.Fatal(err)
	}
	return cpu
}

// TestHasherCloseEndsItsThreads: Close stops the workers and their threads
// (a process that serves again, as the tests do, must not gather them),
// and hashing still works afterwards, on the caller's goroutine.
func TestHasherCloseEndsItsThreads(t *testing.T) {
	p := Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}
	before := countThreads(t)
	for range 20 {
		h := NewHasher(p, 4)
		if !h.RunInBackground(5) {
			t.Fatal("RunInBackground refused on Linux")
		}
		if _, err := h.Hash(context.Background(), "Mitten!State26"); err != nil {
			t.Fatal(err)
		}
		h.Close()
		h.Close()
		if _, err := h.Hash(context.Background(), "Mitten!State26"); err != nil {
			t.Fatalf("Hash after Close: %v", err)
		}
	}
	// 20 hashers of 4 workers left running would hold 80 threads.
	deadline := time.Now().Add(10 * time.Second)
	for countThreads(t) > before+10 {
		if time.Now().After(deadline) {
			t.Fatalf("threads: %d before, %d after 20 closed hashers", before, countThreads(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func countThreads(t *testing.T) int {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	return len(tasks)
}
