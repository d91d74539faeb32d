package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"milogin"
)

// testMFA checks the second-factor repositories: authenticator-app keys,
// passkeys and passkey ceremonies.
func testMFA(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("TOTPRoundTrip", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.ThirdParty)
		createAccounts(t, s, a)
		k := &milogin.TOTPKey{AccountID: a.ID, Secret: []byte{0, 1, 2, 0xff}, CreatedAt: t0, UpdatedAt: t0}
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.TOTP().Get(ctx(t), a.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		write(t, s, func(tx milogin.Tx) error { return tx.TOTP().Put(ctx(t), k) })
		want := *k
		want.CreatedAt, want.UpdatedAt = norm(t0), norm(t0)
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "key", must(tx.TOTP().Get(ctx(t), a.ID)), &want)
			return nil
		})

		// Put replaces: a new enrolment starts over, unconfirmed.
		k2 := &milogin.TOTPKey{AccountID: a.ID, Secret: []byte("new"), CreatedAt: t0.Add(time.Hour)}
		write(t, s, func(tx milogin.Tx) error {
			if _, err := tx.TOTP().Update(ctx(t), a.ID, func(k *milogin.TOTPKey) error {
				k.Confirmed, k.ConfirmedAt, k.LastStep = true, t0, 42
				return nil
			}); err != nil {
				return err
			}
			return tx.TOTP().Put(ctx(t), k2)
		})
		read(t, s, func(tx milogin.Tx) error {
			got := must(tx.TOTP().Get(ctx(t), a.ID))
			wantEqual(t, "replaced key", got, &milogin.TOTPKey{AccountID: a.ID, Secret: []byte("new"), CreatedAt: norm(k2.CreatedAt)})
			return nil
		})
	})

	t.Run("TOTPUpdate", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.ThirdParty)
		createAccounts(t, s, a)
		write(t, s, func(tx milogin.Tx) error {
			return tx.TOTP().Put(ctx(t), &milogin.TOTPKey{AccountID: a.ID, Secret: []byte("s"), CreatedAt: t0})
		})
		var updated *milogin.TOTPKey
		write(t, s, func(tx milogin.Tx) (err error) {
			updated, err = tx.TOTP().Update(ctx(t), a.ID, func(k *milogin.TOTPKey) error {
				k.AccountID = "someone-else" // ignored: the owner cannot change
				k.Confirmed, k.ConfirmedAt, k.LastStep, k.UpdatedAt = true, t0.Add(time.Minute), 59_000_000, t0.Add(time.Minute)
				return nil
			})
			return err
		})
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "Update result = Get", updated, must(tx.TOTP().Get(ctx(t), a.ID)))
			return nil
		})
		wantEqual(t, "owner", updated.AccountID, a.ID)
		wantEqual(t, "last step", updated.LastStep, int64(59_000_000))

		// fn's error aborts the update and comes back unchanged.
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.TOTP().Update(ctx(t), a.ID, func(k *milogin.TOTPKey) error { k.LastStep = 1; return errBoom })
			return err
		})
		if err != errBoom {
			t.Fatalf("Update returned %v, want fn's error", err)
		}
		err = s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.TOTP().Update(ctx(t), "missing", func(*milogin.TOTPKey) error { return nil })
			return err
		})
		wantKind(t, err, milogin.ENOTFOUND)
	})

	t.Run("TOTPDelete", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.ThirdParty), account(2, milogin.ThirdParty)
		createAccounts(t, s, a, b)
		write(t, s, func(tx milogin.Tx) error {
			for _, id := range []string{a.ID, b.ID} {
				if err := tx.TOTP().Put(ctx(t), &milogin.TOTPKey{AccountID: id, Secret: []byte(id)}); err != nil {
					return err
				}
			}
			return tx.TOTP().Delete(ctx(t), a.ID)
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.TOTP().Delete(ctx(t), a.ID) })
		wantKind(t, err, milogin.ENOTFOUND)
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.TOTP().Get(ctx(t), a.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			wantEqual(t, "other account's key", string(must(tx.TOTP().Get(ctx(t), b.ID)).Secret), b.ID)
			return nil
		})
	})

	// The replay check reads LastStep and raises it in one locked update:
	// of many requests presenting the same step at once, exactly one wins.
	t.Run("TOTPStepUsedOnce", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.ThirdParty)
		createAccounts(t, s, a)
		write(t, s, func(tx milogin.Tx) error {
			return tx.TOTP().Put(ctx(t), &milogin.TOTPKey{AccountID: a.ID, Secret: []byte("s"), Confirmed: true, LastStep: 100})
		})
		const n = 8
		var wg sync.WaitGroup
		var mu sync.Mutex
		wins := 0
		for range n {
			wg.Go(func() {
				err := s.Write(ctx(t), func(tx milogin.Tx) error {
					_, err := tx.TOTP().Update(ctx(t), a.ID, func(k *milogin.TOTPKey) error {
						if k.LastStep >= 101 {
							return errBoom
						}
						k.LastStep = 101
						return nil
					})
					return err
				})
				if err == nil {
					mu.Lock()
					wins++
					mu.Unlock()
				} else if err != errBoom {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		wantEqual(t, "winners", wins, 1)
	})

	t.Run("TOTPNeedsAccount", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.ThirdParty)
		createAccounts(t, s, a)
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			return tx.TOTP().Put(ctx(t), &milogin.TOTPKey{AccountID: "no-such-account", Secret: []byte("s")})
		})
		if err == nil {
			t.Fatal("a key for an account that does not exist was stored")
		}
	})

	t.Run("PasskeyRoundTrip", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.ThirdParty), account(2, milogin.ThirdParty)
		createAccounts(t, s, a, b)
		c1 := &milogin.WebAuthnCredential{ID: []byte{0, 1, 2, 3}, AccountID: a.ID, Name: "Laptop", Data: []byte(`{"k":1}`), CreatedAt: t0}
		c2 := &milogin.WebAuthnCredential{ID: []byte{0, 1, 2, 4}, AccountID: a.ID, Name: "Phone", Data: []byte(`{"k":2}`), CreatedAt: t0.Add(time.Minute), LastUsedAt: t0.Add(time.Hour)}
		c3 := &milogin.WebAuthnCredential{ID: []byte{9}, AccountID: b.ID, Name: "Key", Data: []byte(`{}`), CreatedAt: t0}
		write(t, s, func(tx milogin.Tx) error {
			for _, c := range []*milogin.WebAuthnCredential{c2, c1, c3} {
				if err := tx.WebAuthn().Create(ctx(t), c); err != nil {
					return err
				}
			}
			return nil
		})
		normCred := func(c *milogin.WebAuthnCredential) *milogin.WebAuthnCredential {
			x := *c
			x.CreatedAt, x.LastUsedAt = norm(x.CreatedAt), norm(x.LastUsedAt)
			return &x
		}
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "c2", must(tx.WebAuthn().Get(ctx(t), c2.ID)), normCred(c2))
			wantEqual(t, "a's passkeys, oldest first", must(tx.WebAuthn().ListByAccount(ctx(t), a.ID)),
				[]*milogin.WebAuthnCredential{normCred(c1), normCred(c2)})
			wantEqual(t, "nobody's passkeys", len(must(tx.WebAuthn().ListByAccount(ctx(t), "nobody"))), 0)
			_, err := tx.WebAuthn().Get(ctx(t), []byte{0, 1, 2})
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		// The same credential ID cannot be registered twice, and the
		// failure leaves the transaction usable.
		write(t, s, func(tx milogin.Tx) error {
			dup := *c3
			dup.AccountID = a.ID
			err := tx.WebAuthn().Create(ctx(t), &dup)
			wantKind(t, err, milogin.ECONFLICT)
			_, err = tx.WebAuthn().Get(ctx(t), c1.ID)
			return err
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			return tx.WebAuthn().Create(ctx(t), &milogin.WebAuthnCredential{AccountID: a.ID})
		})
		wantKind(t, err, milogin.EINVALID)
	})

	t.Run("PasskeyUpdateDelete", func(t *testing.T) {
		s := open(t)
		a, b := account(1, milogin.ThirdParty), account(2, milogin.ThirdParty)
		createAccounts(t, s, a, b)
		id := []byte("cred-1")
		write(t, s, func(tx milogin.Tx) error {
			return tx.WebAuthn().Create(ctx(t), &milogin.WebAuthnCredential{ID: id, AccountID: a.ID, Name: "Laptop", Data: []byte("v1"), CreatedAt: t0})
		})
		var got *milogin.WebAuthnCredential
		write(t, s, func(tx milogin.Tx) (err error) {
			got, err = tx.WebAuthn().Update(ctx(t), id, func(c *milogin.WebAuthnCredential) error {
				c.AccountID = b.ID // ignored
				c.Data, c.LastUsedAt = []byte("v2"), t0.Add(time.Hour)
				return nil
			})
			return err
		})
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "Update result = Get", got, must(tx.WebAuthn().Get(ctx(t), id)))
			return nil
		})
		wantEqual(t, "owner", got.AccountID, a.ID)
		wantEqual(t, "data", string(got.Data), "v2")

		// Another account cannot delete it.
		err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.WebAuthn().Delete(ctx(t), b.ID, id) })
		wantKind(t, err, milogin.ENOTFOUND)
		write(t, s, func(tx milogin.Tx) error { return tx.WebAuthn().Delete(ctx(t), a.ID, id) })
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.WebAuthn().Get(ctx(t), id)
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
	})

	t.Run("ChallengeUsedOnce", func(t *testing.T) {
		s := open(t)
		c := &milogin.WebAuthnChallenge{ID: "ch1", AccountID: "acct", SessionID: "sess", Purpose: "login",
			Data: []byte(`{"challenge":"x"}`), CreatedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
		write(t, s, func(tx milogin.Tx) error { return tx.WebAuthn().PutChallenge(ctx(t), c) })
		want := *c
		want.CreatedAt, want.ExpiresAt = norm(c.CreatedAt), norm(c.ExpiresAt)
		const n = 6
		var wg sync.WaitGroup
		var mu sync.Mutex
		var taken []*milogin.WebAuthnChallenge
		for range n {
			wg.Go(func() {
				err := s.Write(ctx(t), func(tx milogin.Tx) error {
					got, err := tx.WebAuthn().TakeChallenge(ctx(t), c.ID)
					if err != nil {
						return err
					}
					mu.Lock()
					taken = append(taken, got)
					mu.Unlock()
					return nil
				})
				if err != nil && !milogin.IsKind(err, milogin.ENOTFOUND) {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		if len(taken) != 1 {
			t.Fatalf("challenge taken %d times, want once", len(taken))
		}
		wantEqual(t, "challenge", taken[0], &want)
	})

	t.Run("ChallengesExpire", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			for i, exp := range []time.Duration{-time.Minute, 0, time.Minute} {
				c := &milogin.WebAuthnChallenge{ID: fmt.Sprint("ch", i), AccountID: "a", Purpose: "register", CreatedAt: t0, ExpiresAt: t0.Add(exp)}
				if err := tx.WebAuthn().PutChallenge(ctx(t), c); err != nil {
					return err
				}
			}
			return nil
		})
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.WebAuthn().DeleteExpiredChallenges(ctx(t), t0)
			return err
		})
		wantEqual(t, "deleted", n, 2)
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.WebAuthn().TakeChallenge(ctx(t), "ch2")
			return err
		})
	})

	t.Run("ReadRefusesWrites", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.ThirdParty)
		createAccounts(t, s, a)
		write(t, s, func(tx milogin.Tx) error {
			if err := tx.TOTP().Put(ctx(t), &milogin.TOTPKey{AccountID: a.ID, Secret: []byte("s")}); err != nil {
				return err
			}
			if err := tx.WebAuthn().PutChallenge(ctx(t), &milogin.WebAuthnChallenge{ID: "ch", AccountID: a.ID, Purpose: "login", ExpiresAt: t0}); err != nil {
				return err
			}
			return tx.WebAuthn().Create(ctx(t), &milogin.WebAuthnCredential{ID: []byte("c"), AccountID: a.ID})
		})
		writes := map[string]func(tx milogin.Tx) error{
			"TOTP.Put": func(tx milogin.Tx) error { return tx.TOTP().Put(ctx(t), &milogin.TOTPKey{AccountID: a.ID}) },
			"TOTP.Update": func(tx milogin.Tx) error {
				_, err := tx.TOTP().Update(ctx(t), a.ID, func(k *milogin.TOTPKey) error { k.LastStep = 9; return nil })
				return err
			},
			"TOTP.Delete": func(tx milogin.Tx) error { return tx.TOTP().Delete(ctx(t), a.ID) },
			"WebAuthn.Create": func(tx milogin.Tx) error {
				return tx.WebAuthn().Create(ctx(t), &milogin.WebAuthnCredential{ID: []byte("d"), AccountID: a.ID})
			},
			"WebAuthn.Update": func(tx milogin.Tx) error {
				_, err := tx.WebAuthn().Update(ctx(t), []byte("c"), func(c *milogin.WebAuthnCredential) error { c.Name = "x"; return nil })
				return err
			},
			"WebAuthn.Delete": func(tx milogin.Tx) error { return tx.WebAuthn().Delete(ctx(t), a.ID, []byte("c")) },
			"WebAuthn.PutChallenge": func(tx milogin.Tx) error {
				return tx.WebAuthn().PutChallenge(ctx(t), &milogin.WebAuthnChallenge{ID: "ch2", Purpose: "login"})
			},
			"WebAuthn.TakeChallenge": func(tx milogin.Tx) error { _, err := tx.WebAuthn().TakeChallenge(ctx(t), "ch"); return err },
			"WebAuthn.DeleteExpiredChallenges": func(tx milogin.Tx) error {
				_, err := tx.WebAuthn().DeleteExpiredChallenges(ctx(t), t0.Add(time.Hour))
				return err
			},
		}
		for name, fn := range writes {
			t.Run(name, func(t *testing.T) {
				if err := s.Read(ctx(t), fn); err == nil {
					t.Fatal("a write inside Read succeeded")
				}
			})
		}
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "last step", must(tx.TOTP().Get(ctx(t), a.ID)).LastStep, int64(0))
			wantEqual(t, "passkey name", must(tx.WebAuthn().Get(ctx(t), []byte("c"))).Name, "")
			return nil
		})
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.WebAuthn().TakeChallenge(ctx(t), "ch")
			return err
		})
	})
}
