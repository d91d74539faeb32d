package authn

import (
	"syscall"
	"unsafe"
)

const canLowerThreadPriority = true

// HashThreadName is the name the hash workers' threads carry (see
// /proc/PID/task/*/comm): a load test reads their CPU time apart from the
// rest of the server's.
const HashThreadName = "milogin-hash"

// lowerThreadPriority sets the nice value of the calling thread (Linux
// gives each thread its own; raising it needs no privilege) and names the
// thread HashThreadName.
func lowerThreadPriority(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
	name := append([]byte(HashThreadName), 0)
	const prSetName = 15 // PR_SET_NAME
	_, _, _ = syscall.RawSyscall(syscall.SYS_PRCTL, prSetName, uintptr(unsafe.Pointer(&name[0])), 0)
}
