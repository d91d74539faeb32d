package clocktest_test

import (
	"sync"
	"testing"
	"time"

	"milogin/internal/clocktest"
)

func TestClock(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	c := clocktest.New(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("Now = %v, want %v", c.Now(), t0)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() { c.Add(time.Minute); _ = c.Now() })
	}
	wg.Wait()
	if want := t0.Add(10 * time.Minute); !c.Now().Equal(want) {
		t.Fatalf("Now = %v after ten minutes, want %v", c.Now(), want)
	}
	c.Set(t0)
	if !c.Now().Equal(t0) {
		t.Fatalf("Now = %v after Set, want %v", c.Now(), t0)
	}
}
