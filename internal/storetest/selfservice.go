package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"milogin"
)

func flow(id string, expires time.Time) *milogin.Flow {
	return &milogin.Flow{
		ID:        id,
		Kind:      milogin.FlowResetPassword,
		Portal:    milogin.ThirdParty,
		Subject:   "acct-1",
		State:     []byte(`{"user_id":"smithj0001","options":["email"]}`),
		CreatedAt: t0,
		UpdatedAt: t0.Add(time.Second),
		ExpiresAt: expires,
	}
}

func normFlow(f *milogin.Flow) *milogin.Flow {
	x := *f
	x.CreatedAt, x.UpdatedAt, x.ExpiresAt = norm(x.CreatedAt), norm(x.UpdatedAt), norm(x.ExpiresAt)
	if len(x.State) == 0 {
		x.State = nil
	}
	return &x
}

func createFlows(t *testing.T, s milogin.Store, fs ...*milogin.Flow) {
	t.Helper()
	write(t, s, func(tx milogin.Tx) error {
		for _, f := range fs {
			if err := tx.Flows().Create(ctx(t), f); err != nil {
				return err
			}
		}
		return nil
	})
}

func getFlow(t *testing.T, s milogin.Store, id string) *milogin.Flow {
	t.Helper()
	var f *milogin.Flow
	read(t, s, func(tx milogin.Tx) (err error) {
		f, err = tx.Flows().Get(ctx(t), id)
		return err
	})
	return f
}

func testFlows(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		f := flow("f1", t0.Add(30*time.Minute))
		signup := flow("f2", t0.Add(time.Hour))
		signup.Kind, signup.Subject, signup.State = milogin.FlowSignup, "", nil
		createFlows(t, s, f, signup)
		wantEqual(t, "f1", getFlow(t, s, f.ID), normFlow(f))
		wantEqual(t, "f2", getFlow(t, s, signup.ID), normFlow(signup))
		if !getFlow(t, s, f.ID).Live(t0) || getFlow(t, s, f.ID).Live(t0.Add(30*time.Minute)) {
			t.Error("Live is wrong around ExpiresAt")
		}
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		createFlows(t, s, flow("f1", t0))
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Flows().Get(ctx(t), "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Flows().Update(ctx(t), "missing", func(*milogin.Flow) error { return nil })
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
		err = s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Flows().Create(ctx(t), flow("f1", t0)) })
		wantKind(t, err, milogin.ECONFLICT)
		err = s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Flows().Create(ctx(t), flow("", t0)) })
		wantKind(t, err, milogin.EINVALID)
		// Writes inside Read fail instead of running outside a transaction.
		err = s.Read(ctx(t), func(tx milogin.Tx) error { return tx.Flows().Delete(ctx(t), "f1") })
		wantKind(t, err, milogin.EINTERNAL)
		getFlow(t, s, "f1")
	})

	t.Run("UpdateAndDelete", func(t *testing.T) {
		s := open(t)
		f := flow("f1", t0.Add(30*time.Minute))
		createFlows(t, s, f)
		var returned *milogin.Flow
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.Flows().Update(ctx(t), f.ID, func(x *milogin.Flow) error {
				wantEqual(t, "fn receives", x, normFlow(f))
				x.State = []byte(`{"verified":true}`)
				x.UpdatedAt = t0.Add(time.Minute)
				x.ExpiresAt = t0.Add(40 * time.Minute)
				x.ID = "ignored"
				return nil
			})
			return err
		})
		want := normFlow(f)
		want.State, want.UpdatedAt, want.ExpiresAt = []byte(`{"verified":true}`), norm(t0.Add(time.Minute)), norm(t0.Add(40*time.Minute))
		wantEqual(t, "returned", returned, want)
		wantEqual(t, "stored", getFlow(t, s, f.ID), want)

		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Flows().Update(ctx(t), f.ID, func(x *milogin.Flow) error { x.State = nil; return errBoom })
			if err != errBoom {
				t.Errorf("Update returned %v, want fn's error unchanged", err)
			}
			return nil
		})
		wantEqual(t, "after failed update", getFlow(t, s, f.ID), want)

		write(t, s, func(tx milogin.Tx) error { return tx.Flows().Delete(ctx(t), f.ID) })
		write(t, s, func(tx milogin.Tx) error { return tx.Flows().Delete(ctx(t), f.ID) }) // again: not an error
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Flows().Get(ctx(t), f.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		createFlows(t, s, flow("past", t0.Add(-time.Second)), flow("now", t0), flow("future", t0.Add(time.Second)))
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.Flows().DeleteExpired(ctx(t), t0)
			return err
		})
		wantEqual(t, "deleted", n, 2)
		getFlow(t, s, "future")
	})

	// Two requests of one flow on two nodes: each sees the other's change.
	t.Run("ConcurrentUpdates", func(t *testing.T) {
		s := open(t)
		createFlows(t, s, flow("f1", t0.Add(time.Hour)))
		const n = 12
		var mu sync.Mutex
		var seen []int
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.Flows().Update(ctx(t), "f1", func(x *milogin.Flow) error {
					// State counts the updates: a lost update would repeat a number.
					mu.Lock()
					seen = append(seen, len(x.State))
					mu.Unlock()
					x.State = append(x.State, 'x')
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
		slices.Sort(seen)
		if len(slices.Compact(slices.Clone(seen))) != n {
			t.Fatalf("updates saw state lengths %v: an update was lost", seen)
		}
	})
}

func testSecurityAnswers(t *testing.T, open func(t *testing.T) milogin.Store) {
	answers := []milogin.SecurityAnswer{
		{QuestionID: "first-pet", Hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaDE"},
		{QuestionID: "birth-city", Hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaDI"},
		{QuestionID: "first-car", Hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaDM"},
		{QuestionID: "first-employer", Hash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaDQ"},
	}
	list := func(t *testing.T, s milogin.Store, id string) []milogin.SecurityAnswer {
		t.Helper()
		var got []milogin.SecurityAnswer
		read(t, s, func(tx milogin.Tx) (err error) {
			got, err = tx.SecurityAnswers().List(ctx(t), id)
			return err
		})
		return got
	}

	t.Run("PutListReplace", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.ThirdParty), account(2, milogin.ThirdParty)
		createAccounts(t, s, a, b)
		if got := list(t, s, a.ID); len(got) != 0 {
			t.Fatalf("answers of a new account: %v", got)
		}
		write(t, s, func(tx milogin.Tx) error { return tx.SecurityAnswers().Put(ctx(t), a.ID, answers) })
		write(t, s, func(tx milogin.Tx) error { return tx.SecurityAnswers().Put(ctx(t), b.ID, answers[:1]) })
		wantEqual(t, "a's answers, in order", list(t, s, a.ID), answers)
		wantEqual(t, "b's answers", list(t, s, b.ID), answers[:1])

		reversed := slices.Clone(answers)
		slices.Reverse(reversed)
		write(t, s, func(tx milogin.Tx) error { return tx.SecurityAnswers().Put(ctx(t), a.ID, reversed) })
		wantEqual(t, "after replace", list(t, s, a.ID), reversed)

		// A failed transaction keeps the old set.
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			if err := tx.SecurityAnswers().Put(ctx(t), a.ID, nil); err != nil {
				return err
			}
			return errBoom
		})
		if err != errBoom {
			t.Fatalf("Write = %v", err)
		}
		wantEqual(t, "after rolled-back removal", list(t, s, a.ID), reversed)

		write(t, s, func(tx milogin.Tx) error { return tx.SecurityAnswers().Put(ctx(t), a.ID, nil) })
		if got := list(t, s, a.ID); len(got) != 0 {
			t.Fatalf("after removal: %v", got)
		}
		wantEqual(t, "b untouched", list(t, s, b.ID), answers[:1])
	})

	t.Run("WriteInsideReadFails", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.ThirdParty)
		createAccounts(t, s, a)
		err := s.Read(ctx(t), func(tx milogin.Tx) error { return tx.SecurityAnswers().Put(ctx(t), a.ID, answers) })
		wantKind(t, err, milogin.EINTERNAL)
	})
}
