// Package storetest is the conformance suite for milogin.Store. Every backend
// runs it from its own tests in a few lines:
//
//	func TestStore(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) milogin.Store { return mustOpen(t) })
//	}
//
// The suite checks the contract in store.go method by method, the error kinds
// callers depend on (ENOTFOUND, ECONFLICT and its messages), that Write is
// all-or-nothing, that times survive a round trip, and that the read-modify-
// write paths are exact under concurrency: lockout counters, single-use codes,
// outbox claims and unique emails.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"milogin"
)

// BodyInspector is implemented by stores that can show how an outbox body is
// stored, so that the suite can check PINs are not readable at rest.
// sqlstore.Store implements it.
type BodyInspector interface {
	RawMessageBodies(ctx context.Context, id int64) (text, html []byte, sealed bool, err error)
}

// Messages the contract fixes: the sign-up and profile pages show them as they are.
const (
	MsgUserIDTaken = "That User ID is already taken. Please choose another."
	MsgEmailTaken  = "This email address is already used by another MILogin account. Please provide a unique email address."
)

// Run runs the whole suite. open must return a new, empty store each time it
// is called (the suite calls it once per subtest) and arrange for it to be
// closed, with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("Store", func(t *testing.T) { testStore(t, open) })
	t.Run("Accounts", func(t *testing.T) { testAccounts(t, open) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, open) })
	t.Run("Codes", func(t *testing.T) { testCodes(t, open) })
	t.Run("Audit", func(t *testing.T) { testAudit(t, open) })
	t.Run("DirtyText", func(t *testing.T) { testDirtyText(t, open) })
	t.Run("Outbox", func(t *testing.T) { testOutbox(t, open) })
	t.Run("Limits", func(t *testing.T) { testLimits(t, open) })
	t.Run("Settings", func(t *testing.T) { testSettings(t, open) })
	t.Run("Apps", func(t *testing.T) { testApps(t, open) })
	t.Run("Grants", func(t *testing.T) { testGrants(t, open) })
	t.Run("LoginRequests", func(t *testing.T) { testLoginRequests(t, open) })
	t.Run("OAuth", func(t *testing.T) { testOAuth(t, open) })
	t.Run("MFA", func(t *testing.T) { testMFA(t, open) })
	t.Run("Flows", func(t *testing.T) { testFlows(t, open) })
	t.Run("SecurityAnswers", func(t *testing.T) { testSecurityAnswers(t, open) })
	t.Run("Admin", func(t *testing.T) { testAdmin(t, open) })
	t.Run("Concurrency", func(t *testing.T) { testConcurrency(t, open) })
	t.Run("Records", func(t *testing.T) { testRecords(t, open) })
	t.Run("VerifyThrottle", func(t *testing.T) { testVerifyThrottle(t, open) })
}

// t0 is the suite's clock: not UTC and with nanoseconds, so that the round
// trips check conversion to UTC and truncation to microseconds.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589793238, time.FixedZone("EDT", -4*60*60))

// norm is what a store gives back for a time: UTC, truncated to the
// microsecond, the zero time unchanged.
func norm(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC().Truncate(time.Microsecond)
}

var errBoom = errors.New("boom: the callback failed")

// write runs fn in a Write that must succeed.
func write(t *testing.T, s milogin.Store, fn func(tx milogin.Tx) error) {
	t.Helper()
	defer fatalOnFailure(t)
	if err := s.Write(t.Context(), fn); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

// read runs fn in a Read that must succeed.
func read(t *testing.T, s milogin.Store, fn func(tx milogin.Tx) error) {
	t.Helper()
	defer fatalOnFailure(t)
	if err := s.Read(t.Context(), fn); err != nil {
		t.Fatalf("Read: %v", err)
	}
}

// failure is how must reports an error to the read or write around it.
type failure struct {
	err   error
	where string
}

// must returns v and stops the test on err. It may only be called inside the
// callback of read or write, which turn its panic into t.Fatal; that keeps
// the assertions on one line (a Go call cannot mix t with a two-value call).
func must[T any](v T, err error) T {
	if err != nil {
		_, file, line, _ := runtime.Caller(1)
		panic(failure{err: err, where: fmt.Sprintf("%s:%d", filepath.Base(file), line)})
	}
	return v
}

func fatalOnFailure(t *testing.T) {
	t.Helper()
	if p := recover(); p != nil {
		if f, ok := p.(failure); ok {
			t.Fatalf("%s: %v", f.where, f.err)
		}
		panic(p)
	}
}

// wantKind fails unless err is a *milogin.Error of kind k.
func wantKind(t *testing.T, err error, k milogin.Kind) {
	t.Helper()
	if err == nil {
		t.Fatalf("err = nil, want kind %q", k)
	}
	if !errors.Is(err, &milogin.Error{Kind: k}) {
		t.Fatalf("err = %v (kind %q), want kind %q", err, milogin.ErrorKind(err), k)
	}
}

// wantEqual compares with reflect.DeepEqual and prints both sides.
func wantEqual(t *testing.T, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, got, want)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

// account returns a fully populated account; n makes its keys unique.
func account(n int, portal milogin.PortalID) *milogin.Account {
	return &milogin.Account{
		ID:                fmt.Sprintf("acct-%s-%03d", portal, n),
		Portal:            portal,
		UserID:            fmt.Sprintf("User%03d", n),
		FirstName:         "John",
		MiddleInitial:     "Q",
		LastName:          "Smith",
		Suffix:            "Jr.",
		Email:             fmt.Sprintf("John.Smith%03d@Example.org", n),
		EmailVerified:     true,
		WorkPhone:         "(517) 373-1837",
		Mobile:            fmt.Sprintf("(517) 555-%04d", n),
		MobileVerified:    true,
		RecoverByEmail:    true,
		RecoverByMobile:   false,
		PasswordHash:      "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
		PasswordChangedAt: t0.Add(-24 * time.Hour),
		PasswordHistory:   []string{"$argon2id$old1", "$argon2id$old2"},
		Status:            milogin.StatusActive,
		FailedLogins:      2,
		LockedUntil:       t0.Add(30 * time.Minute),
		FailureWindow:     t0.Add(-10 * time.Minute),
		WindowFailures:    3,
		LastLoginAt:       t0.Add(-time.Hour),
		CreatedAt:         t0.Add(-48 * time.Hour),
		UpdatedAt:         t0,
	}
}

// normAccount is a as a store returns it.
func normAccount(a *milogin.Account) *milogin.Account {
	c := *a
	c.PasswordChangedAt = norm(c.PasswordChangedAt)
	c.LockedUntil = norm(c.LockedUntil)
	c.FailureWindow = norm(c.FailureWindow)
	c.LastLoginAt = norm(c.LastLoginAt)
	c.CreatedAt = norm(c.CreatedAt)
	c.UpdatedAt = norm(c.UpdatedAt)
	if len(c.PasswordHistory) == 0 {
		c.PasswordHistory = nil
	} else {
		c.PasswordHistory = append([]string(nil), c.PasswordHistory...)
	}
	return &c
}

func createAccounts(t *testing.T, s milogin.Store, as ...*milogin.Account) {
	t.Helper()
	write(t, s, func(tx milogin.Tx) error {
		for _, a := range as {
			if err := tx.Accounts().Create(ctx(t), a); err != nil {
				return fmt.Errorf("creating %s: %w", a.ID, err)
			}
		}
		return nil
	})
}

func getAccount(t *testing.T, s milogin.Store, id string) *milogin.Account {
	t.Helper()
	var a *milogin.Account
	read(t, s, func(tx milogin.Tx) (err error) {
		a, err = tx.Accounts().Get(ctx(t), id)
		return err
	})
	return a
}

func testStore(t *testing.T, open func(t *testing.T) milogin.Store) {
	t.Run("Ping", func(t *testing.T) {
		s := open(t)
		if err := s.Ping(ctx(t)); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("WriteCommits", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		wantEqual(t, "account", getAccount(t, s, a.ID), normAccount(a))
	})

	// Everything a failed Write did is gone: the account, its audit event,
	// its message, its setting, its counter.
	t.Run("WriteRollsBackOnError", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		err := s.Write(ctx(t), func(tx milogin.Tx) error {
			if err := tx.Accounts().Create(ctx(t), a); err != nil {
				return err
			}
			if err := tx.Audit().Append(ctx(t), &milogin.AuditEvent{Time: t0, Type: milogin.EventAccountCreated, SubjectID: a.ID}); err != nil {
				return err
			}
			if err := tx.Outbox().Enqueue(ctx(t), &milogin.Message{Channel: milogin.ChannelEmail, To: a.Email, Text: "PIN 123456", CreatedAt: t0}); err != nil {
				return err
			}
			if _, err := tx.Settings().PutIfAbsent(ctx(t), "k", []byte("v")); err != nil {
				return err
			}
			if _, err := tx.Limits().Hit(ctx(t), "ip:192.0.2.1", time.Hour, t0); err != nil {
				return err
			}
			// The writes are visible inside the transaction...
			if _, err := tx.Accounts().Get(ctx(t), a.ID); err != nil {
				return fmt.Errorf("own write not visible: %w", err)
			}
			return errBoom
		})
		if err != errBoom {
			t.Fatalf("Write returned %v, want fn's error unchanged", err)
		}
		// ...and gone after it.
		assertEmpty(t, s, a)
	})

	t.Run("WriteRollsBackOnPanic", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		func() {
			defer func() {
				if p := recover(); p != errBoom {
					t.Fatalf("recovered %v, want the callback's panic", p)
				}
			}()
			_ = s.Write(ctx(t), func(tx milogin.Tx) error {
				if err := tx.Accounts().Create(ctx(t), a); err != nil {
					return err
				}
				if err := tx.Audit().Append(ctx(t), &milogin.AuditEvent{Time: t0, Type: milogin.EventAccountCreated}); err != nil {
					return err
				}
				panic(errBoom)
			})
		}()
		assertEmpty(t, s, a)
		// The store is still usable: the connection went back to the pool.
		createAccounts(t, s, a)
	})

	t.Run("ReadSeesCommitted", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		read(t, s, func(tx milogin.Tx) error {
			got, err := tx.Accounts().GetByUserID(ctx(t), a.Portal, a.UserID)
			if err != nil {
				return err
			}
			wantEqual(t, "account", got, normAccount(a))
			return nil
		})
	})

	// Read has no transaction: a write there would not be atomic with
	// anything, so every writing method refuses.
	t.Run("ReadRefusesWrites", func(t *testing.T) {
		s := open(t)
		a := account(1, milogin.Citizen)
		createAccounts(t, s, a)
		sess := &milogin.Session{ID: "s1", AccountID: a.ID, Portal: a.Portal, Stage: milogin.StageActive, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
		code := &milogin.Code{ID: "c1", Purpose: milogin.PurposeSignup, Subject: a.ID, Hash: []byte{1}, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour), MaxAttempts: 5}
		write(t, s, func(tx milogin.Tx) error {
			if err := tx.Sessions().Create(ctx(t), sess); err != nil {
				return err
			}
			if err := tx.Apps().Create(ctx(t), app("osmis", "OSMIS")); err != nil {
				return err
			}
			if err := tx.LoginRequests().Create(ctx(t), &milogin.LoginRequest{ID: "lr1", Protocol: "oidc", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
				return err
			}
			return tx.Codes().Create(ctx(t), code)
		})
		writes := map[string]func(tx milogin.Tx) error{
			"Accounts.Create": func(tx milogin.Tx) error { return tx.Accounts().Create(ctx(t), account(2, milogin.Citizen)) },
			"Accounts.Update": func(tx milogin.Tx) error {
				_, err := tx.Accounts().Update(ctx(t), a.ID, func(a *milogin.Account) error { a.FailedLogins = 99; return nil })
				return err
			},
			"Sessions.Create": func(tx milogin.Tx) error {
				c := *sess
				c.ID = "s2"
				return tx.Sessions().Create(ctx(t), &c)
			},
			"Sessions.Update": func(tx milogin.Tx) error {
				_, err := tx.Sessions().Update(ctx(t), sess.ID, func(s *milogin.Session) error { s.IP = "x"; return nil })
				return err
			},
			"Sessions.Delete":          func(tx milogin.Tx) error { return tx.Sessions().Delete(ctx(t), sess.ID) },
			"Sessions.DeleteByAccount": func(tx milogin.Tx) error { _, err := tx.Sessions().DeleteByAccount(ctx(t), a.ID, ""); return err },
			"Sessions.DeleteExpired": func(tx milogin.Tx) error {
				_, err := tx.Sessions().DeleteExpired(ctx(t), t0.Add(48*time.Hour))
				return err
			},
			"Sessions.MarkEnded": func(tx milogin.Tx) error {
				return tx.Sessions().MarkEnded(ctx(t), []string{sess.ID}, milogin.EndPasswordChanged, t0, t0.Add(time.Hour))
			},
			"Codes.Create": func(tx milogin.Tx) error {
				c := *code
				c.ID = "c2"
				return tx.Codes().Create(ctx(t), &c)
			},
			"Codes.Update": func(tx milogin.Tx) error {
				_, err := tx.Codes().Update(ctx(t), code.ID, func(c *milogin.Code) error { c.Attempts = 9; return nil })
				return err
			},
			"Codes.DeleteExpired": func(tx milogin.Tx) error {
				_, err := tx.Codes().DeleteExpired(ctx(t), t0.Add(48*time.Hour))
				return err
			},
			"Audit.Append": func(tx milogin.Tx) error { return tx.Audit().Append(ctx(t), &milogin.AuditEvent{Time: t0, Type: "x"}) },
			"Outbox.Enqueue": func(tx milogin.Tx) error {
				return tx.Outbox().Enqueue(ctx(t), &milogin.Message{To: "x", CreatedAt: t0})
			},
			"Outbox.Claim": func(tx milogin.Tx) error { _, err := tx.Outbox().Claim(ctx(t), t0, time.Minute, 1); return err },
			"Limits.Hit":   func(tx milogin.Tx) error { _, err := tx.Limits().Hit(ctx(t), "k", time.Hour, t0); return err },
			"Settings.PutIfAbsent": func(tx milogin.Tx) error {
				_, err := tx.Settings().PutIfAbsent(ctx(t), "k", []byte("v"))
				return err
			},
			"Apps.Create": func(tx milogin.Tx) error { return tx.Apps().Create(ctx(t), app("new", "New")) },
			"Apps.Update": func(tx milogin.Tx) error {
				_, err := tx.Apps().Update(ctx(t), "osmis", func(a *milogin.Application) error { a.Name = "x"; return nil })
				return err
			},
			"Apps.Delete": func(tx milogin.Tx) error { return tx.Apps().Delete(ctx(t), "osmis") },
			"Grants.Put": func(tx milogin.Tx) error {
				return tx.Grants().Put(ctx(t), &milogin.Grant{AppID: "osmis", AccountID: a.ID, Status: milogin.GrantActive})
			},
			"Grants.AcceptTerms": func(tx milogin.Tx) error {
				return tx.Grants().AcceptTerms(ctx(t), &milogin.TermsAcceptance{AppID: "osmis", AccountID: a.ID, Version: 1})
			},
			"Grants.RecordMFA": func(tx milogin.Tx) error {
				return tx.Grants().RecordMFA(ctx(t), &milogin.MFAEvent{AppID: "osmis", AccountID: a.ID, Method: "sms"})
			},
			"LoginRequests.Create": func(tx milogin.Tx) error {
				return tx.LoginRequests().Create(ctx(t), &milogin.LoginRequest{ID: "lr2", Protocol: "oidc"})
			},
			"LoginRequests.Update": func(tx milogin.Tx) error {
				_, err := tx.LoginRequests().Update(ctx(t), "lr1", func(r *milogin.LoginRequest) error { r.AccountID = "x"; return nil })
				return err
			},
			"LoginRequests.DeleteExpired": func(tx milogin.Tx) error {
				_, err := tx.LoginRequests().DeleteExpired(ctx(t), t0.Add(48*time.Hour))
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
		// Nothing changed.
		wantEqual(t, "account", getAccount(t, s, a.ID), normAccount(a))
		read(t, s, func(tx milogin.Tx) error {
			got := must(tx.Sessions().ListByAccount(ctx(t), a.ID))
			wantEqual(t, "sessions", len(got), 1)
			c := must(tx.Codes().Get(ctx(t), code.ID))
			wantEqual(t, "code attempts", c.Attempts, 0)
			wantEqual(t, "audit", len(must(tx.Audit().List(ctx(t), milogin.AuditFilter{}))), 0)
			wantEqual(t, "outbox", len(must(tx.Outbox().List(ctx(t), milogin.MessageFilter{}))), 0)
			wantEqual(t, "limit", must(tx.Limits().Count(ctx(t), "k", time.Hour, t0)), 0)
			_, err := tx.Settings().Get(ctx(t), "k")
			wantKind(t, err, milogin.ENOTFOUND)
			wantEqual(t, "app", must(tx.Apps().Get(ctx(t), "osmis")).Name, "OSMIS")
			_, err = tx.Apps().Get(ctx(t), "new")
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Grants().Get(ctx(t), "osmis", a.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Grants().Terms(ctx(t), "osmis", a.ID)
			wantKind(t, err, milogin.ENOTFOUND)
			_, err = tx.Grants().LastMFA(ctx(t), a.ID, "osmis")
			wantKind(t, err, milogin.ENOTFOUND)
			wantEqual(t, "login request", must(tx.LoginRequests().Get(ctx(t), "lr1")).AccountID, "")
			return nil
		})
	})
}

// assertEmpty checks that nothing written by a rolled-back Write survived.
func assertEmpty(t *testing.T, s milogin.Store, a *milogin.Account) {
	t.Helper()
	read(t, s, func(tx milogin.Tx) error {
		_, err := tx.Accounts().Get(ctx(t), a.ID)
		wantKind(t, err, milogin.ENOTFOUND)
		_, err = tx.Accounts().GetByUserID(ctx(t), a.Portal, a.UserID)
		wantKind(t, err, milogin.ENOTFOUND)
		if evs := must(tx.Audit().List(ctx(t), milogin.AuditFilter{})); len(evs) != 0 {
			t.Errorf("audit events survived the rollback: %+v", evs)
		}
		if ms := must(tx.Outbox().List(ctx(t), milogin.MessageFilter{})); len(ms) != 0 {
			t.Errorf("messages survived the rollback: %+v", ms)
		}
		if _, err := tx.Settings().Get(ctx(t), "k"); !milogin.IsKind(err, milogin.ENOTFOUND) {
			t.Errorf("setting survived the rollback: %v", err)
		}
		if n := must(tx.Limits().Count(ctx(t), "ip:192.0.2.1", time.Hour, t0)); n != 0 {
			t.Errorf("limit counter survived the rollback: %d", n)
		}
		return nil
	})
}
