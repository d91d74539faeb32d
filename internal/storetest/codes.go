package storetest

import (
	"testing"
	"time"

	"milogin"
)

func code(id string, expires time.Time) *milogin.Code {
	return &milogin.Code{
		ID:          id,
		Purpose:     milogin.PurposeResetPassword,
		Subject:     "acct-1",
		Hash:        []byte{0x00, 0xff, 0x10, 0x20, 0x00},
		CreatedAt:   t0,
		ExpiresAt:   expires,
		Attempts:    1,
		MaxAttempts: 5,
		Sends:       2,
	}
}

func normCode(c *milogin.Code) *milogin.Code {
	x := *c
	x.CreatedAt, x.ExpiresAt, x.UsedAt = norm(x.CreatedAt), norm(x.ExpiresAt), norm(x.UsedAt)
	if len(x.Hash) == 0 {
		x.Hash = nil
	}
	return &x
}

func createCodes(t *testing.T, s milogin.Store, cs ...*milogin.Code) {
	t.Helper()
	write(t, s, func(tx milogin.Tx) error {
		for _, c := range cs {
			if err := tx.Codes().Create(ctx(t), c); err != nil {
				return err
			}
		}
		return nil
	})
}

func getCode(t *testing.T, s milogin.Store, id string) *milogin.Code {
	t.Helper()
	var c *milogin.Code
	read(t, s, func(tx milogin.Tx) (err error) {
		c, err = tx.Codes().Get(ctx(t), id)
		return err
	})
	return c
}

func testCodes(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("RoundTrip", func(t *testing.T) {
		s := open(t)
		c := code("c1", t0.Add(10*time.Minute))
		used := code("c2", t0.Add(10*time.Minute))
		used.UsedAt = t0.Add(time.Minute)
		noHash := code("c3", t0)
		noHash.Hash = nil
		createCodes(t, s, c, used, noHash)
		wantEqual(t, "c1", getCode(t, s, c.ID), normCode(c))
		wantEqual(t, "c2", getCode(t, s, used.ID), normCode(used))
		wantEqual(t, "c3", getCode(t, s, noHash.ID), normCode(noHash))
		if !getCode(t, s, c.ID).UsedAt.IsZero() {
			t.Error("UsedAt of an unused code is not zero")
		}
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		createCodes(t, s, code("c1", t0))
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Codes().Get(ctx(t), "missing")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.Codes().Update(ctx(t), "missing", func(*milogin.Code) error { return nil })
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
		err = s.Write(ctx(t), func(tx milogin.Tx) error { return tx.Codes().Create(ctx(t), code("c1", t0)) })
		wantKind(t, err, milogin.ECONFLICT)
	})

	t.Run("Update", func(t *testing.T) {
		s := open(t)
		c := code("c1", t0.Add(10*time.Minute))
		createCodes(t, s, c)
		var returned *milogin.Code
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.Codes().Update(ctx(t), c.ID, func(x *milogin.Code) error {
				wantEqual(t, "fn receives", x, normCode(c))
				x.Attempts++
				x.Sends++
				x.Hash = []byte("new hash")
				x.ExpiresAt = t0.Add(20 * time.Minute)
				return nil
			})
			return err
		})
		want := normCode(c)
		want.Attempts, want.Sends, want.Hash, want.ExpiresAt = 2, 3, []byte("new hash"), norm(t0.Add(20*time.Minute))
		wantEqual(t, "returned", returned, want)
		wantEqual(t, "stored", getCode(t, s, c.ID), want)

		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Codes().Update(ctx(t), c.ID, func(x *milogin.Code) error { x.UsedAt = t0; return errBoom })
			if err != errBoom {
				t.Errorf("Update returned %v, want fn's error unchanged", err)
			}
			return nil
		})
		wantEqual(t, "after failed update", getCode(t, s, c.ID), want)
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		createCodes(t, s, code("past", t0.Add(-time.Second)), code("now", t0), code("future", t0.Add(time.Second)))
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.Codes().DeleteExpired(ctx(t), t0)
			return err
		})
		wantEqual(t, "deleted", n, 2)
		getCode(t, s, "future")
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.Codes().Get(ctx(t), "now")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})
}
