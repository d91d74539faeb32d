package authn

import "syscall"

const canLowerThreadPriority = true

// lowerThreadPriority sets the nice value of the calling thread (Linux
// gives each thread its own); raising it needs no privilege.
func lowerThreadPriority(nice int) {
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), nice)
}
