//go:build !linux

package authn

const canLowerThreadPriority = false

// HashThreadName is the name the hash workers' threads carry on Linux.
const HashThreadName = "milogin-hash"

func lowerThreadPriority(int) {}
