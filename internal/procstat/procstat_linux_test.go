package procstat

import (
	"os"
	"runtime"
	"strconv"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

var runs int

// TestThreadsCPUSeconds: the CPU time of a named thread is read apart
// from the process's, and other threads are not counted.
func TestThreadsCPUSeconds(t *testing.T) {
	// A name of its own per run: the thread of a run before (-count)
	// may not have exited yet.
	runs++
	name := "lg-burn-" + strconv.Itoa(runs)
	started := make(chan struct{})
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
		b := append([]byte(name), 0)
		_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, 15, uintptr(unsafe.Pointer(&b[0])), 0)
		close(started)
		x := 0
		for {
			select {
			case <-stop:
				_ = x
				return
			default:
				for i := range 100000 {
					x += i
				}
			}
		}
	}()
	<-started
	defer func() { close(stop); <-done }()
	// The thread burns until its CPU time shows (ticks of 10 ms), however
	// busy the machine is; the process's is at least as much, give or take
	// two ticks: the kernel scales a thread's and its process's tick counts
	// to the scheduler's runtime each on its own (cputime_adjust), so the
	// process's figure can trail the thread's by a tick (seen in CI: 0.04 s
	// against 0.05 s).
	deadline := time.Now().Add(20 * time.Second)
	for {
		cpu, n, err := ThreadsCPUSeconds(os.Getpid(), name)
		if err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d threads named %q, want 1", n, name)
		}
		if cpu >= 0.05 {
			all, err := CPUSeconds(os.Getpid())
			if err != nil || all < cpu-0.02 {
				t.Fatalf("process CPU %.2f s (%v) is less than its thread's %.2f s", all, err, cpu)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the burning thread shows %.2f CPU s after 20 s", cpu)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if _, n, _ := ThreadsCPUSeconds(os.Getpid(), "no-such-thread"); n != 0 {
		t.Fatalf("%d threads named no-such-thread", n)
	}
}
