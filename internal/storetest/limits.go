package storetest

import (
	"testing"
	"time"

	"milogin"
)

func hit(t *testing.T, s milogin.Store, key string, window time.Duration, now time.Time) int {
	t.Helper()
	var n int
	write(t, s, func(tx milogin.Tx) (err error) {
		n, err = tx.Limits().Hit(ctx(t), key, window, now)
		return err
	})
	return n
}

func count(t *testing.T, s milogin.Store, key string, window time.Duration, now time.Time) int {
	t.Helper()
	var n int
	read(t, s, func(tx milogin.Tx) (err error) {
		n, err = tx.Limits().Count(ctx(t), key, window, now)
		return err
	})
	return n
}

func testLimits(t *testing.T, open func(t *testing.T) milogin.Store) {
	// hour is the start of a one-hour window.
	hour := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)

	t.Run("HitAndCount", func(t *testing.T) {
		s := open(t)
		w := time.Hour
		if got := count(t, s, "ip:192.0.2.1", w, hour); got != 0 {
			t.Errorf("Count before any hit = %d, want 0", got)
		}
		for i, at := range []time.Duration{time.Minute, 30 * time.Minute, 59*time.Minute + 59*time.Second} {
			if got := hit(t, s, "ip:192.0.2.1", w, hour.Add(at)); got != i+1 {
				t.Errorf("hit %d returned %d", i+1, got)
			}
		}
		wantEqual(t, "Count", count(t, s, "ip:192.0.2.1", w, hour.Add(45*time.Minute)), 3)
		wantEqual(t, "other key", hit(t, s, "ip:192.0.2.2", w, hour), 1)
		// The next window starts from one; the old one keeps its count.
		wantEqual(t, "next window", hit(t, s, "ip:192.0.2.1", w, hour.Add(time.Hour)), 1)
		wantEqual(t, "Count in the next window", count(t, s, "ip:192.0.2.1", w, hour.Add(90*time.Minute)), 1)
		wantEqual(t, "Count in the old window", count(t, s, "ip:192.0.2.1", w, hour), 3)
		// The same key with another window length is another counter.
		wantEqual(t, "other window length", hit(t, s, "ip:192.0.2.1", time.Minute, hour.Add(time.Hour)), 1)
	})

	t.Run("ReserveAndRefund", func(t *testing.T) {
		s := open(t)
		w := time.Hour
		reserve := func(key string, limit int, now time.Time) (int, bool) {
			var n int
			var ok bool
			write(t, s, func(tx milogin.Tx) (err error) {
				n, ok, err = tx.Limits().Reserve(ctx(t), key, w, limit, now)
				return err
			})
			return n, ok
		}
		refund := func(key string, at time.Time) {
			write(t, s, func(tx milogin.Tx) error { return tx.Limits().Refund(ctx(t), key, w, at) })
		}
		for i := 1; i <= 3; i++ {
			if n, ok := reserve("k", 3, hour.Add(time.Duration(i)*time.Minute)); n != i || !ok {
				t.Fatalf("reservation %d = %d, %v; want %d, true", i, n, ok, i)
			}
		}
		// At the limit: refused and not counted.
		if n, ok := reserve("k", 3, hour.Add(10*time.Minute)); n != 3 || ok {
			t.Fatalf("reservation past the limit = %d, %v; want 3, false", n, ok)
		}
		wantEqual(t, "Count at the limit", count(t, s, "k", w, hour), 3)
		// A refund frees one place, in the window of the reservation.
		refund("k", hour.Add(2*time.Minute))
		wantEqual(t, "Count after a refund", count(t, s, "k", w, hour), 2)
		if n, ok := reserve("k", 3, hour.Add(20*time.Minute)); n != 3 || !ok {
			t.Fatalf("reservation after a refund = %d, %v; want 3, true", n, ok)
		}
		// A refund for another window, or below zero, changes nothing.
		refund("k", hour.Add(time.Hour))
		refund("never", hour)
		wantEqual(t, "Count after a refund elsewhere", count(t, s, "k", w, hour), 3)
		wantEqual(t, "never", count(t, s, "never", w, hour), 0)
		// The next window starts from zero; Hit and Reserve share the counter.
		if n, ok := reserve("k", 3, hour.Add(time.Hour)); n != 1 || !ok {
			t.Fatalf("next window = %d, %v", n, ok)
		}
		wantEqual(t, "Hit after Reserve", hit(t, s, "k", w, hour.Add(time.Hour)), 2)
		// No limit refuses nothing.
		if n, ok := reserve("k", 0, hour.Add(time.Hour)); n != 3 || !ok {
			t.Fatalf("limit 0 = %d, %v", n, ok)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		hit(t, s, "a", time.Hour, hour.Add(time.Minute))
		hit(t, s, "b", time.Hour, hour.Add(time.Hour))
		del := func(before time.Time) int {
			var n int
			write(t, s, func(tx milogin.Tx) (err error) {
				n, err = tx.Limits().DeleteExpired(ctx(t), before)
				return err
			})
			return n
		}
		wantEqual(t, "inside the window", del(hour.Add(59*time.Minute)), 0)
		wantEqual(t, "at the window's end", del(hour.Add(time.Hour)), 1)
		wantEqual(t, "a", count(t, s, "a", time.Hour, hour), 0)
		wantEqual(t, "b", count(t, s, "b", time.Hour, hour.Add(time.Hour)), 1)
	})
}
