//go:build !linux

package authn

const canLowerThreadPriority = false

func lowerThreadPriority(int) {}
