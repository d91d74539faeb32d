package authn_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/clocktest"
	"milogin/internal/postgres"
	"milogin/internal/postgres/pgtest"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

// fastParams keeps the suite quick; production parameters are benchmarked.
var fastParams = authn.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

const goodPassword = "Mitten!State26"

type fixture struct {
	svc   *authn.Service
	store milogin.Store
	clk   *clocktest.Clock
	acct  *milogin.Account
}

// engine opens an empty store of one backend for a test.
type engine struct {
	name string
	open func(t *testing.T) milogin.Store
}

func openSQLite(t *testing.T) milogin.Store {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir()+"/milogin.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

func openPostgres(t *testing.T) milogin.Store {
	t.Helper()
	dsn := pgtest.DSN(t) // skips without MILOGIN_TEST_POSTGRES, fails in CI
	store, err := postgres.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return store
}

// engines are both backends: the attacks on counters and limits are run on
// each, since PostgreSQL runs concurrent transactions truly in parallel.
var engines = []engine{{"sqlite", openSQLite}, {"postgres", openPostgres}}

// onEngines runs fn as a subtest per backend with a fixture on it.
func onEngines(t *testing.T, fn func(t *testing.T, f *fixture)) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) { fn(t, newFixtureOn(t, e.open(t))) })
	}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureOn(t, openSQLite(t))
}

func newFixtureOn(t *testing.T, store milogin.Store) *fixture {
	t.Helper()
	ctx := context.Background()
	clk := clocktest.New(time.Date(2026, 3, 2, 15, 4, 5, 0, time.UTC))
	svc := authn.NewService(store, authn.NewHasher(fastParams, 0), authn.NewCodeHasher([]byte("test-key-0123456789abcdef0123456")))
	svc.Now = clk.Now
	a, err := svc.CreateAccount(ctx, authn.NewAccount{
		Portal: milogin.ThirdParty, UserID: "smithj0001", FirstName: "John", LastName: "Smith",
		Email: "john.smith@example.org", WorkPhone: "517-555-0100", Password: goodPassword,
	}, "test", authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{svc: svc, store: store, clk: clk, acct: a}
}

var meta = authn.Meta{IP: "192.0.2.10", UserAgent: "test"}

func (f *fixture) signIn(t *testing.T, pw string) (*authn.SignInResult, error) {
	t.Helper()
	return f.svc.SignIn(context.Background(), milogin.ThirdParty, "smithj0001", pw, meta)
}

func (f *fixture) account(t *testing.T) *milogin.Account {
	t.Helper()
	var a *milogin.Account
	err := f.store.Read(context.Background(), func(tx milogin.Tx) error {
		var err error
		a, err = tx.Accounts().Get(context.Background(), f.acct.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func (f *fixture) audit(t *testing.T, typ string) []*milogin.AuditEvent {
	t.Helper()
	var es []*milogin.AuditEvent
	err := f.store.Read(context.Background(), func(tx milogin.Tx) error {
		var err error
		es, err = tx.Audit().List(context.Background(), milogin.AuditFilter{Type: typ, Limit: 1000})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func (f *fixture) outbox(t *testing.T) []*milogin.Message {
	t.Helper()
	var ms []*milogin.Message
	err := f.store.Read(context.Background(), func(tx milogin.Tx) error {
		var err error
		ms, err = tx.Outbox().List(context.Background(), milogin.MessageFilter{Limit: 100})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestSignInStartsActiveSession(t *testing.T) {
	f := newFixture(t)
	res, err := f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if res.Session.Stage != milogin.StageActive {
		t.Errorf("stage = %s, want active", res.Session.Stage)
	}
	if res.Session.ID == res.Token || res.Session.ID != authn.TokenID(res.Token) {
		t.Error("session must be stored under the token's hash, not the token")
	}
	if got := f.account(t).LastLoginAt; !got.Equal(f.clk.Now()) {
		t.Errorf("LastLoginAt = %v", got)
	}
	if n := len(f.audit(t, milogin.EventSignIn)); n != 1 {
		t.Errorf("%d sign-in audit events, want 1", n)
	}
	sess, acct, err := f.svc.Authenticate(context.Background(), milogin.ThirdParty, res.Token)
	if err != nil || sess.ID != res.Session.ID || acct.ID != f.acct.ID {
		t.Fatalf("Authenticate = %v, %v, %v", sess, acct, err)
	}
	if _, _, err := f.svc.Authenticate(context.Background(), milogin.Citizen, res.Token); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		t.Errorf("session of one portal accepted by another: %v", err)
	}
}

func TestSignInWrongAndUnknownAnswerAlike(t *testing.T) {
	f := newFixture(t)
	_, errWrong := f.signIn(t, "Wrong!Password1")
	_, errUnknown := f.svc.SignIn(context.Background(), milogin.ThirdParty, "nobody0001", goodPassword, meta)
	for _, err := range []error{errWrong, errUnknown} {
		if !milogin.IsKind(err, milogin.EUNAUTHORIZED) || milogin.ErrorMessage(err) != authn.MsgBadCredentials {
			t.Errorf("err = %v, want EUNAUTHORIZED %q", err, authn.MsgBadCredentials)
		}
	}
	// The password is verified exactly as typed: no case folding, no trimming.
	for _, pw := range []string{strings.ToLower(goodPassword), goodPassword + " ", " " + goodPassword} {
		if _, err := f.signIn(t, pw); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
			t.Errorf("password %q accepted", pw)
		}
	}
}

func TestLockoutAfterFiveConsecutiveFailures(t *testing.T) {
	f := newFixture(t)
	for i := 1; i <= 4; i++ {
		if _, err := f.signIn(t, "Wrong!Password1"); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if n := len(f.outbox(t)); n != 0 {
		t.Fatalf("%d messages before the lock", n)
	}
	_, err := f.signIn(t, "Wrong!Password1")
	if !milogin.IsKind(err, milogin.ELOCKED) || !strings.Contains(milogin.ErrorMessage(err), "30 minutes") {
		t.Fatalf("fifth failure: %v", err)
	}
	// Locked: even the right password gets the locked message.
	if _, err := f.signIn(t, goodPassword); !milogin.IsKind(err, milogin.ELOCKED) {
		t.Fatalf("correct password while locked: %v", err)
	}
	a := f.account(t)
	if !a.Locked(f.clk.Now()) || a.FailedLogins != 5 {
		t.Errorf("account: locked=%v failures=%d", a.Locked(f.clk.Now()), a.FailedLogins)
	}
	if n := len(f.audit(t, milogin.EventLockout)); n != 1 {
		t.Errorf("%d lockout events, want 1", n)
	}
	ms := f.outbox(t)
	if len(ms) != 1 || ms[0].To != "john.smith@example.org" || ms[0].Subject != "Regarding your MILogin user account" {
		t.Fatalf("outbox after lock = %+v", ms)
	}
	// It unlocks by itself after 30 minutes, and a success resets the counter.
	f.clk.Add(29 * time.Minute)
	if _, err := f.signIn(t, goodPassword); !milogin.IsKind(err, milogin.ELOCKED) {
		t.Fatalf("after 29 minutes: %v", err)
	}
	f.clk.Add(time.Minute)
	if _, err := f.signIn(t, goodPassword); err != nil {
		t.Fatalf("after 30 minutes: %v", err)
	}
	if a := f.account(t); a.FailedLogins != 0 || !a.LockedUntil.IsZero() {
		t.Errorf("after success: failures=%d lockedUntil=%v", a.FailedLogins, a.LockedUntil)
	}
}

func TestSuccessResetsConsecutiveCount(t *testing.T) {
	f := newFixture(t)
	for range 4 {
		f.signIn(t, "Wrong!Password1")
	}
	if _, err := f.signIn(t, goodPassword); err != nil {
		t.Fatal(err)
	}
	for range 4 {
		f.signIn(t, "Wrong!Password1")
	}
	if a := f.account(t); a.Locked(f.clk.Now()) || a.FailedLogins != 4 {
		t.Errorf("locked=%v failures=%d, want unlocked with 4", a.Locked(f.clk.Now()), a.FailedLogins)
	}
}

func TestConcurrentFailuresCountExactly(t *testing.T) {
	f := newFixture(t)
	f.svc.IPFailureLimit = 0
	pol := f.svc.Portals[milogin.ThirdParty]
	pol.Policy.LockoutThreshold = 1000
	f.svc.Portals[milogin.ThirdParty] = pol
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() { f.signIn(t, "Wrong!Password1") })
	}
	wg.Wait()
	if a := f.account(t); a.FailedLogins != 16 {
		t.Errorf("FailedLogins = %d, want 16", a.FailedLogins)
	}
}

func TestHourlyFailureCapUnderAnyPolicy(t *testing.T) {
	f := newFixture(t)
	f.svc.IPFailureLimit = 0
	p := f.svc.Portals[milogin.ThirdParty]
	p.Policy.LockoutThreshold = 0 // a policy with no lockout at all
	f.svc.Portals[milogin.ThirdParty] = p
	for i := 1; i < 100; i++ {
		if _, err := f.signIn(t, "Wrong!Password1"); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
			t.Fatalf("failure %d: %v", i, err)
		}
	}
	if _, err := f.signIn(t, "Wrong!Password1"); !milogin.IsKind(err, milogin.ELOCKED) {
		t.Fatalf("100th failure in an hour: %v", err)
	}
	if _, err := f.signIn(t, goodPassword); !milogin.IsKind(err, milogin.ELOCKED) {
		t.Fatalf("correct password after 100 failures: %v", err)
	}
	f.clk.Add(time.Hour)
	if _, err := f.signIn(t, goodPassword); err != nil {
		t.Fatalf("an hour later: %v", err)
	}
}

func TestPerIPFailureLimit(t *testing.T) {
	f := newFixture(t)
	f.svc.IPFailureLimit = 3
	for i := range 3 {
		f.svc.SignIn(context.Background(), milogin.ThirdParty, "nobody"+string(rune('a'+i)), "x", meta)
	}
	_, err := f.signIn(t, goodPassword)
	if !milogin.IsKind(err, milogin.ERATELIMIT) {
		t.Fatalf("after 3 failures from one IP: %v", err)
	}
	other := authn.Meta{IP: "198.51.100.7"}
	if _, err := f.svc.SignIn(context.Background(), milogin.ThirdParty, "smithj0001", goodPassword, other); err != nil {
		t.Fatalf("another IP: %v", err)
	}
	f.clk.Add(15 * time.Minute)
	if _, err := f.signIn(t, goodPassword); err != nil && !milogin.IsKind(err, milogin.ECONFLICT) {
		t.Fatalf("after the window: %v", err)
	}
}

func TestInactiveAccountIsDisabledAtSignIn(t *testing.T) {
	f := newFixture(t)
	f.clk.Add(24 * time.Hour * 30 * 19) // 19 months without a sign-in
	// A wrong password says nothing about the account's state.
	if _, err := f.signIn(t, "Wrong!Password1"); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		t.Fatalf("wrong password on inactive account: %v", err)
	}
	_, err := f.signIn(t, goodPassword)
	if !milogin.IsKind(err, milogin.ELOCKED) || milogin.ErrorMessage(err) != authn.MsgDisabled {
		t.Fatalf("err = %v, want the disabled message", err)
	}
	if a := f.account(t); a.Status != milogin.StatusDisabled {
		t.Errorf("status = %s, want disabled", a.Status)
	}
	if n := len(f.audit(t, milogin.EventDisabledInactive)); n != 1 {
		t.Errorf("%d disable events, want 1", n)
	}
}

func TestSweepDisablesInactiveAccounts(t *testing.T) {
	f := newFixture(t)
	res, err := f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Add(24 * time.Hour * 30 * 17)
	if n, err := f.svc.SweepInactive(context.Background()); err != nil || n != 0 {
		t.Fatalf("at 17 months: n=%d err=%v", n, err)
	}
	f.clk.Add(24 * time.Hour * 30 * 2)
	if n, err := f.svc.SweepInactive(context.Background()); err != nil || n != 1 {
		t.Fatalf("at 19 months: n=%d err=%v", n, err)
	}
	if a := f.account(t); a.Status != milogin.StatusDisabled {
		t.Errorf("status = %s", a.Status)
	}
	if _, _, err := f.svc.Authenticate(context.Background(), milogin.ThirdParty, res.Token); err == nil {
		t.Error("session of a disabled account still works")
	}
}

func TestExpiredPasswordMustBeChanged(t *testing.T) {
	f := newFixture(t)
	f.clk.Add(360 * 24 * time.Hour)
	res, err := f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if res.Session.Stage != milogin.StageChangePassword {
		t.Fatalf("stage = %s, want change-password", res.Session.Stage)
	}
	if _, _, err := f.svc.Authenticate(context.Background(), milogin.ThirdParty, res.Token); err == nil {
		t.Fatal("a change-password session opened a page")
	}
	cp, err := f.svc.ChangePassword(context.Background(), milogin.ThirdParty, res.Token, goodPassword, "Lake#Huron1987", "Lake#Huron1987", meta)
	if err != nil {
		t.Fatal(err)
	}
	if cp.Token == res.Token || cp.Session.Stage != milogin.StageActive {
		t.Errorf("after change: same token=%v stage=%s", cp.Token == res.Token, cp.Session.Stage)
	}
	if _, _, err := f.svc.Authenticate(context.Background(), milogin.ThirdParty, cp.Token); err != nil {
		t.Errorf("new session: %v", err)
	}
	if d := f.account(t).PasswordDaysLeft(f.svc.Portals[milogin.ThirdParty].Policy, f.clk.Now()); d != 360 {
		t.Errorf("days left = %d, want 360", d)
	}
}

func TestChangePasswordRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	passwords := []string{goodPassword, "Lake#Huron1987", "Pine&Cone2024", "River%Bend77"}
	cur := goodPassword
	res, err := f.signIn(t, cur)
	if err != nil {
		t.Fatal(err)
	}
	tok := res.Token
	for _, next := range passwords[1:] {
		cp, err := f.svc.ChangePassword(ctx, milogin.ThirdParty, tok, cur, next, next, meta)
		if err != nil {
			t.Fatalf("change to %q: %v", next, err)
		}
		tok, cur = cp.Token, next
	}
	cases := []struct {
		name, current, next, confirm string
		rules                        []string
	}{
		{"wrong current", "nope", "Maple!Leaf2030", "Maple!Leaf2030", []string{"current"}},
		{"current password again", cur, cur, cur, []string{milogin.RuleHistory}},
		{"one of the last three", cur, passwords[2], passwords[2], []string{milogin.RuleHistory}},
		{"short and simple", cur, "short", "short", []string{milogin.RuleLength, milogin.RuleClasses}},
		{"based on user ID", cur, "Smithj0001!x", "Smithj0001!x", []string{milogin.RuleUserID}},
		{"common", cur, "Password123!", "Password123!", []string{milogin.RuleCommon}},
		{"mismatch", cur, "Maple!Leaf2030", "Maple!Leaf2031", []string{milogin.RuleConfirm}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.svc.ChangePassword(ctx, milogin.ThirdParty, tok, c.current, c.next, c.confirm, meta)
			vs := milogin.ViolationsOf(err)
			got := map[string]bool{}
			for _, v := range vs {
				got[v.Rule] = true
			}
			for _, r := range c.rules {
				if !got[r] {
					t.Errorf("rule %q not reported; got %+v", r, vs)
				}
			}
		})
	}
	// The oldest password (four changes ago) is allowed again.
	if _, err := f.svc.ChangePassword(ctx, milogin.ThirdParty, tok, cur, goodPassword, goodPassword, meta); err != nil {
		t.Errorf("password from four changes ago refused: %v", err)
	}
}

func TestOneActiveSession(t *testing.T) {
	ctx := context.Background()
	for _, proceed := range []bool{true, false} {
		f := newFixture(t)
		first, err := f.signIn(t, goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		second, err := f.signIn(t, goodPassword)
		if err != nil {
			t.Fatal(err)
		}
		if second.Session.Stage != milogin.StageConfirmTakeover {
			t.Fatalf("second sign-in stage = %s", second.Session.Stage)
		}
		if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, second.Token); err == nil {
			t.Fatal("pending session opened a page")
		}
		res, ended, err := f.svc.ConfirmTakeover(ctx, milogin.ThirdParty, second.Token, proceed, meta)
		if err != nil {
			t.Fatal(err)
		}
		_, _, firstErr := f.svc.Authenticate(ctx, milogin.ThirdParty, first.Token)
		if proceed {
			if len(ended) != 1 || firstErr == nil {
				t.Errorf("continue: ended=%v first session err=%v", ended, firstErr)
			}
			if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, res.Token); err != nil {
				t.Errorf("new session: %v", err)
			}
			if res.Token == second.Token {
				t.Error("token not rotated after the takeover")
			}
		} else if firstErr != nil {
			t.Errorf("cancel ended the other session: %v", firstErr)
		}
		if _, _, err := f.svc.ConfirmTakeover(ctx, milogin.ThirdParty, second.Token, true, meta); err == nil {
			t.Error("pending session reused")
		}
	}
}

func TestSessionTimeouts(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	// Activity every 20 minutes keeps it alive until the 12-hour limit.
	for elapsed := 20 * time.Minute; elapsed < 12*time.Hour; elapsed += 20 * time.Minute {
		f.clk.Add(20 * time.Minute)
		if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, res.Token); err != nil {
			t.Fatalf("at %v: %v", elapsed, err)
		}
	}
	f.clk.Add(20 * time.Minute)
	if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, res.Token); err == nil {
		t.Fatal("session outlived its absolute time-out")
	}

	f.clk.Add(time.Hour) // let the takeover check see no live session
	res, err = f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	f.clk.Add(31 * time.Minute)
	if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, res.Token); err == nil {
		t.Fatal("session outlived its idle time-out")
	}
}

func TestSignOutEndsSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.SignOut(ctx, res.Token, meta); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, res.Token); err == nil {
		t.Fatal("session alive after sign-out")
	}
	if err := f.svc.SignOut(ctx, res.Token, meta); err != nil {
		t.Errorf("second sign-out: %v", err)
	}
	// The next sign-in is not asked about another session.
	again, err := f.signIn(t, goodPassword)
	if err != nil || again.Session.Stage != milogin.StageActive {
		t.Fatalf("sign-in after sign-out: %v %v", again, err)
	}
}

func TestCreateAccountRules(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	base := authn.NewAccount{Portal: milogin.ThirdParty, UserID: "doej0001", FirstName: "Jane", LastName: "Doe",
		Email: "jane.doe@example.org", Password: goodPassword}
	cases := []struct {
		name  string
		edit  func(*authn.NewAccount)
		field string
		kind  milogin.Kind
	}{
		{"user ID format", func(n *authn.NewAccount) { n.UserID = "janedoe" }, "user_id", milogin.EINVALID},
		{"user ID with space", func(n *authn.NewAccount) { n.UserID = "doej 001" }, "user_id", milogin.EINVALID},
		{"missing email", func(n *authn.NewAccount) { n.Email = "" }, "email", milogin.EINVALID},
		{"bad email", func(n *authn.NewAccount) { n.Email = "jane@" }, "email", milogin.EINVALID},
		{"bad phone", func(n *authn.NewAccount) { n.WorkPhone = "12" }, "work_phone", milogin.EINVALID},
		{"weak password", func(n *authn.NewAccount) { n.Password = "abc" }, "password", milogin.EINVALID},
		{"password with name", func(n *authn.NewAccount) { n.Password = "Doe!Doe!Doe1" }, "password", milogin.EINVALID},
		{"taken email, other case", func(n *authn.NewAccount) { n.Email = "JOHN.SMITH@example.org" }, "", milogin.ECONFLICT},
		{"taken user ID, other case", func(n *authn.NewAccount) {
			n.UserID, n.FirstName, n.LastName = "SMITHJ0001", "Jim", "Smith"
		}, "", milogin.ECONFLICT},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := base
			c.edit(&n)
			_, err := f.svc.CreateAccount(ctx, n, "test", meta)
			if milogin.ErrorKind(err) != c.kind {
				t.Fatalf("err = %v, want kind %s", err, c.kind)
			}
			if c.field != "" {
				found := false
				for _, v := range milogin.ViolationsOf(err) {
					found = found || v.Field == c.field
				}
				if !found {
					t.Errorf("no violation for %s in %v", c.field, err)
				}
			}
		})
	}
	if _, err := f.svc.CreateAccount(ctx, base, "test", meta); err != nil {
		t.Fatalf("valid account: %v", err)
	}
}

func TestSignInAgainInTheSameBrowserReplacesItsSession(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	first, err := f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	again, err := f.svc.SignInReplacing(ctx, milogin.ThirdParty, "smithj0001", goodPassword, first.Token, meta)
	if err != nil {
		t.Fatal(err)
	}
	if again.Session.Stage != milogin.StageActive {
		t.Errorf("stage = %s: the browser's own session was taken for another one", again.Session.Stage)
	}
	if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, first.Token); err == nil {
		t.Error("the replaced session still works")
	}
	// A wrong password leaves the current session alone.
	if _, err := f.svc.SignInReplacing(ctx, milogin.ThirdParty, "smithj0001", "Wrong!Password1", again.Token, meta); err == nil {
		t.Fatal("wrong password accepted")
	}
	if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, again.Token); err != nil {
		t.Errorf("a failed sign-in ended the session: %v", err)
	}
}

func TestRotateSessionMovesWhatRefersToIt(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res, err := f.signIn(t, goodPassword)
	if err != nil {
		t.Fatal(err)
	}
	old := res.Session.ID
	now := f.clk.Now()
	err = f.store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.SessionClients().Put(ctx, &milogin.SessionClient{SessionID: old, ClientID: "osmis", AccountID: f.acct.ID, SID: "sid-1", CreatedAt: now}); err != nil {
			return err
		}
		return tx.LoginRequests().Create(ctx, &milogin.LoginRequest{ID: "lr1", Protocol: "oidc", Portal: milogin.ThirdParty, AppID: "osmis",
			CallbackURL: "/cb", CreatedAt: now, ExpiresAt: now.Add(10 * time.Minute), SessionID: old, AMR: []string{"pwd", "mfa", "otp"}})
	})
	if err != nil {
		t.Fatal(err)
	}
	rot, err := f.svc.RotateSession(ctx, milogin.ThirdParty, res.Token, "lr1", meta)
	if err != nil {
		t.Fatal(err)
	}
	if rot.Token == res.Token || rot.Session.ID == old || !rot.Session.CreatedAt.Equal(res.Session.CreatedAt) {
		t.Errorf("rotated session %+v: want a new token and ID with the same sign-in time", rot.Session)
	}
	if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, res.Token); err == nil {
		t.Error("the old token still works")
	}
	if _, _, err := f.svc.Authenticate(ctx, milogin.ThirdParty, rot.Token); err != nil {
		t.Errorf("the new token: %v", err)
	}
	err = f.store.Read(ctx, func(tx milogin.Tx) error {
		links, err := tx.SessionClients().ListBySessions(ctx, []string{rot.Session.ID})
		if err != nil {
			return err
		}
		if len(links) != 1 || links[0].SID != "sid-1" {
			t.Errorf("links after rotation: %+v", links)
		}
		lr, err := tx.LoginRequests().Get(ctx, "lr1")
		if err != nil {
			return err
		}
		if lr.SessionID != rot.Session.ID {
			t.Errorf("login request still names session %q", lr.SessionID)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.audit(t, milogin.EventSessionRotated)); n != 1 {
		t.Errorf("%d rotation events, want 1", n)
	}
	if _, err := f.svc.RotateSession(ctx, milogin.ThirdParty, res.Token, "", meta); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
		t.Errorf("rotating a dead token: %v", err)
	}
}

// A policy saved in the administration console is in force for sign-in
// once the node loads it (at start, every authn.PolicyRefresh, and at once
// on the node that saves it), without a restart: here three failures lock.
func TestSavedPolicyAppliesWhenLoaded(t *testing.T) {
	onEngines(t, func(t *testing.T, f *fixture) {
		ctx := context.Background()
		pol := milogin.DefaultPolicy()
		pol.LockoutThreshold, pol.LockoutDuration = 3, 45*time.Minute
		if err := f.store.Write(ctx, func(tx milogin.Tx) error {
			return tx.Policies().Put(ctx, &milogin.PortalPolicy{Portal: milogin.ThirdParty, Policy: pol, UpdatedAt: f.clk.Now(), UpdatedBy: "staff-1"})
		}); err != nil {
			t.Fatal(err)
		}
		if p, _ := f.svc.Portal(milogin.ThirdParty); p.Policy.LockoutThreshold != 5 {
			t.Fatalf("in force before loading: %d", p.Policy.LockoutThreshold)
		}
		if err := f.svc.LoadPolicies(ctx); err != nil {
			t.Fatal(err)
		}
		for i := 1; i <= 2; i++ {
			if _, err := f.signIn(t, "Wrong!Password1"); !milogin.IsKind(err, milogin.EUNAUTHORIZED) {
				t.Fatalf("failure %d: %v", i, err)
			}
		}
		_, err := f.signIn(t, "Wrong!Password1")
		if !milogin.IsKind(err, milogin.ELOCKED) || !strings.Contains(milogin.ErrorMessage(err), "45 minutes") {
			t.Fatalf("third failure under the saved policy: %v", err)
		}
		if p, _ := f.svc.Portal(milogin.Citizen); p.Policy.LockoutThreshold != 5 {
			t.Errorf("another portal's policy: %d", p.Policy.LockoutThreshold)
		}
	})
}

// The inactivity sweep follows the saved policy too: with 6 months saved,
// an account idle for 7 is disabled.
func TestSweepFollowsTheSavedPolicy(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.signIn(t, goodPassword); err != nil {
		t.Fatal(err)
	}
	pol := milogin.DefaultPolicy()
	pol.InactivityMonths = 6
	if err := f.store.Write(ctx, func(tx milogin.Tx) error {
		return tx.Policies().Put(ctx, &milogin.PortalPolicy{Portal: milogin.ThirdParty, Policy: pol, UpdatedAt: f.clk.Now(), UpdatedBy: "staff-1"})
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.LoadPolicies(ctx); err != nil {
		t.Fatal(err)
	}
	f.clk.Add(24 * time.Hour * 30 * 7)
	if n, err := f.svc.SweepInactive(ctx); err != nil || n != 1 {
		t.Fatalf("at 7 months under a 6-month policy: n=%d err=%v", n, err)
	}
	if a := f.account(t); a.Status != milogin.StatusDisabled {
		t.Errorf("status = %s", a.Status)
	}
}
