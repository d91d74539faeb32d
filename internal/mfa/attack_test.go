package mfa_test

import (
	"context"
	"sync"
	"testing"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/postgres"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlstore"
)

// onEngines runs fn on a fixture over SQLite and over PostgreSQL.
func onEngines(t *testing.T, fn func(t *testing.T, f *fixture)) {
	t.Run("sqlite", func(t *testing.T) {
		fn(t, newFixture(t))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.DSN(t)
		s, err := postgres.Open(context.Background(), dsn, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		fn(t, newFixtureOn(t, s))
	})
}

func burst(n int, fn func(i int)) {
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

func tally(errs []error) map[milogin.Kind]int {
	m := map[milogin.Kind]int{}
	for _, err := range errs {
		m[milogin.ErrorKind(err)]++
	}
	return m
}

// Forty concurrent wrong authenticator codes: five are judged, 35 are
// refused unchecked. Before the fix the count was read before the check and
// written after it, so every code of the burst was judged.
func TestTOTPBurstJudgesAtMostFive(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		secret := enrolTOTP(t, f)
		good := totpCode(t, secret, f.now)
		const n = 40
		errs := make([]error, n)
		burst(n, func(i int) {
			bad := "000000"
			if bad == good {
				bad = "111111"
			}
			errs[i] = f.svc.VerifyTOTP(context.Background(), f.flow(), bad, authn.Meta{})
		})
		if got := tally(errs); got[milogin.EUNAUTHORIZED] != 5 || got[milogin.ERATELIMIT] != n-5 {
			t.Errorf("answers = %v, want 5 %s and %d %s", got, milogin.EUNAUTHORIZED, n-5, milogin.ERATELIMIT)
		}
	})
}

// Forty concurrent wrong current passwords from a stolen session on the
// factor pages: five are hashed and judged, the rest refused.
func TestFactorPasswordBurstJudgesAtMostFive(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		enrolTOTP(t, f)
		const n = 40
		errs := make([]error, n)
		burst(n, func(i int) {
			errs[i] = f.svc.RemoveTOTP(context.Background(), f.acct, "Wrong!Password1", authn.Meta{})
		})
		// enrolTOTP typed one wrong password already: four are left.
		if got := tally(errs); got[milogin.EUNAUTHORIZED] != 4 || got[milogin.ERATELIMIT] != n-4 {
			t.Errorf("answers = %v, want 4 %s and %d %s", got, milogin.EUNAUTHORIZED, n-4, milogin.ERATELIMIT)
		}
	})
}
