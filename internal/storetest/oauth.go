package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"milogin"
)

// testOAuth covers the OpenID Provider's repositories: signing keys,
// authorization requests with their codes, tokens and session-client links.
func testOAuth(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("SigningKeys", func(t *testing.T) { testSigningKeys(t, open) })
	t.Run("OAuthRequests", func(t *testing.T) { testOAuthRequests(t, open) })
	t.Run("OAuthTokens", func(t *testing.T) { testOAuthTokens(t, open) })
	t.Run("SessionClients", func(t *testing.T) { testSessionClients(t, open) })
	// Two tabs finishing one parked sign-in: it is completed once.
	t.Run("LoginRequestCompletedOnce", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			return tx.LoginRequests().Create(ctx(t), &milogin.LoginRequest{ID: "lr", Protocol: "oidc", Portal: milogin.ThirdParty,
				AppID: "rp", CallbackURL: "/thirdparty/authorize/callback?id=lr", CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute)})
		})
		const n = 12
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.LoginRequests().Update(ctx(t), "lr", func(x *milogin.LoginRequest) error {
					if x.Done() {
						return errUsed
					}
					x.AccountID, x.SessionID, x.AuthTime, x.DoneAt = fmt.Sprint("acct-", i), "s", t0, t0
					return nil
				})
				return err
			})
		})
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if !errors.Is(err, errUsed) {
				t.Errorf("unexpected error: %v", err)
			}
		}
		wantEqual(t, "completions", wins, 1)
	})
	t.Run("ClientIDTokenAlg", func(t *testing.T) {
		s := open(t)
		a := &milogin.Application{ID: "es", Name: "ES256 client", Portals: []milogin.PortalID{milogin.ThirdParty},
			Client: milogin.Client{ID: "es", Public: true, RedirectURIs: []string{"https://es.example/cb"}, IDTokenAlg: "ES256"}}
		write(t, s, func(tx milogin.Tx) error { return tx.Apps().Create(ctx(t), a) })
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "IDTokenAlg", must(tx.Apps().GetByClientID(ctx(t), "es")).Client.IDTokenAlg, "ES256")
			return nil
		})
		write(t, s, func(tx milogin.Tx) error {
			_, err := tx.Apps().Update(ctx(t), "es", func(a *milogin.Application) error { a.Client.IDTokenAlg = ""; return nil })
			return err
		})
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "IDTokenAlg after update", must(tx.Apps().Get(ctx(t), "es")).Client.IDTokenAlg, "")
			return nil
		})
	})
}

func signingKey(id string, created time.Time) *milogin.SigningKey {
	return &milogin.SigningKey{
		ID: id, Alg: "RS256", Private: []byte{0x30, 0x82, 0x01, 0x00}, Public: []byte(`{"kty":"RSA","kid":"` + id + `"}`),
		CreatedAt: created, ActivatesAt: created.Add(time.Minute),
	}
}

func normSigningKey(k *milogin.SigningKey) *milogin.SigningKey {
	c := *k
	c.CreatedAt, c.ActivatesAt, c.RetiredAt = norm(c.CreatedAt), norm(c.ActivatesAt), norm(c.RetiredAt)
	return &c
}

func testSigningKeys(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("RoundTripAndOrder", func(t *testing.T) {
		s := open(t)
		k2, k1 := signingKey("k2", t0.Add(time.Hour)), signingKey("k1", t0)
		k1.Alg = "ES256"
		write(t, s, func(tx milogin.Tx) error {
			must(0, tx.SigningKeys().Create(ctx(t), k2))
			return tx.SigningKeys().Create(ctx(t), k1)
		})
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "List", must(tx.SigningKeys().List(ctx(t))), []*milogin.SigningKey{normSigningKey(k1), normSigningKey(k2)})
			return nil
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.SigningKeys().Create(ctx(t), signingKey("k1", t0)) })
		wantKind(t, err, milogin.ECONFLICT)
	})

	t.Run("RetireKeepsTheFirstRetirement", func(t *testing.T) {
		s := open(t)
		k := signingKey("k1", t0)
		write(t, s, func(tx milogin.Tx) error { return tx.SigningKeys().Create(ctx(t), k) })
		write(t, s, func(tx milogin.Tx) error {
			must(0, tx.SigningKeys().Retire(ctx(t), "k1", t0.Add(2*time.Hour)))
			must(0, tx.SigningKeys().Retire(ctx(t), "k1", t0.Add(time.Hour))) // earlier wins
			return tx.SigningKeys().Retire(ctx(t), "k1", t0.Add(3*time.Hour)) // later is ignored
		})
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "RetiredAt", must(tx.SigningKeys().List(ctx(t)))[0].RetiredAt, norm(t0.Add(time.Hour)))
			return nil
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.SigningKeys().Retire(ctx(t), "missing", t0) })
		wantKind(t, err, milogin.ENOTFOUND)
	})

	t.Run("DeleteRetired", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			for _, id := range []string{"old", "edge", "later", "live"} {
				must(0, tx.SigningKeys().Create(ctx(t), signingKey(id, t0)))
			}
			must(0, tx.SigningKeys().Retire(ctx(t), "old", t0.Add(-time.Hour)))
			must(0, tx.SigningKeys().Retire(ctx(t), "edge", t0))
			return tx.SigningKeys().Retire(ctx(t), "later", t0.Add(time.Second))
		})
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.SigningKeys().DeleteRetired(ctx(t), t0)
			return err
		})
		wantEqual(t, "deleted", n, 2)
		read(t, s, func(tx milogin.Tx) error {
			var ids []string
			for _, k := range must(tx.SigningKeys().List(ctx(t))) {
				ids = append(ids, k.ID)
			}
			wantEqual(t, "left", ids, []string{"later", "live"})
			return nil
		})
	})

	t.Run("Active", func(t *testing.T) {
		k := signingKey("k", t0)
		if k.Active(t0) || !k.Active(k.ActivatesAt) {
			t.Error("a key must sign from ActivatesAt, not before")
		}
		k.RetiredAt = t0.Add(time.Hour)
		if k.Active(k.RetiredAt) || !k.Published(k.RetiredAt, time.Minute) || k.Published(k.RetiredAt.Add(time.Minute), time.Minute) {
			t.Error("a retired key must stop signing at once and stay published for the retention")
		}
	})
}

func oauthRequest(id string) *milogin.OAuthRequest {
	return &milogin.OAuthRequest{
		ID: id, Portal: milogin.ThirdParty, ClientID: "osmis-web", RedirectURI: "https://osmis.example.gov/cb",
		State: "st", Nonce: "n0", Scopes: []string{"openid", "email"}, ResponseMode: "",
		CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", CodeChallengeMethod: "S256",
		ACRValues: []string{"urn:milogin:acr:mfa"}, MaxAge: -1,
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute),
	}
}

func normOAuthRequest(r *milogin.OAuthRequest) *milogin.OAuthRequest {
	c := *r
	c.CreatedAt, c.ExpiresAt, c.AuthTime = norm(c.CreatedAt), norm(c.ExpiresAt), norm(c.AuthTime)
	c.CodeExpiresAt, c.CodeUsedAt = norm(c.CodeExpiresAt), norm(c.CodeUsedAt)
	for _, l := range []*[]string{&c.Scopes, &c.ACRValues, &c.AMR} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return &c
}

func testOAuthRequests(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("RoundTripAndCode", func(t *testing.T) {
		s := open(t)
		r := oauthRequest("r1")
		write(t, s, func(tx milogin.Tx) error { return tx.OAuthRequests().Create(ctx(t), r) })
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "Get", must(tx.OAuthRequests().Get(ctx(t), "r1")), normOAuthRequest(r))
			// No code yet: the empty hash matches nothing.
			_, err := tx.OAuthRequests().GetByCode(ctx(t), "")
			wantKind(t, err, milogin.ENOTFOUND)
			return nil
		})
		var returned *milogin.OAuthRequest
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.OAuthRequests().Update(ctx(t), "r1", func(x *milogin.OAuthRequest) error {
				x.Subject, x.SessionID, x.AuthTime = "acct-1", "sess-1", t0.Add(time.Minute)
				x.AMR, x.ACR = []string{"pwd"}, "urn:milogin:acr:pwd"
				x.CodeHash, x.CodeExpiresAt = "c0de", t0.Add(2*time.Minute)
				return nil
			})
			return err
		})
		r.Subject, r.SessionID, r.AuthTime, r.AMR, r.ACR = "acct-1", "sess-1", t0.Add(time.Minute), []string{"pwd"}, "urn:milogin:acr:pwd"
		r.CodeHash, r.CodeExpiresAt = "c0de", t0.Add(2*time.Minute)
		wantEqual(t, "returned", returned, normOAuthRequest(r))
		read(t, s, func(tx milogin.Tx) error {
			wantEqual(t, "GetByCode", must(tx.OAuthRequests().GetByCode(ctx(t), "c0de")), normOAuthRequest(r))
			return nil
		})
	})

	t.Run("Errors", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			must(0, tx.OAuthRequests().Create(ctx(t), oauthRequest("r1")))
			must(0, tx.OAuthRequests().Create(ctx(t), oauthRequest("r2")))
			_, err := tx.OAuthRequests().Update(ctx(t), "r1", func(x *milogin.OAuthRequest) error { x.CodeHash = "same"; return nil })
			return err
		})
		err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.OAuthRequests().Create(ctx(t), oauthRequest("r1")) })
		wantKind(t, err, milogin.ECONFLICT)
		// Either unique key: the ID or the code. Each conflict leaves the
		// transaction usable.
		write(t, s, func(tx milogin.Tx) error {
			wantKind(t, tx.OAuthRequests().Create(ctx(t), oauthRequest("r1")), milogin.ECONFLICT)
			sameCode := oauthRequest("r3")
			sameCode.CodeHash = "same"
			wantKind(t, tx.OAuthRequests().Create(ctx(t), sameCode), milogin.ECONFLICT)
			return tx.OAuthRequests().Create(ctx(t), oauthRequest("r4"))
		})
		read(t, s, func(tx milogin.Tx) error {
			_, err := tx.OAuthRequests().Get(ctx(t), "r4")
			return err
		})
		// Two requests never share a code.
		err = s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.OAuthRequests().Update(ctx(t), "r2", func(x *milogin.OAuthRequest) error { x.CodeHash = "same"; return nil })
			return err
		})
		wantKind(t, err, milogin.ECONFLICT)
		err = s.Read(ctx(t), func(tx milogin.Tx) error { _, err := tx.OAuthRequests().Get(ctx(t), "missing"); return err })
		wantKind(t, err, milogin.ENOTFOUND)
		err = s.Write(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.OAuthRequests().Update(ctx(t), "r1", func(*milogin.OAuthRequest) error { return errBoom })
			return err
		})
		if err != errBoom {
			t.Errorf("Update returned %v, want fn's error unchanged", err)
		}
	})

	t.Run("DeleteExpired", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			past, live, coded := oauthRequest("past"), oauthRequest("live"), oauthRequest("coded")
			past.ExpiresAt = t0
			coded.ExpiresAt, coded.CodeHash, coded.CodeExpiresAt = t0, "h", t0.Add(time.Second)
			live.ExpiresAt = t0.Add(time.Second)
			for _, r := range []*milogin.OAuthRequest{past, live, coded} {
				must(0, tx.OAuthRequests().Create(ctx(t), r))
			}
			return nil
		})
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.OAuthRequests().DeleteExpired(ctx(t), t0)
			return err
		})
		wantEqual(t, "deleted", n, 1)
	})

	// A code is consumed once, whoever races to exchange it.
	t.Run("ConcurrentCodeUse", func(t *testing.T) {
		s := open(t)
		r := oauthRequest("r1")
		r.CodeHash, r.CodeExpiresAt = "h", t0.Add(time.Minute)
		write(t, s, func(tx milogin.Tx) error { return tx.OAuthRequests().Create(ctx(t), r) })
		const n = 12
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.OAuthRequests().Update(ctx(t), "r1", func(x *milogin.OAuthRequest) error {
					if !x.CodeUsedAt.IsZero() {
						return errUsed
					}
					x.CodeUsedAt = t0
					return nil
				})
				return err
			})
		})
		wins := 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case !errors.Is(err, errUsed):
				t.Errorf("unexpected error: %v", err)
			}
		}
		wantEqual(t, "successful uses", wins, 1)
	})
}

func oauthToken(id, family string, kind milogin.TokenKind) *milogin.OAuthToken {
	return &milogin.OAuthToken{
		ID: id, Kind: kind, FamilyID: family, Portal: milogin.ThirdParty, ClientID: "osmis-web", Subject: "acct-1",
		SessionID: "sess-1", Scopes: []string{"openid", "offline_access"}, Audience: []string{"osmis-web"},
		AMR: []string{"pwd", "mfa", "otp"}, ACR: "urn:milogin:acr:mfa", AuthTime: t0.Add(-time.Minute),
		CreatedAt: t0, ExpiresAt: t0.Add(10 * time.Minute), FamilyExpiresAt: t0.Add(24 * time.Hour),
	}
}

func normOAuthToken(x *milogin.OAuthToken) *milogin.OAuthToken {
	c := *x
	c.AuthTime, c.CreatedAt, c.ExpiresAt = norm(c.AuthTime), norm(c.CreatedAt), norm(c.ExpiresAt)
	c.FamilyExpiresAt, c.UsedAt, c.RevokedAt = norm(c.FamilyExpiresAt), norm(c.UsedAt), norm(c.RevokedAt)
	for _, l := range []*[]string{&c.Scopes, &c.Audience, &c.AMR} {
		if len(*l) == 0 {
			*l = nil
		}
	}
	return &c
}

func getToken(t *testing.T, s milogin.Store, id string) *milogin.OAuthToken {
	t.Helper()
	var x *milogin.OAuthToken
	read(t, s, func(tx milogin.Tx) (err error) {
		x, err = tx.OAuthTokens().Get(ctx(t), id)
		return err
	})
	return x
}

func testOAuthTokens(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("WriteOne", func(t *testing.T) {
		s := open(t)
		x := oauthToken("t1", "f1", milogin.AccessToken)
		if err := s.WriteOne(ctx(t), func(tx milogin.Tx) error { return tx.OAuthTokens().Create(ctx(t), x) }); err != nil {
			t.Fatal(err)
		}
		wantEqual(t, "Get", getToken(t, s, "t1"), normOAuthToken(x))
		err := s.WriteOne(ctx(t), func(tx milogin.Tx) error { return tx.OAuthTokens().Create(ctx(t), x) })
		wantKind(t, err, milogin.ECONFLICT)
		// A second write is refused (the first has been made: there is
		// no transaction to undo it).
		err = s.WriteOne(ctx(t), func(tx milogin.Tx) error {
			if err := tx.OAuthTokens().Create(ctx(t), oauthToken("t2", "f2", milogin.AccessToken)); err != nil {
				return err
			}
			return tx.OAuthTokens().Create(ctx(t), oauthToken("t3", "f3", milogin.AccessToken))
		})
		wantKind(t, err, milogin.EINTERNAL)
		// So is a write of several statements: a read-modify-write
		// without a transaction would lose concurrent updates.
		err = s.WriteOne(ctx(t), func(tx milogin.Tx) error {
			_, err := tx.OAuthTokens().Update(ctx(t), "t1", func(y *milogin.OAuthToken) error { y.UsedAt = t0; return nil })
			return err
		})
		wantKind(t, err, milogin.EINTERNAL)
		wantEqual(t, "untouched", getToken(t, s, "t1"), normOAuthToken(x))
		err = s.Read(ctx(t), func(tx milogin.Tx) error { _, err := tx.OAuthTokens().Get(ctx(t), "t3"); return err })
		wantKind(t, err, milogin.ENOTFOUND)
	})
	t.Run("RoundTripAndUpdate", func(t *testing.T) {
		s := open(t)
		x := oauthToken("t1", "f1", milogin.RefreshToken)
		write(t, s, func(tx milogin.Tx) error { return tx.OAuthTokens().Create(ctx(t), x) })
		wantEqual(t, "Get", getToken(t, s, "t1"), normOAuthToken(x))
		var returned *milogin.OAuthToken
		write(t, s, func(tx milogin.Tx) (err error) {
			returned, err = tx.OAuthTokens().Update(ctx(t), "t1", func(y *milogin.OAuthToken) error {
				y.UsedAt = t0.Add(time.Minute)
				return nil
			})
			return err
		})
		x.UsedAt = t0.Add(time.Minute)
		wantEqual(t, "returned", returned, normOAuthToken(x))
		wantEqual(t, "stored", getToken(t, s, "t1"), normOAuthToken(x))
		if x.Usable(t0) {
			t.Error("a rotated refresh token is usable")
		}
		err := s.Write(ctx(t), func(tx milogin.Tx) error { return tx.OAuthTokens().Create(ctx(t), x) })
		wantKind(t, err, milogin.ECONFLICT)
		// The conflict leaves its transaction usable (PostgreSQL aborts a
		// transaction on a failed statement).
		write(t, s, func(tx milogin.Tx) error {
			wantKind(t, tx.OAuthTokens().Create(ctx(t), x), milogin.ECONFLICT)
			return tx.OAuthTokens().Create(ctx(t), oauthToken("t2", "f1", milogin.AccessToken))
		})
		getToken(t, s, "t2")
		err = s.Read(ctx(t), func(tx milogin.Tx) error { _, err := tx.OAuthTokens().Get(ctx(t), "missing"); return err })
		wantKind(t, err, milogin.ENOTFOUND)
	})

	t.Run("GetWithAccount", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.ThirdParty)
		createAccounts(t, s, a)
		x := oauthToken("t-person", "f1", milogin.AccessToken)
		x.Subject = a.ID
		// A client credentials token: its subject is the client, no account.
		y := oauthToken("t-client", "f2", milogin.AccessToken)
		y.Subject, y.SessionID = "osmis-web", ""
		write(t, s, func(tx milogin.Tx) error {
			if err := tx.OAuthTokens().Create(ctx(t), x); err != nil {
				return err
			}
			return tx.OAuthTokens().Create(ctx(t), y)
		})
		read(t, s, func(tx milogin.Tx) error {
			tok, acct, err := tx.OAuthTokens().GetWithAccount(ctx(t), x.ID)
			if err != nil {
				t.Fatalf("GetWithAccount: %v", err)
			}
			wantEqual(t, "token", tok, normOAuthToken(x))
			wantEqual(t, "account", acct, must(tx.Accounts().Get(ctx(t), a.ID)))
			for _, id := range []string{y.ID, "missing"} {
				_, _, err := tx.OAuthTokens().GetWithAccount(ctx(t), id)
				wantKind(t, err, milogin.ENOTFOUND)
			}
			return nil
		})
	})

	t.Run("RevokeFamily", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			for _, x := range []*milogin.OAuthToken{oauthToken("a1", "f1", milogin.AccessToken), oauthToken("r1", "f1", milogin.RefreshToken),
				oauthToken("a2", "f2", milogin.AccessToken)} {
				must(0, tx.OAuthTokens().Create(ctx(t), x))
			}
			return nil
		})
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.OAuthTokens().RevokeFamily(ctx(t), "f1", t0.Add(time.Minute))
			return err
		})
		wantEqual(t, "revoked", n, 2)
		wantEqual(t, "a1 revoked at", getToken(t, s, "a1").RevokedAt, norm(t0.Add(time.Minute)))
		wantEqual(t, "a2 revoked at", getToken(t, s, "a2").RevokedAt, time.Time{})
		// Revoking again changes nothing (the first revocation time stays).
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.OAuthTokens().RevokeFamily(ctx(t), "f1", t0.Add(time.Hour))
			return err
		})
		wantEqual(t, "revoked again", n, 0)
		wantEqual(t, "a1 revoked at", getToken(t, s, "a1").RevokedAt, norm(t0.Add(time.Minute)))
	})

	t.Run("RevokeBySubject", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			other := oauthToken("o", "f2", milogin.AccessToken)
			other.ClientID = "cars"
			someoneElse := oauthToken("e", "f3", milogin.AccessToken)
			someoneElse.Subject = "acct-2"
			for _, x := range []*milogin.OAuthToken{oauthToken("a", "f1", milogin.AccessToken), other, someoneElse} {
				must(0, tx.OAuthTokens().Create(ctx(t), x))
			}
			return nil
		})
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.OAuthTokens().RevokeBySubject(ctx(t), "acct-1", "osmis-web", t0)
			return err
		})
		wantEqual(t, "revoked for one client", n, 1)
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.OAuthTokens().RevokeBySubject(ctx(t), "acct-1", "", t0)
			return err
		})
		wantEqual(t, "revoked for every client", n, 1)
		wantEqual(t, "someone else's", getToken(t, s, "e").RevokedAt, time.Time{})
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.OAuthTokens().RevokeByClient(ctx(t), "osmis-web", t0)
			return err
		})
		wantEqual(t, "revoked by client", n, 1) // someone else's; acct-1's were revoked already
		wantEqual(t, "other client's", getToken(t, s, "o").RevokedAt, norm(t0))
	})

	t.Run("DeleteExpiredKeepsLiveFamilies", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			gone := oauthToken("gone", "f1", milogin.AccessToken)
			gone.ExpiresAt, gone.FamilyExpiresAt = t0, time.Time{}
			rotated := oauthToken("rotated", "f2", milogin.RefreshToken)
			rotated.ExpiresAt, rotated.UsedAt = t0, t0 // expired, but its family lives on
			live := oauthToken("live", "f3", milogin.AccessToken)
			for _, x := range []*milogin.OAuthToken{gone, rotated, live} {
				must(0, tx.OAuthTokens().Create(ctx(t), x))
			}
			return nil
		})
		var n int
		write(t, s, func(tx milogin.Tx) (err error) {
			n, err = tx.OAuthTokens().DeleteExpired(ctx(t), t0)
			return err
		})
		wantEqual(t, "deleted", n, 1)
		getToken(t, s, "rotated")
	})

	// A refresh token rotates once, whoever races to use it.
	t.Run("ConcurrentRotation", func(t *testing.T) {
		s := open(t)
		write(t, s, func(tx milogin.Tx) error {
			return tx.OAuthTokens().Create(ctx(t), oauthToken("r", "f", milogin.RefreshToken))
		})
		const n = 12
		errs := make([]error, n)
		parallel(n, func(i int) {
			errs[i] = s.Write(ctx(t), func(tx milogin.Tx) error {
				_, err := tx.OAuthTokens().Update(ctx(t), "r", func(x *milogin.OAuthToken) error {
					if !x.UsedAt.IsZero() {
						return errUsed
					}
					x.UsedAt = t0
					return nil
				})
				return err
			})
		})
		wins := 0
		for _, err := range errs {
			if err == nil {
				wins++
			} else if !errors.Is(err, errUsed) {
				t.Errorf("unexpected error: %v", err)
			}
		}
		wantEqual(t, "successful rotations", wins, 1)
	})
}

func testSessionClients(t *testing.T, open func(t *testing.T) milogin.Store) {
	link := func(sess, client string, at time.Time) *milogin.SessionClient {
		return &milogin.SessionClient{SessionID: sess, ClientID: client, AccountID: "acct-1", SID: "sid-" + sess, CreatedAt: at}
	}
	s := open(t)
	write(t, s, func(tx milogin.Tx) error {
		for _, sc := range []*milogin.SessionClient{link("s1", "osmis", t0), link("s1", "cars", t0), link("s2", "osmis", t0.Add(time.Hour))} {
			must(0, tx.SessionClients().Put(ctx(t), sc))
		}
		// Signing in to the same client again keeps the first link.
		return tx.SessionClients().Put(ctx(t), link("s1", "osmis", t0.Add(time.Minute)))
	})
	read(t, s, func(tx milogin.Tx) error {
		got := must(tx.SessionClients().ListBySessions(ctx(t), []string{"s1", "missing"}))
		want := []*milogin.SessionClient{link("s1", "cars", norm(t0)), link("s1", "osmis", norm(t0))}
		wantEqual(t, "ListBySessions", got, want)
		wantEqual(t, "none", len(must(tx.SessionClients().ListBySessions(ctx(t), nil))), 0)
		wantEqual(t, "GetBySID", must(tx.SessionClients().GetBySID(ctx(t), "sid-s2")).SessionID, "s2")
		_, err := tx.SessionClients().GetBySID(ctx(t), "nope")
		wantKind(t, err, milogin.ENOTFOUND)
		return nil
	})
	// A step-up moves the links to the session's new ID and keeps their sid.
	write(t, s, func(tx milogin.Tx) error {
		return tx.SessionClients().Rekey(ctx(t), "s1", "s1-new")
	})
	read(t, s, func(tx milogin.Tx) error {
		wantEqual(t, "links left on the old ID", len(must(tx.SessionClients().ListBySessions(ctx(t), []string{"s1"}))), 0)
		moved := must(tx.SessionClients().ListBySessions(ctx(t), []string{"s1-new"}))
		wantEqual(t, "links moved", len(moved), 2)
		for _, sc := range moved {
			wantEqual(t, "sid after rekey", sc.SID, "sid-s1")
		}
		wantEqual(t, "other session untouched", must(tx.SessionClients().GetBySID(ctx(t), "sid-s2")).SessionID, "s2")
		return nil
	})
	var n int
	write(t, s, func(tx milogin.Tx) (err error) {
		n, err = tx.SessionClients().DeleteBySessions(ctx(t), []string{"s1-new"})
		return err
	})
	wantEqual(t, "deleted", n, 2)
	write(t, s, func(tx milogin.Tx) (err error) {
		n, err = tx.SessionClients().DeleteCreatedBefore(ctx(t), t0.Add(time.Hour))
		return err
	})
	wantEqual(t, "deleted old", n, 1)
}
