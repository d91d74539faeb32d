package mfa_test

import (
	"strings"
	"testing"
	"time"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/mfa"
	"milogin/internal/mfa/mfatest"
)

const origin = "https://milogin.example"

func withPasskeys(t *testing.T, f *fixture) {
	t.Helper()
	wa, err := mfa.NewWebAuthn(origin)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.WebAuthn = wa
}

func TestPasskeyRegisterAndSignIn(t *testing.T) {
	f := newFixture(t)
	withPasskeys(t, f)
	ctx := t.Context()
	if o, _ := f.svc.OptionsFor(ctx, f.acct); o.Passkeys {
		t.Fatal("passkey offered before one is added")
	}
	_, _, err := f.svc.BeginPasskeyRegistration(ctx, f.acct, f.sess, "wrong", authn.Meta{})
	wantKind(t, err, milogin.EUNAUTHORIZED)
	opts, ch, err := f.svc.BeginPasskeyRegistration(ctx, f.acct, f.sess, password, authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	a := mfatest.New(origin)
	resp, err := a.Create(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.svc.FinishPasskeyRegistration(ctx, f.acct, f.sess, ch, "", resp, authn.Meta{}); err != nil {
		t.Fatalf("finish registration: %v", err)
	}
	// The ceremony is single use.
	wantKind(t, f.svc.FinishPasskeyRegistration(ctx, f.acct, f.sess, ch, "", resp, authn.Meta{}), milogin.EEXPIRED)
	pks, err := f.svc.Passkeys(ctx, f.acct)
	if err != nil || len(pks) != 1 || !strings.HasPrefix(pks[0].Name, "Passkey added June 1, 2026") {
		t.Fatalf("passkeys %+v %v", pks, err)
	}
	if o, _ := f.svc.OptionsFor(ctx, f.acct); !o.Passkeys {
		t.Fatal("passkey not offered")
	}

	opts, ch, err = f.svc.BeginPasskeyLogin(ctx, f.flow())
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := a.Get(opts)
	if err != nil {
		t.Fatal(err)
	}
	// Another session cannot finish this ceremony.
	other := f.flow()
	other.Session = &milogin.Session{ID: "sess-2"}
	wantKind(t, f.svc.FinishPasskeyLogin(ctx, other, ch, assertion, authn.Meta{}), milogin.EEXPIRED)

	opts, ch, err = f.svc.BeginPasskeyLogin(ctx, f.flow())
	if err != nil {
		t.Fatal(err)
	}
	if assertion, err = a.Get(opts); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.FinishPasskeyLogin(ctx, f.flow(), ch, assertion, authn.Meta{}); err != nil {
		t.Fatalf("finish login: %v", err)
	}
	if r := f.loginRequest(t); strings.Join(r.AMR, ",") != "pwd,mfa,hwk" || r.SessionID != f.sess.ID {
		t.Errorf("request %+v", r)
	}
	if e := f.lastMFA(t); e == nil || e.Method != milogin.MFAMethodWebAuthn {
		t.Errorf("event %+v", e)
	}

	// A replayed assertion (same counter) with a fresh challenge fails, and
	// so does an assertion for another origin.
	opts, ch, _ = f.svc.BeginPasskeyLogin(ctx, f.flow())
	evil := *a
	evil.Origin = "https://milogin.example.evil"
	bad, _ := evil.Get(opts)
	wantKind(t, f.svc.FinishPasskeyLogin(ctx, f.flow(), ch, bad, authn.Meta{}), milogin.EUNAUTHORIZED)
	opts, ch, _ = f.svc.BeginPasskeyLogin(ctx, f.flow())
	a.SignCount -= 2 // the next Get presents an old counter: a clone
	cloned, _ := a.Get(opts)
	wantKind(t, f.svc.FinishPasskeyLogin(ctx, f.flow(), ch, cloned, authn.Meta{}), milogin.EUNAUTHORIZED)
	wantKind(t, f.svc.FinishPasskeyLogin(ctx, f.flow(), "nope", cloned, authn.Meta{}), milogin.EEXPIRED)

	// Removal needs the password.
	wantKind(t, f.svc.RemovePasskey(ctx, f.acct, pks[0].ID, "wrong", authn.Meta{}), milogin.EUNAUTHORIZED)
	if err := f.svc.RemovePasskey(ctx, f.acct, pks[0].ID, password, authn.Meta{}); err != nil {
		t.Fatal(err)
	}
	_, _, err = f.svc.BeginPasskeyLogin(ctx, f.flow())
	wantKind(t, err, milogin.ENOTFOUND)
}

func TestSweepDeletesExpiredCeremonies(t *testing.T) {
	f := newFixture(t)
	withPasskeys(t, f)
	if _, _, err := f.svc.BeginPasskeyRegistration(t.Context(), f.acct, f.sess, password, authn.Meta{}); err != nil {
		t.Fatal(err)
	}
	if n, err := f.svc.Sweep(t.Context()); err != nil || n != 0 {
		t.Fatalf("sweep of a live ceremony: %d %v", n, err)
	}
	f.now = f.now.Add(6 * time.Minute)
	if n, err := f.svc.Sweep(t.Context()); err != nil || n != 1 {
		t.Fatalf("sweep of an expired ceremony: %d %v", n, err)
	}
}

func TestNewWebAuthn(t *testing.T) {
	for _, tt := range []struct {
		base, rpID, origin string
	}{
		{"https://milogintp.example.gov", "milogintp.example.gov", "https://milogintp.example.gov"},
		{"https://milogin.example.gov/base/", "milogin.example.gov", "https://milogin.example.gov"},
		{"http://localhost:8080", "localhost", "http://localhost:8080"},
	} {
		wa, err := mfa.NewWebAuthn(tt.base)
		if err != nil || wa.Config.RPID != tt.rpID || wa.Config.RPOrigins[0] != tt.origin {
			t.Errorf("%s: %v %+v", tt.base, err, wa)
		}
	}
	for _, bad := range []string{"http://127.0.0.1:8080", "ftp://example.gov", "", "example.gov"} {
		if _, err := mfa.NewWebAuthn(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
