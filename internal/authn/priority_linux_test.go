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
