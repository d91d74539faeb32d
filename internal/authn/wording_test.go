package authn_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
)

// TestLockoutEmailAndPageSayTheSameMinutes: the lock's length is said once,
// rounded one way, so the email cannot say 29 minutes where the page says
// 30 (the stored lock time loses the clock's nanoseconds).
func TestLockoutEmailAndPageSayTheSameMinutes(t *testing.T) {
	f := newFixture(t)
	f.clk.Add(123456789 * time.Nanosecond) // not a whole microsecond
	var err error
	for range 5 {
		_, err = f.signIn(t, "Wrong!Password1")
	}
	page := milogin.ErrorMessage(err)
	if !milogin.IsKind(err, milogin.ELOCKED) || !strings.Contains(page, "30 minutes") {
		t.Fatalf("fifth failure: %v", err)
	}
	ms := f.outbox(t)
	if len(ms) != 1 {
		t.Fatalf("%d messages, want the lockout email", len(ms))
	}
	for _, body := range []string{ms[0].Text, ms[0].HTML} {
		if !strings.Contains(body, "30 minutes") {
			t.Errorf("the lockout email does not say 30 minutes like the page (%q):\n%s", page, body)
		}
	}
}

func TestLockMinutesRoundsUp(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want int
	}{
		{30 * time.Minute, 30},
		{30*time.Minute - time.Microsecond, 30},
		{29*time.Minute + time.Second, 30},
		{29 * time.Minute, 29},
		{time.Second, 1},
		{0, 0},
	} {
		if got := authn.LockMinutes(tc.d); got != tc.want {
			t.Errorf("LockMinutes(%v) = %d, want %d", tc.d, got, tc.want)
		}
	}
	if want := fmt.Sprintf("after %d minutes", 30); !strings.Contains(authn.LockedMessage(milogin.DefaultPolicy()), want) {
		t.Errorf("LockedMessage lacks %q", want)
	}
}
