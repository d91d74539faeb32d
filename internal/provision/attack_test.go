package provision_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/postgres"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

// slowParams make a secret check cost what it costs in production relative
// to a database round trip, so that check-then-count is raced.
var slowParams = authn.Params{Time: 1, MemoryKiB: 4 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

func openStores(t *testing.T) map[string]func(t *testing.T) milogin.Store {
	return map[string]func(t *testing.T) milogin.Store{
		"sqlite": func(t *testing.T) milogin.Store {
			s, err := sqlite.Open(context.Background(), t.TempDir()+"/m.db", sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
		"postgres": func(t *testing.T) milogin.Store {
			dsn := pgtest.DSN(t)
			s, err := postgres.Open(context.Background(), dsn, sqlstore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		},
	}
}

// Sixty concurrent wrong client secrets from one address where the limit
// is 20: exactly 20 are checked, the other 40 answer 429 without a hash.
// Before the fix the count was read before the check and written after it,
// and every one of the sixty was judged.
func TestAPIAuthBurstJudgesAtMostTwenty(t *testing.T) {
	for name, open := range openStores(t) {
		t.Run(name, func(t *testing.T) {
			e := newEnvOn(t, open(t), slowParams)
			const n = 60
			status := make([]int, n)
			errs := make([]error, n)
			var start, done sync.WaitGroup
			start.Add(1)
			for i := range n {
				done.Add(1)
				go func() {
					defer done.Done()
					req, err := http.NewRequest("GET", e.srv.URL+"/thirdparty/api/v1/users?login_id=smithj0001", nil)
					if err != nil {
						errs[i] = err
						return
					}
					req.SetBasicAuth("osmis-client", "wrong-secret")
					start.Wait()
					res, err := http.DefaultClient.Do(req)
					if err != nil {
						errs[i] = err
						return
					}
					res.Body.Close()
					status[i] = res.StatusCode
				}()
			}
			start.Done()
			done.Wait()
			got := map[int]int{}
			for i := range n {
				if errs[i] != nil {
					t.Fatal(errs[i])
				}
				got[status[i]]++
			}
			if got[http.StatusUnauthorized] != 20 || got[http.StatusTooManyRequests] != 40 {
				t.Errorf("answers = %v, want 20 × 401 and 40 × 429", got)
			}
			judged := 0
			for _, ev := range e.events(t, milogin.EventAPICall) {
				if ev.Detail["code"] == "unauthorized" {
					judged++
				}
			}
			if judged != 20 {
				t.Errorf("%d authentications judged, want 20", judged)
			}
			// The right secret from that address waits out the window too.
			wantError(t, e.call(t, "GET", "/thirdparty/api/v1/users?login_id=smithj0001", "osmis", "", ""), http.StatusTooManyRequests, "rate_limited")
		})
	}
}

// A right secret gives its reservation back: an application calling the
// API all day never reaches the failure limit.
func TestAPIAuthSuccessDoesNotCountAsFailure(t *testing.T) {
	e := newEnv(t)
	for i := range 30 {
		if r := e.call(t, "GET", "/thirdparty/api/v1/users?login_id=smithj0001", "osmis", "", ""); r.status != http.StatusOK {
			t.Fatalf("call %d: %d %s", i+1, r.status, r.body)
		}
	}
}

// HSTS was missing on /api and /scim: served over TLS, every answer of the
// provisioning API and SCIM (errors included) carries it, as the pages do;
// over plain HTTP (development) none does.
func TestAPIAndSCIMSendHSTSOverTLS(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/thirdparty/api/v1/users?login_id=smithj0001", "/thirdparty/scim/v2/Users"} {
		if r := e.call(t, "GET", path, "osmis", "", ""); r.header.Get("Strict-Transport-Security") != "" {
			t.Errorf("%s over plain HTTP sends HSTS", path)
		}
	}
	tls := httptest.NewTLSServer(e.srv.Config.Handler)
	t.Cleanup(tls.Close)
	for _, path := range []string{"/thirdparty/api/v1/users?login_id=smithj0001", "/thirdparty/scim/v2/Users", "/citizen/scim/v2/Users"} {
		res, err := tls.Client().Get(tls.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Strict-Transport-Security"); got != "max-age=63072000; includeSubDomains" {
			t.Errorf("%s over TLS (status %d): Strict-Transport-Security %q", path, res.StatusCode, got)
		}
	}
}
