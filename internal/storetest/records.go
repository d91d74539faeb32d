package storetest

import (
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"milogin"
)

func cardRecord(n int, status milogin.CardStatus) *milogin.CardRecord {
	return &milogin.CardRecord{
		Number: fmt.Sprintf("S%012d", n), FirstName: "Mary", MiddleName: "Ann", LastName: "Smith-Jones",
		Suffix: "Jr.", DateOfBirth: "1980-02-29", Status: status, ImportedAt: t0, UpdatedAt: t0,
	}
}

func normRecord(r *milogin.CardRecord) *milogin.CardRecord {
	c := *r
	c.ImportedAt, c.UpdatedAt = norm(c.ImportedAt), norm(c.UpdatedAt)
	return &c
}

func getRecord(t *testing.T, s milogin.Store, number string) *milogin.CardRecord {
	t.Helper()
	var r *milogin.CardRecord
	read(t, s, func(tx milogin.Tx) error {
		r = must(tx.Records().Get(ctx(t), number))
		return nil
	})
	return r
}

var errTaken = errors.New("card already linked")

func testRecords(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("PutGet", func(t *testing.T) {
		s := open(t)
		r := cardRecord(1, milogin.CardValid)
		var created bool
		write(t, s, func(tx milogin.Tx) error {
			created = must(tx.Records().Put(ctx(t), r))
			return nil
		})
		wantEqual(t, "created", created, true)
		wantEqual(t, "record", getRecord(t, s, r.Number), normRecord(r))
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Records().Get(ctx(t), "S999999999999")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("PutReplacesDataKeepsLink", func(t *testing.T) {
		s := open(t)
		r := cardRecord(2, milogin.CardValid)
		write(t, s, func(tx milogin.Tx) error {
			must(tx.Records().Put(ctx(t), r))
			must(tx.Records().Update(ctx(t), r.Number, func(x *milogin.CardRecord) error {
				x.AccountID = "acct-1"
				return nil
			}))
			return nil
		})
		again := cardRecord(2, milogin.CardSuspended)
		again.LastName, again.ImportedAt, again.UpdatedAt = "Smith", t0.Add(time.Hour), t0.Add(time.Hour)
		var created bool
		write(t, s, func(tx milogin.Tx) error {
			created = must(tx.Records().Put(ctx(t), again))
			return nil
		})
		wantEqual(t, "created on replace", created, false)
		got := getRecord(t, s, r.Number)
		want := normRecord(again)
		want.ImportedAt, want.AccountID = norm(t0), "acct-1" // first import time and the link stay
		wantEqual(t, "replaced record", got, want)
	})

	t.Run("UpdateAndRollback", func(t *testing.T) {
		s := open(t)
		r := cardRecord(3, milogin.CardValid)
		write(t, s, func(tx milogin.Tx) error { must(tx.Records().Put(ctx(t), r)); return nil })
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			if _, err := tx.Records().Update(ctx(t), r.Number, func(x *milogin.CardRecord) error {
				x.AccountID = "acct-9"
				return nil
			}); err != nil {
				return err
			}
			return errBoom
		})
		if !errors.Is(err, errBoom) {
			t.Fatalf("Write = %v, want errBoom", err)
		}
		wantEqual(t, "account after rollback", getRecord(t, s, r.Number).AccountID, "")
		err = s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Records().Update(ctx(t), "S000000000000", func(*milogin.CardRecord) error { return nil })
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
		err = s.Read(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Records().Put(ctx(t), cardRecord(4, milogin.CardValid))
			return err
		})
		wantKind(t, err, milogin.EINTERNAL)
	})

	t.Run("GetManyPutMany", func(t *testing.T) {
		s := open(t)
		// More than one statement's chunk, some new and some replacing.
		const n = 1203
		first := make([]*milogin.CardRecord, 0, n)
		for i := range n {
			if i%2 == 0 {
				first = append(first, cardRecord(100+i, milogin.CardValid))
			}
		}
		write(t, s, func(tx milogin.Tx) error { return tx.Records().PutMany(ctx(t), first) })
		all := make([]*milogin.CardRecord, 0, n)
		numbers := make([]string, 0, n+1)
		for i := range n {
			r := cardRecord(100+i, milogin.CardExpired)
			r.ImportedAt, r.UpdatedAt = t0.Add(time.Hour), t0.Add(time.Hour)
			all = append(all, r)
			numbers = append(numbers, r.Number)
		}
		write(t, s, func(tx milogin.Tx) error { return tx.Records().PutMany(ctx(t), all) })
		var got []*milogin.CardRecord
		read(t, s, func(tx milogin.Tx) error {
			got = must(tx.Records().GetMany(ctx(t), append(numbers, "S999999999999")))
			return nil
		})
		wantEqual(t, "records found", len(got), n)
		byNumber := map[string]*milogin.CardRecord{}
		for _, r := range got {
			byNumber[r.Number] = r
		}
		for i, r := range all {
			want := normRecord(r)
			if i%2 == 0 {
				want.ImportedAt = norm(t0) // replaced: the first import time stays
			}
			wantEqual(t, "record "+r.Number, byNumber[r.Number], want)
		}
		read(t, s, func(tx milogin.Tx) error {
			none := must(tx.Records().GetMany(ctx(t), nil))
			wantEqual(t, "GetMany(nil)", len(none), 0)
			return nil
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			return tx.Records().PutMany(ctx(t), []*milogin.CardRecord{cardRecord(1, milogin.CardValid), cardRecord(1, milogin.CardValid)})
		})
		wantKind(t, err, milogin.EINVALID)
		write(t, s, func(tx milogin.Tx) error { return tx.Records().PutMany(ctx(t), nil) })
	})

	t.Run("CountByStatus", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			for i, st := range []milogin.CardStatus{milogin.CardValid, milogin.CardValid, milogin.CardSuspended, milogin.CardDeceased} {
				must(tx.Records().Put(ctx(t), cardRecord(10+i, st)))
			}
			return nil
		})
		var got map[milogin.CardStatus]int
		read(t, s, func(tx milogin.Tx) error { got = must(tx.Records().CountByStatus(ctx(t))); return nil })
		wantEqual(t, "counts", got, map[milogin.CardStatus]int{milogin.CardValid: 2, milogin.CardSuspended: 1, milogin.CardDeceased: 1})
	})

	// Sign-ups racing with the same card: the row lock lets exactly one
	// link it to its account.
	t.Run("ConcurrentLink", func(t *testing.T) {
		s := open(t)
		r := cardRecord(20, milogin.CardValid)
		write(t, s, func(tx milogin.Tx) error { must(tx.Records().Put(ctx(t), r)); return nil })
		const n = 8
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.Records().Update(ctx(t), r.Number, func(x *milogin.CardRecord) error {
					if x.AccountID != "" {
						return errTaken
					}
					x.AccountID = fmt.Sprintf("acct-%d", i)
					return nil
				})
				return err
			})
		})
		won := 0
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, errTaken):
				t.Errorf("goroutine %d: %v", i, err)
			}
		}
		wantEqual(t, "links made", won, 1)
	})
}

// testVerifyThrottle is the citizen verification throttle's race: every
// try reserves a slot with Hit (the count comes back from the statement
// that increments it), a failed try keeps it and a successful try gives it
// back with Refund. However the tries interleave, no more than limit
// failures get through, and successes never use the budget up.
func testVerifyThrottle(t *testing.T, open func(t *testing.T) milogin.Store) {
	hour := time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)
	t.Run("Refund", func(t *testing.T) {
		s := open(t)
		hit(t, s, "k", time.Hour, hour)
		hit(t, s, "k", time.Hour, hour)
		write(t, s, func(tx milogin.Tx) error {
			return tx.Limits().Refund(ctx(t), "k", time.Hour, hour.Add(time.Minute))
		})
		wantEqual(t, "after one release", count(t, s, "k", time.Hour, hour), 1)
		for range 3 {
			write(t, s, func(tx milogin.Tx) error { return tx.Limits().Refund(ctx(t), "k", time.Hour, hour) })
		}
		wantEqual(t, "never below zero", count(t, s, "k", time.Hour, hour), 0)
		write(t, s, func(tx milogin.Tx) error { return tx.Limits().Refund(ctx(t), "none", time.Hour, hour) })
		wantEqual(t, "release of an unknown key", count(t, s, "none", time.Hour, hour), 0)
	})

	t.Run("ConcurrentTries", func(t *testing.T) {
		s := open(t)
		const limit, n = 5, 24
		var failed, succeeded, refused atomic.Int32
		parallel(n, func(i int) {
			err := s.Write(ctx(t), func(tx milogin.Tx) error {
				c, err := tx.Limits().Hit(ctx(t), "verify-ip:192.0.2.7", time.Hour, hour)
				if err != nil {
					return err
				}
				if c > limit {
					refused.Add(1)
					return nil // the refusal's hit is kept: it is a try too
				}
				if i%4 == 0 { // every fourth try is right
					succeeded.Add(1)
					return tx.Limits().Refund(ctx(t), "verify-ip:192.0.2.7", time.Hour, hour)
				}
				failed.Add(1)
				return nil
			})
			if err != nil {
				t.Errorf("try %d: %v", i, err)
			}
		})
		if got := failed.Load(); got > limit {
			t.Errorf("%d failed tries got through, want at most %d", got, limit)
		}
		if failed.Load()+succeeded.Load()+refused.Load() != n {
			t.Errorf("tries: %d failed + %d succeeded + %d refused != %d", failed.Load(), succeeded.Load(), refused.Load(), n)
		}
		if failed.Load() == 0 || refused.Load() == 0 {
			t.Errorf("the race did not reach the limit: %d failed, %d refused", failed.Load(), refused.Load())
		}
	})
}
