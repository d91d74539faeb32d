package mfa_test

import (
	"crypto/aes"
	"crypto/cipher"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"milogin"
	"milogin/internal/authn"
	"milogin/internal/mfa"
	"milogin/internal/sqlite"
	"milogin/internal/sqlstore"
)

var fastParams = authn.Params{Time: 1, MemoryKiB: 64, Threads: 1, SaltLen: 16, KeyLen: 32}

const password = "Mitten!State26"

type fixture struct {
	store milogin.Store
	svc   *mfa.Service
	now   time.Time
	acct  *milogin.Account
	sess  *milogin.Session
	req   *milogin.LoginRequest
}

func testAEAD(t *testing.T) cipher.AEAD {
	block, _ := aes.NewCipher(make([]byte, 32))
	aead, err := cipher.NewGCM(block)
	if err != nil {
		t.Fatal(err)
	}
	return aead
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	store, err := sqlite.Open(t.Context(), t.TempDir()+"/m.db", sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	return newFixtureOn(t, store)
}

func newFixtureOn(t *testing.T, store milogin.Store) *fixture {
	t.Helper()
	ctx := t.Context()
	hasher := authn.NewHasher(fastParams, 0)
	f := &fixture{store: store, now: time.Date(2026, 6, 1, 14, 0, 0, 0, time.UTC)}
	f.svc = mfa.New(store, authn.NewCodeHasher(make([]byte, 32)), hasher)
	f.svc.Now = func() time.Time { return f.now }
	f.svc.TOTPKey = testAEAD(t)
	hash, err := hasher.Hash(ctx, password)
	if err != nil {
		t.Fatal(err)
	}
	f.acct = &milogin.Account{ID: "acct-1", Portal: milogin.ThirdParty, UserID: "smithj0001", FirstName: "John", LastName: "Smith",
		Email: "john.smith@example.org", Mobile: "(517) 555-1234", MobileVerified: true, PasswordHash: hash, Status: milogin.StatusActive}
	f.sess = &milogin.Session{ID: "sess-1", AccountID: f.acct.ID, Portal: milogin.ThirdParty, Stage: milogin.StageActive,
		CreatedAt: f.now, LastSeenAt: f.now, ExpiresAt: f.now.Add(12 * time.Hour)}
	f.req = &milogin.LoginRequest{ID: "login-1", Protocol: "oidc", Portal: milogin.ThirdParty, AppID: "osmis",
		CallbackURL: "/oidc/callback", CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}
	err = store.Write(ctx, func(tx milogin.Tx) error {
		if err := tx.Accounts().Create(ctx, f.acct); err != nil {
			return err
		}
		if err := tx.Sessions().Create(ctx, f.sess); err != nil {
			return err
		}
		return tx.LoginRequests().Create(ctx, f.req)
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) flow() mfa.Flow {
	return mfa.Flow{Account: f.acct, Session: f.sess, LoginID: f.req.ID, AppName: "OSMIS"}
}

var sixDigits = regexp.MustCompile(`\b\d{6}\b`)

// lastCode reads the passcode from the newest message in the outbox.
func (f *fixture) lastMessage(t *testing.T) *milogin.Message {
	t.Helper()
	var ms []*milogin.Message
	if err := f.store.Read(t.Context(), func(tx milogin.Tx) (err error) {
		ms, err = tx.Outbox().List(t.Context(), milogin.MessageFilter{Limit: 1})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if len(ms) == 0 {
		t.Fatal("no message")
	}
	return ms[0]
}

func (f *fixture) loginRequest(t *testing.T) *milogin.LoginRequest {
	t.Helper()
	var r *milogin.LoginRequest
	if err := f.store.Read(t.Context(), func(tx milogin.Tx) (err error) {
		r, err = tx.LoginRequests().Get(t.Context(), f.req.ID)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	return r
}

func (f *fixture) lastMFA(t *testing.T) *milogin.MFAEvent {
	t.Helper()
	var e *milogin.MFAEvent
	err := f.store.Read(t.Context(), func(tx milogin.Tx) (err error) {
		e, err = tx.Grants().LastMFA(t.Context(), f.acct.ID, "osmis")
		return err
	})
	if milogin.IsKind(err, milogin.ENOTFOUND) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func wantKind(t *testing.T, err error, k milogin.Kind) {
	t.Helper()
	if !milogin.IsKind(err, k) {
		t.Fatalf("err = %v, want kind %s", err, k)
	}
}

func TestEmailPasscode(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	id, err := f.svc.SendPasscode(ctx, f.flow(), milogin.ChannelEmail, authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	m := f.lastMessage(t)
	if m.To != f.acct.Email || m.Channel != milogin.ChannelEmail || !strings.Contains(m.Text, "Your MILogin passcode to access OSMIS is") {
		t.Fatalf("message: %+v", m)
	}
	code := sixDigits.FindString(m.Text)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	// Another session or another request cannot use it.
	other := f.flow()
	other.Session = &milogin.Session{ID: "sess-2"}
	wantKind(t, f.svc.VerifyPasscode(ctx, other, id, code, authn.Meta{}), milogin.ENOTFOUND)
	other = f.flow()
	other.LoginID = "login-2"
	wantKind(t, f.svc.VerifyPasscode(ctx, other, id, code, authn.Meta{}), milogin.ENOTFOUND)

	wantKind(t, f.svc.VerifyPasscode(ctx, f.flow(), id, wrong, authn.Meta{}), milogin.EUNAUTHORIZED)
	if r := f.loginRequest(t); len(r.AMR) != 0 {
		t.Fatal("wrong code marked the request")
	}
	if err := f.svc.VerifyPasscode(ctx, f.flow(), id, " "+code[:3]+" "+code[3:], authn.Meta{}); err != nil {
		t.Fatalf("right code (with spaces): %v", err)
	}
	r := f.loginRequest(t)
	if r.SessionID != f.sess.ID || strings.Join(r.AMR, ",") != "pwd,mfa,otp" || r.Done() {
		t.Errorf("request after MFA: %+v", r)
	}
	if e := f.lastMFA(t); e == nil || e.Method != milogin.MFAMethodEmail || !e.At.Equal(f.now) {
		t.Errorf("MFA event: %+v", e)
	}
	// Single use.
	wantKind(t, f.svc.VerifyPasscode(ctx, f.flow(), id, code, authn.Meta{}), milogin.EEXPIRED)
}

func TestPasscodeTriesAndExpiry(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	id, err := f.svc.SendPasscode(ctx, f.flow(), milogin.ChannelSMS, authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	m := f.lastMessage(t)
	if m.Channel != milogin.ChannelSMS || m.To != f.acct.Mobile {
		t.Fatalf("text: %+v", m)
	}
	code := sixDigits.FindString(m.Text)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	// Each wrong try says how many are left, as the PIN steps do; the last
	// one says the passcode is used up, not that it expired.
	for i := 1; i < mfa.MaxAttempts; i++ {
		err := f.svc.VerifyPasscode(ctx, f.flow(), id, wrong, authn.Meta{})
		wantKind(t, err, milogin.EUNAUTHORIZED)
		want := fmt.Sprintf("%s You have %d more tries.", mfa.MsgWrongCode, mfa.MaxAttempts-i)
		if i == mfa.MaxAttempts-1 {
			want = mfa.MsgWrongCode + " You have 1 more try."
		}
		if got := milogin.ErrorMessage(err); got != want {
			t.Errorf("wrong try %d: %q, want %q", i, got, want)
		}
	}
	err = f.svc.VerifyPasscode(ctx, f.flow(), id, wrong, authn.Meta{})
	if !milogin.IsKind(err, milogin.ELOCKED) || milogin.ErrorMessage(err) != mfa.MsgTooManyWrong {
		t.Errorf("last wrong try: %v", err)
	}
	// Out of tries: even the right code is refused, with the same reason.
	err = f.svc.VerifyPasscode(ctx, f.flow(), id, code, authn.Meta{})
	if !milogin.IsKind(err, milogin.ELOCKED) || milogin.ErrorMessage(err) != mfa.MsgTooManyWrong {
		t.Errorf("right code after the last try: %v", err)
	}

	id, err = f.svc.SendPasscode(ctx, f.flow(), milogin.ChannelSMS, authn.Meta{})
	if err != nil {
		t.Fatal(err)
	}
	code = sixDigits.FindString(f.lastMessage(t).Text)
	f.now = f.now.Add(mfa.CodeLife)
	wantKind(t, f.svc.VerifyPasscode(ctx, f.flow(), id, code, authn.Meta{}), milogin.EEXPIRED)
	if e := f.lastMFA(t); e != nil {
		t.Errorf("MFA recorded without a good code: %+v", e)
	}
	wantKind(t, f.svc.VerifyPasscode(ctx, f.flow(), "no-such-code", code, authn.Meta{}), milogin.ENOTFOUND)
}

func TestPasscodeSendLimit(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	for range 5 {
		if _, err := f.svc.SendPasscode(ctx, f.flow(), milogin.ChannelEmail, authn.Meta{}); err != nil {
			t.Fatal(err)
		}
	}
	_, err := f.svc.SendPasscode(ctx, f.flow(), milogin.ChannelEmail, authn.Meta{})
	wantKind(t, err, milogin.ERATELIMIT)
	f.now = f.now.Add(11 * time.Minute)
	if _, err := f.svc.SendPasscode(ctx, f.flow(), milogin.ChannelEmail, authn.Meta{}); err != nil {
		t.Fatalf("after the window: %v", err)
	}
	noMobile := f.flow()
	acct := *f.acct
	acct.Mobile = ""
	noMobile.Account = &acct
	_, err = f.svc.SendPasscode(ctx, noMobile, milogin.ChannelSMS, authn.Meta{})
	wantKind(t, err, milogin.EINVALID)
}

// enrolTOTP sets up an authenticator app and returns its secret.
func enrolTOTP(t *testing.T, f *fixture) string {
	t.Helper()
	ctx := t.Context()
	if err := f.svc.BeginTOTP(ctx, f.acct); err != nil {
		t.Fatal(err)
	}
	st, err := f.svc.TOTPStatus(ctx, f.acct)
	if err != nil || st.Pending == nil || st.Confirmed {
		t.Fatalf("status %+v %v", st, err)
	}
	if !strings.HasPrefix(st.Pending.QR, "data:image/png;base64,") || !strings.HasPrefix(st.Pending.URL, "otpauth://totp/MILogin:smithj0001?") {
		t.Errorf("enrolment: %+v", st.Pending.URL)
	}
	secret := strings.ReplaceAll(st.Pending.Secret, " ", "")
	key, err := otp.NewKeyFromURL(st.Pending.URL)
	if err != nil || key.Secret() != secret {
		t.Fatalf("QR secret %q != text secret %q (%v)", key.Secret(), secret, err)
	}
	// Not offered until confirmed.
	if o, _ := f.svc.OptionsFor(ctx, f.acct); o.TOTP {
		t.Error("unconfirmed app offered")
	}
	code := totpCode(t, secret, f.now)
	wantKind(t, f.svc.ConfirmTOTP(ctx, f.acct, "wrong password", code, authn.Meta{}), milogin.EUNAUTHORIZED)
	if err := f.svc.ConfirmTOTP(ctx, f.acct, password, code, authn.Meta{}); err != nil {
		t.Fatal(err)
	}
	if o, _ := f.svc.OptionsFor(ctx, f.acct); !o.TOTP || o.Email != "j********h@example.org" || o.SMS != "***-***-1234" {
		t.Errorf("options %+v", o)
	}
	return secret
}

func totpCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTPReplayAndSkew(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	secret := enrolTOTP(t, f)
	// The enrolment code's step is used: the same code fails at sign-in.
	wantKind(t, f.svc.VerifyTOTP(ctx, f.flow(), totpCode(t, secret, f.now), authn.Meta{}), milogin.EUNAUTHORIZED)

	f.now = f.now.Add(2 * time.Minute)
	// A code one step old is accepted (clock skew)...
	prev := totpCode(t, secret, f.now.Add(-30*time.Second))
	if err := f.svc.VerifyTOTP(ctx, f.flow(), prev, authn.Meta{}); err != nil {
		t.Fatalf("previous step: %v", err)
	}
	if r := f.loginRequest(t); strings.Join(r.AMR, ",") != "pwd,mfa,otp" {
		t.Errorf("AMR %v", r.AMR)
	}
	if e := f.lastMFA(t); e == nil || e.Method != milogin.MFAMethodTOTP {
		t.Errorf("event %+v", e)
	}
	// ...but not twice, and neither is an older step once a newer one was used.
	wantKind(t, f.svc.VerifyTOTP(ctx, f.flow(), prev, authn.Meta{}), milogin.EUNAUTHORIZED)
	if err := f.svc.VerifyTOTP(ctx, f.flow(), totpCode(t, secret, f.now), authn.Meta{}); err != nil {
		t.Fatalf("current step: %v", err)
	}
	wantKind(t, f.svc.VerifyTOTP(ctx, f.flow(), prev, authn.Meta{}), milogin.EUNAUTHORIZED)
	// Two steps away is outside the skew.
	f.now = f.now.Add(5 * time.Minute)
	wantKind(t, f.svc.VerifyTOTP(ctx, f.flow(), totpCode(t, secret, f.now.Add(-61*time.Second)), authn.Meta{}), milogin.EUNAUTHORIZED)
	if err := f.svc.VerifyTOTP(ctx, f.flow(), totpCode(t, secret, f.now.Add(30*time.Second)), authn.Meta{}); err != nil {
		t.Fatalf("next step: %v", err)
	}
}

func TestTOTPFailureLimit(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	secret := enrolTOTP(t, f)
	f.now = f.now.Add(time.Minute)
	good := totpCode(t, secret, f.now)
	bad := "000000"
	if good == bad {
		bad = "111111"
	}
	for range 5 {
		wantKind(t, f.svc.VerifyTOTP(ctx, f.flow(), bad, authn.Meta{}), milogin.EUNAUTHORIZED)
	}
	wantKind(t, f.svc.VerifyTOTP(ctx, f.flow(), good, authn.Meta{}), milogin.ERATELIMIT)
	var n int
	f.store.Read(ctx, func(tx milogin.Tx) error {
		evs, err := tx.Audit().List(ctx, milogin.AuditFilter{Type: milogin.EventMFAFailed})
		for _, e := range evs {
			if e.Detail["method"] == milogin.MFAMethodTOTP {
				n++
			}
		}
		return err
	})
	if n != 5 {
		t.Errorf("failures audited: %d", n)
	}
}

func TestTOTPRemoveAndSecretSealed(t *testing.T) {
	f := newFixture(t)
	ctx := t.Context()
	secret := enrolTOTP(t, f)
	var k *milogin.TOTPKey
	f.store.Read(ctx, func(tx milogin.Tx) (err error) {
		k, err = tx.TOTP().Get(ctx, f.acct.ID)
		return err
	})
	if strings.Contains(string(k.Secret), secret) || len(k.Secret) < 20+12+16 {
		t.Error("secret not sealed at rest")
	}
	if err := f.svc.BeginTOTP(ctx, f.acct); !milogin.IsKind(err, milogin.ECONFLICT) {
		t.Errorf("second enrolment over a confirmed app: %v", err)
	}
	wantKind(t, f.svc.RemoveTOTP(ctx, f.acct, "nope", authn.Meta{}), milogin.EUNAUTHORIZED)
	if err := f.svc.RemoveTOTP(ctx, f.acct, password, authn.Meta{}); err != nil {
		t.Fatal(err)
	}
	wantKind(t, f.svc.VerifyTOTP(ctx, f.flow(), totpCode(t, secret, f.now.Add(time.Minute)), authn.Meta{}), milogin.ENOTFOUND)
}

// A number typed in without its PIN is not a second factor: no passcode is
// texted to it and it is not offered.
func TestUnprovenMobileIsNoSecondFactor(t *testing.T) {
	f := newFixture(t)
	f.acct.MobileVerified = false
	if o, _ := f.svc.OptionsFor(t.Context(), f.acct); o.SMS != "" {
		t.Errorf("unproven mobile offered: %+v", o)
	}
	if _, err := f.svc.SendPasscode(t.Context(), f.flow(), milogin.ChannelSMS, authn.Meta{}); !milogin.IsKind(err, milogin.EINVALID) {
		t.Errorf("passcode texted to an unproven number: %v", err)
	}
}
