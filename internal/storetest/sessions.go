package storetest

import (
	"slices"
	"testing"
	"time"

	"milogin"
)

func session(id string, a *milogin.Account, created time.Time) *milogin.Session {
	return &milogin.Session{
		ID:         id,
		AccountID:  a.ID,
		Portal:     a.Portal,
		Stage:      milogin.StageActive,
		CreatedAt:  created,
		LastSeenAt: created.Add(time.Minute),
		ExpiresAt:  created.Add(12 * time.Hour),
		IP:         "192.0.2.10",
		UserAgent:  "Mozilla/5.0 (X11; Linux x86_64)",
	}
}

func normSession(s *milogin.Session) *milogin.Session {
	c := *s
	c.CreatedAt, c.LastSeenAt, c.ExpiresAt = norm(c.CreatedAt), norm(c.LastSeenAt), norm(c.ExpiresAt)
	return &c
}

func createSessions(t *testing.T, s milogin.Store, ss ...*milogin.Session) {
	t.Helper()
	write(t, s, func(tx milogin.Tx) error {
		for _, x := range ss {
			if err := tx.Sessions().Create(ctx(t), x); err != nil {
				return err
			}
		}
		return nil
	})
}

func sessionIDs(t *testing.T, s milogin.Store, accountID string) []string {
	t.Helper()
	var ids []string
	read(t, s, func(tx milogin.Tx) error {
		for _, x := range must(tx.Sessions().ListByAccount(ctx(t), accountID)) {
			ids = append(ids, x.ID)
		}
		return nil
	})
	return ids
}

func testSessions(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		x := session("5e55", a, t0)
		x.Stage = milogin.StageConfirmTakeover
		createSessions(t, s, x)
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "Get", must(tx.Sessions().Get(ctx(t), x.ID)), normSession(x))
			return nil
		})
	})

	t.Run("ZeroTimes", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		x := &milogin.Session{ID: "z", AccountID: a.ID, Portal: a.Portal, Stage: milogin.StageActive}
		createSessions(t, s, x)
		read(t, s, func(tx milogin.Tx) error {
			got := must(tx.Sessions().Get(ctx(t), x.ID))
			if !got.CreatedAt.IsZero() || !got.LastSeenAt.IsZero() || !got.ExpiresAt.IsZero() {
				t.Errorf("times = %v %v %v, want zero", got.CreatedAt, got.LastSeenAt, got.ExpiresAt)
			}
			return nil
		})
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		x := session("s1", a, t0)
		createSessions(t, s, x)
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Sessions().Get(ctx(t), "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Sessions().Update(ctx(t), "missing", func(*milogin.Session) error { return nil })
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
		err = s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Sessions().Create(ctx(t), session("s1", a, t0)) })
		wantKind(t, err, milogin.ECONFLICT)
	})

	t.Run("GetWithAccount", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.Citizen), account(2, milogin.Citizen)
		createAccounts(t, s, a, b)
		x, y := session("s-a", a, t0), session("s-b", b, t0)
		createSessions(t, s, x, y)
		read(t, s, func(tx milogin.Tx) error {
			for _, c := range []struct {
				sess *milogin.Session
				acct *milogin.Account
			}{{x, a}, {y, b}} {
				gotSess, gotAcct, err := tx.Sessions().GetWithAccount(ctx(t), c.sess.ID)
				if err != nil {
					t.Fatalf("GetWithAccount(%s): %v", c.sess.ID, err)
				}
				wantEqual(t, "session", gotSess, normSession(c.sess))
				// The account as its own Get reads it, every column.
				wantEqual(t, "account", gotAcct, must(tx.Accounts().Get(ctx(t), c.acct.ID)))
			}
			_, _, err := tx.Sessions().GetWithAccount(ctx(t), "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("ListByAccount", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.Citizen), account(2, milogin.Citizen)
		createAccounts(t, s, a, b)
		createSessions(t, s, session("a3", a, t0.Add(2*time.Minute)), session("a1", a, t0), session("b1", b, t0), session("a2", a, t0.Add(time.Minute)))
		wantEqual(t, "a's sessions, oldest first", sessionIDs(t, s, a.ID), []string{"a1", "a2", "a3"})
		wantEqual(t, "b's sessions", sessionIDs(t, s, b.ID), []string{"b1"})
		if got := sessionIDs(t, s, "nobody"); len(got) != 0 {
			t.Errorf("sessions of nobody: %v", got)
		}
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		x := session("s1", a, t0)
		x.Stage = milogin.StageChangePassword
		createSessions(t, s, x)
		seen := t0.Add(10 * time.Minute)
		var returned *milogin.Session
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.Sessions().Update(ctx(t), x.ID, func(y *milogin.Session) error {
				wantEqual(t, "fn receives", y, normSession(x))
				y.Stage = milogin.StageActive
				y.LastSeenAt = seen
				y.IP = "198.51.100.7"
				return nil
			})
			return err
		})
		want := normSession(x)
		want.Stage, want.LastSeenAt, want.IP = milogin.StageActive, norm(seen), "198.51.100.7"
		wantEqual(t, "returned", returned, want)
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "stored", must(tx.Sessions().Get(ctx(t), x.ID)), want)
			return nil
		})

		// fn's error comes back unchanged; nothing is saved.
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Sessions().Update(ctx(t), x.ID, func(y *milogin.Session) error { y.Stage = "bogus"; return errBoom })
			if err != errBoom {
				t.Errorf("Update returned %v, want fn's error unchanged", err)
			}
			return nil
		})
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "after failed update", must(tx.Sessions().Get(ctx(t), x.ID)), want)
			return nil
		})
	})

	t.Run("Delete", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		createSessions(t, s, session("s1", a, t0), session("s2", a, t0))
		write(t, s, func(tx milogin.Tx) error { return tx.Sessions().Delete(ctx(t), "s1") })
		wantEqual(t, "remaining", sessionIDs(t, s, a.ID), []string{"s2"})
		// Signing out twice is not an error.
		write(t, s, func(tx milogin.Tx) error { return tx.Sessions().Delete(ctx(t), "s1") })
	})

	t.Run("DeleteByAccount", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.Citizen), account(2, milogin.Citizen)
		createAccounts(t, s, a, b)
		createSessions(t, s, session("a1", a, t0), session("a2", a, t0.Add(time.Second)), session("a3", a, t0.Add(2*time.Second)), session("b1", b, t0))
		var deleted []string
		write(t, s, func(tx milogin.Tx) (err error) {
			deleted, err = tx.Sessions().DeleteByAccount(ctx(t), a.ID, "a2")
			return err
		})
		slices.Sort(deleted)
		wantEqual(t, "deleted", deleted, []string{"a1", "a3"})
		wantEqual(t, "a's remaining", sessionIDs(t, s, a.ID), []string{"a2"})
		wantEqual(t, "b's untouched", sessionIDs(t, s, b.ID), []string{"b1"})

		// An empty keepID ends them all.
		write(t, s, func(tx milogin.Tx) (err error) {
			deleted, err = tx.Sessions().DeleteByAccount(ctx(t), a.ID, "")
			return err
		})
		wantEqual(t, "deleted", deleted, []string{"a2"})
		write(t, s, func(tx milogin.Tx) (err error) {
			deleted, err = tx.Sessions().DeleteByAccount(ctx(t), a.ID, "")
			return err
		})
		if len(deleted) != 0 {
			t.Errorf("deleted %v from an account without sessions", deleted)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		mk := func(id string, expires time.Time) *milogin.Session {
			x := session(id, a, t0.Add(-time.Hour))
			x.ExpiresAt = expires
			return x
		}
		createSessions(t, s, mk("past", t0.Add(-time.Second)), mk("now", t0), mk("future", t0.Add(time.Second)))
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.Sessions().DeleteExpired(ctx(t), t0)
			return err
		})
		// A session is dead from the instant it expires (Session.Live).
		wantEqual(t, "deleted", n, 2)
		wantEqual(t, "remaining", sessionIDs(t, s, a.ID), []string{"future"})
	})
	t.Run("EndReason", func(t *testing.T) {
		s := open(t)
		reason := func(id string) (r milogin.EndReason, err error) {
			err = s.Read(ctx(t), func(tx milogin.Tx) error {
				r, err = tx.Sessions().EndReason(ctx(t), id)
				return err
			})
			return r, err
		}
		_, err := reason("never")
		wantKind(t, err, milogin.ENOTFOUND)

		write(t, s, func(tx milogin.Tx) error {
			return tx.Sessions().MarkEnded(ctx(t), []string{"e1", "e2"}, milogin.EndSignedInElsewhere, t0, t0.Add(time.Hour))
		})
		wantEqual(t, "e1", must(reason("e1")), milogin.EndSignedInElsewhere)
		wantEqual(t, "e2", must(reason("e2")), milogin.EndSignedInElsewhere)
		// Marking again replaces the reason, and the later keep-until.
		write(t, s, func(tx milogin.Tx) error {
			return tx.Sessions().MarkEnded(ctx(t), []string{"e2"}, milogin.EndPasswordChanged, t0, t0.Add(3*time.Hour))
		})
		wantEqual(t, "e2 re-marked", must(reason("e2")), milogin.EndPasswordChanged)
		// Marking nothing is not an error.
		write(t, s, func(tx milogin.Tx) error {
			return tx.Sessions().MarkEnded(ctx(t), nil, milogin.EndPasswordChanged, t0, t0)
		})
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Sessions().DeleteExpired(ctx(t), t0.Add(2*time.Hour))
			return err
		})
		_, err = reason("e1")
		wantKind(t, err, milogin.ENOTFOUND)
		wantEqual(t, "e2 kept until later", must(reason("e2")), milogin.EndPasswordChanged)
	})
}
