// Package bench measures MILogin end to end: the bare password hash, a
// sign-in through the real handler over HTTP, and a session-authenticated
// page, on SQLite and PostgreSQL. bench/run.sh prints the figures as ratios
// against the bare hash measured in the same run, because the machines are
// shared and absolute numbers move from run to run.
package bench

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/postgres"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
	"milogin/internal/web"
)

const password = "Mitten!State26"

// accounts is how many accounts the sign-in benchmark rotates through, so
// that the one-session rule meets few live sessions per account.
const accounts = 256

func BenchmarkHash(b *testing.B) {
	h := authn.NewHasher(authn.DefaultParams, 0)
	enc, err := h.Hash(context.Background(), password)
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if ok, _, err := h.Verify(context.Background(), enc, password); !ok || err != nil {
			b.Fatal("verify failed", err)
		}
	}
}

// BenchmarkHashParallel is the node's hash throughput with every core busy:
// the baseline for BenchmarkSignInParallel.
func BenchmarkHashParallel(b *testing.B) {
	h := authn.NewHasher(authn.DefaultParams, 0)
	enc, err := h.Hash(context.Background(), password)
	if err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(4)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := h.Verify(context.Background(), enc, password); !ok || err != nil {
				b.Error("verify failed", err)
				return
			}
		}
	})
}

type backend struct {
	name string
	open func(b *testing.B) milogin.Store
}

func backends() []backend {
	return []backend{
		{"sqlite", func(b *testing.B) milogin.Store {
			s, err := sqlite.Open(context.Background(), b.TempDir()+"/bench.db", sqlstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
		{"postgres", func(b *testing.B) milogin.Store {
			s, err := postgres.Open(context.Background(), pgtest.DSN(b), sqlstore.Options{})
			if err != nil {
				b.Fatal(err)
			}
			return s
		}},
	}
}

// server starts the real pages over HTTP with production hash parameters
// and creates the benchmark's accounts (sharing one precomputed hash, so
// setup does not take minutes).
func server(b *testing.B, store milogin.Store) (*httptest.Server, *authn.Service) {
	b.Helper()
	ctx := context.Background()
	hasher := authn.NewHasher(authn.DefaultParams, 0)
	auth := authn.NewService(store, hasher, authn.NewCodeHasher(make([]byte, 32)))
	auth.IPFailureLimit = 0
	hash, err := hasher.Hash(ctx, password)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now().UTC()
	err = store.Write(ctx, func(tx milogin.Tx) error {
		for i := range accounts {
			a := &milogin.Account{ID: fmt.Sprintf("bench-%04d", i), Portal: milogin.ThirdParty,
				UserID: fmt.Sprintf("userb%04d", i), FirstName: "Bench", LastName: "User",
				Email: fmt.Sprintf("user%04d@example.org", i), Status: milogin.StatusActive,
				PasswordHash: hash, PasswordChangedAt: now, CreatedAt: now, UpdatedAt: now}
			if err := tx.Accounts().Create(ctx, a); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	h, err := web.NewServer(web.Config{Auth: auth, Store: store, BaseURL: "http://127.0.0.1", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	srv := httptest.NewServer(h)
	b.Cleanup(srv.Close)
	return srv, auth
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func post(b *testing.B, c *http.Client, u string, form url.Values) *http.Response {
	res, err := c.Post(u, "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
	if err != nil {
		b.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res
}

// BenchmarkSignIn posts the sign-in form with the right password: one
// argon2id verification plus the database work and HTTP around it.
func BenchmarkSignIn(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			store := be.open(b)
			defer store.Close()
			srv, _ := server(b, store)
			c := &http.Client{CheckRedirect: noRedirect}
			i := 0
			b.ResetTimer()
			for b.Loop() {
				res := post(b, c, srv.URL+"/thirdparty/login", url.Values{
					"user_id": {fmt.Sprintf("userb%04d", i%accounts)}, "password": {password}})
				if res.StatusCode != http.StatusSeeOther {
					b.Fatalf("sign-in: %d", res.StatusCode)
				}
				i++
			}
		})
	}
}

// BenchmarkHomePage loads the home page with a session cookie: the session
// lookup every authenticated page pays.
func BenchmarkHomePage(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			store := be.open(b)
			defer store.Close()
			srv, _ := server(b, store)
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar, CheckRedirect: noRedirect}
			if res := post(b, c, srv.URL+"/thirdparty/login", url.Values{"user_id": {"userb0000"}, "password": {password}}); res.StatusCode != http.StatusSeeOther {
				b.Fatalf("sign-in: %d", res.StatusCode)
			}
			b.ResetTimer()
			for b.Loop() {
				res, err := c.Get(srv.URL + "/thirdparty/home")
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					b.Fatalf("home: %d", res.StatusCode)
				}
			}
		})
	}
}

// BenchmarkSignInParallel is sign-in throughput with concurrent clients, as a
// server sees it: while one request waits on the database another hashes.
func BenchmarkSignInParallel(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			store := be.open(b)
			defer store.Close()
			srv, _ := server(b, store)
			var next atomic.Int64
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				c := &http.Client{CheckRedirect: noRedirect}
				for pb.Next() {
					i := next.Add(1)
					res, err := c.Post(srv.URL+"/thirdparty/login", "application/x-www-form-urlencoded",
						strings.NewReader(url.Values{"user_id": {fmt.Sprintf("userb%04d", i%accounts)}, "password": {password}}.Encode()))
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != http.StatusSeeOther {
						b.Errorf("sign-in: %d", res.StatusCode)
						return
					}
				}
			})
		})
	}
}
