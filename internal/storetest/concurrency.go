package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"milogin"
)

// parallel runs fn(i) for i in [0, n) at the same time and waits. The
// goroutines start together to make the races as tight as possible.
func parallel(n int, fn func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			fn(i)
		}()
	}
	start.Done()
	done.Wait()
}

var errUsed = errors.New("code already used")

func testConcurrency(t *testing.T, open func(t *testing.T) milogin.Store) {
	// Each wrong password is counted: no lost update between nodes.
	t.Run("FailureCounter", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		a.FailedLogins, a.WindowFailures, a.FailureWindow, a.LockedUntil = 0, 0, time.Time{}, time.Time{}
		createAccounts(t, s, a)
		// No lockout in this policy: only the counting is under test.
		p := milogin.Policy{}
		const n = 16
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.Accounts().Update(ctx(t), a.ID, func(x *milogin.Account) error {
					x.RecordFailure(p, t0)
					return nil
				})
				return err
			})
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		got := getAccount(t, s, a.ID)
		wantEqual(t, "FailedLogins", got.FailedLogins, n)
		wantEqual(t, "WindowFailures", got.WindowFailures, n)
	})

	// A burst of concurrent requests against one limit is granted exactly
	// the limit, whatever the interleaving: the count is read and raised in
	// one statement (the per-IP sign-in limit is 50, raced by 120).
	t.Run("ReserveBurstGrantsExactlyTheLimit", func(t *testing.T) {
		s := open(t)
		const n, limit = 120, 50
		oks := make([]bool, n)
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) (err error) {
				_, oks[i], err = tx.Limits().Reserve(ctx(t), "signin-fail-ip:192.0.2.1", 15*time.Minute, limit, t0)
				return err
			})
		})
		granted := 0
		for i := range n {
			if errs[i] != nil {
				t.Errorf("goroutine %d: %v", i, errs[i])
			}
			if oks[i] {
				granted++
			}
		}
		wantEqual(t, "granted", granted, limit)
		var got int
		read(t, s, func(tx milogin.Tx) (err error) {
			got, err = tx.Limits().Count(ctx(t), "signin-fail-ip:192.0.2.1", 15*time.Minute, t0)
			return err
		})
		wantEqual(t, "Count", got, limit)
	})

	// A code can be used once, whoever races to use it.
	t.Run("SingleUseCode", func(t *testing.T) {
		s := open(t)
		c := code("c1", t0.Add(10*time.Minute))
		createCodes(t, s, c)
		const n = 16
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.Codes().Update(ctx(t), c.ID, func(x *milogin.Code) error {
					if !x.UsedAt.IsZero() {
						return errUsed
					}
					x.UsedAt = t0.Add(time.Duration(i) * time.Second)
					return nil
				})
				return err
			})
		})
		var ok, used int
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case errors.Is(err, errUsed):
				used++
			default:
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		if ok != 1 || used != n-1 {
			t.Fatalf("%d successes and %d 'already used', want 1 and %d", ok, used, n-1)
		}
	})

	// Workers on several nodes divide the queue: every message is claimed
	// exactly once.
	t.Run("ClaimOnce", func(t *testing.T) {
		s := open(t)
		const total, workers = 100, 4
		var ms []*milogin.Message
		for i := range total {
			ms = append(ms, message(fmt.Sprintf("%d@example.org", i), time.Time{}))
		}
		enqueue(t, s, ms...)
		claimed := make([][]int64, workers)
		errs := make([]error, workers)
		parallel(workers, func(w int) {
			for {
				var got []*milogin.Message
				err := s.Write(ctx(t), func(tx milogin.Tx) (err error) {
					got, err = tx.Outbox().Claim(ctx(t), t0, time.Hour, 7)
					return err
				})
				if err != nil {
					errs[w] = err
					return
				}
				if len(got) == 0 {
					return
				}
				for _, m := range got {
					claimed[w] = append(claimed[w], m.ID)
				}
			}
		})
		for w, err := range errs {
			if err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		}
		var all []int64
		for w, ids := range claimed {
			t.Logf("worker %d claimed %d", w, len(ids))
			all = append(all, ids...)
		}
		slices.Sort(all)
		var want []int64
		for _, m := range ms {
			want = append(want, m.ID)
		}
		wantEqual(t, "claimed IDs", all, want)
	})

	// Sixteen sign-ups with one email (in any letter case): one account.
	t.Run("UniqueEmail", func(t *testing.T) {
		s := open(t)
		const n = 16
		errs := make([]error, n)
		parallel(n, func(i int) {
			a := account(i, milogin.Citizen)
			if i%2 == 0 {
				a.Email = "Same.Person@Example.org"
			} else {
				a.Email = "same.person@example.ORG"
			}
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Accounts().Create(ctx(t), a) })
		})
		var ok, conflicts int
		for i, err := range errs {
			switch {
			case err == nil:
				ok++
			case milogin.IsKind(err, milogin.ECONFLICT) && milogin.ErrorMessage(err) == MsgEmailTaken:
				conflicts++
			default:
				t.Errorf("goroutine %d: %v (message %q)", i, err, milogin.ErrorMessage(err))
			}
		}
		if ok != 1 || conflicts != n-1 {
			t.Fatalf("%d created and %d conflicts, want 1 and %d", ok, conflicts, n-1)
		}
	})

	// Rate-limit counters are exact across nodes.
	t.Run("LimitHits", func(t *testing.T) {
		s := open(t)
		const n = 16
		got := make([]int, n)
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) (err error) {
				got[i], err = tx.Limits().Hit(ctx(t), "ip:192.0.2.1", time.Hour, t0)
				return err
			})
		})
		for i, err := range errs {
			if err != nil {
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		slices.Sort(got)
		for i, v := range got {
			if v != i+1 {
				t.Fatalf("Hit results %v, want 1..%d each once", got, n)
			}
		}
	})

	// Nodes starting together agree on generated secrets.
	t.Run("PutIfAbsent", func(t *testing.T) {
		s := open(t)
		const n = 8
		got := make([][]byte, n)
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) (err error) {
				got[i], err = tx.Settings().PutIfAbsent(ctx(t), "secret", []byte{byte(i)})
				return err
			})
		})
		for i, err := range errs {
			if err != nil {
				t.Fatalf("goroutine %d: %v", i, err)
			}
		}
		for i := range got {
			if string(got[i]) != string(got[0]) {
				t.Fatalf("nodes disagree: %v", got)
			}
		}
	})
}
