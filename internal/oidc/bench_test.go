package oidc_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/postgres"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlstore"
)

// backends runs fn on SQLite and, when MILOGIN_TEST_POSTGRES is set, on a
// fresh PostgreSQL schema.
func backends(b *testing.B, fn func(b *testing.B, e *env)) {
	b.Run("sqlite", func(b *testing.B) { fn(b, newEnv(b)) })
	b.Run("postgres", func(b *testing.B) { fn(b, newEnv(b, envOptions{store: openPostgres(b)})) })
}

func openPostgres(tb testing.TB) milogin.Store {
	tb.Helper()
	dsn := pgtest.DSN(tb)
	db, err := postgres.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// codes parks n authorization requests with issued codes for the signed-in
// session of template, as the callback would, and returns the codes.
func (e *env) codes(tb testing.TB, template *milogin.OAuthRequest, n int) []string {
	tb.Helper()
	ctx := context.Background()
	out := make([]string, 0, n)
	for len(out) < n {
		err := e.store.Write(ctx, func(tx milogin.Tx) error {
			for i := 0; i < 500 && len(out) < n; i++ {
				code, hash := authn.NewToken()
				r := *template
				r.ID, r.CodeHash, r.CodeUsedAt = authn.NewID(), hash, time.Time{}
				if err := tx.OAuthRequests().Create(ctx, &r); err != nil {
					return err
				}
				out = append(out, code)
			}
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	return out
}

// signedInRequest runs one real flow and returns its authorization request
// (a template with the session, subject and PKCE challenge) and verifier.
func (e *env) signedInRequest(tb testing.TB, clientID string) (*milogin.OAuthRequest, string) {
	tb.Helper()
	v, ch := pkce()
	code := e.code(tb, browser(), clientID, ch)
	var r *milogin.OAuthRequest
	err := e.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
		r, err = tx.OAuthRequests().GetByCode(context.Background(), sha256hex(code))
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return r, v
}

// BenchmarkTokenExchange measures the token endpoint for the code flow: a
// confidential client (client_secret_basic), PKCE, an ID token and a
// refresh token per exchange, over HTTP.
func BenchmarkTokenExchange(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		secret := e.app(b, "rp", false)
		tmpl, verifier := e.signedInRequest(b, "rp")
		codes := e.codes(b, tmpl, b.N)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			exchangeOnce(b, e, client, secret, codes[i], verifier)
		}
	})
}

// exchangeOnce posts one code to the token endpoint as client "rp" and fails
// b unless the answer is 200.
func exchangeOnce(b *testing.B, e *env, client *http.Client, secret, code, verifier string) {
	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI}, "code_verifier": {verifier}}
	req, _ := http.NewRequest("POST", e.issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("rp", secret)
	res, err := client.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		b.Fatalf("exchange: %d %s", res.StatusCode, body)
	}
}

// BenchmarkUserinfo measures /userinfo with a bearer access token, in
// parallel (GOMAXPROCS clients).
func BenchmarkUserinfo(b *testing.B) {
	backends(b, func(b *testing.B, e *env) {
		secret := e.app(b, "rp", false)
		tmpl, verifier := e.signedInRequest(b, "rp")
		code := e.codes(b, tmpl, 1)[0]
		st, out := e.exchange(b, "rp", secret, code, verifier)
		if st != http.StatusOK {
			b.Fatalf("exchange: %d %v", st, out)
		}
		at := out["access_token"].(string)
		client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				req, _ := http.NewRequest("GET", e.issuer+"/userinfo", nil)
				req.Header.Set("Authorization", "Bearer "+at)
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Errorf("userinfo: %d", res.StatusCode)
					return
				}
			}
		})
	})
}

// The flow on PostgreSQL: the same relying party, the other backend.
func TestGoRelyingPartyFlowOnPostgres(t *testing.T) {
	e := newEnv(t, envOptions{store: openPostgres(t)})
	secret := e.app(t, "rp", false)
	v, ch := pkce()
	code := e.code(t, browser(), "rp", ch)
	st, out := e.exchange(t, "rp", secret, code, v)
	if st != http.StatusOK {
		t.Fatalf("exchange: %d %v", st, out)
	}
	if st, out := e.exchange(t, "rp", secret, code, v); st != http.StatusBadRequest || out["error"] != "invalid_grant" {
		t.Errorf("reuse: %d %v", st, out)
	}
	if e.introspect(t, "rp", secret, out["access_token"].(string))["active"] == true {
		t.Error("reuse left the access token active")
	}
	st, out = e.tokenRequest(t, "rp", secret, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}})
	if st == http.StatusOK {
		t.Errorf("refresh after code reuse: %v", out)
	}
}

// BenchmarkTokenExchangeRows is BenchmarkTokenExchange with 1,000 and then
// 1,000,000 other live authorization requests in oauth_requests: the
// exchange finds its code through an index, so its cost must not grow with
// the table (a scan cost 39 ms at 100,000 rows before the queries could
// use their indexes). Compare the two sub-benchmarks of each engine.
func BenchmarkTokenExchangeRows(b *testing.B) {
	for _, rows := range []int{1000, 1000000} {
		b.Run(fmt.Sprintf("rows=%d", rows), func(b *testing.B) {
			backends(b, func(b *testing.B, e *env) {
				secret := e.app(b, "rp", false)
				tmpl, verifier := e.signedInRequest(b, "rp")
				fillOAuthRequests(b, e, rows)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
				var codes []string
				for b.Loop() {
					if len(codes) == 0 {
						b.StopTimer()
						codes = e.codes(b, tmpl, 500)
						b.StartTimer()
					}
					exchangeOnce(b, e, client, secret, codes[0], verifier)
					codes = codes[1:]
				}
			})
		})
	}
}

// fillOAuthRequests inserts n live authorization requests with issued codes
// in one statement (a recursive query both engines run), then refreshes
// the planner's statistics.
func fillOAuthRequests(b *testing.B, e *env, n int) {
	b.Helper()
	pools, ok := e.store.(interface{ Pools() (*sql.DB, *sql.DB) })
	if !ok {
		b.Fatalf("store %T does not expose its pools", e.store)
	}
	w, _ := pools.Pools()
	now := e.clk.Now().UnixMicro()
	later := e.clk.Now().Add(time.Hour).UnixMicro()
	_, err := w.Exec(`INSERT INTO oauth_requests (id, portal, client_id, redirect_uri, created_at, expires_at, code_hash, code_expires_at)
		WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < CAST($1 AS INTEGER))
		SELECT 'filler-' || i, 'thirdparty', 'rp', 'https://rp.example/callback', CAST($2 AS BIGINT), CAST($3 AS BIGINT), 'filler-code-' || i, CAST($3 AS BIGINT) FROM n`,
		n, now, later)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := w.Exec(`ANALYZE`); err != nil {
		b.Fatal(err)
	}
}
