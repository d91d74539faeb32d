package milogin

import (
	"testing"
	"time"
)

var lockPolicy = Policy{LockoutThreshold: 5, LockoutDuration: 30 * time.Minute, MaxFailuresPerHour: 100}

// After the lock's 30 minutes the next wrong password is the first of a new
// count: before the fix the old count of five remained and the first wrong
// password after the lock locked the account for 30 more minutes.
func TestExpiredLockClearsConsecutiveFailures(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		reserve bool // through ReserveAttempt (sign-in) or RecordFailure
	}{{"RecordFailure", false}, {"ReserveAttempt", true}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Account
			fail := func(now time.Time) bool {
				if tt.reserve {
					at, ok := a.ReserveAttempt(lockPolicy, now)
					if !ok {
						t.Fatalf("attempt at %v refused as locked", now)
					}
					return at.Locks
				}
				return a.RecordFailure(lockPolicy, now)
			}
			for i := range 5 {
				if locks := fail(t0.Add(time.Duration(i) * time.Minute)); locks != (i == 4) {
					t.Fatalf("failure %d: locks = %v", i+1, locks)
				}
			}
			after := a.LockedUntil.Add(time.Second)
			if fail(after) {
				t.Fatal("the first failure after the lock expired locked the account again")
			}
			if a.FailedLogins != 1 || a.Locked(after) {
				t.Errorf("after the lock: failures=%d locked=%v, want 1 and unlocked", a.FailedLogins, a.Locked(after))
			}
			for i := range 3 {
				fail(after.Add(time.Duration(i+1) * time.Minute))
			}
			if !fail(after.Add(5 * time.Minute)) {
				t.Error("five new failures did not lock")
			}
		})
	}
}

// A reservation is refused while locked, and a right password gives its
// reservation back: it undoes its own lock but never another attempt's.
func TestReserveAndRefundAttempt(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	var a Account
	var atts []Attempt
	for i := range 5 {
		at, ok := a.ReserveAttempt(lockPolicy, t0)
		if !ok {
			t.Fatalf("reservation %d refused", i+1)
		}
		atts = append(atts, at)
	}
	if _, ok := a.ReserveAttempt(lockPolicy, t0); ok {
		t.Fatal("a sixth reservation was granted while five are counted")
	}
	if !atts[4].Locks || atts[4].Consecutive != 5 {
		t.Fatalf("fifth reservation = %+v", atts[4])
	}
	// The third was right: the lock set by the fifth stays.
	a.RefundAttempt(atts[2])
	if !a.Locked(t0) || a.FailedLogins != 4 || a.WindowFailures != 4 {
		t.Errorf("after refunding the third: locked=%v failures=%d window=%d", a.Locked(t0), a.FailedLogins, a.WindowFailures)
	}
	// The fifth was right: its own lock goes.
	var b Account
	for range 4 {
		b.ReserveAttempt(lockPolicy, t0)
	}
	fifth, _ := b.ReserveAttempt(lockPolicy, t0)
	b.RefundAttempt(fifth)
	if b.Locked(t0) || b.FailedLogins != 4 {
		t.Errorf("after refunding the locking attempt: locked=%v failures=%d", b.Locked(t0), b.FailedLogins)
	}
}
