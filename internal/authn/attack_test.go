package authn_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
)

// The attacks of a security review, reproduced on both backends: each test
// is named after the attack it stops.

// slowParams make a password check cost a few milliseconds, as a real one
// does relative to the database round trips, so that a check-then-count
// design is raced the way an attacker races it.
var slowParams = authn.Params{Time: 1, MemoryKiB: 4 * 1024, Threads: 1, SaltLen: 16, KeyLen: 32}

// burst runs fn(i) for i in [0, n) at the same time and waits.
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

// kinds tallies the error kinds of results ("" for success).
func kinds(errs []error) map[milogin.Kind]int {
	m := map[milogin.Kind]int{}
	for _, err := range errs {
		if err == nil {
			m["ok"]++
			continue
		}
		m[milogin.ErrorKind(err)]++
	}
	return m
}

// slowAccount gives the fixture's account a password hash that is slow to
// check (the reservation must happen before this work, not after).
func (f *fixture) slowAccount(t *testing.T) {
	t.Helper()
	h, err := authn.NewHasher(slowParams, 0).Hash(context.Background(), goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	err = f.store.Write(context.Background(), func(tx milogin.Tx) error {
		_, err := tx.Accounts().Update(context.Background(), f.acct.ID, func(a *milogin.Account) error {
			a.PasswordHash = h
			return nil
		})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Hasher = authn.NewHasher(slowParams, 0)
}

// Sixty concurrent guesses for one account: only five are judged (four
// "incorrect", the fifth locks), every other answer is "locked", and the
// right password sent while the burst is still in flight is "locked" too.
// Before the fix all sixty were hashed and judged before the fifth failure
// was written, and the right password was told apart from 58 "incorrect".
func TestLockoutBurstJudgesAtMostFive(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		f.svc.IPFailureLimit = 0 // the account's lock alone is under test
		f.slowAccount(t)
		const n = 60
		errs := make([]error, n)
		burst(n, func(i int) {
			if i == n-1 {
				// The right password joins as soon as the lock is
				// visible, while wrong guesses are still being judged.
				f.waitLocked(t)
				_, errs[i] = f.signIn(t, goodPassword)
				return
			}
			_, errs[i] = f.signIn(t, fmt.Sprintf("Wrong!Guess%02d", i))
		})
		got := kinds(errs)
		if got[milogin.EUNAUTHORIZED] != 4 || got[milogin.ELOCKED] != n-4 || got["ok"] != 0 {
			t.Errorf("answers = %v, want 4 %s and %d %s", got, milogin.EUNAUTHORIZED, n-4, milogin.ELOCKED)
		}
		if !milogin.IsKind(errs[n-1], milogin.ELOCKED) {
			t.Errorf("right password during the burst: %v, want %s", errs[n-1], milogin.ELOCKED)
		}
		if judged := len(f.audit(t, milogin.EventSignInFailed)); judged != 5 {
			t.Errorf("%d guesses judged, want 5", judged)
		}
		if locks := len(f.audit(t, milogin.EventLockout)); locks != 1 {
			t.Errorf("%d lockout events, want 1", locks)
		}
		if ms := f.outbox(t); len(ms) != 1 {
			t.Errorf("%d lockout emails, want 1", len(ms))
		}
		if a := f.account(t); a.FailedLogins != 5 || !a.Locked(f.clk.Now()) {
			t.Errorf("account after the burst: failures=%d locked=%v", a.FailedLogins, a.Locked(f.clk.Now()))
		}
	})
}

// waitLocked waits until the account's row shows the lock.
func (f *fixture) waitLocked(t *testing.T) {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var a *milogin.Account
		err := f.store.Read(context.Background(), func(tx milogin.Tx) (err error) {
			a, err = tx.Accounts().Get(context.Background(), f.acct.ID)
			return err
		})
		if err == nil && a.Locked(f.clk.Now()) {
			return
		}
		time.Sleep(time.Millisecond)
	}
	t.Error("the account never locked")
}

// The hourly cap holds under a burst as the consecutive lock does: with a
// policy that never locks on consecutive failures and a cap of 10, forty
// concurrent guesses get exactly ten judged.
func TestHourlyCapBurstJudgesAtMostTheCap(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		f.svc.IPFailureLimit = 0
		p := f.svc.Portals[milogin.ThirdParty]
		p.Policy.LockoutThreshold = 0
		p.Policy.MaxFailuresPerHour = 10
		f.svc.Portals[milogin.ThirdParty] = p
		f.slowAccount(t)
		const n = 40
		errs := make([]error, n)
		burst(n, func(i int) { _, errs[i] = f.signIn(t, fmt.Sprintf("Wrong!Guess%02d", i)) })
		got := kinds(errs)
		if got[milogin.EUNAUTHORIZED] != 9 || got[milogin.ELOCKED] != n-9 {
			t.Errorf("answers = %v, want 9 %s and %d %s", got, milogin.EUNAUTHORIZED, n-9, milogin.ELOCKED)
		}
		if judged := len(f.audit(t, milogin.EventSignInFailed)); judged != 10 {
			t.Errorf("%d guesses judged, want 10", judged)
		}
		if _, err := f.signIn(t, goodPassword); !milogin.IsKind(err, milogin.ELOCKED) {
			t.Errorf("right password after the cap: %v", err)
		}
	})
}

// 120 concurrent sign-ins from one address where the limit is 50: exactly
// 50 are judged, the other 70 are refused without a password check, and the
// address stays refused for the right password too. Before the fix the
// count was read before the hash and written after, and all 120 were judged.
func TestPerIPBurstJudgesAtMostTheLimit(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		f.svc.IPFailureLimit = 50
		f.svc.Hasher = authn.NewHasher(slowParams, 0)
		const n = 120
		errs := make([]error, n)
		burst(n, func(i int) {
			_, errs[i] = f.svc.SignIn(context.Background(), milogin.ThirdParty, fmt.Sprintf("nobody%04d", i), "Wrong!Guess1", meta)
		})
		got := kinds(errs)
		if got[milogin.EUNAUTHORIZED] != 50 || got[milogin.ERATELIMIT] != 70 {
			t.Errorf("answers = %v, want 50 %s and 70 %s", got, milogin.EUNAUTHORIZED, milogin.ERATELIMIT)
		}
		if judged := len(f.audit(t, milogin.EventSignInFailed)); judged != 50 {
			t.Errorf("%d sign-ins judged, want 50", judged)
		}
		if _, err := f.signIn(t, goodPassword); !milogin.IsKind(err, milogin.ERATELIMIT) {
			t.Errorf("right password from the address after the burst: %v", err)
		}
	})
}

// A right password does not use up the address's allowance: a burst of
// right passwords from one address (a shared office network) never hits the
// failure limit.
func TestPerIPLimitCountsOnlyFailures(t *testing.T) {
	f := newFixture(t)
	f.svc.IPFailureLimit = 3
	for i := range 6 {
		res, err := f.signIn(t, goodPassword)
		if err != nil {
			t.Fatalf("sign-in %d: %v", i+1, err)
		}
		f.svc.SignOut(context.Background(), res.Token, meta)
	}
}

// Forty concurrent wrong current passwords on Update Profile from one
// (stolen) session: five are hashed and judged, the rest are refused
// unchecked, so the session cannot be used to guess the password.
func TestReauthBurstJudgesAtMostFive(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		f.slowAccount(t)
		res, err := f.signIn(t, goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		in := authn.ProfileUpdateInput{ProfileInput: authn.ProfileInput{FirstName: "John", LastName: "Smith", Email: "john.smith@example.org",
			ConfirmEmail: "john.smith@example.org", WorkPhone: "517-555-0100", Mobile: "517-555-0199"}, CurrentPassword: "Wrong!Password1"}
		const n = 40
		errs := make([]error, n)
		burst(n, func(i int) {
			_, errs[i] = f.svc.UpdateProfile(context.Background(), milogin.ThirdParty, res.Token, in, meta)
		})
		if got := kinds(errs); got[milogin.EINVALID] != 5 || got[milogin.ERATELIMIT] != n-5 {
			t.Errorf("answers = %v, want 5 %s and %d %s", got, milogin.EINVALID, n-5, milogin.ERATELIMIT)
		}
	})
}

// Anyone could switch off another person's Forgot Password: signing up with
// Email as the option and the victim's mobile number typed in the profile
// (or putting it in Update Profile) made the number "shared", and Forgot
// Password answered "profile is incomplete" to the real holder for every
// option. An unproven number now counts against no one and serves no
// recovery.
func TestUnprovenMobileCannotDisableAnothersRecovery(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		// The victim signs up with Mobile (Text/SMS): the PIN goes to the
		// phone, which proves the number.
		victim := newSignup()
		victim.security.RecoverByMobile, victim.security.Mobile = true, "(517) 555-0199"
		token := f.startSignup(t, victim)
		v, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, f.lastPIN(t, "(517) 555-0199"), meta)
		if err != nil {
			t.Fatal(err)
		}
		if !v.MobileVerified {
			t.Fatal("a number proven by its PIN at sign-up is not marked proven")
		}

		// The attacker signs up with Email, the victim's number typed in.
		attacker := newSignup()
		attacker.profile.FirstName, attacker.profile.LastName = "Mal", "Lory"
		attacker.profile.Email, attacker.profile.ConfirmEmail = "mal@example.net", "mal@example.net"
		attacker.profile.Mobile = "517.555.0199"
		attacker.security.UserID = "lorym0000"
		token = f.startSignup(t, attacker)
		m, err := f.svc.ConfirmSignup(ctx, milogin.ThirdParty, token, f.lastPIN(t, "mal@example.net"), meta)
		if err != nil {
			t.Fatal(err)
		}
		if m.Mobile != "517.555.0199" || m.MobileVerified {
			t.Fatalf("attacker's account: mobile %q proven=%v, want kept unproven", m.Mobile, m.MobileVerified)
		}
		// And through Update Profile of another existing account.
		res, err := f.signIn(t, goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		in := authn.ProfileUpdateInput{ProfileInput: authn.ProfileInput{FirstName: "John", LastName: "Smith", Email: "john.smith@example.org",
			ConfirmEmail: "john.smith@example.org", WorkPhone: "517-555-0100", Mobile: "5175550199"}, CurrentPassword: goodPassword}
		if out, err := f.svc.UpdateProfile(ctx, milogin.ThirdParty, res.Token, in, meta); err != nil || !out.MobileUnproven {
			t.Fatalf("Update Profile with a new mobile: %+v, %v", out, err)
		}
		if a := f.account(t); a.Mobile != "5175550199" || a.MobileVerified {
			t.Fatalf("Update Profile: mobile %q proven=%v, want kept unproven", a.Mobile, a.MobileVerified)
		}

		// The victim's Forgot Password still works, Text Message included.
		rt, err := f.startReset(t, victim.security.UserID)
		if err != nil {
			t.Fatalf("victim's Forgot Password: %v", err)
		}
		if r := f.resetState(t, rt); !r.Has(milogin.RecoverText) || !r.Has(milogin.RecoverEmail) {
			t.Errorf("victim's options = %v", r.Options)
		}
		// The unproven number is never offered to the one who typed it.
		rt, err = f.startReset(t, "lorym0000")
		if err != nil {
			t.Fatalf("attacker's Forgot Password: %v", err)
		}
		if r := f.resetState(t, rt); r.Has(milogin.RecoverText) {
			t.Errorf("an unproven number is offered for recovery: %v", r.Options)
		}
	})
}

// A second POST of the right reset PIN (a double-click on NEXT, a reload)
// destroyed the verified reset: the used PIN counted as "locked" and the
// flow was deleted. Double-submits are now idempotent.
func TestResetPINDoubleSubmitKeepsTheVerifiedReset(t *testing.T) {
	f := newFixture(t)
	token, err := f.startReset(t, "smithj0001")
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.ChooseResetOption(ctx, milogin.ThirdParty, token, milogin.RecoverEmail, meta); err != nil {
		t.Fatal(err)
	}
	pin := f.lastPIN(t, "john.smith@example.org")
	errs := make([]error, 2)
	burst(2, func(i int) { errs[i] = f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, pin, meta) })
	for i, err := range errs {
		if err != nil {
			t.Errorf("submit %d of the right PIN: %v", i+1, err)
		}
	}
	if err := f.svc.VerifyResetPIN(ctx, milogin.ThirdParty, token, pin, meta); err != nil {
		t.Errorf("third submit: %v", err)
	}
	if !f.resetState(t, token).Verified {
		t.Fatal("the reset is no longer verified")
	}
	if _, err := f.svc.CompleteReset(ctx, milogin.ThirdParty, token, "Lake#Huron1987", "Lake#Huron1987", meta); err != nil {
		t.Fatalf("new password after a double-submit: %v", err)
	}
}

// Five wrong passwords on a real user ID answered "locked" while an unknown
// one answered "incorrect" forever, which told who has an account. Unknown
// user IDs are counted too and lock alike, one by one and in a burst.
func TestUnknownUserIDLocksLikeARealOne(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		f.svc.IPFailureLimit = 0
		answers := func(userID string, pws ...string) []milogin.Kind {
			var out []milogin.Kind
			for _, pw := range pws {
				_, err := f.svc.SignIn(ctx, milogin.ThirdParty, userID, pw, meta)
				out = append(out, milogin.ErrorKind(err))
			}
			return out
		}
		wrong := []string{"Wrong!Guess01", "Wrong!Guess02", "Wrong!Guess03", "Wrong!Guess04", "Wrong!Guess05", goodPassword}
		real := answers("smithj0001", wrong...)
		ghost := answers("nobody0001", wrong...)
		want := []milogin.Kind{milogin.EUNAUTHORIZED, milogin.EUNAUTHORIZED, milogin.EUNAUTHORIZED, milogin.EUNAUTHORIZED, milogin.ELOCKED, milogin.ELOCKED}
		if !slices.Equal(real, want) || !slices.Equal(ghost, want) {
			t.Errorf("real user ID answered %v, unknown %v; want both %v", real, ghost, want)
		}
		// Both unlock after the lock, with a fresh count.
		f.clk.Add(30 * time.Minute)
		if real, ghost := answers("smithj0001", "Wrong!Guess06"), answers("NOBODY0001", "Wrong!Guess06"); real[0] != milogin.EUNAUTHORIZED || ghost[0] != milogin.EUNAUTHORIZED {
			t.Errorf("after the lock: real %v, unknown %v", real, ghost)
		}
		// A burst at an unknown user ID is judged five times, as for a real one.
		const n = 40
		errs := make([]error, n)
		burst(n, func(i int) {
			_, errs[i] = f.svc.SignIn(context.Background(), milogin.ThirdParty, "ghost0001", fmt.Sprintf("Wrong!Guess%02d", i), meta)
		})
		if got := kinds(errs); got[milogin.EUNAUTHORIZED] != 4 || got[milogin.ELOCKED] != n-4 {
			t.Errorf("burst at an unknown user ID: %v, want 4 %s and %d %s", got, milogin.EUNAUTHORIZED, n-4, milogin.ELOCKED)
		}
	})
}
